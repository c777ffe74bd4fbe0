"""Issue 15 #12, the teller starts an online request from the scanning page: a button per preset
(employment, bank) creates an OpenID4VP request with the page's token (the verifier here requires
client credentials, as production does), shows its QR, waits for the wallet's answer and shows the
result as a scanned QR's is shown, in Spanish and English. The wallet is the real one in Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from testkit import live as live_issuer
from testkit.live import Live
from testkit.servers import ServerThread, free_port
from tests.browser import wallet_support
from tests.browser.wallet_support import Browsers, Wallet, WalletServer, decode_qr_png
from verifier.app import create_app as create_verifier

pytestmark = pytest.mark.browser

live = live_issuer.live
wallet_playwright = wallet_support.wallet_playwright
wallet_server = wallet_support.wallet_server
browsers = wallet_support.browsers


@dataclass
class Page:
    page: Any
    problems: list[str]
    requests: list[str]


@pytest.fixture
def verifier_url(live: Live) -> Iterator[str]:
    """A verifier that, like production, creates requests only for a client key or a page token."""
    port = free_port()
    service = live.verifier_service(public_verifier_url=f"http://127.0.0.1:{port}", require_client_credentials=True)
    with ServerThread(create_verifier(service.settings, service=service), port):
        yield f"http://127.0.0.1:{port}"


def _scanning_page(browsers: Browsers, url: str) -> Page:
    context = browsers.context()
    page = context.new_page()
    seen = Page(page, [], [])
    page.on("console", lambda m: seen.problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: seen.problems.append(str(error)))
    page.on("request", lambda request: seen.requests.append(f"{request.method} {request.url}"))
    page.goto(url, wait_until="load")
    return seen


def _answer(wallet: Wallet, request_text: str, share: bool) -> None:
    wallet.page.click("#share-open")
    wallet.page.fill("#offer-input", request_text)
    wallet.page.click("#paste-submit")
    wallet.visible("#request-refuse")
    if share:
        wallet.page.click("#request-share")
        wallet.wait("#notice:has-text('Datos enviados')")
    else:
        wallet.page.click("#request-refuse")
        wallet.visible("#screen-home")


def test_the_scanning_page_asks_a_wallet_online_and_shows_the_answer(
        browsers: Browsers, live: Live, wallet_server: WalletServer, verifier_url: str) -> None:
    wallet = Wallet(browsers.context()).open()
    wallet.create_profile("José")
    created = live.issue("skills-certification")
    wallet.receive(created["offer"]["offer_uri"], created["offer"]["tx_code"])
    teller = _scanning_page(browsers, verifier_url)
    page = teller.page
    assert not any("/online.js" in r for r in teller.requests)  # loaded only when a button is pressed

    page.click("#online-employment")
    page.locator("#online-qr[src]").wait_for()
    page.locator("#online-status:has-text('Esperando la respuesta')").wait_for()
    assert page.locator("#online-title").inner_text() == "Solicitud de empleo"
    assert "competencia certificada" in page.locator("#online-asks").inner_text()
    assert page.locator("#input").is_hidden()
    request_text = page.locator("#online-link").input_value()
    assert request_text.startswith("openid4vp://")
    page.locator("#online-qr").evaluate("img => img.decode()")
    page.screenshot(path=str(wallet_support.SCREENSHOTS / "scanner-online-request.png"))
    assert decode_qr_png(page.locator("#online-qr").screenshot()) == request_text  # the QR is the request
    posts = [r for r in teller.requests if r.startswith("POST ")]
    assert [r.split(" ")[1].removeprefix(verifier_url) for r in posts] == \
        ["/api/v1/page-token", "/api/v1/presentation-requests"]
    _answer(wallet, request_text, share=True)
    panel = page.locator("#result[data-tone='ok']")
    panel.wait_for()
    assert page.locator("#result-title").inner_text() == "Credencial verificada"
    assert "la respuesta la firmó" in page.locator("#holder-verified").inner_text()
    claims = page.locator("#claims").inner_text()
    assert "José Gregorio" in claims and "Pérez Rodríguez" in claims and "220201501" in claims
    assert "Nivel" not in claims and "Horas" not in claims  # only what the preset asked
    assert page.locator("#online").is_hidden()
    page.screenshot(path=str(wallet_support.SCREENSHOTS / "scanner-online-valid.png"))
    page.click("button[data-lang=en]")
    assert page.locator("#result-title").inner_text() == "Credential verified"
    assert "the answer was signed" in page.locator("#holder-verified").inner_text()

    # The bank's request, in English; the person declines: red, with the reason in words.
    page.click("#again")
    page.click("#online-bank")
    page.locator("#online-status:has-text('Waiting for the wallet')").wait_for()
    assert page.locator("#online-title").inner_text() == "Bank request"
    _answer(wallet, page.locator("#online-link").input_value(), share=False)
    page.locator("#result[data-tone='bad']").wait_for()
    assert page.locator("#result-title").inner_text() == "Data not shared"
    assert "declined" in page.locator("#result-reason").inner_text()
    page.click("button[data-lang=es]")
    assert page.locator("#result-title").inner_text() == "Datos no compartidos"

    # A request the teller cancels stops polling and brings the page back.
    page.click("#again")
    page.click("#online-employment")
    page.locator("#online-qr[src]").wait_for()
    page.click("#online-cancel")
    page.locator("#input").wait_for()
    assert page.locator("#online").is_hidden()
    assert teller.problems == []


def test_a_request_that_is_gone_says_why_in_words(browsers: Browsers, verifier_url: str) -> None:
    """The verifier no longer knows the request (it expired and was purged, or a restart lost it): the
    poll gets a 404 and the teller reads the catalog's reason, not a bare title."""
    teller = _scanning_page(browsers, verifier_url)
    page = teller.page

    def gone(route: Any) -> None:
        if route.request.method == "GET":  # the polls; the POST that creates it and the QR image go through
            route.fulfill(status=404, content_type="application/problem+json", body='{"code": "not_found"}')
        else:
            route.continue_()

    page.route("**/api/v1/presentation-requests/*", gone)
    page.click("#online-employment")
    page.locator("#result[data-tone='bad']").wait_for()
    assert page.locator("#result-title").inner_text() == "Solicitud vencida"
    assert page.locator("#result-reason").inner_text() == "La solicitud venció sin respuesta. Cree una nueva."
    assert page.locator("#online").is_hidden()
    assert teller.problems == [] or all("404" in problem for problem in teller.problems)
