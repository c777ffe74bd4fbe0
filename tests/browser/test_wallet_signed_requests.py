"""The wallet answers a HAIP verifier (issue 14 #3): the request is signed under the x509_hash prefix,
the wallet checks the certificate against the QR's client id and the signature against the
certificate, names the verifier from its certificate on the consent screen (not a host), and
answers encrypted (direct_post.jwt); the verifier's result is valid."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from testkit.live import Live
from testkit.servers import ServerThread, free_port
from tests.browser import wallet_support
from tests.browser.wallet_support import Browsers, WalletServer, assert_clean, wallet_with_credential
from verifier.app import create_app as create_verifier
from verifier.oid4vp.secure import self_signed_identity

pytestmark = pytest.mark.browser
wallet_playwright = wallet_support.wallet_playwright
wallet_server = wallet_support.wallet_server
browsers = wallet_support.browsers


def test_signed_request_names_the_certified_verifier_and_the_answer_is_encrypted(
        browsers: Browsers, live: Live, wallet_server: WalletServer, tmp_path: Path) -> None:
    _, cert, key = self_signed_identity("Banco de Ejemplo S.A.", "verificador.example")
    (tmp_path / "vp.pem").write_bytes(cert)
    (tmp_path / "vp.key").write_bytes(key)
    port = free_port()
    service = live.verifier_service(public_verifier_url=f"http://127.0.0.1:{port}", vp_name_es="Banco Ejemplo",
                                    vp_certificate_file=tmp_path / "vp.pem", vp_key_file=tmp_path / "vp.key")
    with ServerThread(create_verifier(service.settings, service=service), port), httpx.Client(timeout=10) as http:
        base = f"http://127.0.0.1:{port}"

        def request() -> dict[str, Any]:
            response = http.post(f"{base}/api/v1/presentation-requests", json={"preset": "employment"})
            assert response.status_code == 201, response.text
            created: dict[str, Any] = response.json()
            return created

        wallet, _ = wallet_with_credential(browsers, live)
        employer = request()
        assert employer["client_id"].startswith("x509_hash:")
        wallet.page.click("#share-open")
        wallet.page.fill("#offer-input", employer["qr"])
        wallet.page.click("#paste-submit")
        assert wallet.visible("#request-host").inner_text() == "Banco de Ejemplo S.A."
        assert "certificado" in wallet.page.locator("#request-who").inner_text()
        said = wallet.page.locator("#request-said").inner_text()
        assert "Banco Ejemplo" in said and f"127.0.0.1:{port}" in said
        wallet.page.click("#request-share")
        wallet.wait("#notice:has-text('Datos enviados')")
        outcome = http.get(f"{base}/api/v1/presentation-requests/{employer['id']}",
                           headers={"Authorization": f"Bearer {employer['result_token']}"}).json()["result"]
        assert outcome["valid"] is True, outcome
        assert set(outcome["credentials"]["employment"]["claims"]) == {
            "given_name", "family_name", "competency_title", "competency_code"}

        # A QR whose client id pins another certificate: the wallet refuses before showing anything.
        other = request()
        forged = other["qr"].replace(quote(other["client_id"], safe=""),
                                     quote("x509_hash:" + "A" * 43, safe=""))
        wallet.page.click("#share-open")
        wallet.page.fill("#offer-input", forged)
        wallet.page.click("#paste-submit")
        wallet.wait("#request-error:not(:empty)")
        assert wallet.page.locator("#request-share").is_hidden()
        assert_clean(wallet)
