"""Issue 14 leftover: the wallet reads a verifier's request however OpenID4VP 1.0 lets it travel —
the request object by reference (request_uri), by value (RFC 9101 `request`), or, for an unsigned
redirect_uri: client, the request's parameters in the QR itself (the verifier's vp_request_by_value)
— and holds each to the same rules: a client that signs (x509_hash:) must send a signed object, the
QR's client id must be the request's, and `request` never comes with `request_uri`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx
import pytest

from testkit.live import Live
from testkit.servers import ServerThread, free_port
from tests.browser import wallet_support
from tests.browser.wallet_support import Browsers, Wallet, WalletServer, assert_clean, wallet_with_credential
from verifier.app import create_app as create_verifier
from verifier.oid4vp.secure import self_signed_identity

pytestmark = pytest.mark.browser
wallet_playwright = wallet_support.wallet_playwright
wallet_server = wallet_support.wallet_server
browsers = wallet_support.browsers

FOUR = {"given_name", "family_name", "competency_title", "competency_code"}


def _paste(wallet: Wallet, link: str) -> None:
    wallet.page.click("#share-open")
    wallet.page.fill("#offer-input", link)
    wallet.page.click("#paste-submit")


def _share_and_check(wallet: Wallet, http: httpx.Client, base: str, created: dict[str, Any]) -> None:
    wallet.page.click("#request-share")
    wallet.wait("#notice:has-text('Datos enviados')")
    outcome = http.get(f"{base}/api/v1/presentation-requests/{created['id']}",
                       headers={"Authorization": f"Bearer {created['result_token']}"}).json()["result"]
    assert outcome["valid"] is True, outcome
    assert set(outcome["credentials"]["employment"]["claims"]) == FOUR


def _refused(wallet: Wallet, link: str) -> None:
    _paste(wallet, link)
    wallet.wait("#request-error:not(:empty), #receive-error:not(:empty)")
    assert wallet.page.locator("#request-share").is_hidden()
    for back in ("#request-refuse", "#receive-cancel"):
        if wallet.page.locator(back).is_visible():
            wallet.page.click(back)
    wallet.visible("#screen-home")


def _verifier(live: Live, **options: Any) -> tuple[Any, int]:
    port = free_port()
    service = live.verifier_service(public_verifier_url=f"http://127.0.0.1:{port}", **options)
    return ServerThread(create_verifier(service.settings, service=service), port), port


def _requester(http: httpx.Client, base: str) -> Callable[[], dict[str, Any]]:
    def request() -> dict[str, Any]:
        response = http.post(f"{base}/api/v1/presentation-requests", json={"preset": "employment"})
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created
    return request


def test_parameters_in_the_qr_from_an_unsigned_verifier(browsers: Browsers, live: Live,
                                                        wallet_server: WalletServer) -> None:
    server, port = _verifier(live, vp_request_by_value=True)
    base = f"http://127.0.0.1:{port}"
    with server, httpx.Client(timeout=10) as http:
        request = _requester(http, base)
        wallet, _ = wallet_with_credential(browsers, live)
        employer = request()
        query = parse_qs(urlsplit(employer["qr"]).query)
        assert "request_uri" not in query and "dcql_query" in query  # the parameters travel in the QR
        _paste(wallet, employer["qr"])
        assert wallet.visible("#request-host").inner_text() == f"127.0.0.1:{port}"
        _share_and_check(wallet, http, base, employer)
        # The same parameters claiming a client that signs: refused (it would have to be signed).
        forged = employer["qr"].replace(quote(employer["client_id"], safe=""), quote("x509_hash:" + "A" * 43, safe=""))
        _refused(wallet, forged)
        # A client id that is not the request's.
        other = request()
        swapped = other["qr"].replace(quote(other["client_id"], safe=""),
                                      quote("redirect_uri:https://evil.example/response", safe=""))
        _refused(wallet, swapped)
        assert_clean(wallet)


def test_signed_request_object_by_value(browsers: Browsers, live: Live, wallet_server: WalletServer,
                                        tmp_path: Path) -> None:
    _, cert, key = self_signed_identity("Banco de Ejemplo S.A.", "verificador.example")
    (tmp_path / "vp.pem").write_bytes(cert)
    (tmp_path / "vp.key").write_bytes(key)
    server, port = _verifier(live, vp_certificate_file=tmp_path / "vp.pem", vp_key_file=tmp_path / "vp.key")
    base = f"http://127.0.0.1:{port}"
    with server, httpx.Client(timeout=10) as http:
        request = _requester(http, base)
        wallet, _ = wallet_with_credential(browsers, live)

        def by_value(created: dict[str, Any]) -> str:
            jwt = http.get(created["request_uri"]).text
            return "openid4vp://?" + urlencode({"client_id": created["client_id"], "request": jwt})

        employer = request()
        _paste(wallet, by_value(employer))
        assert wallet.visible("#request-host").inner_text() == "Banco de Ejemplo S.A."
        _share_and_check(wallet, http, base, employer)
        # A signed object whose signature does not hold (one payload character changed).
        other = request()
        link = by_value(other)
        head, payload, signature = parse_qs(urlsplit(link).query)["request"][0].split(".")
        tampered = payload[:10] + ("A" if payload[10] != "A" else "B") + payload[11:]
        _refused(wallet, "openid4vp://?" + urlencode({"client_id": other["client_id"],
                                                      "request": f"{head}.{tampered}.{signature}"}))
        # `request` and `request_uri` together: refused.
        _refused(wallet, link + "&" + urlencode({"request_uri": other["request_uri"]}))
        assert_clean(wallet)
