"""Issue 15, the officer's side in the console and on paper: the offer code has one name (never
"PIN", which is the wallet profile's), and what officers typed is read the way they wrote it."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pypdfium2

from issuer.batches import BatchWorker
from tests.issuer.conftest import Deployment
from tests.issuer.console_support import Browser, csrf_of, make_user
from tests.support import example_claims


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
