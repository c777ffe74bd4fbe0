"""Fixtures and a page driver for the web wallet's browser tests (tests/browser/test_wallet*.py).

The wallet runs on exactly http://127.0.0.1:8003: the live issuer of tests/verifier/conftest.py is
built with default settings, whose CORS allows only that wallet origin. A busy port is a failure with
a clear message, never a silent skip. Chromium is Debian's, driven by Playwright; one Playwright per
test process (a second sync_playwright() in the same thread fails), so the browser conftest's
``_playwright`` is reused when it exists.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image

from puente.wallet_app import create_wallet_app
from testkit.live import Live
from testkit.servers import ServerThread
from verifier.app import create_app as create_verifier

CHROMIUM = Path(os.environ.get("PUENTE_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
WALLET_PORT = 8003
WALLET_URL = f"http://127.0.0.1:{WALLET_PORT}"
PHONE = {"width": 390, "height": 844}
WAIT_MS = 30_000
PIN = "482915"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def unavailable(reason: str) -> None:
    """Skip locally; with CI=true a missing browser fails the run instead."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"the wallet's browser tests need Chromium in CI: {reason}")
    pytest.skip(f"wallet browser tests skipped: {reason}")


@pytest.fixture(scope="session")
def wallet_playwright(request: pytest.FixtureRequest) -> Iterator[Any]:
    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        shared = request.getfixturevalue("_playwright")  # tests/browser/conftest.py's, if it has one
    except pytest.FixtureLookupError:
        shared = None
    if shared is not None:
        yield shared
        return
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed")
    with sync_playwright() as playwright:
        yield playwright


def _port_is_free(port: int, wait: float = 20.0) -> bool:
    """Whether the port can be bound, waiting a little for a server that is still shutting down."""
    deadline = time.monotonic() + wait
    while True:
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
                return True
            except OSError:
                if time.monotonic() > deadline:
                    return False
        time.sleep(0.2)


class WalletServer:
    """The wallet app on 127.0.0.1:8003, which a test may stop (to prove it works offline)."""

    def __init__(self, **app_options: Any) -> None:
        if not _port_is_free(WALLET_PORT):
            pytest.fail(f"port {WALLET_PORT} on 127.0.0.1 is in use (is `make run` or `puente serve wallet` "
                        f"running?). The wallet tests must serve the wallet at {WALLET_URL}: the test issuer's "
                        "CORS allows only that origin (settings.wallet_origin).")
        self.requests: list[tuple[str, int]] = []  # (path, bytes sent in the body)
        self.thread = ServerThread(self._counting(create_wallet_app(**app_options)), WALLET_PORT)
        self.running = False

    def _counting(self, app: Any) -> Any:
        async def counted(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            entry = [scope["path"], 0]

            async def counting_send(message: Any) -> None:
                if message["type"] == "http.response.body":
                    entry[1] += len(message.get("body", b""))
                await send(message)

            await app(scope, receive, counting_send)
            self.requests.append((entry[0], entry[1]))

        return counted

    def start(self) -> WalletServer:
        self.thread.__enter__()
        self.running = True
        return self

    def stop(self) -> None:
        """Stop now: a browser's open keep-alive connections must not hold the port."""
        if self.running:
            self.thread.server.config.timeout_graceful_shutdown = 1
            self.thread.__exit__()
            self.running = False


@pytest.fixture
def wallet_server(live: Live) -> Iterator[WalletServer]:
    """The wallet, configured with the live issuer's trust list and the pinned registry key."""
    server = WalletServer(trust_list_url=f"{live.issuer_url}/trust-list", registry_jwk=live.registry.jwk()).start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class PageLog:
    console: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def csp_violations(self) -> list[str]:
        return [text for _, text in self.console if "Content Security Policy" in text or "Trusted Type" in text]

    def problems(self) -> list[str]:
        return [f"{kind}: {text}" for kind, text in self.console if kind == "error"] + self.errors


class Browsers:
    """Launches Chromium (once per test, or once per fake camera video) and opens phone-sized
    contexts, each with its own storage, as separate phones would have."""

    def __init__(self, playwright: Any) -> None:
        self.playwright = playwright
        self.browsers: dict[Path | None, Any] = {}

    def context(self, fake_camera: Path | None = None, **options: Any) -> Any:
        if fake_camera not in self.browsers:
            args = list(ARGS)
            if fake_camera is not None:
                args += ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                         f"--use-file-for-fake-video-capture={fake_camera}"]
            self.browsers[fake_camera] = self.playwright.chromium.launch(executable_path=str(CHROMIUM), args=args,
                                                                         timeout=WAIT_MS)
        context = self.browsers[fake_camera].new_context(viewport=PHONE, device_scale_factor=1, accept_downloads=True,
                                                         **options)
        context.set_default_timeout(WAIT_MS)
        return context

    def close(self) -> None:
        for browser in self.browsers.values():
            browser.close()


@pytest.fixture
def browsers(wallet_playwright: Any, wallet_server: WalletServer) -> Iterator[Browsers]:
    """Browsers for one test; they close before the wallet server stops (no open connections)."""
    launcher = Browsers(wallet_playwright)
    yield launcher
    launcher.close()


def decode_qr_png(png: bytes) -> str:
    """The text of the one QR code in a PNG, read by zxing-cpp."""
    texts = {result.text for result in zxingcpp.read_barcodes(Image.open(BytesIO(png)))}
    assert len(texts) == 1, f"expected one QR code, found {len(texts)}"
    return texts.pop()


class Wallet:
    """Drives the wallet UI the way a holder does (Spanish labels, ids for stability)."""

    def __init__(self, context: Any, url: str = WALLET_URL) -> None:
        self.context = context
        self.page = context.new_page()
        self.log = PageLog()
        self.page.on("console", lambda message: self.log.console.append((message.type, message.text)))
        self.page.on("pageerror", lambda error: self.log.errors.append(str(error)))
        self.url = url

    def open(self, path: str = "/") -> Wallet:
        self.page.goto(self.url + path, wait_until="load")
        self.page.wait_for_selector("body[data-ready='true']")
        return self

    def visible(self, selector: str) -> Any:
        locator = self.page.locator(selector)
        locator.wait_for(state="visible")
        return locator

    def create_profile(self, name: str, pin: str = PIN, then: str = "#screen-home") -> None:
        if self.page.locator("#screen-unlock").is_visible():
            self.page.click("#unlock-other")
        self.visible("#new-profile").click()
        self.page.fill("#create-name", name)
        self.page.fill("#create-pin", pin)
        self.page.fill("#create-pin2", pin)
        self.page.click("#create-form button[type=submit]")
        self.visible(then)

    def choose_profile(self, name: str) -> None:
        if self.page.locator("#screen-unlock").is_visible():
            self.page.click("#unlock-other")
        self.visible("#profile-list").get_by_role("button", name=name, exact=True).click()
        self.visible("#screen-unlock")

    def unlock(self, pin: str = PIN) -> None:
        self.page.fill("#unlock-pin", pin)
        self.page.click("#unlock-submit")
        self.visible("#screen-home")

    def receive(self, offer_uri: str, tx_code: str) -> None:
        """Paste the offer link, confirm the issuer host, enter the tx_code; waits for the new card."""
        before = self.page.locator("#cards .card").count()
        self.visible("#receive-open").click()
        self.page.fill("#offer-input", offer_uri)
        self.page.click("#paste-submit")
        self.confirm_offer(tx_code)
        self.page.locator("#cards .card").nth(before).wait_for()

    def confirm_offer(self, tx_code: str) -> None:
        self.visible("#offer-host")
        self.page.click("#offer-contact")
        self.visible("#tx-code").fill(tx_code)
        self.page.click("#offer-accept")
        self.visible("#screen-home")

    def cards(self) -> list[str]:
        texts: list[str] = self.page.locator("#cards .card").all_inner_texts()
        return texts

    def open_card(self, index: int = 0) -> None:
        self.page.locator("#cards .card-open").nth(index).click()
        self.visible("#screen-credential")

    def choose(self, claims: list[str]) -> None:
        """Tick exactly these claims."""
        boxes = self.page.locator("#claim-list input[type=checkbox]")
        for i in range(boxes.count()):
            box = boxes.nth(i)
            box.set_checked(box.get_attribute("data-claim") in claims)

    def show_qr(self) -> str:
        """Show the live QR and return its text, read from a screenshot of the canvas by zxing-cpp."""
        self.page.click("#show-qr")
        self.visible("#screen-qr")
        self.page.locator("#qr-canvas[data-generation]").wait_for()
        return decode_qr_png(self.page.locator("#qr-canvas").screenshot())

    def close_qr(self) -> None:
        self.page.click("#qr-close")
        self.visible("#screen-credential")

    def wait(self, selector: str, state: str = "visible") -> Any:
        """Wait for a selector (no wait_for_function: the wallet's CSP forbids the eval it uses)."""
        locator = self.page.locator(selector)
        locator.first.wait_for(state=state)
        return locator

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / name
        self.page.screenshot(path=str(path), full_page=False)
        return path



@pytest.fixture
def verifier(live: Live) -> Iterator[TestClient]:
    """A fresh verifier (own replay store) that trusts the live issuer's trust list, called in process
    (the browser conftest's ``verifier`` is the scanning page on loopback; a module that imports this
    one uses this one)."""
    service = live.verifier_service()
    with TestClient(create_verifier(service.settings, service=service)) as client:
        yield client


def verify_qr(client: TestClient, text: str) -> dict[str, Any]:
    """The verifier's report on a QR's text; the request itself must succeed."""
    response = client.post("/api/v1/verify", json={"qr": text})
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


def assert_clean(wallet: Wallet) -> None:
    """The wallet's page broke no CSP rule and logged no error."""
    assert wallet.log.csp_violations() == []
    assert wallet.log.problems() == []


def wallet_with_credential(browsers: Browsers, live: Live, name: str = "Ana",
                           claims: dict[str, Any] | None = None) -> tuple[Wallet, dict[str, Any]]:
    """A new phone with a profile ``name`` that has received one skills certification from the live
    issuer; the issuer's answer (its offer, the credential's id) comes with it."""
    wallet = Wallet(browsers.context()).open()
    wallet.create_profile(name)
    created = live.issue("skills-certification", claims=claims)
    wallet.receive(created["offer"]["offer_uri"], created["offer"]["tx_code"])
    return wallet, created

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


def layout_problems(wallet: Wallet, screen: str) -> list[str]:
    wallet.visible(f"#screen-{screen}")
    problems: list[str] = wallet.page.evaluate(_LAYOUT)
    return [f"{screen}: {problem}" for problem in problems]
