"""The staff console in Chromium, against an issuer on loopback (the batch worker is started by the
batch test when it wants the batch to run):
an officer signs in, issues, prints, uploads a batch and watches it finish, finds and revokes; an
auditor cannot change anything; forged cross-site forms and cross-institution URLs fail; the
lockout works; an admin signs in with TOTP. Screenshots for the README come from these tests."""

from __future__ import annotations

import csv
import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pypdfium2
import pytest
import zxingcpp
from PIL import Image

from issuer.batch_worker import BatchWorker
from testkit.world import example_claims
from tests.browser import console_support
from tests.browser.chromium import WAIT_MS, Chromium, screenshot
from tests.browser.console_support import TABLET, Console, sign_in

console = console_support.console


def decode(png: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert results, "no QR code found"
    return str(results[0].text)


def test_officer_signs_in_issues_prints_finds_and_revokes(chromium: Chromium, console: Console) -> None:
    page, log = chromium.page(f"{console.url}/console", viewport=TABLET)
    assert "/console/login" in page.url and page.locator("h1").inner_text() == "Iniciar sesión"
    screenshot(page, "console-sign-in.png")
    cookies_before = page.context.cookies()
    sign_in(page, console, console.users["sena:officer"])
    assert page.locator("h1").inner_text().startswith("Hola")
    cookie = next(c for c in page.context.cookies() if c["name"] == "__Host-puente_session")
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert cookie not in cookies_before

    # Issue one credential from the generated form, with inline validation first.
    page.click("nav.main-nav >> text=Emitir")
    page.wait_for_url("**/console/issue/skills-certification")
    claims = {**example_claims("skills-certification"), "document_number": "V25123456"}
    page.fill("#f-competency_code", "abc")
    page.locator("#f-competency_code").blur()
    assert page.locator("#e-competency_code").inner_text() == "El formato no es válido."
    for name, value in claims.items():
        page.fill(f"#f-{name}", str(value))
    page.locator("#f-competency_code").blur()
    assert page.locator("#e-competency_code").is_hidden()
    screenshot(page, "console-issue-form.png")
    page.click("form.issue-form button[type=submit]")
    page.wait_for_url("**/offer?new=1")
    tx_code = page.locator("#tx-code").inner_text().replace(" ", "")
    assert len(tx_code) == 6 and tx_code.isdigit()
    offer_link = page.locator("#offer-link").input_value()
    assert offer_link.startswith("openid-credential-offer://")
    # The QR on screen is the offer link, read by an independent decoder.
    assert decode(page.locator("#offer-qr").screenshot()) == offer_link
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=console.url)
    page.click("button.copy")
    page.wait_for_selector(".copy-status:has-text('Enlace copiado')")
    assert page.evaluate("navigator.clipboard.readText()") == offer_link
    screenshot(page, "console-offer.png")
    # "Print PDF" opens the printable page; its offer QR and code are the same.
    with page.expect_popup() as popup:
        page.click("#print-pdf")
    pdf_url = popup.value.url
    assert pdf_url.endswith("/pdf")
    pdf = page.context.request.get(pdf_url)
    assert pdf.headers["content-type"] == "application/pdf"
    document = pypdfium2.PdfDocument(pdf.body())
    rendered = document[0].render(scale=3).to_pil()
    texts = {str(r.text) for r in zxingcpp.read_barcodes(rendered)}
    assert offer_link in texts
    credential_id = page.url.split("/console/credentials/")[1].split("/")[0]

    # Find it by document number (typed in lower case) and revoke it with a reason and confirmation.
    page.click("nav.main-nav >> text=Buscar credenciales")
    page.fill("#q-doc", "v25123456")
    page.click("form.filters button[type=submit]")
    assert page.locator("#results tbody tr").count() == 1
    page.click("#results tbody tr a")
    page.click("a.button.danger")
    assert "La revocación es definitiva" in page.locator("main").inner_text()
    page.fill("#f-reason", "Datos registrados con error")
    page.click("form button.danger")
    assert console.status_of(credential_id) == 0  # the confirmation box was not ticked: nothing happened
    page.check("input[name=confirm]")
    page.click("form button.danger")
    page.wait_for_url("**?done=revoke")
    assert "Credencial revocada." in page.locator("main").inner_text()
    assert page.locator("h1 .badge").inner_text() == "Revocada"
    assert console.status_of(credential_id) == 1
    screenshot(page, "console-credential.png")
    assert not log.csp_violations() and not log.errors


def test_officer_uploads_a_batch_and_watches_it_finish(chromium: Chromium, console: Console,
                                                       tmp_path: Path) -> None:
    page, log = chromium.page(f"{console.url}/console/login", viewport=TABLET)
    sign_in(page, console, console.users["sena:officer"])
    page.goto(f"{console.url}/console/batches/new")
    template = page.context.request.get(f"{console.url}/console/batches/template/skills-certification.csv")
    assert template.ok
    header = next(csv.reader(io.StringIO(template.text().lstrip("\ufeff"))))
    claims = example_claims("skills-certification")
    rows = []
    for number in range(60):
        row = {**claims, "document_number": f"V{10_000_000 + number}"}
        if number == 7:
            row["level"] = 12  # outside 1..8: this row fails
        rows.append([str(row.get(name, "")) for name in header])
    data = io.StringIO()
    writer = csv.writer(data)
    writer.writerow(header)
    writer.writerows(rows)
    upload = tmp_path / "lote.csv"
    upload.write_text(data.getvalue(), "utf-8")
    page.select_option("#b-type", "skills-certification")
    page.set_input_files("#b-file", str(upload))
    page.click("form.batch-upload button[type=submit]")
    page.wait_for_url("**/console/batches/*")
    # Waiting: the bar and its text say 0 of 60 rows.
    assert page.locator("#batch-bar").get_attribute("max") == "60"
    assert page.locator("#batch-bar").get_attribute("value") == "0"
    assert page.locator("#batch-count").inner_text() == "0 de 60 filas"
    # Half way (the progress the page polls for, held at 30 rows): the bar follows without a reload.
    halfway = {"state": "running", "total": 60, "processed": 30, "issued": 30, "failed": 0}
    page.route("**/progress.json", lambda route: route.fulfill(json=halfway))
    page.wait_for_selector("#batch-count:has-text('30 de 60 filas')")
    assert page.locator("#batch-bar").evaluate("bar => bar.value") == 30
    page.unroute("**/progress.json")
    # The worker runs the batch for real; the page turns into the summary by itself.
    worker = BatchWorker(console.deps, poll_seconds=0.2)
    worker.start()
    try:
        page.wait_for_selector("#summary-issued", timeout=WAIT_MS * 2)
    finally:
        worker.stop()
    assert page.locator("#summary-issued .num").inner_text() == "59"
    assert page.locator("#summary-failed .num").inner_text() == "1"
    assert page.locator("#failed-rows tbody tr").count() == 1
    screenshot(page, "console-batch.png")
    batch_id = page.url.rsplit("/", 1)[1].split("?")[0]
    results = page.context.request.get(f"{console.url}/console/batches/{batch_id}/results.csv")
    lines = list(csv.DictReader(io.StringIO(results.text().lstrip("\ufeff"))))
    assert len(lines) == 60 and sum(1 for line in lines if line["status"] == "issued") == 59
    bundle = page.context.request.get(f"{console.url}/console/batches/{batch_id}/bundle.pdf?part=1")
    assert bundle.headers["content-type"] == "application/pdf"
    assert len(pypdfium2.PdfDocument(bundle.body())) == 59
    assert not log.csp_violations() and not log.errors


def test_auditor_can_read_but_not_change(chromium: Chromium, console: Console) -> None:
    claims = {**example_claims("skills-certification"), "document_number": "V30111222"}
    credential_id = console.issue("sena", "skills-certification", claims)
    page, _ = chromium.page(f"{console.url}/console/login", viewport=TABLET)
    sign_in(page, console, console.users["sena:auditor"])
    nav = page.locator("nav.main-nav").inner_text()
    assert "Emitir" not in nav and "Lotes" not in nav and "Registro de auditoría" in nav
    page.goto(f"{console.url}/console/credentials/{credential_id}")
    main = page.locator("main").inner_text()
    assert claims["given_name"] not in main and "Su rol no permite ver los datos" in main
    assert page.locator("a.button").count() == 0  # no revoke, suspend, offer or PDF
    page.goto(f"{console.url}/console/issue")
    assert page.locator("h1").inner_text() == "No permitido"
    # Even a request built by hand with the page's own CSRF token is refused.
    status = page.evaluate("""async (id) => {
        const csrf = document.querySelector('input[name=csrf]').value;
        const body = new URLSearchParams({csrf, reason: 'prueba', confirm: 'yes'});
        const response = await fetch(`/console/credentials/${id}/status/revoke`, {method: 'POST', body});
        return response.status;
    }""", credential_id)
    assert status == 403 and console.status_of(credential_id) == 0


class _EvilPage(BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:
        html = (f'<!doctype html><form id="f" method="post" action="{self.target}">'
                '<input name="reason" value="forged"><input name="confirm" value="yes"></form>'
                '<script>document.getElementById("f").submit()</script>')
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(html.encode())

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.parametrize("evil_host", ["localhost", "127.0.0.1"])  # another site; same site, other origin
def test_a_cross_site_form_cannot_revoke(chromium: Chromium, console: Console, evil_host: str) -> None:
    credential_id = console.issue("sena", "skills-certification", example_claims("skills-certification"))
    page, _ = chromium.page(f"{console.url}/console/login", viewport=TABLET)
    sign_in(page, console, console.users["sena:officer"])
    handler = type("Evil", (_EvilPage,), {"target": f"{console.url}/console/credentials/{credential_id}"
                                                    "/status/revoke"})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        page.goto(f"http://{evil_host}:{server.server_address[1]}/")
        page.wait_for_url(f"{console.url}/**")
        page.wait_for_load_state("load")
        text = page.locator("body").inner_text()
        # Cross-site: the SameSite=Strict cookie is not sent (sign-in page); same site: no CSRF token (403).
        assert "Iniciar sesión" in text or "El formulario caducó" in text
    finally:
        server.shutdown()
        server.server_close()
    assert console.status_of(credential_id) == 0


def test_another_institutions_credential_cannot_be_opened(chromium: Chromium, console: Console) -> None:
    theirs = console.issue("migracion", "ppt-status", example_claims("ppt-status"))
    page, _ = chromium.page(f"{console.url}/console/login", viewport=TABLET)
    sign_in(page, console, console.users["sena:officer"])
    for suffix in ("", "/status/revoke", "/offer"):
        response = page.goto(f"{console.url}/console/credentials/{theirs}{suffix}")
        assert response is not None and response.status == 404
        assert page.locator("h1").inner_text() == "No encontrado"
    assert console.status_of(theirs) == 0


def test_lockout_after_repeated_wrong_passwords(chromium: Chromium, console: Console) -> None:
    page, _ = chromium.page(f"{console.url}/console/login", viewport=TABLET)
    for _ in range(4):
        sign_in(page, console, console.users["sena:officer"], password="no es la contraseña")
        assert "Usuario o contraseña incorrectos." in page.locator("[role=alert]").inner_text()
    sign_in(page, console, console.users["sena:officer"], password="no es la contraseña")
    assert "Espere 30 segundos" in page.locator("[role=alert]").inner_text()
    screenshot(page, "console-lockout.png")
    sign_in(page, console, console.users["sena:officer"])  # the right password, too soon
    assert "Demasiados intentos fallidos" in page.locator("[role=alert]").inner_text()
    assert "/console/login" in page.url


def test_admin_signs_in_with_totp_and_signs_out(chromium: Chromium, console: Console) -> None:
    page, log = chromium.page(f"{console.url}/console/login", viewport=TABLET)
    sign_in(page, console, console.users["sena:admin"])
    assert page.locator("h1").inner_text().startswith("Hola")
    page.click("nav.main-nav >> text=Administración")
    page.wait_for_load_state("load")
    screenshot(page, "console-admin-users.png")
    page.click("nav.main-nav button.link")  # sign out
    page.wait_for_url("**/console/login?signed_out=1")
    page.goto(f"{console.url}/console")
    assert "/console/login" in page.url
    assert not log.csp_violations() and not log.errors
