"""The scanning page with no connection (issue 16), in Chromium: loaded once online, then cut off with
Playwright's offline mode. A live QR from the wallet (fake camera) verifies green offline with the
ages of what the page knows; a credential revoked before the page last refreshed says revoked; a
forged QR is red with the service's reason; a replayed live QR is caught on the same device; reload
offline still works; a trust list older than the service's maximum age cannot confirm; the first
load stays within 150 KB compressed."""

from __future__ import annotations

import gzip
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from credcore import qr
from credcore.encoding import b64url_decode, b64url_encode
from credcore.messages import message
from servicekit import qr_image
from testkit.live import Live
from testkit.servers import ServerThread, free_port
from tests.browser.chromium import WAIT_MS, Chromium, PageLog, Verifier, fake_camera_video, screenshot
from verifier.app import create_app
from verifier.web.page import WEB_DIR

pytestmark = pytest.mark.browser
FIRST_LOAD_BUDGET = 150 * 1024  # bytes, compressed (issue 16)
DEFERRED = "/common/vendor/zxing_wasm/"  # loaded after the page is interactive (web_common/scan/scanner.js)

STATUS_LISTS_KEPT = """() => new Promise((resolve) => {
  const open = indexedDB.open('puente-verifier');
  open.onerror = () => resolve(-1);
  open.onsuccess = () => {
    const names = open.result.objectStoreNames;
    if (!names.contains('status')) return resolve(0);
    const count = open.result.transaction('status').objectStore('status').count();
    count.onsuccess = () => resolve(count.result);
  };
})"""


def _offline_verifier(live: Live, **settings: Any) -> Iterator[Verifier]:
    # The service refetches a status list on every request (no ttl cache), so the page's refresh
    # sees a revocation made a moment before.
    service = live.verifier_service(status_ttl_min_seconds=0, status_ttl_max_seconds=0, **settings)
    port = free_port()
    with ServerThread(create_app(service.settings, service=service), port):
        yield Verifier(f"http://127.0.0.1:{port}", service)


@pytest.fixture
def offline_verifier(live: Live) -> Iterator[Verifier]:
    yield from _offline_verifier(live)


@pytest.fixture
def short_trust_verifier(live: Live) -> Iterator[Verifier]:
    yield from _offline_verifier(live, trust_max_age_seconds=6)


def _result(page: Any, tone: str) -> Any:
    panel = page.locator(f"#result[data-tone='{tone}']")
    panel.wait_for(state="visible", timeout=WAIT_MS)
    return panel


def _paste(page: Any, text: str) -> None:
    if page.locator("#input").is_hidden():
        page.click("#again")
    page.fill("#paste", text)
    page.click("#paste-form button[type=submit]")


def _ready_offline(page: Any, lists: int) -> None:
    """Wait until the service worker runs and the page keeps the trust list and `lists` status lists."""
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function("document.getElementById('offline-ready').textContent.startsWith("
                           "'Listo para verificar sin conexión')", timeout=WAIT_MS)
    deadline = time.time() + WAIT_MS / 1000
    while page.evaluate(STATUS_LISTS_KEPT) < lists:
        assert time.time() < deadline, "the page did not keep the status list"
        time.sleep(0.2)


def _forged(text: str) -> str:
    """The live QR's presentation with one byte of the issuer's signature changed."""
    presentation = qr.decode(text)
    issuer_jwt, rest = presentation.split("~", 1)
    head, body, signature = issuer_jwt.split(".")
    raw = bytearray(b64url_decode(signature))
    raw[5] ^= 0x01
    return qr.encode(f"{head}.{body}.{b64url_encode(bytes(raw))}~{rest}")


def _clean(log: PageLog) -> None:
    assert log.csp_violations() == []
    assert [p for p in log.problems() if "net::ERR_INTERNET_DISCONNECTED" not in p] == []


def test_offline_live_qr_revoked_forged_replayed_and_reload(chromium: Chromium, live: Live,
                                                             offline_verifier: Verifier, tmp_path: Path) -> None:
    _, presentation = live.wallet_presentation()
    live_qr = qr.encode(presentation)
    revoked_created, revoked_presentation = live.wallet_presentation()
    live.change(revoked_created["id"], "revoke")  # before the page's last refresh
    _, online_presentation = live.wallet_presentation()
    _, after_reload = live.wallet_presentation()
    video = fake_camera_video(qr_image.render_png(live_qr), tmp_path / "wallet.y4m")
    page, log = chromium.page(f"{offline_verifier.url}/", fake_camera=video)

    # Online once: a check through the service; the page keeps the trust list, types and that status list.
    _paste(page, qr.encode(online_presentation))
    assert _result(page, "ok").locator("#offline-notice").is_hidden()
    _ready_offline(page, lists=1)

    page.context.set_offline(True)
    page.click("#again")
    page.click("#scan")
    panel = _result(page, "ok")
    assert panel.locator("#result-title").text_content() == "Credencial verificada"
    notice = panel.locator("#offline-notice")
    assert notice.locator("#offline-title").text_content() == "Verificado sin conexión"
    ages = notice.locator("#offline-ages").text_content()
    assert re.fullmatch(r"Lista de confianza de hace \d+ (s|min); estado de hace \d+ s\.", ages), ages
    assert "otro dispositivo" in notice.locator("#offline-replay").text_content()
    assert "SENA" in page.locator("#facts dd").all_text_contents()
    screenshot(page, "scanner-offline.png")

    _paste(page, qr.encode(revoked_presentation))
    revoked = _result(page, "bad")
    assert revoked.locator("#result-title").text_content() == "Credencial revocada"
    assert revoked.locator("#offline-title").text_content() == "Verificado sin conexión"

    forged = _forged(live_qr)
    service_report = httpx.post(f"{offline_verifier.url}/api/v1/verify", json={"qr": forged}, timeout=10).json()
    assert service_report["verdict"] == "signature_invalid"
    _paste(page, forged)
    red = _result(page, "bad")
    assert red.locator("#result-title").text_content() == "Firma no válida"
    assert red.locator("#result-reason").text_content() == service_report["error"]["message"]

    _paste(page, live_qr)  # the camera's QR again, on this device: its nonce was used
    replayed = _result(page, "bad")
    page.click("#checks-block summary")
    failed = replayed.locator("#checks li.check-bad")  # the reason in words, the code for machines (issue 15)
    assert message("replayed", "es") in failed.text_content() and failed.get_attribute("data-code") == "replayed"

    page.reload(wait_until="load")  # offline: the service worker serves the page
    assert page.locator("h1").text_content() == "Verificar una credencial"
    _paste(page, qr.encode(after_reload))
    assert _result(page, "ok").locator("#offline-title").text_content() == "Verificado sin conexión"

    page.context.set_offline(False)  # back online: the result shown is confirmed with the service
    page.locator("#offline-confirm", has_text="Confirmado con el servicio").wait_for(timeout=WAIT_MS)
    _clean(log)


def test_a_trust_list_past_its_maximum_age_cannot_confirm(chromium: Chromium, live: Live,
                                                           short_trust_verifier: Verifier) -> None:
    _, presentation = live.wallet_presentation()
    page, log = chromium.page(f"{short_trust_verifier.url}/")
    _ready_offline(page, lists=0)
    page.context.set_offline(True)
    iat = short_trust_verifier.service.trust.held.signed.iat  # type: ignore[union-attr]
    time.sleep(max(0.0, iat + 7 - time.time()))
    _paste(page, qr.encode(presentation))
    panel = _result(page, "neutral")
    assert panel.locator("#result-kicker").text_content() == "SIN CONFIRMAR"
    assert panel.locator("#result-title").text_content() == "No se puede confirmar"
    assert "lista de confianza" in panel.locator("#result-reason").text_content()
    assert panel.locator("#claims-block").is_hidden()
    page.click("button[data-lang=en]")
    assert panel.locator("#result-title").text_content() == "Cannot confirm"
    _clean(log)


def test_first_load_fits_150_kb_compressed(chromium: Chromium, live: Live, offline_verifier: Verifier) -> None:
    """Everything a first visit fetches until it can verify offline (page, scripts, the service
    worker's copies, trust list, types), each gzip-compressed, adds up to at most 150 KB. The better
    QR reader (zxing-wasm), which the page fetches only once it is interactive, is reported apart."""
    seen: set[str] = set()
    browser = chromium.launch()
    context = browser.new_context()
    context.on("request", lambda request: seen.add(request.url))
    page = context.new_page()
    page.goto(f"{offline_verifier.url}/", wait_until="load")
    _ready_offline(page, lists=0)
    sw_source = (WEB_DIR / "sw.js").read_text("utf-8")
    shell = re.findall(r'^\s+"(/[^"]*)",$', sw_source, re.M)
    paths = {urlsplit(url).path + (f"?{urlsplit(url).query}" if urlsplit(url).query else "") for url in seen
             if url.startswith(offline_verifier.url)} | set(shell)
    fetched = {p.split("?")[0] for p in paths - set(shell)}
    later = tuple(re.findall(r'"(/common/[^"]+)"', sw_source.split("const LATER = ", 1)[1].split(";", 1)[0]))
    # The worker and the shell code it imports (web_common/sw_shell.js) are kept with the worker itself.
    missing = {p for p in fetched if not p.startswith(("/api/", "/sw.js", "/common/sw_shell.js", *later))}
    assert not missing, f"the service worker does not keep {missing}: the page would not open offline"
    sizes, later = {}, {}
    for path in sorted(paths):
        body = httpx.get(f"{offline_verifier.url}{path}", timeout=10).content
        (later if path.startswith(DEFERRED) else sizes)[path] = len(gzip.compress(body, 9))
    total = sum(sizes.values())
    assert "/api/v1/offline/trust-list" in paths and "/common/verify/verify.js" in paths
    assert total <= FIRST_LOAD_BUDGET, f"{total} bytes: {sorted(sizes.items(), key=lambda kv: -kv[1])[:8]}"
    print(f"first load: {total} bytes compressed in {len(sizes)} files")
