"""Console batches (issue 3), driven like an officer in a browser: download a type's template, fill
it and upload it, watch the progress bar, read the summary and the failed rows (in Spanish and in
English), download the results CSV and print the issued credentials as PDF bundles in parts; bad
files are refused with the reasons and nothing stored; and the limits: auditors get 403, another
institution's batches are 404, a form without its CSRF token is refused.

Every test runs on SQLite and, when PUENTE_TEST_DATABASE_URL is set, on PostgreSQL; the worker is
driven synchronously (``run_once``)."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable
from datetime import date
from html import unescape

import pypdfium2
import pytest
import zxingcpp
from sqlmodel import col, func, select

from credcore import jws, qr
from issuer.batch_csv import parse_csv
from issuer.console import batch_pages
from issuer.db.models import AuditEvent, Batch
from tests.issuer.console_support import csrf_of
from tests.issuer.deployment import Deployment
from tests.issuer.support import (
    CSV_FILE,
    SKILLS,
    batch_id_of,
    csv_from,
    people,
    run_worker,
    signed_in,
    template_rows,
    upload,
    uploaded,
)

PROGRESS_KEYS = {"id", "type", "state", "total", "processed", "issued", "failed", "created_at", "finished_at"}


# ----------------------------------------------------------------------------- helpers


def count_batches(deployment: Deployment) -> int:
    with deployment.deps.session() as session:
        return int(session.exec(select(func.count()).select_from(Batch)).one())


def text_of(html: str) -> str:
    """The page's visible text with tags removed and whitespace collapsed (to look for sentences)."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def pdf_pages(pdf: bytes) -> list[str]:
    assert pdf.startswith(b"%PDF-")
    document = pypdfium2.PdfDocument(pdf)
    try:
        return [document[i].get_textpage().get_text_range() for i in range(len(document))]
    finally:
        document.close()


def qr_codes_of_first_page(pdf: bytes) -> list[str]:
    document = pypdfium2.PdfDocument(pdf)
    try:
        image = document[0].render(scale=2.0, grayscale=True).to_pil()
    finally:
        document.close()
    codes = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode))
    return [code.text for code in codes]


def results_of(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


# ----------------------------------------------------------------------------- the journey


def test_officer_uploads_a_filled_template_and_prints_the_issued_credentials(deployment: Deployment) -> None:
    browser = signed_in(deployment)
    new = browser.get("/console/batches/new")
    assert new.status_code == 200
    for words in ("Certificación de competencias", 'accept=".csv,text/csv"', 'enctype="multipart/form-data"',
                  "/console/batches/template/skills-certification.csv",
                  "/console/batches/template/qualification-validation.csv", "Número de documento", "Nivel",
                  "<code>valid_until</code>", "/console/static/batch.js"):
        assert words in new.text, words
    assert "ppt-status" not in new.text  # SENA is not accredited for it

    header, example = template_rows(browser)
    response = upload(browser, csv_from(header, people(example, 3)))
    assert response.status_code == 200, response.text
    batch_id = batch_id_of(str(response.url))
    page = response.text
    assert re.search(r'<progress id="batch-bar" max="3" value="0"', page)
    assert "0 de 3 filas" in page and 'aria-live="polite"' in page and "Archivo recibido: 3 filas" in page
    assert f'<noscript><meta http-equiv="refresh" content="3; url=/console/batches/{batch_id}"></noscript>' in page
    assert f'data-progress-url="/console/batches/{batch_id}/progress.json"' in page
    assert "<script>" not in page  # only the static file (CSP script-src 'self')
    assert "results.csv" not in page and "bundle.pdf" not in page

    early = browser.get(f"/console/batches/{batch_id}/results.csv")
    assert early.status_code == 409 and "text/html" in early.headers["content-type"]
    assert "todavía se está procesando" in early.text
    assert browser.get(f"/console/batches/{batch_id}/bundle.pdf?part=1").status_code == 409

    run_worker(deployment)
    page = browser.get(f"/console/batches/{batch_id}").text
    assert re.search(r'<progress id="batch-bar" max="3" value="3"', page) and "3 de 3 filas" in page
    assert "http-equiv" not in page  # a finished batch no longer refreshes itself
    summary = text_of(page)
    assert "3 credenciales emitidas" in summary and "0 filas con errores" in summary
    assert f'href="/console/batches/{batch_id}/results.csv"' in page
    assert f'href="/console/batches/{batch_id}/bundle.pdf?part=1"' in page
    assert "PDF parte 1: credenciales 1 a 3" in summary

    download = browser.get(f"/console/batches/{batch_id}/results.csv")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.headers["cache-control"] == "no-store"
    results = results_of(download.content)
    assert [r["row"] for r in results] == ["2", "3", "4"] and {r["status"] for r in results} == {"issued"}

    bundle = browser.get(f"/console/batches/{batch_id}/bundle.pdf?part=1")
    assert bundle.status_code == 200 and bundle.headers["content-type"] == "application/pdf"
    assert bundle.headers["cache-control"] == "no-store"
    pages = pdf_pages(bundle.content)
    assert len(pages) == 3
    for n, (text, result) in enumerate(zip(pages, results, strict=True), start=1):
        assert f"Persona {n}" in text and result["credential_id"] in text  # row order
        tx_code = result["tx_code"]
        assert f"{tx_code[:3]} {tx_code[3:]}" in text
    codes = qr_codes_of_first_page(bundle.content)
    [paper] = [c for c in codes if c.startswith(qr.PREFIX)]
    [offer] = [c for c in codes if not c.startswith(qr.PREFIX)]
    assert offer == results[0]["offer_uri"]
    payload = jws.parse(qr.decode(paper).split("~")[0]).claims()
    assert payload["given_name"] == "Persona 1" and payload["document_number"] == "V1000001"
    assert browser.get(f"/console/batches/{batch_id}/bundle.pdf?part=2").status_code == 404

    listing = browser.get("/console/batches")
    assert listing.status_code == 200
    assert f'href="/console/batches/{batch_id}"' in listing.text and "Terminado" in listing.text
    with deployment.deps.session() as session:
        actions = session.exec(select(AuditEvent.action).where(AuditEvent.target == batch_id)
                               .order_by(col(AuditEvent.seq))).all()
    assert actions == ["batch.create", "batch.done", "batch.results", "batch.print"]


def test_a_big_batch_is_printed_in_parts(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch_pages, "PART_SIZE", 2)
    browser = signed_in(deployment)
    header, example = template_rows(browser)
    batch_id = uploaded(browser, csv_from(header, people(example, 5)))
    run_worker(deployment)
    page = text_of(browser.get(f"/console/batches/{batch_id}").text)
    for words in ("PDF parte 1: credenciales 1 a 2", "PDF parte 2: credenciales 3 a 4",
                  "PDF parte 3: credenciales 5 a 5"):
        assert words in page, words
    second = pdf_pages(browser.get(f"/console/batches/{batch_id}/bundle.pdf?part=2").content)
    assert len(second) == 2 and "Persona 3" in second[0] and "Persona 4" in second[1]
    last = pdf_pages(browser.get(f"/console/batches/{batch_id}/bundle.pdf?part=3").content)
    assert len(last) == 1 and "Persona 5" in last[0]
    assert browser.get(f"/console/batches/{batch_id}/bundle.pdf?part=4").status_code == 404
    assert browser.get(f"/console/batches/{batch_id}/bundle.pdf?part=0").status_code == 422


def test_failed_rows_are_listed_with_their_errors_in_spanish_and_in_english(deployment: Deployment) -> None:
    browser = signed_in(deployment)
    header, example = template_rows(browser)
    rows = people(example, 4)
    rows[1]["document_number"] = "v-minúsculas"  # row 3: pattern
    rows[2]["level"] = "nueve"  # row 4: not a whole number
    rows[2]["given_name"] = ""  # and a required claim missing
    batch_id = uploaded(browser, csv_from(header, rows))
    run_worker(deployment)

    page = browser.get(f"/console/batches/{batch_id}")
    summary = text_of(page.text)
    assert "2 credenciales emitidas" in summary and "2 filas con errores" in summary
    assert "PDF parte 1: credenciales 1 a 2" in summary
    failed = text_of(page.text.split('id="failed-rows"')[1].split("</table>")[0])
    assert "3 Número de documento (document_number): El formato no es correcto." in failed
    assert "4 Nombres (given_name): Falta este dato obligatorio." in failed
    assert "Nivel (level): El tipo de dato no es correcto." in failed
    assert "Persona 1" not in failed and "2 " not in failed.split("3 Número")[0]  # issued rows are not listed

    switched = browser.get(f"/console/lang/en?next=/console/batches/{batch_id}")
    assert switched.status_code == 200 and switched.url.path == f"/console/batches/{batch_id}"
    english = text_of(switched.text)
    assert "2 credentials issued" in english and "2 rows with errors" in english
    assert "3 Document number (document_number): The format is not correct." in english
    assert "4 Given names (given_name): This required field is missing." in english
    assert "Level (level): The value has the wrong type." in english
    assert "El formato no es correcto" not in english

    results = results_of(browser.get(f"/console/batches/{batch_id}/results.csv").content)
    assert [r["status"] for r in results] == ["issued", "error", "error", "issued"]
    assert len(pdf_pages(browser.get(f"/console/batches/{batch_id}/bundle.pdf").content)) == 2


# ----------------------------------------------------------------------------- refused uploads


def _xlsx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


@pytest.mark.parametrize(("data", "status", "spanish", "english"), [
    ("given_name,family_name\nJosé,Pérez\n".encode("latin-1"), 422, "El archivo no está en UTF-8",
     "The file is not UTF-8"),
    (b"nombre,apellido\nJose,Perez\n", 422, "Columnas desconocidas para el tipo skills-certification",
     "nombre: Unknown column for this type."),
    (b"given_name,family_name,given_name\nJose,Perez,Jose\n", 422, "Encabezado inválido",
     "Standard code (competency_code): This required column is missing."),
    (_xlsx(), 422, "no un CSV", "not a CSV"),
    (b"given_name,family_name,competency_code,competency_title,level,hours,center,date\n", 422,
     "El archivo no tiene filas de datos", "The file has no data rows"),
], ids=["not-utf8", "unknown-columns", "repeated-and-missing", "xlsx", "no-rows"])
def test_a_malformed_csv_is_refused_with_the_reasons_and_nothing_stored(
        deployment: Deployment, data: bytes, status: int, spanish: str, english: str) -> None:
    browser = signed_in(deployment)
    response = upload(browser, data)
    assert response.status_code == status, response.text
    assert str(response.url).endswith("/console/batches")
    page = response.text
    assert 'role="alert"' in page and spanish in unescape(page) and "No se guardó nada" in page
    assert 'value="skills-certification" selected' in page  # the choice is kept for the next try
    assert count_batches(deployment) == 0

    browser.get("/console/lang/en?next=/console/batches/new")
    again = upload(browser, data)
    assert again.status_code == status and english in unescape(again.text)
    assert count_batches(deployment) == 0


def test_the_upload_form_asks_for_a_type_and_a_file(deployment: Deployment) -> None:
    browser = signed_in(deployment)
    page = browser.get("/console/batches/new").text
    no_file = browser.post("/console/batches", {"type": SKILLS}, csrf=csrf_of(page))
    assert no_file.status_code == 422 and "Elija el archivo CSV" in no_file.text
    empty = browser.post("/console/batches", {"type": SKILLS}, csrf=csrf_of(page),
                         files={"file": ("", b"", "application/octet-stream")})
    assert empty.status_code == 422 and "Elija el archivo CSV" in empty.text
    header, example = template_rows(browser)
    data = csv_from(header, people(example, 1))
    not_accredited = browser.post("/console/batches", {"type": "ppt-status"}, csrf=csrf_of(page),
                                  files={"file": ("a.csv", data, CSV_FILE)})
    assert not_accredited.status_code == 422 and "Elija el tipo de credencial" in not_accredited.text
    assert count_batches(deployment) == 0


def test_a_file_over_the_size_limit_is_refused_on_the_upload_page(
        reconfigure: Callable[..., Deployment]) -> None:
    small = reconfigure(batch_max_bytes=300)
    browser = signed_in(small)
    header, example = template_rows(browser)
    response = upload(browser, csv_from(header, people(example, 3)))
    assert response.status_code == 413
    assert "El archivo supera el máximo de 300 bytes" in unescape(response.text) and 'role="alert"' in response.text
    assert count_batches(small) == 0


def test_the_same_form_sent_twice_makes_one_batch(deployment: Deployment) -> None:
    browser = signed_in(deployment)
    header, example = template_rows(browser)
    data = csv_from(header, people(example, 2))
    first = upload(browser, data, form_id="formulario-de-prueba-0001")
    second = upload(browser, data, form_id="formulario-de-prueba-0001")
    assert batch_id_of(str(first.url)) == batch_id_of(str(second.url))
    assert count_batches(deployment) == 1
    other = upload(browser, csv_from(header, people(example, 3)), form_id="formulario-de-prueba-0001")
    assert batch_id_of(str(other.url)) != batch_id_of(str(first.url))
    assert count_batches(deployment) == 2


def test_a_semicolon_separated_file_from_a_spanish_spreadsheet_is_accepted(deployment: Deployment) -> None:
    browser = signed_in(deployment)
    response = browser.get(f"/console/batches/template/{SKILLS}.csv?sep=semicolon")
    header, example = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    data = b"\xef\xbb\xbf" + csv_from(header, people(dict(zip(header, example, strict=True)), 2), delimiter=";")
    batch_id = uploaded(browser, data)
    run_worker(deployment)
    assert "2 credenciales emitidas" in text_of(browser.get(f"/console/batches/{batch_id}").text)


# ----------------------------------------------------------------------------- templates


@pytest.mark.parametrize("sep", ["comma", "semicolon"])
def test_each_accredited_types_template_parses_back_without_errors(deployment: Deployment, sep: str) -> None:
    for slug, types in (("sena", ["skills-certification", "qualification-validation"]), ("migracion", ["ppt-status"])):
        browser = signed_in(deployment, slug)
        for type_id in types:
            response = browser.get(f"/console/batches/template/{type_id}.csv?sep={sep}")
            assert response.status_code == 200, response.text
            assert response.headers["content-type"] == "text/csv; charset=utf-8"
            disposition = response.headers["content-disposition"]
            assert disposition.startswith("attachment;") and type_id in disposition
            assert response.content.startswith(b"\xef\xbb\xbf")  # so that a spreadsheet shows the accents
            ctype = deployment.deps.types.get(type_id)
            parsed = parse_csv(ctype, response.content)
            assert parsed.columns == [*ctype.claim_names, "valid_until"]
            [row] = parsed.rows
            assert row.errors == [] and row.number == 2 and row.valid_until is None
            assert set(row.claims) == set(ctype.schema["required"]) | set(row.claims)
            ctype.validate(row.claims, today=date(2026, 11, 18))  # the example row is a valid credential
            delimiter = ";" if sep == "semicolon" else ","
            assert response.content.decode("utf-8-sig").split("\r\n")[0] == delimiter.join(parsed.columns)


def test_the_template_of_a_type_not_accredited_is_not_found(deployment: Deployment) -> None:
    browser = signed_in(deployment)
    for type_id in ("ppt-status", "no-such-type"):
        response = browser.get(f"/console/batches/template/{type_id}.csv")
        assert response.status_code == 404 and "text/html" in response.headers["content-type"]
        assert "no disponible para su institución" in response.text


# ----------------------------------------------------------------------------- limits


def _api_batch(deployment: Deployment, who: str, type_id: str, data: bytes) -> str:
    response = deployment.client.post("/api/v1/batches", headers=deployment.auth(who),
                                      files={"file": ("lote.csv", data, CSV_FILE)}, data={"type": type_id})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def _ppt_csv() -> bytes:
    from testkit.world import example_claims

    claims = {name: str(value) for name, value in example_claims("ppt-status").items()}
    return csv_from(list(claims), [claims])


def test_auditors_get_403_and_admins_may_use_the_batch_pages(deployment: Deployment) -> None:
    ctype = deployment.deps.types.get(SKILLS)
    header, example = [*ctype.claim_names, "valid_until"], batch_pages.example_row(ctype)
    batch_id = _api_batch(deployment, "sena:officer", SKILLS, csv_from(header, people(example, 1)))
    run_worker(deployment)
    paths = ["/console/batches", "/console/batches/new", f"/console/batches/template/{SKILLS}.csv",
             f"/console/batches/{batch_id}", f"/console/batches/{batch_id}/progress.json",
             f"/console/batches/{batch_id}/results.csv", f"/console/batches/{batch_id}/bundle.pdf?part=1"]

    auditor = signed_in(deployment, role="auditor")
    home = auditor.get("/console").text
    assert 'href="/console/batches"' not in home
    for path in paths:
        response = auditor.get(path)
        assert response.status_code == 403, path
        assert "No permitido" in response.text
    refused = auditor.post("/console/batches", {"type": SKILLS}, csrf=csrf_of(home),
                           files={"file": ("a.csv", csv_from(header, people(example, 1)), CSV_FILE)})
    assert refused.status_code == 403
    assert count_batches(deployment) == 1

    deployment.clock.advance(30)  # a TOTP code is good once
    admin = signed_in(deployment, role="admin")
    for path in paths:
        assert admin.get(path).status_code == 200, path


def test_another_institutions_batch_is_not_found(deployment: Deployment) -> None:
    other = _api_batch(deployment, "migracion:officer", "ppt-status", _ppt_csv())
    run_worker(deployment)
    browser = signed_in(deployment, "sena")
    for suffix in ("", "/progress.json", "/results.csv", "/bundle.pdf?part=1"):
        response = browser.get(f"/console/batches/{other}{suffix}")
        assert response.status_code == 404, suffix
        assert "Lote no encontrado" in response.text
    assert other not in browser.get("/console/batches").text

    migracion = signed_in(deployment, "migracion")
    assert migracion.get(f"/console/batches/{other}").status_code == 200
    assert len(pdf_pages(migracion.get(f"/console/batches/{other}/bundle.pdf?part=1").content)) == 1


def test_an_upload_without_its_csrf_token_is_refused(deployment: Deployment) -> None:
    browser = signed_in(deployment)
    header, example = template_rows(browser)
    data = csv_from(header, people(example, 1))
    files = {"file": ("a.csv", data, CSV_FILE)}
    missing = browser.client.post("/console/batches", data={"type": SKILLS}, files=files)
    assert missing.status_code == 403 and "El formulario caducó" in missing.text
    forged = browser.client.post("/console/batches", data={"type": SKILLS, "csrf": "x" * 43}, files=files)
    assert forged.status_code == 403
    cross_site = browser.post("/console/batches", {"type": SKILLS}, csrf_from="/console/batches/new", files=files,
                              headers={"Origin": "https://evil.example"})
    assert cross_site.status_code == 403
    assert count_batches(deployment) == 0


def test_progress_json_has_the_shape_of_the_api_progress(deployment: Deployment) -> None:
    browser = signed_in(deployment)
    header, example = template_rows(browser)
    batch_id = uploaded(browser, csv_from(header, people(example, 2)))
    response = browser.get(f"/console/batches/{batch_id}/progress.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == PROGRESS_KEYS
    assert body == {**body, "id": batch_id, "type": SKILLS, "state": "pending", "total": 2, "processed": 0,
                    "issued": 0, "failed": 0, "finished_at": None}
    api = deployment.client.get(f"/api/v1/batches/{batch_id}", headers=deployment.auth("sena:officer")).json()
    assert body == api

    run_worker(deployment)
    done = browser.get(f"/console/batches/{batch_id}/progress.json").json()
    assert done == {**body, "state": "done", "processed": 2, "issued": 2, "finished_at": done["finished_at"]}
    assert isinstance(done["finished_at"], int)


def test_a_batch_whose_file_could_not_be_read_again_says_so(deployment: Deployment) -> None:
    browser = signed_in(deployment)
    header, example = template_rows(browser)
    batch_id = uploaded(browser, csv_from(header, people(example, 2)))
    with deployment.deps.session() as session:
        batch = session.get(Batch, batch_id)
        assert batch is not None
        batch.state, batch.error = "failed", "stored CSV unreadable: InvalidTag"
        session.add(batch)
        session.commit()
    page = browser.get(f"/console/batches/{batch_id}")
    assert page.status_code == 200
    assert "El lote no se pudo procesar" in page.text and "InvalidTag" not in page.text
    assert "http-equiv" not in page.text and 'data-state="failed"' in page.text  # nothing more to wait for
    assert "Falló" in browser.get("/console/batches").text
    assert browser.get(f"/console/batches/{batch_id}/results.csv").status_code == 409


def test_the_batch_script_is_served_from_the_allow_list(deployment: Deployment) -> None:
    response = deployment.client.get("/console/static/batch.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "dataset.progressUrl" in response.text and "location.replace" in response.text
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
