"""The automated WCAG 2.1 A/AA audit (axe-core in Chromium) of the migrant's wallet screens and the
employer's scanning page: what a holder sees from the first profile to the live QR, and what a
verifier sees before and after a result, green and red."""

from __future__ import annotations

from typing import Any

from credcore import qr
from testkit import live as live_issuer
from testkit.live import Live
from tests.browser import wallet_support
from tests.browser.axe_support import audit
from tests.browser.chromium import Chromium, Verifier
from tests.browser.wallet_support import Browsers, Wallet, WalletServer

live = live_issuer.live
wallet_playwright = wallet_support.wallet_playwright
wallet_server = wallet_support.wallet_server
browsers = wallet_support.browsers


def test_wallet_screens_pass_an_automated_wcag_audit(browsers: Browsers, live: Live,
                                                      wallet_server: WalletServer) -> None:
    wallet = Wallet(browsers.context()).open()
    page: Any = wallet.page
    problems = audit(page)  # the welcome screen
    wallet.create_profile("Ana")
    problems += audit(page)  # home, no cards yet
    created = live.issue("skills-certification")
    wallet.visible("#receive-open").click()
    problems += audit(page)  # receive
    page.fill("#offer-input", created["offer"]["offer_uri"])
    page.click("#paste-submit")
    wallet.visible("#offer-host")
    problems += audit(page)  # the offer, before contacting the issuer
    wallet.confirm_offer(created["offer"]["tx_code"])
    wallet.wait("#cards .badge-valid")
    problems += audit(page)  # home with a card
    wallet.open_card()
    problems += audit(page)  # the card and what to show
    wallet.show_qr()
    problems += audit(page)  # the live QR
    assert not problems, "\n".join(problems)


def _paste(page: Any, text: str) -> None:
    page.fill("#paste", text)
    page.click("#paste-form button[type=submit]")


def test_scanning_page_passes_an_automated_wcag_audit(chromium: Chromium, live: Live,
                                                       verifier: Verifier) -> None:
    page, _ = chromium.page(f"{verifier.url}/")
    problems = audit(page)
    _, presentation = live.wallet_presentation()
    _paste(page, qr.encode(presentation))
    page.locator("#result[data-tone='ok']").wait_for()
    problems += audit(page)
    page.goto(f"{verifier.url}/")
    _paste(page, "hola, esto no es una credencial")
    page.locator("#result[data-tone='bad']").wait_for()
    problems += audit(page)
    page.goto(f"{verifier.url}/")  # an online request waiting for the wallet (issue 15 #12)
    page.click("#online-employment")
    page.locator("#online-qr[src]").wait_for()
    page.locator("#online-status:has-text('Esperando')").wait_for()
    problems += audit(page)
    page.click("#online-cancel")
    assert not problems, "\n".join(problems)
