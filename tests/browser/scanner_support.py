"""Driving the shared QR scanner (web_common/scan/) on the scanning page in Chromium, for the browser
tests that point a fake camera at it (tests/browser/test_scanner.py, test_wallet_qr_scan.py,
test_wallet_scan_controls.py): camera-like frames drawn as bench/scan_frames.py draws them, the y4m
video Chromium's fake camera plays, opening the page, waiting for a reader, a green scan."""

from __future__ import annotations

import io
import random
import time
from pathlib import Path
from typing import Any

import zxingcpp
from PIL import Image

from bench.scan_frames import Code, Shot, render_frame, symbol_image
from tests.browser.chromium import WAIT_MS, Chromium, PageLog

WASM = "zxing_reader.wasm"
SCANNER = "import('/common/scan/scanner.js')"
NO_BARCODE_DETECTOR = "delete window.BarcodeDetector;"


def camera_frame(text: str, *, side: int, blur: float, angle: float = 3.0) -> Image.Image:
    """One camera-like frame (1280×720) of the QR of ``text`` at ECC M, drawn as the bench draws them."""
    shot = Shot(side=side, angle=angle, blur=blur, quality=75, falloff=0.25, light_angle=30.0, dark=35,
                light=215, background=110, noise=3.0, dx=10, dy=-8)
    jpeg = render_frame(symbol_image(Code("live", text, "M")), shot, random.Random(17))
    return Image.open(io.BytesIO(jpeg)).convert("L")


def too_far(text: str) -> Image.Image:
    """A frame where the code is too small to read but ZXing still finds it (zxing-cpp, the library
    zxing-wasm compiles, says so: only results with errors)."""
    for side in range(240, 130, -10):
        frame = camera_frame(text, side=side, blur=1.0)
        found = zxingcpp.read_barcodes(frame, formats=zxingcpp.BarcodeFormat.QRCode, return_errors=True)
        if found and not any(result.valid for result in found):
            return frame
    raise AssertionError("no frame with a code seen but not read")


def y4m(frame: Image.Image, path: Path, frames: int = 5) -> Path:
    """The frame as a y4m video for Chromium's fake camera (TESTING.md): grey luma, neutral chroma."""
    chroma = bytes([128]) * (frame.width * frame.height // 4)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{frame.width} H{frame.height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + frame.tobytes() + chroma + chroma)
    return path


def open_page(chromium: Chromium, url: str, *, camera: Path | None = None, script: str | None = None,
              block_wasm: bool = False) -> tuple[Any, PageLog, list[tuple[float, str]]]:
    """The scanning page, with ``script`` run before the page's own, and every request it (or its
    worker) makes as (monotonic time, url)."""
    browser = chromium.launch(camera)
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(WAIT_MS)
    if script:
        context.add_init_script(script)
    if block_wasm:
        context.route(f"**/{WASM}", lambda route: route.abort())
    page = context.new_page()
    log = PageLog()
    requests: list[tuple[float, str]] = []
    page.on("console", lambda message: log.console.append((message.type, message.text)))
    page.on("pageerror", lambda error: log.errors.append(str(error)))
    context.on("request", lambda request: requests.append((time.monotonic(), request.url)))
    page.goto(url, wait_until="load")
    return page, log, requests


def wait_for_decoder(page: Any, decoder: str) -> None:
    """Waits (at most WAIT_MS) until the scanner's reader is ``decoder``."""
    current = page.evaluate(f"""async () => {{
        const scanner = await {SCANNER};
        for (const end = Date.now() + {WAIT_MS}; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {{
            if (await scanner.currentDecoder() === '{decoder}') break;
        }}
        return scanner.currentDecoder();
    }}""")
    assert current == decoder


def scan_green(page: Any) -> str:
    """Clicks Scan, waits for the green result and returns which reader read the frame."""
    page.click("#scan")
    try:
        page.locator("#result[data-tone='ok']").wait_for(state="visible", timeout=WAIT_MS)
    except Exception as error:  # say what the page showed instead (a result of another tone, a camera message)
        shown = page.evaluate("""() => ({
            tone: document.getElementById('result')?.dataset.tone,
            title: document.getElementById('result-title')?.textContent,
            camera: document.getElementById('camera-status')?.textContent,
        })""")
        raise AssertionError(f"no green result within {WAIT_MS} ms; the page shows {shown}") from error
    assert page.locator("#result-title").text_content() == "Credencial verificada"
    assert page.evaluate("document.getElementById('video').srcObject") is None  # the camera is released
    decoder: str = page.locator("#camera").get_attribute("data-decoder")
    return decoder
