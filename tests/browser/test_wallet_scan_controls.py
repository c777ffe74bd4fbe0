"""Issue 17 #3 in the wallet's offer scanner (the shared scanner, web_common/scan/): the guide asks to
bring the phone closer when a code is seen but not read, and torch and zoom controls appear where the
camera offers them (and only there), and act on the camera track."""

from __future__ import annotations

import json
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image

from testkit.world import SCHEMAS
from tests.browser import wallet_support
from tests.browser.chromium import fake_camera_video
from tests.browser.scanner_support import too_far, y4m
from tests.browser.wallet_support import Browsers, Wallet, WalletServer

pytestmark = pytest.mark.browser

wallet_playwright = wallet_support.wallet_playwright
wallet_server = wallet_support.wallet_server
browsers = wallet_support.browsers

# A camera that offers torch and zoom (Chromium's fake camera offers neither): capabilities as an
# Android phone reports them; every constraint applied is recorded for the test to read.
CAMERA_WITH_TORCH_AND_ZOOM = """
  window.__applied = [];
  MediaStreamTrack.prototype.getCapabilities = function () {
    return { torch: true, zoom: { min: 1, max: 5, step: 0.5 } };
  };
  MediaStreamTrack.prototype.getSettings = function () { return { zoom: 1, width: 1280, height: 720 }; };
  MediaStreamTrack.prototype.applyConstraints = function (constraints) {
    window.__applied.push(JSON.parse(JSON.stringify(constraints)));
    return Promise.resolve();
  };
"""


def _long_code() -> str:
    return json.loads((SCHEMAS / "qr-vectors" / "valid-reference-live-es256.json").read_text("utf-8"))["qr"]


def test_a_code_seen_but_not_read_asks_to_come_closer_in_the_wallet(browsers: Browsers, wallet_server: WalletServer,
                                                                   tmp_path: Path) -> None:
    far = y4m(too_far(_long_code()), tmp_path / "far.y4m")
    wallet = Wallet(browsers.context(fake_camera=far)).open()
    wallet.create_profile("Ana")
    wallet.visible("#receive-open").click()
    wallet.page.click("#scan-camera")
    wallet.page.locator("#scan-box.closer .scan-closer").wait_for(state="visible", timeout=60_000)
    assert wallet.page.locator(".scan-closer").inner_text() == "Acerque el teléfono"
    assert wallet.page.locator("#scan-status").inner_text() == (
        "Se ve un código pero no se puede leer: acerque el teléfono al código.")
    # The fake camera offers neither torch nor zoom: no controls that would do nothing.
    assert wallet.page.locator("#scan-torch").is_hidden() and wallet.page.locator("#scan-zoom-box").is_hidden()
    wallet.page.click("#scan-stop")
    assert wallet.page.locator("#scan-box").is_hidden()
    assert wallet.page.locator("#scan-status").inner_text() == ""
    assert not wallet.log.errors, wallet.log.errors


def test_torch_and_zoom_where_the_camera_offers_them(browsers: Browsers, wallet_server: WalletServer,
                                                    tmp_path: Path) -> None:
    blank = BytesIO()
    Image.new("L", (8, 8), 255).save(blank, "PNG")  # nothing to read: the camera stays open
    video = fake_camera_video(blank.getvalue(), tmp_path / "blank.y4m")
    context = browsers.context(fake_camera=video)
    context.add_init_script(CAMERA_WITH_TORCH_AND_ZOOM)
    wallet = Wallet(context).open()
    wallet.create_profile("Ana")
    wallet.visible("#receive-open").click()
    wallet.page.click("#scan-camera")
    torch = wallet.visible("#scan-torch")
    assert torch.inner_text() == "Linterna" and torch.get_attribute("aria-pressed") == "false"
    zoom = wallet.visible("#scan-zoom")
    assert [zoom.get_attribute(a) for a in ("min", "max", "step")] == ["1", "5", "0.5"]
    torch.click()
    wallet.wait("#scan-torch[aria-pressed='true']")
    zoom.fill("3")
    applied = wallet.page.evaluate("window.__applied")
    assert {"advanced": [{"torch": True}]} in applied and {"advanced": [{"zoom": 3}]} in applied
    torch.click()
    wallet.wait("#scan-torch[aria-pressed='false']")
    assert {"advanced": [{"torch": False}]} in wallet.page.evaluate("window.__applied")
    wallet.page.click("#scan-stop")
    assert wallet.page.locator("#scan-torch").is_hidden() and wallet.page.locator("#scan-zoom-box").is_hidden()
    assert not wallet.log.errors, wallet.log.errors
