"""Issue 15 #7, a lost or new phone, the whole path in Chromium: a migrant's card restored from a
backup on a new phone says why it cannot be shown and whom to ask; the officer finds the credential
in the console by the document number and issues it to the new phone; the new phone receives it with
the offer code as printed; the old phone's copy (and the restored card) turn revoked, "teléfono
reemplazado"; both events are in the console's history and the audit chain holds."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from issuer import accounts, audit
from issuer.db.models import Credential, Institution
from issuer.institutions import set_contact
from testkit import live as live_issuer
from testkit.live import Live
from testkit.world import example_claims
from tests.browser import wallet_support
from tests.browser.wallet_support import Browsers, Wallet, WalletServer, layout_problems

pytestmark = pytest.mark.browser

live = live_issuer.live
wallet_playwright = wallet_support.wallet_playwright
wallet_server = wallet_support.wallet_server
browsers = wallet_support.browsers
verifier = wallet_support.verifier

SMALL_PHONE = {"width": 360, "height": 740}
LAPTOP = {"width": 1280, "height": 900}
PASSWORD = "una frase bastante larga 2026"
BACKUP_PASS = "puente de papel"


def _officer(live: Live) -> str:
    """A console officer of Migración Colombia (whose contact details are set), signed in by name."""
    username = f"oficial.{secrets.token_hex(3)}"
    with live.issuer_deps.session() as session:
        institution = session.exec(select(Institution).where(Institution.slug == "migracion")).one()
        set_contact(session, live.issuer_deps, institution, phone="+57 601 511 1150",
                    email="ayuda@migracion.example", web=None)
        user = accounts.create_user(session, live.issuer_deps, institution, username=username,
                                    display_name="Oficial Migración", role="officer", password=PASSWORD,
                                    actor="operator:test")
        user.must_change_password = False
        session.add(user)
        session.commit()
    return username


def _backup(wallet: Wallet, path: Path) -> Path:
    wallet.page.click("#backup-open")
    wallet.page.fill("#export-pass", BACKUP_PASS)
    wallet.page.fill("#export-pass2", BACKUP_PASS)
    with wallet.page.expect_download() as download:
        wallet.page.click("#export-submit")
    download.value.save_as(path)
    wallet.page.click("#screen-backup button.back")
    return path


def _restore(wallet: Wallet, path: Path) -> None:
    wallet.page.click("#backup-open")
    wallet.page.set_input_files("#import-file", str(path))
    wallet.page.fill("#import-pass", BACKUP_PASS)
    wallet.page.click("#import-submit")
    wallet.page.locator("#backup-message:has-text('recuperadas: 1')").wait_for()
    wallet.page.click("#screen-backup button.back")


def _refresh(wallet: Wallet) -> None:
    """Lock and unlock: the wallet asks again for the status of every card."""
    wallet.page.click("#lock-button")
    wallet.unlock()


def test_a_lost_phone_the_officer_reissues_and_the_old_copy_is_revoked(
        browsers: Browsers, live: Live, wallet_server: WalletServer, verifier: TestClient, tmp_path: Path) -> None:
    username = _officer(live)
    document = str(secrets.randbelow(90_000_000) + 10_000_000)
    claims = {**example_claims("ppt-status"), "document_number": document}
    created = live.issue("ppt-status", "migracion:officer", claims)
    old_phone = Wallet(browsers.context()).open()
    old_phone.create_profile("Andrés")
    old_phone.receive(created["offer"]["offer_uri"], created["offer"]["tx_code"])
    backup = _backup(old_phone, tmp_path / "copia.json")

    # The new phone: the restored card cannot be shown, and says why and whom to ask.
    new_phone = Wallet(browsers.context()).open()
    new_phone.page.set_viewport_size(SMALL_PHONE)
    new_phone.create_profile("Andrés")
    _restore(new_phone, backup)
    restored = new_phone.wait("#cards .card-restored").inner_text()
    assert "copia de seguridad" in restored and "nunca sale del teléfono" in restored
    assert "Pida a Migración Colombia" in restored and "+57 601 511 1150" in restored
    assert new_phone.page.locator("#cards .badge").inner_text() == "Copia de seguridad: no se puede mostrar"
    assert new_phone.page.locator("#cards .badge-valid").count() == 0
    new_phone.screenshot("wallet-restored-360.png")
    assert layout_problems(new_phone, "home") == []
    new_phone.open_card()
    assert new_phone.page.locator("#show-qr").is_disabled()
    assert "Migración Colombia" in new_phone.visible("#cred-warning").inner_text()
    assert layout_problems(new_phone, "credential") == []
    new_phone.page.click("#cred-back")

    # The officer finds the credential by the document number as written on the cédula, and issues it again.
    desk = browsers.context()
    page = desk.new_page()
    page.set_viewport_size(LAPTOP)
    page.goto(f"{live.issuer_url}/console/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("load")
    page.goto(f"{live.issuer_url}/console/credentials")
    page.fill("#q-doc", f"{document[:2]}.{document[2:5]}.{document[5:]}")  # as printed on the document
    page.click("form:has(#q-doc) button[type=submit]")
    page.locator(f"a[href='/console/credentials/{created['id']}']").click()
    page.click("#reissue-open")
    assert "la copia del teléfono anterior quedará revocada" in page.locator("#reissue-explained").inner_text()
    page.click("#reissue-submit")  # the confirmation box is required: the browser stops the form
    assert "/reissue" in page.url
    page.check("input[name=confirm]")
    page.click("#reissue-submit")
    page.wait_for_url("**/offer?new=2")
    assert "emitida de nuevo para un teléfono nuevo" in page.locator(".alert.ok").inner_text()
    offer_link = page.locator("#offer-link").input_value()
    tx_code = page.locator("#tx-code").inner_text()
    assert len(tx_code) == 7 and tx_code[3] == " "
    replacement = page.url.split("/")[-2]
    with live.issuer_deps.session() as session:
        record = session.get(Credential, replacement)
        assert record is not None and record.replaces == created["id"]
    # Until the new phone receives it, the old phone still works.
    _refresh(old_phone)
    old_phone.wait("#cards .badge-valid")

    # The new phone receives it with the code as printed; the old copy is revoked.
    new_phone.receive(offer_link, tx_code)
    new_phone.wait("#cards .card:not(.card-dead) .badge-valid")
    _refresh(old_phone)
    old_phone.wait("#cards .card-dead")
    assert old_phone.page.locator("#cards .card-banner").inner_text().startswith("REVOCADA")
    _refresh(new_phone)
    new_phone.wait("#cards .card-dead")  # the restored card is the old copy: revoked too
    assert new_phone.page.locator("#cards .card-dead .badge").inner_text() == "Revocada"
    assert new_phone.page.locator("#cards .card").count() == 2
    new_phone.open_card(1)
    assert new_phone.page.locator("#show-qr").is_enabled()
    text = new_phone.show_qr()
    report = verifier.post("/api/v1/verify", json={"qr": text}).json()
    assert report["valid"] is True and report["holder_binding"] == "verified", report
    assert report["claims"]["document_number"] == document

    # The history says both, in words; the hash chain holds.
    page.goto(f"{live.issuer_url}/console/credentials/{created['id']}")
    history = page.locator("ol.history").inner_text()
    assert "Emitida de nuevo para otro teléfono" in history and "Revocada: teléfono reemplazado" in history
    assert "teléfono reemplazado" in page.locator("dd.reason").inner_text()
    assert page.locator(f"a[href='/console/credentials/{replacement}']").count() == 1
    assert page.locator("#reissue-open").count() == 0  # a revoked credential offers no re-issuance
    with live.issuer_deps.session() as session:
        assert audit.check_database(session).ok
    assert new_phone.log.csp_violations() == [] and new_phone.log.problems() == []
