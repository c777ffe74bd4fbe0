"""``scan_*``: how often each QR decoder the product uses reads the project's own codes from
camera-like 1280×720 frames (issue 17, "Build" 1). The frames are bench/scan_frames.py's: seeded,
so every run decodes the same pictures of freshly issued codes.

Decoders:
- ``zxingcpp``: zxing-cpp in Python, as ``puente verify`` reads a photo (the whole frame);
- ``jsqr``, ``zxing_wasm``: the vendored jsQR and zxing-wasm in Chromium, one pass each;
- ``page_jsqr``, ``page_zxing_wasm``: what the scanning page and the wallet run where the browser has
  no BarcodeDetector (web_common/scan/decode.js ``decodeImage``: the centre crop as it is, then
  sharpened), with jsQR until zxing-wasm is ready, then zxing-wasm.

Goal (``scan_live_420_page``): the live QR 420 px wide decodes in at least 95% of the frames with the
page's decoder where there is no BarcodeDetector (``page_zxing_wasm``).
"""

from __future__ import annotations

import base64
import io
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import zxingcpp
from PIL import Image

from bench import BenchmarkError
from bench.fixtures import build_reference, paper_credential
from bench.scan_frames import HEIGHT, WIDTH, Code, Frame, frames
from credcore import qr

T = TypeVar("T")

GOAL = 0.95
GOAL_KIND, GOAL_SIDE, GOAL_DECODER = "live", 420, "page_zxing_wasm"
SIDES = (300, 420, 560)
SEED = 17
CHROMIUM = Path("/usr/bin/chromium")
BROWSER_DECODERS = ("jsqr", "zxing_wasm", "page_jsqr", "page_zxing_wasm")
DECODERS = ("zxingcpp", *BROWSER_DECODERS)
BATCH = 12  # frames per call into the page

# Runs in the page: the frames (base64 JPEG) through each decoder, on the centre crop the camera
# decodes (web_common/scan/scanner.js centreCrop), answering true/false per frame and decoder.
SETUP_JS = """async () => {
  const decode = await import('/common/scan/decode.js');
  await import('/common/vendor/jsQR.js');
  const zxing = await import('/common/vendor/zxing_wasm/es/reader/index.js');
  const wasm = new URL('/common/vendor/zxing_wasm/reader/zxing_reader.wasm', location.href).href;
  await zxing.prepareZXingModule({ overrides: { locateFile: (p, prefix) => p.endsWith('.wasm') ? wasm : prefix + p },
                                   fireImmediately: true });
  const jsqr = decode.jsqrReader(self.jsQR);
  const zx = decode.zxingReader(zxing.readBarcodes);
  window.benchReaders = {
    jsqr: (image) => jsqr(image), zxing_wasm: (image) => zx(image),
    page_jsqr: (image) => decode.decodeImage(jsqr, image), page_zxing_wasm: (image) => decode.decodeImage(zx, image),
  };
}"""
DECODE_JS = """async ([frames, expected]) => {
  const scanner = await import('/common/scan/scanner.js');
  const readers = window.benchReaders;
  const out = [];
  for (let i = 0; i < frames.length; i++) {
    const bytes = Uint8Array.from(atob(frames[i]), (c) => c.charCodeAt(0));
    const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/jpeg' }));
    const crop = scanner.centreCrop(bitmap.width, bitmap.height);
    const canvas = new OffscreenCanvas(crop.side, crop.side);
    const context = canvas.getContext('2d', { willReadFrequently: true });
    context.drawImage(bitmap, crop.x, crop.y, crop.side, crop.side, 0, 0, crop.side, crop.side);
    bitmap.close();
    const row = {};
    for (const [name, read] of Object.entries(readers)) {
      const image = context.getImageData(0, 0, crop.side, crop.side); // a fresh copy for each reader
      const result = await read(image);
      row[name] = result.text === expected[i];
    }
    out.push(row);
  }
  return out;
}"""


@dataclass(frozen=True)
class Cell:
    kind: str
    side: int
    frames: int


def offer_text() -> str:
    """An OpenID4VCI offer link as the issuer prints it (a 128-bit offer id in the URL)."""
    url = f"https://emisor.puente.example/oid4vci/offers/{secrets.token_urlsafe(16)}"
    return f"openid-credential-offer://?credential_offer_uri={quote(url, safe='')}"


def project_codes() -> dict[str, Code]:
    ref = build_reference()
    return {
        "live": Code("live", qr.encode(ref.presentation), "M"),
        "paper": Code("paper", qr.encode(paper_credential(ref.world)), "Q"),
        "offer": Code("offer", offer_text(), "M"),
    }


def cells(per_cell: int, goal_frames: int) -> list[Cell]:
    return [Cell(kind, side, goal_frames if (kind, side) == (GOAL_KIND, GOAL_SIDE) else per_cell)
            for kind in ("live", "paper", "offer") for side in SIDES]


def all_frames(codes: dict[str, Code], plan: Sequence[Cell]) -> list[Frame]:
    out: list[Frame] = []
    for index, cell in enumerate(plan):
        out.extend(frames([codes[cell.kind]], [cell.side], cell.frames, seed=SEED * 1000 + index))
    return out


def zxingcpp_reads(frame: Frame) -> bool:
    image = Image.open(io.BytesIO(frame.jpeg))
    return any(result.text == frame.text
               for result in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode))


@contextmanager
def serving_web_common() -> Iterator[str]:
    """The wallet app (it serves /common/ with the product's headers) on a free loopback port."""
    import socket

    import uvicorn

    from puente.wallet_app import create_wallet_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_wallet_app(), host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise BenchmarkError("the static server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def chromium_page(playwright: Any = None) -> Iterator[Any]:
    """A Chromium page on the origin that serves /common/ (Debian's Chromium, TESTING.md), from
    ``playwright`` or from a Playwright of its own (one per thread: tests pass theirs)."""
    if not CHROMIUM.exists():
        raise BenchmarkError(f"the scan benchmark needs Chromium at {CHROMIUM} (apt-get install chromium)")
    if playwright is None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as own, chromium_page(own) as page:
            yield page
        return
    with serving_web_common() as base:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync"])
        try:
            page = browser.new_page()
            page.set_default_timeout(120_000)
            page.goto(f"{base}/healthz")
            page.evaluate(SETUP_JS)
            yield page
        finally:
            browser.close()


def browser_reads(page: Any, batch: Sequence[Frame]) -> list[dict[str, bool]]:
    encoded = [base64.b64encode(frame.jpeg).decode("ascii") for frame in batch]
    rows: list[dict[str, bool]] = page.evaluate(DECODE_JS, [encoded, [frame.text for frame in batch]])
    return rows


def decode_all(page: Any, frames_: Sequence[Frame]) -> list[dict[str, bool]]:
    """Per frame: which decoders read exactly its text."""
    rows: list[dict[str, bool]] = []
    for start in range(0, len(frames_), BATCH):
        batch = frames_[start:start + BATCH]
        for frame, row in zip(batch, browser_reads(page, batch), strict=True):
            rows.append({"zxingcpp": zxingcpp_reads(frame), **row})
    return rows


def _decode_in_chromium(frames_: Sequence[Frame]) -> list[dict[str, bool]]:
    with chromium_page() as page:
        return decode_all(page, frames_)


def _in_own_thread(work: Callable[[], T]) -> T:
    """Playwright's sync API refuses a thread whose asyncio loop is running (a test session's own
    Playwright keeps one running in the main thread): the browser work gets a thread of its own."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


def run(*, per_cell: int = 16, goal_frames: int = 60) -> dict[str, float | int | str]:
    if (WIDTH, HEIGHT) != (1280, 720):
        raise BenchmarkError("frames must be 1280×720")
    codes = project_codes()
    plan = cells(per_cell, goal_frames)
    frames_ = all_frames(codes, plan)
    rows = _in_own_thread(lambda: _decode_in_chromium(frames_))
    results: dict[str, float | int | str] = {f"scan_version_{kind}": code.version for kind, code in codes.items()}
    results["scan_frames"] = len(frames_)
    for cell in plan:
        picked = [row for frame, row in zip(frames_, rows, strict=True)
                  if frame.kind == cell.kind and frame.side == cell.side]
        for decoder in DECODERS:
            results[f"scan_{cell.kind}_{cell.side}_{decoder}"] = sum(row[decoder] for row in picked) / len(picked)
    results["scan_live_420_page"] = results[f"scan_{GOAL_KIND}_{GOAL_SIDE}_{GOAL_DECODER}"]
    return results
