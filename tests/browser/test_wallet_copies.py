"""Unlinkable presentations in the wallet (issue 14 #4): it asks the issuer for a batch of 5 copies,
shows a different copy each time (another issuer signature, other salts, another holder key), says
how many are left, and when they run out tells the holder how to get more — while the last copy
keeps working."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from credcore import jws, qr
from credcore.sdjwt import parse_compact
from testkit.live import Live
from tests.browser import wallet_support
from tests.browser.wallet_support import Browsers, WalletServer, assert_clean, verify_qr, wallet_with_credential

pytestmark = pytest.mark.browser
wallet_playwright = wallet_support.wallet_playwright
wallet_server = wallet_support.wallet_server
browsers = wallet_support.browsers
verifier = wallet_support.verifier


def test_each_showing_uses_an_unused_copy_until_they_run_out(browsers: Browsers, live: Live,
                                                              wallet_server: WalletServer,
                                                              verifier: TestClient) -> None:
    wallet, _ = wallet_with_credential(browsers, live)
    wallet.open_card()
    copies = wallet.visible("#cred-copies")
    assert "5 de 5" in copies.inner_text()
    seen: list[tuple[bytes, str]] = []
    for showing in range(6):
        text = wallet.show_qr()
        presentation = parse_compact(qr.decode(text))
        issuer_jwt = jws.parse(presentation.issuer_jwt)
        seen.append((issuer_jwt.signature, issuer_jwt.claims()["cnf"]["jwk"]["x"]))
        report = verify_qr(verifier, text)
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
    assert_clean(wallet)


def test_a_backup_keeps_the_unused_copies(browsers: Browsers, live: Live, wallet_server: WalletServer,
                                          tmp_path: Path) -> None:
    """Issue 14 leftover: the backup file holds every unused batch copy; restoring brings back those
    whose holder key the profile still has, in order (so the card presents again, a fresh copy each
    time), and a copy shown since the backup makes it the same credential, not a second card."""
    wallet, _ = wallet_with_credential(browsers, live)
    wallet.page.click("#backup-open")
    wallet.page.fill("#export-pass", "puente de papel")
    wallet.page.fill("#export-pass2", "puente de papel")
    with wallet.page.expect_download() as download:
        wallet.page.click("#export-submit")
    path = tmp_path / "copia.json"
    download.value.save_as(path)
    wallet.page.click("#screen-backup button.back")
    # One showing after the backup: the card's current copy is now the backup's second one.
    wallet.open_card()
    wallet.show_qr()
    wallet.close_qr()
    assert "4 de 5" in wallet.page.locator("#cred-copies").inner_text()
    wallet.page.click("#cred-back")
    wallet.page.click("#backup-open")
    wallet.page.set_input_files("#import-file", str(path))
    wallet.page.fill("#import-pass", "puente de papel")
    wallet.page.click("#import-submit")
    wallet.page.locator("#backup-message:has-text('recuperadas: 0')").wait_for()
    wallet.page.click("#screen-backup button.back")
    assert len(wallet.cards()) == 1

    # What a restore makes of a backed-up credential, given which holder keys are still here.
    restored = wallet.page.evaluate("""async (file) => {
      const { readBackup } = await import('/js/backup.js');
      const { restoreCredential } = await import('/js/screens/backup.js');
      const [raw] = (await readBackup(file, 'puente de papel')).credentials;
      const keys = [raw.keyId, ...raw.spares.map((s) => s.keyId)];
      const all = await restoreCredential(raw, async () => true);
      const lastThree = await restoreCredential(raw, async (id) => keys.slice(2).includes(id));
      const none = await restoreCredential(raw, async () => false);
      const summary = (c) => ({ current: keys.indexOf(c.keyId),
                                spares: (c.spares || []).map((s) => keys.indexOf(s.keyId)),
                                copies: c.copies || 1, keyMissing: c.keyMissing });
      return [keys.length, summary(all), summary(lastThree), summary(none)];
    }""", path.read_text("utf-8"))
    assert restored == [5,
                        {"current": 0, "spares": [1, 2, 3, 4], "copies": 5, "keyMissing": False},
                        {"current": 2, "spares": [3, 4], "copies": 5, "keyMissing": False},
                        {"current": 0, "spares": [], "copies": 1, "keyMissing": True}]
    assert_clean(wallet)
