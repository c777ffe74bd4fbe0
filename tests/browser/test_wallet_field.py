"""Issue 15, the migrant's journey in the wallet on a 360×740 phone in Spanish: every screen fits
(no horizontal overflow, the profile's name readable, tap targets of at least 44 px), the offer code
typed as printed, who offers, the QR that stays while shown, a revoked card, an offer link on a
shared phone."""

from __future__ import annotations

import httpx
import pytest

from tests.browser import wallet_support
from tests.browser.wallet_support import Browsers, Wallet, WalletServer
from tests.verifier import conftest as verifier_fixtures
from tests.verifier.conftest import Live, ServerThread, free_port
from verifier.app import create_app as create_verifier

pytestmark = pytest.mark.browser

live = verifier_fixtures.live
wallet_playwright = wallet_support.wallet_playwright
wallet_server = wallet_support.wallet_server
browsers = wallet_support.browsers

SMALL_PHONE = {"width": 360, "height": 740}
HOLDER = "María José"

# What a person can touch, and text that must not be squeezed into a sliver (letter-by-letter breaks).
_LAYOUT = """
() => {
  const problems = [];
  const visible = (node) => {
    const r = node.getBoundingClientRect();
    const style = getComputedStyle(node);
    return r.width > 0 && r.height > 0 && style.visibility !== 'hidden' && !node.closest('[hidden]');
  };
  const name = (node) => node.id ? `#${node.id}` : `${node.tagName.toLowerCase()}.${node.className}`
    + `(${(node.textContent || '').trim().slice(0, 20)})`;
  const width = document.documentElement.scrollWidth;
  if (width > window.innerWidth) problems.push(`page is ${width} px wide in ${window.innerWidth}`);
  for (const node of document.querySelectorAll('body *')) {
    if (!visible(node)) continue;
    const r = node.getBoundingClientRect();
    if (r.right > window.innerWidth + 0.5) problems.push(`${name(node)} sticks out to ${Math.round(r.right)} px`);
  }
  const targets = document.querySelectorAll('button, a[href], select, textarea, label.file-button, '
    + 'input:not([type=checkbox]):not([type=radio]):not(.visually-hidden), .claims li');
  for (const node of targets) {
    if (!visible(node)) continue;
    const r = node.getBoundingClientRect();
    if (r.width < 44 || r.height < 44) {
      problems.push(`${name(node)} is ${Math.round(r.width)}×${Math.round(r.height)} px`);
    }
  }
  for (const node of document.querySelectorAll('main p, main dd, main dt, main span, main h1, main h2, main label')) {
    if (!visible(node)) continue;
    const words = (node.textContent || '').trim();
    if (words.length > 12 && node.getBoundingClientRect().width < 120) {
      problems.push(`${name(node)} squeezed to ${Math.round(node.getBoundingClientRect().width)} px`);
    }
  }
  const who = document.getElementById('who');
  if (visible(who) && (who.scrollWidth > who.clientWidth + 1 || who.getBoundingClientRect().width < 60)) {
    problems.push(`the profile name shows ${Math.round(who.getBoundingClientRect().width)} px of ${who.scrollWidth}`);
  }
  return problems;
}
"""


def small_phone(browsers: Browsers) -> Wallet:
    wallet = Wallet(browsers.context())
    wallet.page.set_viewport_size(SMALL_PHONE)
    return wallet.open()


def layout_problems(wallet: Wallet, screen: str) -> list[str]:
    wallet.visible(f"#screen-{screen}")
    problems: list[str] = wallet.page.evaluate(_LAYOUT)
    return [f"{screen}: {problem}" for problem in problems]


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

