"""Unlinkable presentations in the wallet (issue 14 #4): it asks the issuer for a batch of 5 copies,
shows a different copy each time (another issuer signature, other salts, another holder key), says
how many are left, and when they run out tells the holder how to get more — while the last copy
keeps working."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from credcore import jws, qr
from credcore.sdjwt import parse_compact
from testkit.live import Live
from tests.browser import wallet_support
from tests.browser.test_wallet import _assert_clean, _verify, _wallet_with_credential, verifier  # noqa: F401
from tests.browser.wallet_support import Browsers, WalletServer

pytestmark = pytest.mark.browser
wallet_playwright = wallet_support.wallet_playwright
wallet_server = wallet_support.wallet_server
browsers = wallet_support.browsers


def test_each_showing_uses_an_unused_copy_until_they_run_out(browsers: Browsers, live: Live,
                                                              wallet_server: WalletServer,
                                                              verifier: TestClient) -> None:  # noqa: F811
    wallet, _ = _wallet_with_credential(browsers, live)
    wallet.open_card()
    copies = wallet.visible("#cred-copies")
    assert "5 de 5" in copies.inner_text()
    seen: list[tuple[bytes, str]] = []
    for showing in range(6):
        text = wallet.show_qr()
        presentation = parse_compact(qr.decode(text))
        issuer_jwt = jws.parse(presentation.issuer_jwt)
        seen.append((issuer_jwt.signature, issuer_jwt.claims()["cnf"]["jwk"]["x"]))
        report = _verify(verifier, text)
        assert report["valid"] is True, (showing, report)
        wallet.close_qr()
        line = wallet.page.locator("#cred-copies").inner_text()
        if showing < 3:
            assert f"{4 - showing} de 5" in line, line
        elif showing == 3:
            assert "última copia" in line and "nueva oferta" in line, line
        else:
            assert "Ya usó todas las copias" in line and "nueva oferta" in line, line
    assert len(set(seen[:5])) == 5  # five showings, five copies: other signature and holder key each time
    assert seen[5] == seen[4]  # out of copies: the last one keeps working
    _assert_clean(wallet)
