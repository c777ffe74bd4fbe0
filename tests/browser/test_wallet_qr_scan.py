"""Issue 17: the wallet shows its live QR at its best, and the scanning page reads exactly what the
wallet drew, through a fake camera at 1280×720 (the wallet's canvas photographed at arm's length:
420 px wide, turned, blurred, JPEG-compressed, as bench/scan_frames.py draws frames), with and
without a BarcodeDetector."""

from __future__ import annotations

import base64
import io
import random
from pathlib import Path

import pytest
from PIL import Image

from bench.scan_frames import QUIET, Shot, render_frame
from testkit import live as live_issuer
from testkit.live import Live
from tests.browser import wallet_support
from tests.browser.chromium import Chromium, Verifier
from tests.browser.scanner_support import (
    NO_BARCODE_DETECTOR,
    open_page,
    scan_green,
    wait_for_decoder,
    y4m,
)
from tests.browser.wallet_support import Browsers, Wallet, WalletServer, decode_qr_png

pytestmark = pytest.mark.browser

live = live_issuer.live
wallet_playwright = wallet_support.wallet_playwright
wallet_server = wallet_support.wallet_server
browsers = wallet_support.browsers

# The page's native path (BarcodeDetector.detect on the camera's crop) with a reader as strong as the
# native ones of Android phones: the vendored zxing-wasm on the page's thread. (test_scanner's stand-in
# reads with jsQR, which misses some v21–22 codes at 420 px: the content of each showing is new, so it
# would make this test fail for some keys and pass for others.)
ZXING_BARCODE_DETECTOR = """
window.BarcodeDetector = class {
  static async getSupportedFormats() { return ['qr_code']; }
  constructor(options) { this.formats = options.formats; }
  async detect(source) {
    window.__zxing ??= (async () => {
      const zxing = await import('/common/vendor/zxing_wasm/es/reader/index.js');
      const wasm = new URL('/common/vendor/zxing_wasm/reader/zxing_reader.wasm', location.href).href;
      const locateFile = (p, prefix) => p.endsWith('.wasm') ? wasm : prefix + p;
      await zxing.prepareZXingModule({ overrides: { locateFile }, fireImmediately: true });
      const decode = await import('/common/scan/decode.js');
      return (image) => decode.decodeImage(decode.zxingReader(zxing.readBarcodes), image);
    })();
    const read = await window.__zxing;
    const canvas = document.createElement('canvas');
    canvas.width = source.width;
    canvas.height = source.height;
    const context = canvas.getContext('2d');
    context.drawImage(source, 0, 0);
    const found = await read(context.getImageData(0, 0, canvas.width, canvas.height));
    return found.text ? [{ rawValue: found.text, format: 'qr_code' }] : [];
  }
};
"""
FOUR = ["given_name", "family_name", "competency_code", "competency_title"]
ARM_LENGTH = Shot(side=420, angle=-4.0, blur=1.1, quality=60, falloff=0.3, light_angle=200.0, dark=30, light=225,
                  background=90, noise=3.0, dx=-12, dy=6)


def _canvas_png(wallet: Wallet) -> bytes:
    """The canvas's own bitmap, and a check that it is shown one bitmap pixel per device pixel."""
    shown = wallet.page.locator("#qr-canvas").evaluate(
        "c => [c.width, c.getBoundingClientRect().width * devicePixelRatio, c.toDataURL('image/png')]")
    assert abs(shown[0] - shown[1]) < 0.01, shown[:2]
    return base64.b64decode(shown[2].split(",", 1)[1])


def _module_grid(png: bytes, version: int) -> Image.Image:
    """The wallet's canvas back at one pixel per module (quiet zone included): every module must be
    a whole, uniform square of device pixels, which is what "crisp" means."""
    image = Image.open(io.BytesIO(png)).convert("L")
    modules = 17 + 4 * version + 2 * QUIET
    assert image.width == image.height and image.width % modules == 0, (image.size, modules)
    size = image.width // modules
    assert size >= 3  # a phone-sized screen gives at least 3 device pixels a module
    pixels = image.load()
    assert pixels is not None
    grid = Image.new("L", (modules, modules))
    cells = grid.load()
    assert cells is not None
    for row in range(modules):
        for col in range(modules):
            block = {pixels[col * size + dx, row * size + dy] for dx in range(size) for dy in range(size)}
            assert block in ({0}, {255}), f"module ({row}, {col}) is not a uniform black or white square"
            cells[col, row] = block.pop()
    for index in range(modules):  # the quiet zone: four white modules all around
        for edge in range(QUIET):
            assert cells[index, edge] == cells[index, modules - 1 - edge] == 255
            assert cells[edge, index] == cells[modules - 1 - edge, index] == 255
    return grid


def _show_and_photograph(wallet: Wallet, tmp_path: Path, name: str) -> tuple[str, Path]:
    """Shows the live QR, checks how it is drawn, and films it at arm's length (a y4m video)."""
    text = wallet.show_qr()
    canvas = wallet.page.locator("#qr-canvas")
    version = int(canvas.get_attribute("data-version") or 0)
    width = canvas.bounding_box()["width"]
    assert width >= 0.85 * wallet_support.PHONE["width"]  # full width
    assert canvas.evaluate("c => getComputedStyle(c).imageRendering") == "pixelated"
    grid = _module_grid(_canvas_png(wallet), version)
    frame = render_frame(grid, ARM_LENGTH, random.Random(3))
    return text, y4m(Image.open(io.BytesIO(frame)).convert("L"), tmp_path / name)


def test_the_wallets_live_qr_is_read_by_the_page_with_and_without_barcode_detector(
        browsers: Browsers, live: Live, wallet_server: WalletServer, chromium: Chromium, verifier: Verifier,
        tmp_path: Path) -> None:
    wallet = Wallet(browsers.context()).open()
    wallet.create_profile("Ana")
    created = live.issue("skills-certification")
    wallet.receive(created["offer"]["offer_uri"], created["offer"]["tx_code"])
    wallet.open_card()
    wallet.choose(FOUR)
    first, video = _show_and_photograph(wallet, tmp_path, "first.y4m")
    screen = wallet.page.locator("#screen-qr")
    assert wallet.page.locator("#qr-bright").inner_text() == (
        "Suba el brillo de la pantalla al máximo: el código se lee a la primera.")
    # The screen stays on where the browser grants a wake lock; otherwise the holder is told to touch it.
    assert screen.get_attribute("data-wake-lock") in ("on", "off")
    assert wallet.page.locator("#qr-awake").is_visible() == (screen.get_attribute("data-wake-lock") == "off")

    page, log, _ = open_page(chromium, f"{verifier.url}/", camera=video, script=NO_BARCODE_DETECTOR)
    wait_for_decoder(page, "zxing")
    assert scan_green(page) == "zxing"
    assert page.locator("#claims-block").is_visible()
    assert log.csp_violations() == [] and log.problems() == []

    # A second showing is a new key-binding JWT (the first is now spent at this verifier).
    wallet.close_qr()
    second, video = _show_and_photograph(wallet, tmp_path, "second.y4m")
    assert second != first and decode_qr_png(wallet.page.locator("#qr-canvas").screenshot()) == second
    page, log, _ = open_page(chromium, f"{verifier.url}/", camera=video, script=ZXING_BARCODE_DETECTOR)
    assert scan_green(page) == "native"
    assert log.csp_violations() == [] and log.problems() == []
    assert wallet.log.csp_violations() == [] and wallet.log.problems() == []


def test_the_qr_is_redrawn_crisp_when_the_screen_turns(browsers: Browsers, live: Live,
                                                       wallet_server: WalletServer) -> None:
    wallet = Wallet(browsers.context()).open()
    wallet.create_profile("Luis")
    created = live.issue("skills-certification")
    wallet.receive(created["offer"]["offer_uri"], created["offer"]["tx_code"])
    wallet.open_card()
    wallet.choose(FOUR)
    text = wallet.show_qr()
    narrow = wallet.page.locator("#qr-canvas").bounding_box()["width"]
    wallet.page.set_viewport_size({"width": 600, "height": 900})
    wallet.page.wait_for_timeout(200)
    wide = wallet.page.locator("#qr-canvas").bounding_box()["width"]
    assert wide > narrow
    version = int(wallet.page.locator("#qr-canvas").get_attribute("data-version") or 0)
    _module_grid(_canvas_png(wallet), version)
    assert decode_qr_png(wallet.page.locator("#qr-canvas").screenshot()) == text
    assert wallet.log.problems() == []
