"""Issue 15, the officer's side in the console and on paper: the offer code has one name (never
"PIN", which is the wallet profile's), and what officers typed is read the way they wrote it."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pypdfium2

from credcore import messages as credcore_messages
from issuer.batch_worker import BatchWorker
from issuer.operator import seed
from testkit.world import example_claims
from tests.issuer.console_support import Browser, csrf_of, make_user
from tests.issuer.deployment import Deployment


def _pdf_text(pdf: bytes) -> str:
    document = pypdfium2.PdfDocument(io.BytesIO(pdf))
    try:
        text: str = document[0].get_textpage().get_text_range()
        return text
    finally:
        document.close()


def _issue_in_console(browser: Browser, type_id: str = "skills-certification", **changes: str) -> str:
    form = browser.get(f"/console/issue/{type_id}")
    claims = {k: str(v) for k, v in example_claims(type_id).items()}
    data = {**claims, "form_id": f"formulario-{type_id}-0001", **changes}
    result = browser.post(f"/console/issue/{type_id}", data, csrf=csrf_of(form.text))
    assert result.url.path.endswith("/offer"), result.text
    return result.url.path.split("/")[3]


def test_the_offer_code_has_one_name_on_screen_and_on_paper(deployment: Deployment) -> None:
    browser = Browser.new(deployment)
    browser.sign_in(make_user(deployment))
    credential_id = _issue_in_console(browser)
    page = browser.get(f"/console/credentials/{credential_id}/offer").text
    assert "<h2>Código de la oferta</h2>" in page and "PIN" not in page and "transacción" not in page
    paper = _pdf_text(browser.get(f"/console/credentials/{credential_id}/pdf").content)
    assert "Código de la oferta" in paper and "código de la oferta" in paper
    assert "PIN" not in paper and "transacción" not in paper


# ----------------------------------------------------------------------------- (5) the institution's contact


def test_an_admin_sets_the_contact_that_metadata_and_paper_show(deployment: Deployment) -> None:
    admin = Browser.new(deployment)
    admin.sign_in(make_user(deployment, role="admin"))
    page = admin.get("/console/admin/contact")
    assert page.status_code == 200 and 'aria-current="page"' in page.text.split("Contacto</a>")[0].rsplit("<a", 1)[1]
    wrong = admin.post("/console/admin/contact", {"contact_phone": "llame ya", "contact_email": "ayuda",
                                                  "contact_web": "http://sena.example"},
                       csrf_from="/console/admin/contact")
    assert wrong.status_code == 422
    for message in ("Teléfono:", "Correo:", "Web:"):  # every mistake at once
        assert message in wrong.text
    saved = admin.post("/console/admin/contact", {"contact_phone": "+57 601 736 0000",
                                                  "contact_email": "ayuda@sena.example",
                                                  "contact_web": "https://sena.example/ayuda"},
                       csrf_from="/console/admin/contact")
    assert saved.status_code == 200 and "Datos de contacto guardados" in saved.text
    metadata = deployment.client.get("/.well-known/openid-credential-issuer/i/sena").json()
    assert metadata["x-puente"]["contact"] == {"phone": "+57 601 736 0000", "email": "ayuda@sena.example",
                                               "web": "https://sena.example/ayuda"}
    officer = Browser.new(deployment)
    officer.sign_in(make_user(deployment))
    credential_id = _issue_in_console(officer)
    paper = _pdf_text(officer.get(f"/console/credentials/{credential_id}/pdf").content)
    assert "Contacto / Contact:" in paper and "+57 601 736 0000 · ayuda@sena.example" in paper
    audit = admin.get("/console/audit").text
    assert "institution.contact" in audit or "contacto" in audit.lower()


# ----------------------------------------------------------------------------- (8) document numbers


def _found(deployment: Deployment, typed: str) -> set[str]:
    response = deployment.client.get("/api/v1/credentials", params={"document_number": typed},
                                     headers=deployment.auth())
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


def test_document_numbers_are_read_as_written_at_issuance_in_csv_rows_and_in_search(deployment: Deployment) -> None:
    claims = {**example_claims("skills-certification"), "document_number": "v-12.345.678"}
    by_api = deployment.issue(claims=claims)
    got = deployment.client.get(f"/api/v1/credentials/{by_api['id']}", headers=deployment.auth()).json()
    assert got["claims"]["document_number"] == "V12345678"
    other = deployment.issue(claims={**claims, "document_number": "E 12.345.678"})
    # A CSV row, processed by the batch worker.
    columns = [*example_claims("skills-certification"), "document_number"]
    row = {**{k: str(v) for k, v in example_claims("skills-certification").items()}, "document_number": "V 12.345.678"}
    data = (",".join(columns) + "\n" + ",".join(row[c] for c in columns) + "\n").encode()
    upload = deployment.client.post("/api/v1/batches", files={"file": ("personas.csv", data, "text/csv")},
                                    data={"type": "skills-certification"}, headers=deployment.auth())
    assert upload.status_code == 202, upload.text
    worker = BatchWorker(deployment.deps)
    while worker.run_once():
        pass
    results = deployment.client.get(f"/api/v1/batches/{upload.json()['id']}/results.csv", headers=deployment.auth())
    (result,) = csv.DictReader(io.StringIO(results.content.decode("utf-8-sig")))
    from_csv = result["credential_id"].removeprefix("'")
    assert deployment.client.get(f"/api/v1/credentials/{from_csv}",
                                 headers=deployment.auth()).json()["claims"]["document_number"] == "V12345678"
    # Search: the number as written, without its prefix, or with it in another shape.
    venezuelan = {by_api["id"], from_csv}
    assert _found(deployment, "12345678") == venezuelan | {other["id"]}
    assert _found(deployment, "V-12.345.678") == venezuelan
    assert _found(deployment, "v12345678") == venezuelan
    assert _found(deployment, "E-12345678") == {other["id"]}
    assert _found(deployment, "12345679") == set()
    # Something that is no document number stays refused.
    wrong = deployment.client.post("/api/v1/credentials", json={"type": "skills-certification",
                                                                 "claims": {**claims, "document_number": "V#1"}},
                                   headers={**deployment.auth(), "Idempotency-Key": "clave-de-prueba-000000001"})
    assert wrong.status_code == 422
    assert [e["field"] for e in wrong.json()["errors"]] == ["document_number"]


def test_the_console_search_finds_a_document_without_its_prefix(deployment: Deployment) -> None:
    issued = deployment.issue(claims={**example_claims("skills-certification"), "document_number": "V-25.123.456"})
    browser = Browser.new(deployment)
    browser.sign_in(make_user(deployment))
    page = browser.get("/console/credentials", params={"document_number": "25123456"}).text
    assert issued["id"] in page
    form = browser.get("/console/issue/skills-certification").text
    assert 'pattern="[A-Z0-9\\-]{4,20}"' in form and 'data-normalize="document"' in form
    assert "Puede escribirlo como aparece (V-12.345.678)" in form


def test_the_csv_help_states_the_document_format(deployment: Deployment) -> None:
    browser = Browser.new(deployment)
    browser.sign_in(make_user(deployment))
    page = browser.get("/console/batches/new").text
    assert "se guarda como V12345678" in page


# ----------------------------------------------------------------------------- (9) every error at once


def test_the_issue_form_shows_every_mistake_at_once_and_dates_carry_max(deployment: Deployment) -> None:
    browser = Browser.new(deployment)
    browser.sign_in(make_user(deployment))
    form = browser.get("/console/issue/skills-certification")
    today = datetime.fromtimestamp(deployment.clock.now(), ZoneInfo("America/Bogota")).date()
    assert 'id="f-date" name="date" type="date" value=""' in form.text
    assert f'max="{today.isoformat()}"' in form.text.split('id="f-date"')[1].split(">")[0]
    claims = {k: str(v) for k, v in example_claims("skills-certification").items()}
    data = {**claims, "document_number": "V#1", "competency_code": "abc", "date": "2999-01-01",
            "valid_until": "2000-01-01", "form_id": "formulario-con-errores-01"}
    result = browser.post("/console/issue/skills-certification", data, csrf=csrf_of(form.text))
    assert result.status_code == 422
    for field in ("document_number", "competency_code", "date", "valid_until"):
        assert f'id="e-{field}"' in result.text and f'id="e-{field}" hidden' not in result.text, field
    assert "hay 4 por corregir" in result.text
    assert "La fecha de vencimiento ya pasó." in result.text and "The expiry date" not in result.text
    assert "La fecha no puede estar en el futuro." in result.text


# ----------------------------------------------------------------------------- (10) Spanish only, (11) small things

ROOT = Path(__file__).resolve().parents[2]
_PAIR = re.compile(r'''tr\(\s*(["'])((?:(?!\1).)+)\1\s*,\s*(["'])((?:(?!\3).)+)\3\s*\)''')
_RAW_ACTION = re.compile(r"\b(?:credential|offer|batch|approval|console|staff_user|api_key|key|institution)\.[a-z_]+\b")


def english_catalog() -> set[str]:
    """The English side of every Spanish/English pair the console and the issuer show (templates,
    pages, messages), where it differs from the Spanish and is a phrase rather than a word."""
    sources = [*ROOT.glob("issuer/console/templates/*.html"), *ROOT.glob("issuer/console/*.py"),
               *ROOT.glob("issuer/*.py"), ROOT / "credcore/messages.py"]  # the catalog's field messages below
    english = {en for path in sources for _, es, _, en in _PAIR.findall(path.read_text()) if en != es}
    english |= {en for key, en in credcore_messages.entries("en").items() if key.startswith(("field.", "console."))
                and en != credcore_messages.entries("es")[key]}
    return {text for text in english if len(text.split()) >= 3 and "{" not in text}


class _Visible(HTMLParser):
    """The text a person reads: no scripts or styles; ``<code>`` kept apart (technical identifiers)."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.code: list[str] = []
        self._skip = 0
        self._in_code = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip += tag in ("script", "style")
        self._in_code += tag == "code"

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("script", "style")
        self._in_code -= tag == "code"

    def handle_data(self, data: str) -> None:
        if not self._skip:
            (self.code if self._in_code else self.text).append(data)


def visible(html: str) -> tuple[str, str]:
    parser = _Visible()
    parser.feed(html)
    return " ".join(" ".join(parser.text).split()), " ".join(parser.code)


def test_every_console_page_in_spanish_has_no_english_sentence_or_raw_code(deployment: Deployment) -> None:
    english = english_catalog()
    assert len(english) > 150  # the catalog really was read
    officer = Browser.new(deployment)
    officer.sign_in(make_user(deployment))
    credential_id = _issue_in_console(officer)
    suspended = deployment.client.post(f"/api/v1/credentials/{credential_id}/suspend",
                                       json={"reason": "prueba de suspensión"}, headers=deployment.auth())
    assert suspended.status_code == 200, suspended.text
    admin = Browser.new(deployment)
    admin.sign_in(make_user(deployment, role="admin"))
    pages = [(officer, ["/console", "/console/issue/skills-certification", f"/console/credentials/{credential_id}",
                       f"/console/credentials/{credential_id}/offer", f"/console/credentials/{credential_id}/reissue",
                       "/console/credentials", "/console/batches",
                       "/console/batches/new", "/console/password", "/console/approvals"]),
             (admin, ["/console/audit", "/console/admin/users", "/console/admin/api-keys", "/console/admin/keys",
                     "/console/admin/types", "/console/admin/contact"]),
             (Browser.new(deployment), ["/", "/console/login"])]
    checked = 0
    for browser, paths in pages:
        for path in paths:
            response = browser.get(path)
            assert response.status_code == 200, path
            text, code = visible(response.text)
            assert [sentence for sentence in english if sentence in text] == [], path
            assert _RAW_ACTION.findall(text) == [], path
            checked += 1
    history = officer.get(f"/console/credentials/{credential_id}").text
    text, code = visible(history)
    assert "Credencial emitida" in text and "Suspendida" in text and _RAW_ACTION.findall(code) == []
    assert re.search(r"\d{1,2} de [a-z]+ de 20\d\d, \d\d:\d\d", text) and "(COT)" not in history
    assert checked == 18


def test_the_issuer_answers_its_address_with_a_landing_page(deployment: Deployment) -> None:
    page = deployment.client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for link in ('href="/console"', 'href="/docs"', 'href="/trust-list"'):
        assert link in page.text
    assert deployment.client.get("/docs").status_code == 200


def test_the_menu_highlights_issuing_after_an_issue_and_the_greeting_names_the_person(deployment: Deployment) -> None:
    officer = Browser.new(deployment)
    user = make_user(deployment)
    officer.sign_in(user)
    form = officer.get("/console/issue/skills-certification")
    data = {**{k: str(v) for k, v in example_claims("skills-certification").items()}, "form_id": "formulario-menu-0001"}
    result = officer.post("/console/issue/skills-certification", data, csrf=csrf_of(form.text))
    current = re.findall(r'<a href="([^"]+)" aria-current="page">', result.text)
    assert current == ["/console/issue"]
    again = officer.get(result.url.path)  # the same offer page opened from the credential: finding
    assert re.findall(r'<a href="([^"]+)" aria-current="page">', again.text) == ["/console/credentials"]
    # The demo's users are greeted by a name, not by "Oficial SENA - Servicio…".
    created = seed(deployment.deps, None)
    demo = next(row for row in created if row.get("username") == "oficial.comparte")
    person = Browser.new(deployment)
    home = person.post("/console/login", {"username": demo["username"], "password": demo["password"]},
                       csrf_from="/console/login")
    assert "<h1>Hola, Oficial de demostración</h1>" in home.text
