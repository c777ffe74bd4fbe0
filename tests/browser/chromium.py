"""Chromium (Debian's, driven by Playwright) for the browser tests: launching it with an optional fake
camera, the log of what a page says, the verifier served on loopback, screenshots. The fixtures are
in conftest.py."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from verifier.service import VerifierService

CHROMIUM = Path(os.environ.get("PUENTE_CHROMIUM", "/usr/bin/chromium"))
BASE_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--no-first-run", "--disable-sync"]
WAIT_MS = 30_000  # the bound on every wait in these tests
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed"
    return None


def require_browser() -> None:
    """Skip locally; in CI (CI=true) a missing browser is a failure, never a silent skip."""
    reason = browser_missing()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests need Chromium in CI: {reason}")
    pytest.skip(f"browser tests skipped: {reason} (apt-get install chromium; pip install playwright)")


@dataclass
class Verifier:
    url: str
    service: VerifierService


@dataclass
class PageLog:
    """What a page said on its console and which errors it threw."""

    console: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def csp_violations(self) -> list[str]:
        return [text for _, text in self.console if "Content Security Policy" in text]

    def problems(self) -> list[str]:
        return [f"{kind}: {text}" for kind, text in self.console if kind in ("error", "warning")] + self.errors


class Chromium:
    """Launches Chromium, optionally with a fake camera playing a y4m file, and opens pages whose
    console messages, page errors and dialogs are recorded in ``page.log`` (a PageLog)."""

    def __init__(self, playwright: Any) -> None:
        self.playwright = playwright
        self.browsers: list[Any] = []

    def launch(self, fake_camera: Path | None = None) -> Any:
        args = list(BASE_ARGS)
        if fake_camera is not None:
            args += ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                     f"--use-file-for-fake-video-capture={fake_camera}"]
        browser = self.playwright.chromium.launch(executable_path=str(CHROMIUM), args=args, timeout=WAIT_MS)
        self.browsers.append(browser)
        return browser

    def page(self, url: str, *, fake_camera: Path | None = None, viewport: dict[str, int] | None = None,
             scale: float = 1) -> tuple[Any, PageLog]:
        """A new page at ``url`` (phone-sized by default) and the log of what it says."""
        browser = self.launch(fake_camera)
        context = browser.new_context(viewport=viewport or PHONE, device_scale_factor=scale)
        context.set_default_timeout(WAIT_MS)
        page = context.new_page()
        log = PageLog()
        page.on("console", lambda message: log.console.append((message.type, message.text)))
        page.on("pageerror", lambda error: log.errors.append(str(error)))

        def on_dialog(dialog: Any) -> None:
            log.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.goto(url, wait_until="load", timeout=WAIT_MS)
        return page, log

    def close(self) -> None:
        for browser in self.browsers:
            browser.close()


def fake_camera_video(png: bytes, path: Path, *, width: int = 1280, height: int = 960, side: int = 880,
                      frames: int = 5) -> Path:
    """A y4m file (Chromium's fake camera) showing the QR image centred on white, as TESTING.md does."""
    canvas = Image.new("L", (width, height), 255)
    code = Image.open(BytesIO(png)).convert("L").resize((side, side), Image.Resampling.NEAREST)
    canvas.paste(code, ((width - side) // 2, (height - side) // 2))
    luma, chroma = canvas.tobytes(), bytes([128]) * (width * height // 4)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + luma + chroma + chroma)
    return path


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path), full_page=True, timeout=WAIT_MS)
    return path
