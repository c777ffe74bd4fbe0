"""Issue 15, the migrant's journey in the wallet on a 360×740 phone in Spanish: every screen fits
(no horizontal overflow, the profile's name readable, tap targets of at least 44 px), the offer code
typed as printed, who offers, the QR that stays while shown, a revoked card, an offer link on a
shared phone."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlmodel import select

from issuer.db.models import Institution
from issuer.institutions import set_contact
from testkit import live as live_issuer
from testkit.live import Live
from testkit.servers import ServerThread, free_port
from tests.browser import wallet_support
from tests.browser.wallet_support import Browsers, Wallet, WalletServer, layout_problems
from verifier.app import create_app as create_verifier

pytestmark = pytest.mark.browser

live = live_issuer.live
wallet_playwright = wallet_support.wallet_playwright
wallet_server = wallet_support.wallet_server
browsers = wallet_support.browsers

SMALL_PHONE = {"width": 360, "height": 740}
HOLDER = "María José"


def small_phone(browsers: Browsers) -> Wallet:
    wallet = Wallet(browsers.context())
    wallet.page.set_viewport_size(SMALL_PHONE)
    return wallet.open()


def assert_clean(wallet: Wallet) -> None:
    assert wallet.log.csp_violations() == []
    assert wallet.log.problems() == []


# ----------------------------------------------------------------------------- (2) every screen at 360 px


def test_every_wallet_screen_fits_a_360_px_phone(browsers: Browsers, live: Live, wallet_server: WalletServer) -> None:
    wallet = small_phone(browsers)
    page = wallet.page
    seen: list[str] = []
    problems: list[str] = []

    def check(screen: str) -> None:
        seen.append(screen)
        problems.extend(layout_problems(wallet, screen))

    check("profiles")
    page.click("#new-profile")
    check("create")
    page.click("#create-cancel")
    wallet.create_profile(HOLDER)
    check("home")
    created = live.issue("skills-certification")
    page.click("#receive-open")
    check("receive")
    page.fill("#offer-input", created["offer"]["offer_uri"])
    page.click("#paste-submit")
    wallet.visible("#offer-host")
    check("offer")
    page.click("#offer-contact")
    wallet.visible("#tx-code")
    check("offer")
    page.fill("#tx-code", created["offer"]["tx_code"])
    page.click("#offer-accept")
    wallet.visible("#cards .card")
    check("home")
    wallet.open_card()
    check("credential")
    page.click("#cred-delete")
    check("credential")
    page.click("#cred-delete-no")
    wallet.show_qr()
    check("qr")
    wallet.close_qr()
    page.click("#cred-back")
    page.click("#history-open")
    check("history")
    page.click("#screen-history button.back")
    page.click("#backup-open")
    check("backup")
    page.click("#screen-backup button.back")
    page.click("#profile-delete-open")
    check("delete-profile")
    page.click("#screen-delete-profile button.back")
    # The consent screen of an online request (an employer's, then a bank's with long values).
    port = free_port()
    service = live.verifier_service(public_verifier_url=f"http://127.0.0.1:{port}")
    with ServerThread(create_verifier(service.settings, service=service), port), httpx.Client(timeout=10) as http:
        for preset in ("employment", "bank-kyc"):
            asked = http.post(f"http://127.0.0.1:{port}/api/v1/presentation-requests", json={"preset": preset})
            assert asked.status_code == 201, asked.text
            page.click("#share-open")
            check("receive")
            page.fill("#offer-input", asked.json()["qr"])
            page.click("#paste-submit")
            wallet.visible("#request-refuse")
            wallet.wait("#request-progress:empty", state="attached")
            check("request")
            page.click("#request-refuse")
            wallet.visible("#screen-home")
    page.click("#lock-button")
    check("unlock")
    assert problems == []
    screens = set(page.eval_on_selector_all(".screen", "nodes => nodes.map(n => n.id.slice(7))"))
    assert screens - set(seen) == set(), "a wallet screen the layout check never visited"
    assert_clean(wallet)


# ----------------------------------------------------------------------------- (1) the offer code as printed


@pytest.mark.parametrize("shape", ["{a} {b}", "{a}-{b}", " {a} {b} "])
def test_the_offer_code_is_accepted_as_printed(browsers: Browsers, live: Live, wallet_server: WalletServer,
                                               shape: str) -> None:
    wallet = small_phone(browsers)
    wallet.create_profile(HOLDER)
    created = live.issue("skills-certification")
    code = created["offer"]["tx_code"]
    wallet.visible("#receive-open").click()
    wallet.page.fill("#offer-input", created["offer"]["offer_uri"])
    wallet.page.click("#paste-submit")
    wallet.visible("#offer-contact").click()
    label = wallet.visible("label[for=tx-code]").inner_text()
    assert "Código de la oferta" in label and "PIN" not in label
    wallet.page.locator("#tx-code").press_sequentially(shape.format(a=code[:3], b=code[3:]))
    wallet.page.click("#offer-accept")
    wallet.visible("#cards .card")
    assert_clean(wallet)


def test_a_short_offer_code_is_refused_with_its_name(browsers: Browsers, live: Live,
                                                      wallet_server: WalletServer) -> None:
    wallet = small_phone(browsers)
    wallet.create_profile(HOLDER)
    created = live.issue("skills-certification")
    wallet.visible("#receive-open").click()
    wallet.page.fill("#offer-input", created["offer"]["offer_uri"])
    wallet.page.click("#paste-submit")
    wallet.visible("#offer-contact").click()
    code = created["offer"]["tx_code"]
    wallet.visible("#tx-code").press_sequentially(f"{code[:3]} {code[3:5]}")
    wallet.page.click("#offer-accept")
    assert "código de la oferta" in wallet.visible("#offer-error").inner_text()



def _offer_screen(wallet: Wallet, live: Live) -> dict[str, Any]:
    created = live.issue("skills-certification")
    wallet.visible("#receive-open").click()
    wallet.page.fill("#offer-input", created["offer"]["offer_uri"])
    wallet.page.click("#paste-submit")
    wallet.visible("#offer-host")
    return created


# ----------------------------------------------------------------------------- (3) say who


def test_the_first_offer_screen_names_the_institution_with_its_server_beneath(browsers: Browsers, live: Live,
                                                                               wallet_server: WalletServer) -> None:
    wallet = small_phone(browsers)
    wallet.create_profile(HOLDER)
    created = _offer_screen(wallet, live)
    assert wallet.visible("#offer-from-name").inner_text() == "SENA"
    assert wallet.page.locator("#offer-host").inner_text() == live.issuer_url.removeprefix("http://")
    name_box = wallet.page.locator("#offer-from-name").bounding_box()
    host_box = wallet.page.locator("#offer-host").bounding_box()
    assert name_box and host_box and host_box["y"] > name_box["y"]  # the host beneath the name
    assert "acreditada" in wallet.visible("#offer-from-trust").inner_text()
    wallet.screenshot("wallet-offer-360.png")
    assert wallet.page.locator("#offer-step-accept").is_hidden()  # nothing redeemed yet: the code comes next
    wallet.confirm_offer(created["offer"]["tx_code"])
    wallet.visible("#cards .card")
    assert_clean(wallet)


# ----------------------------------------------------------------------------- (4) the QR stays while shown


_HIDE_PAGE = """() => {
  Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
  document.dispatchEvent(new Event('visibilitychange'));
}"""
FOUR = ["given_name", "family_name", "competency_code", "competency_title"]


def _ticked(wallet: Wallet) -> list[str]:
    boxes = wallet.page.locator("#claim-list input[type=checkbox]")
    ticked = [boxes.nth(i) for i in range(boxes.count()) if boxes.nth(i).is_checked()]
    return sorted(box.get_attribute("data-claim") or "" for box in ticked)


def test_the_qr_stays_while_shown_and_the_last_choice_is_remembered(browsers: Browsers, live: Live,
                                                                     wallet_server: WalletServer) -> None:
    wallet = small_phone(browsers)
    wallet.create_profile(HOLDER)
    created = _offer_screen(wallet, live)
    wallet.confirm_offer(created["offer"]["tx_code"])
    wallet.page.clock.install()
    wallet.open_card()
    default = _ticked(wallet)
    wallet.choose(FOUR)
    wallet.show_qr()
    wallet.page.clock.run_for(4 * 60_000)  # longer than the idle lock, with nobody touching the phone
    assert wallet.page.locator("#screen-qr").is_visible()
    assert int(wallet.page.locator("#qr-canvas").get_attribute("data-generation") or 0) >= 2  # still renewed
    wallet.page.evaluate(_HIDE_PAGE)  # the phone goes into a pocket: now it locks
    assert "inactividad" in wallet.visible("#unlock-message").inner_text()
    assert wallet.page.locator("#qr-canvas").get_attribute("data-generation") is None
    wallet.page.reload()
    wallet.page.wait_for_selector("body[data-ready='true']")
    wallet.unlock()
    wallet.open_card()
    assert _ticked(wallet) == sorted(FOUR) != default
    # Without a QR on screen the idle lock still applies (the fake clock survives the reload).
    wallet.page.clock.run_for(4 * 60_000)
    assert "inactividad" in wallet.visible("#unlock-message").inner_text()


# ----------------------------------------------------------------------------- (6) an offer link on a shared phone


def test_an_offer_link_on_a_shared_phone_asks_for_whom_first(browsers: Browsers, live: Live,
                                                            wallet_server: WalletServer) -> None:
    wallet = small_phone(browsers)
    wallet.create_profile("Ana")
    wallet.page.click("#switch-profile")
    wallet.create_profile("Luis")
    created = live.issue("skills-certification")
    wallet.open("/?offer=" + quote(created["offer"]["offer_uri"], safe=""))
    assert wallet.visible("#profiles-title").inner_text() == "¿Para quién es esta credencial?"
    assert "oferta de credencial" in wallet.visible("#profiles-offer").inner_text()
    assert layout_problems(wallet, "profiles") == []
    wallet.screenshot("wallet-for-whom-360.png")
    wallet.choose_profile("Luis")
    assert "oferta" in wallet.visible("#unlock-offer").inner_text()
    wallet.page.fill("#unlock-pin", wallet_support.PIN)
    wallet.page.click("#unlock-submit")
    wallet.confirm_offer(created["offer"]["tx_code"])
    assert len(wallet.cards()) == 1
    wallet.page.click("#switch-profile")
    assert wallet.visible("#profiles-title").inner_text() == "¿Quién usa el teléfono?"
    assert wallet.page.locator("#profiles-offer").is_hidden()
    wallet.choose_profile("Ana")
    assert wallet.page.locator("#unlock-offer").is_hidden()
    wallet.unlock()
    assert wallet.cards() == []
    # With a single profile on the phone, the link still asks first instead of opening its PIN screen.
    other = Wallet(browsers.context()).open()
    other.create_profile("Rosa")
    other.open("/?offer=" + quote(live.issue("skills-certification")["offer"]["offer_uri"], safe=""))
    assert other.visible("#profiles-title").inner_text() == "¿Para quién es esta credencial?"
    assert_clean(wallet)


# ----------------------------------------------------------------------------- (5) a revoked card


def _set_contact(live: Live, slug: str = "sena") -> None:
    with live.issuer_deps.session() as session:
        row = session.exec(select(Institution).where(Institution.slug == slug)).one()
        set_contact(session, live.issuer_deps, row, phone="+57 601 736 0000", email="ayuda@sena.example",
                    web="https://sena.example/ayuda")
        session.commit()


def test_a_revoked_card_is_unmistakable_names_the_contact_and_asks_before_showing(
        browsers: Browsers, live: Live, wallet_server: WalletServer) -> None:
    _set_contact(live)
    wallet = small_phone(browsers)
    wallet.create_profile(HOLDER)
    created = _offer_screen(wallet, live)
    wallet.confirm_offer(created["offer"]["tx_code"])
    wallet.wait("#cards .badge-valid")
    assert wallet.page.locator("#cards .card-banner").count() == 0
    live.change(created["id"], "revoke")
    wallet.page.click("#lock-button")
    wallet.unlock()
    wallet.wait("#cards .card-dead")
    assert wallet.page.locator("#cards .card-banner").inner_text() == "REVOCADA: ya no es válida"
    assert wallet.page.locator("#cards .card-trust").count() == 0  # no "Institución acreditada" on a dead card
    contact = wallet.page.locator("#cards .card-contact").inner_text()
    assert "contacte a SENA" in contact and "+57 601 736 0000" in contact and "ayuda@sena.example" in contact
    colours = wallet.page.locator("#cards .card").evaluate(
        "n => [getComputedStyle(n).backgroundColor, getComputedStyle(n).borderTopColor]")
    assert colours == ["rgb(244, 244, 244)", "rgb(164, 22, 26)"]  # grey with a red frame, not green
    assert layout_problems(wallet, "home") == []
    wallet.screenshot("wallet-revoked-360.png")
    wallet.open_card()
    assert "ayuda@sena.example" in wallet.visible("#cred-contact").inner_text()
    wallet.page.click("#show-qr")
    assert "revocada" in wallet.visible("#cred-show-question").inner_text()
    wallet.page.locator("#cred-show-confirm").scroll_into_view_if_needed()
    wallet.screenshot("wallet-revoked-confirm-360.png")
    assert wallet.page.locator("#screen-qr").is_hidden()
    assert layout_problems(wallet, "credential") == []
    wallet.page.click("#cred-show-no")
    assert wallet.page.locator("#cred-show-confirm").is_hidden()
    wallet.page.click("#show-qr")
    wallet.page.click("#cred-show-yes")
    wallet.page.locator("#qr-canvas[data-generation]").wait_for()
    assert_clean(wallet)
