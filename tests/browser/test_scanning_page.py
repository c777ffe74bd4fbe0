"""The verifier's scanning page (`/`) in Chromium: camera (a fake camera playing a y4m video of the
project's own QR PNG), image upload and paste; green and red results; Spanish and English; hostile
claim text (security.md #119); link-like QR content (#101); the Content-Security-Policy."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from credcore import qr
from issuer import credentials as creds
from issuer.db.models import Credential
from servicekit import qr_image
from testkit.live import Live
from testkit.wallet import present
from testkit.world import example_claims
from tests.browser.chromium import WAIT_MS, Chromium, PageLog, Verifier, fake_camera_video, require_browser, screenshot
from verifier.web.page import CONTENT_SECURITY_POLICY

pytestmark = pytest.mark.browser

HOSTILE_GIVEN = '<img src=x onerror="window.__pwned=1">'
HOSTILE_FAMILY = "</script><script>window.__pwned=2</script>"


def _result(page: Any, tone: str) -> Any:
    """The result panel once it shows with ``tone`` ("ok", "bad" or "neutral")."""
    panel = page.locator(f"#result[data-tone='{tone}']")
    panel.wait_for(state="visible", timeout=WAIT_MS)
    return panel


def _paste(page: Any, text: str) -> None:
    page.fill("#paste", text)
    page.click("#paste-form button[type=submit]")


def _assert_clean(log: PageLog) -> None:
    assert log.csp_violations() == []
    assert log.problems() == []
    assert log.dialogs == []


def _dd_texts(page: Any, list_id: str) -> list[str]:
    texts: list[str] = page.locator(f"#{list_id} dd").all_text_contents()
    return texts


def _shown_claims(page: Any) -> dict[str, str]:
    """The disclosed claims as shown: label → value."""
    labels = page.locator("#claims dt").all_text_contents()
    return dict(zip(labels, _dd_texts(page, "claims"), strict=True))


def _paper_qr_text(live: Live) -> str:
    created = live.issue("ppt-status", "migracion:officer")
    with live.issuer_deps.session() as session:
        record = session.get(Credential, created["id"])
        assert record is not None
        return qr.encode(creds.paper_of(live.issuer_deps, record))


def test_chromium_is_available() -> None:
    """Skipped where there is no Chromium, except in CI (CI=true), where it fails as a test of its own."""
    require_browser()


def test_camera_scan_of_a_wallet_qr_shows_a_green_result(chromium: Chromium, live: Live, verifier: Verifier,
                                                          tmp_path: Path) -> None:
    _, presentation = live.wallet_presentation()
    text = qr.encode(presentation)
    assert qr_image.qr_version(text) >= 15  # a realistically dense code, read from a camera frame
    video = fake_camera_video(qr_image.render_png(text), tmp_path / "wallet.y4m")
    page, log = chromium.page(f"{verifier.url}/", fake_camera=video)
    assert page.locator("h1").text_content() == "Verificar una credencial"

    page.click("#scan")
    panel = _result(page, "ok")
    assert panel.locator("#result-kicker").text_content() == "VÁLIDA"
    assert panel.locator("#result-title").text_content() == "Credencial verificada"
    proven = panel.locator("#holder-verified").text_content()
    assert "verificado" in proven and "Titular verificado" not in proven  # what was proven, and what was not
    assert "llave con la que se emitió" in proven and "compare el nombre con un documento de identidad" in proven
    assert page.locator("#holder-notice").is_hidden()
    assert page.locator("#result-announce").text_content().startswith("VÁLIDA. Credencial verificada. ")
    facts = _dd_texts(page, "facts")
    assert "SENA" in facts and "Certificación de competencias laborales" in facts
    ages = [int(fact.split()[2]) for fact in facts if fact.startswith("consultado hace ")]  # issue 12: status age
    assert len(ages) == 1 and 0 <= ages[0] <= 60
    claims = example_claims("skills-certification")
    assert _shown_claims(page) == {"Nombres": claims["given_name"], "Apellidos": claims["family_name"],
                                   "Competencia certificada": claims["competency_title"]}
    # The camera is released after a read.
    assert page.evaluate("document.getElementById('video').srcObject") is None
    page.click("#checks-block summary")
    assert page.locator("#checks li.check-ok").count() >= 5 and page.locator("#checks li.check-bad").count() == 0
    screenshot(page, "scanner-valid.png")
    _assert_clean(log)


def test_uploaded_paper_qr_asks_to_check_the_identity_document(chromium: Chromium, live: Live, verifier: Verifier,
                                                                tmp_path: Path) -> None:
    image = tmp_path / "paper.png"
    image.write_bytes(qr_image.render_png(_paper_qr_text(live), error_correction="Q"))
    page, log = chromium.page(f"{verifier.url}/")
    page.set_input_files("#upload", str(image))
    panel = _result(page, "ok")
    notice = panel.locator("#holder-notice")
    assert notice.is_visible()
    assert notice.locator("#holder-notice-text").text_content() == (
        "Este código no está ligado a un teléfono: verifique el documento de identidad de la persona.")
    assert page.locator("#holder-verified").is_hidden()
    claims = example_claims("ppt-status")
    assert claims["document_number"] in _dd_texts(page, "claims")
    assert "Migración Colombia" in _dd_texts(page, "facts")

    assert page.locator("#claims dt").first.text_content() == "Nombres"  # names first, to compare with the ID
    screenshot(page, "scanner-paper.png")

    page.click("button[data-lang=en]")
    assert notice.locator("#holder-notice-text").text_content() == (
        "This code is not tied to a phone: check the person's identity document.")
    _assert_clean(log)


def test_revoked_and_garbage_show_red_in_spanish_then_english(chromium: Chromium, live: Live,
                                                              verifier: Verifier) -> None:
    created, presentation = live.wallet_presentation()
    live.change(created["id"], "revoke")
    page, log = chromium.page(f"{verifier.url}/")
    _paste(page, qr.encode(presentation))
    panel = _result(page, "bad")
    assert panel.locator("#result-kicker").text_content() == "NO VÁLIDA"
    assert panel.locator("#result-title").text_content() == "Credencial revocada"
    assert panel.locator("#result-reason").text_content() == "La credencial fue revocada por la entidad emisora."
    assert "SENA" in _dd_texts(page, "facts")  # its signature checked out: the issuer did revoke it
    assert page.locator("#claims-block").is_hidden()
    page.click("#checks-block summary")
    failed = page.locator("#checks li.check-bad")  # the reason in words; the code only for machines (issue 15)
    assert failed.get_attribute("data-code") == "revoked" and "revoked" not in failed.text_content()
    assert "revocada" in failed.text_content()
    screenshot(page, "scanner-invalid.png")

    page.click("button[data-lang=en]")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert panel.locator("#result-kicker").text_content() == "NOT VALID"
    assert panel.locator("#result-title").text_content() == "Credential revoked"
    assert page.locator("#again").text_content() == "New check"
    assert page.locator("button[data-lang=en]").get_attribute("aria-pressed") == "true"

    page.click("#again")
    assert page.locator("h1").text_content() == "Verify a credential"
    _paste(page, "hola, esto no es una credencial")
    panel = _result(page, "bad")
    assert panel.locator("#result-title").text_content() == "Invalid code"
    assert panel.locator("#result-reason").text_content() == "The code or credential cannot be read."
    assert page.locator("#scanned").text_content() == "hola, esto no es una credencial"

    page.reload(wait_until="load")  # the choice of language is remembered
    assert page.locator("#scan").inner_text() == "Scan"
    page.click("button[data-lang=es]")
    assert page.locator("#scan").inner_text() == "Escanear"
    _assert_clean(log)


def test_hostile_claim_text_is_shown_as_text(chromium: Chromium, live: Live, verifier: Verifier) -> None:
    """security.md #119: issuer-supplied names full of markup are shown literally, never parsed."""
    claims = example_claims("skills-certification") | {"given_name": HOSTILE_GIVEN, "family_name": HOSTILE_FAMILY}
    created = live.issue(claims=claims)
    wallet = live.wallet()
    presentation = present(wallet.redeem(created), wallet.holder, now=int(time.time()),
                           disclose=("given_name", "family_name", "competency_title"))
    page, log = chromium.page(f"{verifier.url}/")
    _paste(page, qr.encode(presentation))
    _result(page, "ok")
    shown = _shown_claims(page)
    assert shown["Nombres"] == HOSTILE_GIVEN and shown["Apellidos"] == HOSTILE_FAMILY
    page.wait_for_timeout(300)  # time enough for an injected onerror handler to have run
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("#result img").count() == 0
    assert page.evaluate("document.querySelectorAll('img[src=x], script:not([src])').length") == 0
    _assert_clean(log)


def test_csp_headers_and_a_page_that_works_under_them(chromium: Chromium, verifier: Verifier) -> None:
    response = httpx.get(f"{verifier.url}/", timeout=10)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert csp == CONTENT_SECURITY_POLICY
    # No inline code and no eval; only WebAssembly compilation, for the QR decoder (zxing-wasm).
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp and csp.count("unsafe") == 1
    for directive in ("default-src 'none'", "script-src 'self' 'wasm-unsafe-eval'", "style-src 'self'",
                      "frame-ancestors 'none'", "base-uri 'none'", "connect-src 'self'", "worker-src 'self'"):
        assert directive in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "camera=(self)" in response.headers["permissions-policy"]
    assert "<script>" not in response.text and " style=" not in response.text
    assert not re.search(r"\son[a-z]+\s*=", response.text, re.IGNORECASE)  # no inline event handlers
    for asset, kind in (("/app.js", "text/javascript"), ("/i18n.js", "text/javascript"), ("/style.css", "text/css"),
                        ("/common/pt1.js", "text/javascript"), ("/common/qr-format-tables.json", "application/json"),
                        ("/common/vendor/jsQR.js", "text/javascript"),
                        ("/common/vendor/jsQR.LICENSE", "text/plain"),
                        ("/common/scan/scanner.js", "text/javascript"),
                        ("/common/vendor/zxing_wasm/reader/zxing_reader.wasm", "application/wasm")):
        served = httpx.get(f"{verifier.url}{asset}", timeout=10)
        assert served.status_code == 200 and served.headers["content-type"].startswith(kind), asset
        assert served.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    for hidden in ("/page.py", "/__init__.py", "/vendor/jsQR.js", "/web/page.py", "/common/README.md",
                   "/common/vendor/README.md", "/common/vendor/zxing_wasm/es/reader/index.d.ts"):
        assert httpx.get(f"{verifier.url}{hidden}", timeout=10).status_code == 404, hidden

    page, log = chromium.page(f"{verifier.url}/")
    screenshot(page, "scanner-start.png")
    _paste(page, "PT1:ABC")
    _result(page, "bad")
    _assert_clean(log)  # the page itself never trips the policy
    # The policy is enforced: an injected inline script does not run, and Chromium says why.
    page.evaluate("""() => { const s = document.createElement('script');
                             s.textContent = 'window.__inline = 1'; document.body.append(s); }""")
    page.wait_for_timeout(200)
    assert page.evaluate("typeof window.__inline") == "undefined"
    assert log.csp_violations()


@pytest.mark.parametrize("text", ["javascript:alert(1)", "https://evil.example/login",
                                  "openid4vp://?request_uri=https%3A%2F%2Fevil.example%2Fr"])
def test_link_like_qr_content_is_data_never_opened(chromium: Chromium, verifier: Verifier, text: str) -> None:
    """security.md #101: the content is sent to the API as data and shown back as text."""
    page, log = chromium.page(f"{verifier.url}/")
    start = page.url
    _paste(page, text)
    panel = _result(page, "bad")
    assert panel.locator("#result-title").text_content() == "Código no válido"
    assert page.locator("#scanned").text_content() == text
    assert page.locator("#result a").count() == 0
    page.wait_for_timeout(300)
    assert page.url == start and len(page.context.pages) == 1
    _assert_clean(log)
