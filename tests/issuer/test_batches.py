"""CSV batches (issue 3; security.md #114, #132, #136): upload checks, background processing with
progress, per-row errors, the results CSV with formula cells escaped, resuming after a crash with
every row issued exactly once, roles and tenant isolation, and the ``puente batch issue`` CLI.

Every test runs on SQLite and, when PUENTE_TEST_DATABASE_URL is set, on PostgreSQL; the worker is
driven synchronously (``run_once``) except where its thread is the subject. The kill -9 test runs
the real service (``puente serve issuer``) as a subprocess on 127.0.0.1."""

from __future__ import annotations

import csv
import io
import multiprocessing
import os
import secrets
import signal
import socket
import stat
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import col, select
from typer.testing import CliRunner

from credcore.clock import SystemClock
from credcore.encoding import b64url_encode
from credcore.issue import end_of_day_in_colombia
from issuer import batch_worker as batch_module
from issuer import credentials as creds
from issuer.app import create_app
from issuer.batch_csv import escape_cell, parse_csv
from issuer.batch_worker import BatchWorker
from issuer.db.engine import migrate
from issuer.db.models import AuditEvent, Batch, Credential, Offer, StatusListRow
from issuer.deps import Deps, build_deps
from issuer.institutions import create_institution
from issuer.staff import create_api_key
from puente import cli_batch
from testkit.world import example_claims
from tests.issuer.deployment import BASE, METRICS, Deployment, make_settings
from tests.issuer.support import COLUMNS, TYPE, assert_exactly_once, batch_rows, csv_of, person

ROOT = Path(__file__).resolve().parents[2]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def parse_results(content: bytes, *, raw: bool = False) -> list[dict[str, str]]:
    """The results' rows; unless ``raw``, with the formula escape undone (a leading ``'`` dropped),
    as a program reading the file does: ids are base64url and may start with "-"."""
    assert content.startswith(b"\xef\xbb\xbf")  # so that a spreadsheet shows the accents
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    if raw:
        return rows
    return [{name: cell.removeprefix("'") for name, cell in row.items()} for row in rows]


@dataclass
class Batches:
    deployment: Deployment
    deps: Deps
    client: TestClient
    worker: BatchWorker

    def auth(self, who: str = "sena:officer") -> dict[str, str]:
        return self.deployment.auth(who)

    def upload(self, data: bytes, type_id: str = TYPE, who: str = "sena:officer", **headers: str) -> httpx.Response:
        return self.client.post("/api/v1/batches", files={"file": ("personas.csv", data, "text/csv")},
                                data={"type": type_id}, headers={**self.auth(who), **headers})

    def submit(self, data: bytes, type_id: str = TYPE) -> str:
        response = self.upload(data, type_id)
        assert response.status_code == 202, response.text
        batch_id: str = response.json()["id"]
        return batch_id

    def process(self) -> None:
        while self.worker.run_once():
            pass

    def progress(self, batch_id: str, who: str = "sena:officer") -> dict[str, Any]:
        response = self.client.get(f"/api/v1/batches/{batch_id}", headers=self.auth(who))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def results(self, batch_id: str) -> list[dict[str, str]]:
        response = self.client.get(f"/api/v1/batches/{batch_id}/results.csv", headers=self.auth())
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        assert response.headers["cache-control"] == "no-store"
        return parse_results(response.content)


def batch_app_for(deps: Deps) -> Any:
    """The issuer app (it serves the batch routes)."""
    return create_app(deps.settings, deps=deps)


def batches_for(deployment: Deployment, tmp_path: Path, **settings: object) -> Iterator[Batches]:
    deps = deployment.deps
    if settings:
        deps = replace(deps, settings=make_settings(deps.settings.database_url, tmp_path, **settings))
    app = batch_app_for(deps)
    with TestClient(app, base_url=BASE) as client:
        yield Batches(deployment, deps, client, BatchWorker(deps, app.state.metrics))


@pytest.fixture
def batches(deployment: Deployment, tmp_path: Path) -> Iterator[Batches]:
    yield from batches_for(deployment, tmp_path)


@pytest.fixture
def small_batches(deployment: Deployment, tmp_path: Path) -> Iterator[Batches]:
    """Chunks of 2 rows, at most 4 rows and 2,000 bytes per upload."""
    yield from batches_for(deployment, tmp_path, batch_chunk_rows=2, batch_max_rows=4, batch_max_bytes=2_000)


# ----------------------------------------------------------------------------- upload and processing


def test_upload_is_accepted_then_processed_in_the_background(batches: Batches) -> None:
    response = batches.upload(csv_of([person(n) for n in range(5)]))
    assert response.status_code == 202
    body = response.json()
    assert body == {"id": body["id"], "state": "pending", "total": 5,
                    "links": {"self": f"/api/v1/batches/{body['id']}",
                              "results": f"/api/v1/batches/{body['id']}/results.csv"}}
    assert response.headers["location"] == body["links"]["self"]
    before = batches.progress(body["id"])
    assert (before["state"], before["processed"], before["issued"], before["failed"]) == ("pending", 0, 0, 0)
    batches.process()
    after = batches.progress(body["id"])
    assert after == {"id": body["id"], "type": TYPE, "state": "done", "total": 5, "processed": 5, "issued": 5,
                     "failed": 0, "created_at": after["created_at"], "finished_at": after["finished_at"]}
    assert after["finished_at"] is not None
    assert_exactly_once(batches.deps, body["id"], [2, 3, 4, 5, 6])


def test_issued_credentials_carry_the_rows_claims_with_integers_converted(batches: Batches) -> None:
    batch_id = batches.submit(csv_of([person(1, level="3", hours="120")]))
    batches.process()
    (row,) = batches.results(batch_id)
    got = batches.client.get(f"/api/v1/credentials/{row['credential_id']}", headers=batches.auth()).json()
    assert got["claims"] == {**example_claims(TYPE), "given_name": "Persona 1", "document_number": "V1000001",
                             "level": 3, "hours": 120}
    assert got["batch_id"] == batch_id and got["status"] == "valid"


def test_progress_is_committed_chunk_by_chunk(small_batches: Batches, monkeypatch: pytest.MonkeyPatch) -> None:
    batch_id = small_batches.submit(csv_of([person(n) for n in range(4)]))
    seen: list[tuple[str, int]] = []
    commit_chunk = small_batches.worker._commit_chunk

    def spy(claim: Any, rows: Any) -> int:
        lease = commit_chunk(claim, rows)
        state = small_batches.progress(batch_id)
        seen.append((state["state"], state["processed"]))
        return lease

    monkeypatch.setattr(small_batches.worker, "_commit_chunk", spy)
    small_batches.process()
    assert seen == [("running", 2), ("running", 4)]
    assert small_batches.progress(batch_id)["state"] == "done"


def test_empty_cells_are_absent_claims_and_valid_until_sets_the_expiry(batches: Batches) -> None:
    rows = [person(1, document_number="", valid_until="2027-01-31"), person(2, valid_until="2027-02-30"),
            person(3, valid_until="2020-01-01")]
    batch_id = batches.submit(csv_of(rows, [*COLUMNS, "valid_until"]))
    batches.process()
    first, second, third = batches.results(batch_id)
    with batches.deps.session() as session:
        record = session.get(Credential, first["credential_id"])
        assert record is not None and record.document_hash is None
        assert record.valid_until == end_of_day_in_colombia(date(2027, 1, 31))
        assert "document_number" not in creds.claims_of(batches.deps, record)
    assert (second["status"], second["errors"]) == ("error", "valid_until: La fecha no es válida (AAAA-MM-DD).")
    assert third["status"] == "error" and third["errors"].startswith("valid_until: La fecha de vencimiento ya pasó")


def test_bom_crlf_semicolons_and_quoted_newlines_are_read(batches: Batches) -> None:
    rows = [person(1, center="Centro de Comercio\r\nSENA Cúcuta"), person(2, family_name='Pérez "el Gocho"')]
    batch_id = batches.submit(csv_of(rows, newline="\r\n", bom=True, delimiter=";"))
    batches.process()
    results = batches.results(batch_id)
    assert [(r["row"], r["status"]) for r in results] == [("2", "issued"), ("3", "issued")]
    with batches.deps.session() as session:
        records = [session.get(Credential, r["credential_id"]) for r in results]
    claims = [creds.claims_of(batches.deps, record) for record in records if record is not None]
    assert claims[0]["center"] == "Centro de Comercio\nSENA Cúcuta"
    assert claims[1]["family_name"] == 'Pérez "el Gocho"'


def test_a_text_csv_body_with_the_type_in_the_query(batches: Batches) -> None:
    response = batches.client.post(f"/api/v1/batches?type={TYPE}", content=csv_of([person(1)]),
                                   headers={**batches.auth(), "Content-Type": "text/csv; charset=utf-8"})
    assert response.status_code == 202, response.text
    batches.process()
    assert batches.progress(response.json()["id"])["issued"] == 1


def test_other_media_types_and_a_missing_type_are_refused(batches: Batches) -> None:
    response = batches.client.post("/api/v1/batches", json={"type": TYPE}, headers=batches.auth())
    assert response.status_code == 415 and response.json()["code"] == "unsupported_media_type"
    response = batches.client.post("/api/v1/batches", content=csv_of([person(1)]),
                                   headers={**batches.auth(), "Content-Type": "text/csv"})
    assert response.status_code == 422 and response.json()["code"] == "type_missing"
    response = batches.client.post("/api/v1/batches", data={"type": TYPE}, files={"other": ("x", b"y")},
                                   headers=batches.auth())
    assert response.status_code == 422 and response.json()["code"] == "file_missing"


# ----------------------------------------------------------------------------- per-row errors (#136)


def test_invalid_rows_are_reported_with_their_row_numbers_and_never_stop_the_batch(batches: Batches) -> None:
    rows = [person(1), person(2, level="alto"), person(3), person(4, given_name="", competency_code="12"),
            person(5)]
    data = csv_of(rows[:3]) + b"\n" + csv_of(rows[3:]).split(b"\n", 1)[1]  # a blank line after row 4
    batch_id = batches.submit(data)
    batches.process()
    state = batches.progress(batch_id)
    assert (state["issued"], state["failed"], state["processed"], state["total"]) == (3, 2, 5, 5)
    results = batches.results(batch_id)
    assert [(r["row"], r["status"]) for r in results] == [("2", "issued"), ("3", "error"), ("4", "issued"),
                                                          ("6", "error"), ("7", "issued")]
    assert results[1]["errors"] == "level: El tipo de dato no es correcto."
    assert results[3]["errors"] == ("given_name: Falta este dato obligatorio.; "
                                    "competency_code: El formato no es correcto.")
    assert all(r["credential_id"] == r["offer_uri"] == r["tx_code"] == "" for r in results if r["status"] == "error")
    assert_exactly_once(batches.deps, batch_id, [2, 3, 4, 6, 7])


def test_an_unexpected_failure_on_one_row_is_that_rows_error(batches: Batches,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    prepare = creds.prepare

    def breaks_on_row_3(deps: Deps, institution: Any, type_id: str, claims: Any, *args: Any) -> Any:
        if claims["given_name"] == "Persona 3":
            raise ZeroDivisionError("a bug")
        return prepare(deps, institution, type_id, claims, *args)

    monkeypatch.setattr(creds, "prepare", breaks_on_row_3)
    batch_id = batches.submit(csv_of([person(n) for n in range(1, 5)]))
    batches.process()
    results = batches.results(batch_id)
    assert [r["status"] for r in results] == ["issued", "issued", "error", "issued"]
    assert results[2]["errors"].startswith("No se pudo procesar esta fila")


def test_a_stored_csv_that_cannot_be_opened_fails_the_batch(batches: Batches) -> None:
    batch_id = batches.submit(csv_of([person(1)]))
    with batches.deps.session() as session:
        stored = session.get(Batch, batch_id)
        assert stored is not None
        stored.csv_sealed = stored.csv_sealed[:-1] + bytes([stored.csv_sealed[-1] ^ 1])
        session.add(stored)
        session.commit()
    batches.process()
    assert batches.progress(batch_id)["state"] == "failed"
    response = batches.client.get(f"/api/v1/batches/{batch_id}/results.csv", headers=batches.auth())
    assert response.status_code == 409


def test_cells_beyond_the_header_are_a_row_error(batches: Batches) -> None:
    data = csv_of([person(1)]) + ",".join([*(person(2)[name] for name in COLUMNS), "sobra"]).encode() + b"\n"
    batch_id = batches.submit(data)
    batches.process()
    assert [r["errors"] for r in batches.results(batch_id)] == ["", "La fila tiene más celdas que el encabezado."]


# ----------------------------------------------------------------------------- results (#114)


@pytest.mark.parametrize("value", ["=HYPERLINK(\"http://x.example\",\"clic\")", "+cmd|' /C calc'!A0", "-2+3",
                                   "@SUM(A1:A9)", "\t=1", "\r=1"])
def test_formula_cells_are_escaped(value: str) -> None:
    assert escape_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["", "José", "2", "'=already quoted", "a=b", "openid-credential-offer://?x"])
def test_other_cells_are_left_alone(value: str) -> None:
    assert escape_cell(value) == value


def test_results_never_hold_a_cell_a_spreadsheet_would_run(batches: Batches, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [person(1, given_name='=HYPERLINK("http://evil.example","clic")', family_name="+cmd"),
            person(2, hours="=1+1"), person(3, competency_code="-2+3", center="@SUM(A1)")]
    ids = iter(f"-{n:021d}" for n in range(10))  # ids can start with "-": they are escaped like the rest
    monkeypatch.setattr(creds, "new_id", lambda: next(ids))
    batch_id = batches.submit(csv_of(rows))
    batches.process()
    raw = batches.client.get(f"/api/v1/batches/{batch_id}/results.csv", headers=batches.auth()).content
    cells = [cell for line in csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")) for cell in line]
    assert not [cell for cell in cells if cell.startswith(FORMULA_STARTS)]
    issued, hours, code = parse_results(raw, raw=True)
    assert issued["status"] == "issued" and issued["credential_id"].startswith("'-")
    with batches.deps.session() as session:
        record = session.get(Credential, issued["credential_id"].removeprefix("'"))
        assert record is not None  # a program drops the leading ' to get the value
        assert creds.claims_of(batches.deps, record)["given_name"] == rows[0]["given_name"]  # stored verbatim
    assert hours["errors"] == "hours: El tipo de dato no es correcto."
    assert code["errors"] == "competency_code: El formato no es correcto."


def test_results_give_a_redeemable_offer_and_tx_code_per_issued_row(batches: Batches) -> None:
    batch_id = batches.submit(csv_of([person(1), person(2)]))
    batches.process()
    results = batches.results(batch_id)
    with batches.deps.session() as session:
        for row in results:
            offer = session.exec(select(Offer).where(Offer.credential_id == row["credential_id"])).one()
            assert row["offer_uri"].endswith(f"%2Fi%2Fsena%2Foffers%2F{offer.id}")
            assert batches.deps.box.code_hash(f"{offer.id}:{row['tx_code']}") == offer.tx_code_hash


def test_results_are_409_until_the_batch_is_done(batches: Batches) -> None:
    batch_id = batches.submit(csv_of([person(1)]))
    response = batches.client.get(f"/api/v1/batches/{batch_id}/results.csv", headers=batches.auth())
    assert response.status_code == 409 and response.json()["code"] == "batch_not_done"


# ----------------------------------------------------------------------------- upload checks (#114)


def test_an_upload_over_the_size_cap_is_413(small_batches: Batches) -> None:
    big = csv_of([person(n, competency_title="x" * 150) for n in range(8)])
    assert len(big) > 2_000
    response = small_batches.upload(big)
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"
    response = small_batches.client.post(f"/api/v1/batches?type={TYPE}", content=big,
                                         headers={**small_batches.auth(), "Content-Type": "text/csv"})
    assert response.status_code == 413


def test_an_upload_over_the_row_cap_is_413(small_batches: Batches) -> None:
    response = small_batches.upload(csv_of([person(n, competency_title="T", center="C") for n in range(5)]))
    assert response.status_code == 413 and response.json()["code"] == "too_many_rows"


def test_a_zip_disguised_as_csv_is_422(batches: Batches) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("personas.csv", csv_of([person(1)]))
    response = batches.upload(archive.getvalue())
    assert response.status_code == 422 and response.json()["code"] == "csv_not_text"
    assert "xlsx" in response.json()["title"]
    response = batches.upload(b"given_name\x00,family_name\n")
    assert response.status_code == 422 and response.json()["code"] == "csv_not_text"


def test_text_in_another_encoding_is_422_in_the_callers_language(batches: Batches) -> None:
    latin1 = csv_of([person(1)]).decode("utf-8").encode("latin-1")
    response = batches.upload(latin1, **{"Accept-Language": "en"})
    assert response.status_code == 422 and response.json()["code"] == "csv_not_utf8"
    assert response.json()["title"] == 'The file is not UTF-8 (line 2). Save it as "CSV UTF-8 (comma delimited)".'
    response = batches.upload(csv_of([person(1)]).decode("utf-8").encode("utf-16"))
    assert response.status_code == 422 and response.json()["title"].startswith("El archivo no está en UTF-8")


def test_unknown_columns_are_422_and_listed(batches: Batches) -> None:
    response = batches.upload(csv_of([person(1)], [*COLUMNS, "email", "Cédula"]))
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "csv_unknown_columns"
    assert "Cédula, email" in body["title"]
    assert {e["field"] for e in body["errors"] if e["code"] == "unknown_column"} == {"email", "Cédula"}


def test_missing_and_repeated_columns_are_422(batches: Batches) -> None:
    response = batches.upload(csv_of([person(1)], [*COLUMNS[1:], "family_name"]))
    assert response.status_code == 422
    errors = {(e["field"], e["code"]) for e in response.json()["errors"]}
    assert errors == {("given_name", "missing_column"), ("family_name", "repeated_column")}


def test_a_file_without_rows_is_422(batches: Batches) -> None:
    response = batches.upload(b"\xef\xbb\xbf" + ",".join(COLUMNS).encode() + b"\r\n\r\n")
    assert response.status_code == 422 and response.json()["code"] == "csv_empty"


def test_an_unterminated_quote_is_422(batches: Batches) -> None:
    response = batches.upload(csv_of([person(1)]) + b'Ana,"sin cierre\n')
    assert response.status_code == 422 and response.json()["code"] == "csv_malformed"


def test_nothing_is_stored_for_a_refused_upload(batches: Batches) -> None:
    assert batches.upload(csv_of([person(1)], [*COLUMNS, "email"])).status_code == 422
    with batches.deps.session() as session:
        assert session.exec(select(func.count()).select_from(Batch)).one() == 0


def test_an_upload_larger_than_the_generic_body_cap_is_accepted(batches: Batches) -> None:
    rows = [person(n, competency_title="t" * 190) for n in range(4_500)]
    data = csv_of(rows)
    assert batches.deps.settings.max_body_bytes < len(data) < batches.deps.settings.batch_max_bytes
    assert batches.upload(data).status_code == 202


# ----------------------------------------------------------------------------- roles and tenants (#105, #106)


def test_auditors_may_not_upload_read_or_download_batches(batches: Batches) -> None:
    batch_id = batches.submit(csv_of([person(1)]))
    batches.process()
    assert batches.upload(csv_of([person(2)]), who="sena:auditor").status_code == 403
    for path in (f"/api/v1/batches/{batch_id}", f"/api/v1/batches/{batch_id}/results.csv"):
        response = batches.client.get(path, headers=batches.auth("sena:auditor"))
        assert response.status_code == 403 and response.json()["code"] == "role_forbidden"
    assert batches.upload(csv_of([person(3)]), who="sena:admin").status_code == 202


def test_another_institutions_batch_is_404(batches: Batches) -> None:
    batch_id = batches.submit(csv_of([person(1)]))
    batches.process()
    for path in (f"/api/v1/batches/{batch_id}", f"/api/v1/batches/{batch_id}/results.csv",
                 "/api/v1/batches/no-such-batch"):
        response = batches.client.get(path, headers=batches.auth("migracion:admin"))
        assert response.status_code == 404 and response.json()["code"] == "batch_not_found"


def test_types_the_institution_may_not_issue_are_403_and_unknown_ones_422(batches: Batches) -> None:
    assert batches.upload(csv_of([person(1)]), type_id="ppt-status").status_code == 403
    assert batches.upload(csv_of([person(1)]), type_id="no-such-type").status_code == 422
    assert batches.client.post("/api/v1/batches", data={"type": TYPE}, files={"file": ("a.csv", b"x")}).status_code \
        == 401


# ----------------------------------------------------------------------------- idempotency, audit, metrics


def test_a_retried_upload_with_the_same_idempotency_key_returns_the_same_batch(batches: Batches) -> None:
    key = secrets.token_urlsafe(18)
    first = batches.upload(csv_of([person(1)]), **{"Idempotency-Key": key})
    again = batches.upload(csv_of([person(1)]), **{"Idempotency-Key": key})
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    other = batches.upload(csv_of([person(2)]), **{"Idempotency-Key": key})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    with batches.deps.session() as session:
        assert session.exec(select(func.count()).select_from(Batch)).one() == 1


def test_upload_completion_and_download_are_audited(batches: Batches) -> None:
    batch_id = batches.submit(csv_of([person(1), person(2, level="x")]))
    batches.process()
    batches.results(batch_id)
    with batches.deps.session() as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.target == batch_id)
                              .order_by(col(AuditEvent.seq))).all()
    assert [(e.action, e.actor.split(":")[0]) for e in events] == [
        ("batch.create", "officer"), ("batch.done", "batch-worker"), ("batch.results", "officer")]
    assert events[0].details == {"type": TYPE, "rows": 2, "bytes": events[0].details["bytes"]}
    assert events[1].details == {"total": 2, "issued": 1, "failed": 1}


def test_issued_and_failed_rows_are_counted_in_the_metrics(batches: Batches) -> None:
    batches.submit(csv_of([person(1), person(2), person(3, hours="muchas")]))
    batches.process()
    text = batches.client.get("/metrics", headers=METRICS).text
    assert 'puente_events_total{event="batch_rows_issued"} 2.0' in text
    assert 'puente_events_total{event="batch_rows_failed"} 1.0' in text


def test_the_stored_csv_is_sealed(batches: Batches) -> None:
    data = csv_of([person(1, family_name="Apellido-Secreto")])
    batch_id = batches.submit(data)
    with batches.deps.session() as session:
        stored = session.get(Batch, batch_id)
    assert stored is not None and b"Apellido-Secreto" not in stored.csv_sealed
    assert batches.deps.box.open(stored.csv_sealed, f"batch:{batch_id}") == data


# ----------------------------------------------------------------------------- crashes, leases, resuming (#132)


def test_an_interrupted_batch_resumes_without_issuing_a_row_twice(small_batches: Batches,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    batch_id = small_batches.submit(csv_of([person(n) for n in range(3)] + [person(3, level="9")]))
    commit_chunk = small_batches.worker._commit_chunk
    calls = {"n": 0}

    def dies_after_first_chunk(claim: Any, rows: Any) -> int:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("process killed")
        return commit_chunk(claim, rows)

    monkeypatch.setattr(small_batches.worker, "_commit_chunk", dies_after_first_chunk)
    with pytest.raises(RuntimeError):
        small_batches.worker.run_once()
    state = small_batches.progress(batch_id)
    assert (state["state"], state["processed"]) == ("running", 2)
    other = BatchWorker(small_batches.deps)
    assert other.run_once() is False  # the dead worker's lease still holds
    small_batches.deployment.clock.advance(batch_module.LEASE_SECONDS + 1)
    assert other.run_once() is True
    assert_exactly_once(small_batches.deps, batch_id, [2, 3, 4, 5])
    assert small_batches.progress(batch_id)["failed"] == 1


def test_a_crash_after_signing_before_commit_leaves_nothing_of_that_chunk(small_batches: Batches,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    batch_id = small_batches.submit(csv_of([person(n) for n in range(4)]))
    store, calls = creds.store, {"n": 0}

    def signs_then_dies(*args: Any, **kwargs: Any) -> Any:
        issued = store(*args, **kwargs)  # signed and inserted, not committed
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("process killed before commit")
        return issued

    monkeypatch.setattr(creds, "store", signs_then_dies)
    with pytest.raises(RuntimeError):
        small_batches.worker.run_once()
    with small_batches.deps.session() as session:
        assert session.exec(select(func.count()).select_from(Credential)).one() == 2
        assert session.exec(select(func.count()).select_from(Offer)).one() == 2
    assert [row.row_number for row in batch_rows(small_batches.deps, batch_id)] == [2, 3]
    monkeypatch.setattr(creds, "store", store)
    small_batches.deployment.clock.advance(batch_module.LEASE_SECONDS + 1)
    small_batches.process()
    assert_exactly_once(small_batches.deps, batch_id, [2, 3, 4, 5])


def test_a_worker_whose_lease_was_taken_over_commits_nothing_more(small_batches: Batches) -> None:
    batch_id = small_batches.submit(csv_of([person(n) for n in range(4)]))
    slow, fast = small_batches.worker, BatchWorker(small_batches.deps)
    claim = slow.claim()
    assert claim is not None and fast.claim() is None
    small_batches.deployment.clock.advance(batch_module.LEASE_SECONDS + 1)
    taken = fast.claim()
    assert taken is not None
    with pytest.raises(batch_module.LeaseLost):
        slow._commit_chunk(claim, parse_csv(small_batches.deps.types.get(TYPE),
                                                          csv_of([person(n) for n in range(4)])).rows[:2])
    fast.process(taken)
    assert_exactly_once(small_batches.deps, batch_id, [2, 3, 4, 5])


def test_stopping_the_worker_hands_the_batch_back_at_once(small_batches: Batches,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    batch_id = small_batches.submit(csv_of([person(n) for n in range(4)]))
    worker = small_batches.worker
    commit_chunk = worker._commit_chunk

    def stop_after_first(claim: Any, rows: Any) -> int:
        lease = commit_chunk(claim, rows)
        worker._stop.set()  # as stop() does from the app's shutdown
        return lease

    monkeypatch.setattr(worker, "_commit_chunk", stop_after_first)
    assert worker.run_once() is True
    with small_batches.deps.session() as session:
        batch = session.get(Batch, batch_id)
        assert batch is not None and (batch.state, batch.lease_until, batch.issued) == ("running", 0, 2)
    assert worker.run_once() is False  # a stopped worker claims nothing
    assert BatchWorker(small_batches.deps).run_once() is True  # no need to wait for a lease to expire
    assert_exactly_once(small_batches.deps, batch_id, [2, 3, 4, 5])


def _work_in_another_process(url: str, var_dir: str, results: Any) -> None:
    settings = make_settings(url, Path(var_dir), status_list_size=128, batch_chunk_rows=10)
    deps = build_deps(settings)
    try:
        worker, processed = BatchWorker(deps), 0
        while worker.run_once():
            processed += 1
        results.put(("ok", processed))
    except Exception as exc:  # reported to the parent, which fails the test
        results.put(("error", repr(exc)))
    finally:
        deps.engine.dispose()


def test_two_processes_issue_two_batches_into_small_lists_without_sharing_an_index(batches: Batches,
                                                                                   tmp_path: Path) -> None:
    """Chunks of two processes interleave in 128-entry lists filled to 75 %: the claim gives each
    process its own batch, indexes are never shared and no list passes its fill limit."""
    ids = [batches.submit(csv_of([person(100 * b + n) for n in range(60)])) for b in range(2)]
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [context.Process(target=_work_in_another_process,
                               args=(batches.deps.settings.database_url, str(tmp_path), results)) for _ in range(2)]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=180) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    for batch_id in ids:
        assert_exactly_once(batches.deps, batch_id, list(range(2, 62)))
    with batches.deps.session() as session:
        for row in session.exec(select(StatusListRow)).all():
            held = session.exec(select(func.count()).select_from(Credential)
                                .where(Credential.status_list_id == row.id)).one()
            assert held == row.used <= 96


def test_the_worker_thread_processes_uploads(batches: Batches) -> None:
    worker = BatchWorker(batches.deps, poll_seconds=0.02)
    worker.start()
    try:
        batch_id = batches.submit(csv_of([person(n) for n in range(3)]))
        deadline = time.monotonic() + 30
        while batches.progress(batch_id)["state"] != "done":
            assert time.monotonic() < deadline, "the worker thread did not finish the batch"
            time.sleep(0.02)
    finally:
        worker.stop()
    assert_exactly_once(batches.deps, batch_id, [2, 3, 4])


# ----------------------------------------------------------------------------- the CLI


def test_cli_run_uploads_follows_and_saves_the_results(batches: Batches, tmp_path: Path) -> None:
    source = tmp_path / "personas.csv"
    source.write_bytes(csv_of([person(1), person(2, level="x"), person(3)]))
    worker = BatchWorker(batches.deps, poll_seconds=0.02)
    worker.start()
    try:
        with TestClient(batches.client.app, base_url=BASE, headers=batches.auth()) as client:
            outcome = cli_batch.run_batch(client, source, TYPE, cli_batch.default_out(source), poll_seconds=0.02)
    finally:
        worker.stop()
    assert (outcome.total, outcome.issued, outcome.failed) == (3, 2, 1)
    assert outcome.out == tmp_path / "personas.results.csv"
    assert stat.S_IMODE(outcome.out.stat().st_mode) == 0o600  # it holds tx codes
    results = parse_results(outcome.out.read_bytes())
    assert [r["status"] for r in results] == ["issued", "error", "issued"]


def puente_cli() -> typer.Typer:
    """``puente`` with the batch commands, as puente/cli.py registers them."""
    from puente.cli import app

    if any(group.name == "batch" for group in app.registered_groups):
        return app
    cli = typer.Typer()
    cli.add_typer(cli_batch.batch_app, name="batch")
    return cli


def _patched_client(monkeypatch: pytest.MonkeyPatch, app: Any) -> None:
    def client(base_url: str, headers: dict[str, str], timeout: Any) -> TestClient:
        assert base_url == "http://127.0.0.1:8001"
        return TestClient(app, base_url=BASE, headers=headers)

    monkeypatch.setattr(cli_batch.httpx, "Client", client)


def test_cli_command_exits_0_and_prints_the_results_path(batches: Batches, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "lote.csv"
    source.write_bytes(csv_of([person(1)]))
    _patched_client(monkeypatch, batches.client.app)
    monkeypatch.setenv("PUENTE_API_KEY", batches.deployment.keys["sena:officer"])
    worker = BatchWorker(batches.deps, poll_seconds=0.02)
    worker.start()
    try:
        result = CliRunner().invoke(puente_cli(), ["batch", "issue", str(source), "--type", TYPE,
                                                   "--out", str(tmp_path / "r.csv")])
    finally:
        worker.stop()
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("r.csv")
    assert parse_results((tmp_path / "r.csv").read_bytes())[0]["status"] == "issued"


def test_cli_command_exits_1_with_the_problems_title(batches: Batches, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "lote.csv"
    source.write_bytes(csv_of([person(1)], [*COLUMNS, "email"]))
    _patched_client(monkeypatch, batches.client.app)
    result = CliRunner().invoke(puente_cli(), ["batch", "issue", str(source), "--type", TYPE, "--api-key",
                                               batches.deployment.keys["sena:officer"]])
    assert result.exit_code == 1
    assert "Columnas desconocidas para el tipo skills-certification: email" in result.output
    assert "email: Columna desconocida para este tipo." in result.output
    result = CliRunner().invoke(puente_cli(), ["batch", "issue", str(source), "--type", TYPE],
                                env={"PUENTE_API_KEY": ""})
    assert result.exit_code == 2 and "falta la clave de API" in result.output


# ----------------------------------------------------------------------------- kill -9 of the real service


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Service:
    """``puente serve issuer`` on 127.0.0.1 with the given environment; logs go to a file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log, self.port = env, log, _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "puente", "serve", "issuer",
                                             "--port", str(self.port)], cwd=ROOT,
                                            env=self.env, stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while True:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the issuer did not start"
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)

    def signal(self, number: int) -> None:
        assert self.process is not None
        self.process.send_signal(number)
        self.process.wait(timeout=30)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


def _service_env(url: str, tmp_path: Path, master_key: str) -> dict[str, str]:
    keep = {name: value for name, value in os.environ.items() if not name.startswith("PUENTE_")}
    return {**keep, "PUENTE_ENV": "test", "PUENTE_DATABASE_URL": url, "PUENTE_MASTER_KEY": master_key,
            "PUENTE_VAR_DIR": str(tmp_path), "PUENTE_PUBLIC_ISSUER_URL": BASE, "PUENTE_BATCH_CHUNK_ROWS": "100",
            "PUENTE_WORKER_ENABLED": "true", "PUENTE_RATE_LIMIT_PER_MINUTE": "0"}


def _wait_for(client: httpx.Client, batch_id: str, done: Any, seconds: float) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        state: dict[str, Any] = client.get(f"/api/v1/batches/{batch_id}").json()
        if done(state):
            return state
        assert time.monotonic() < deadline, f"gave up waiting: {state}"
        time.sleep(0.02)


@pytest.fixture
def crash_deployment(tmp_path: Path) -> Iterator[tuple[Deps, str, str]]:
    """A file SQLite database with SENA and an officer key, the service's master key and the key."""
    url = f"sqlite:///{tmp_path}/issuer.db"
    migrate(url)
    master_key = b64url_encode(secrets.token_bytes(32))
    deps = build_deps(make_settings(url, tmp_path, master_key=master_key), clock=SystemClock())
    with deps.session() as session:
        sena = create_institution(session, deps, slug="sena", name="SENA", types=[TYPE])
        api_key, _ = create_api_key(session, deps, sena, role="officer", name="crash test")
        session.commit()
    yield deps, master_key, api_key
    deps.engine.dispose()


def test_kill_9_mid_batch_then_restart_issues_every_row_exactly_once(crash_deployment: tuple[Deps, str, str],
                                                                     tmp_path: Path) -> None:
    deps, master_key, api_key = crash_deployment
    rows = [person(n, competency_title="T", center="C", level="9" if n % 500 == 7 else "2") for n in range(3_000)]
    service = Service(_service_env(deps.settings.database_url, tmp_path, master_key), tmp_path / "issuer.log")
    headers = {"Authorization": f"Bearer {api_key}"}
    try:
        service.start()
        with httpx.Client(base_url=service.url, headers=headers, timeout=30) as client:
            response = client.post(f"/api/v1/batches?type={TYPE}", content=csv_of(rows),
                                   headers={"Content-Type": "text/csv"})
            assert response.status_code == 202, response.text
            batch_id = response.json()["id"]
            _wait_for(client, batch_id, lambda s: s["processed"] >= 100, 60)
        service.signal(signal.SIGKILL)
        with deps.session() as session:
            killed = session.get(Batch, batch_id)
            assert killed is not None and killed.state == "running"
            assert 0 < killed.issued + killed.failed < 3_000, "the batch finished before the kill: nothing tested"
            assert killed.lease_until > deps.now()  # a dead worker's lease, waited out by the next one
        service.start()
        with httpx.Client(base_url=service.url, headers=headers, timeout=30) as client:
            final = _wait_for(client, batch_id, lambda s: s["state"] == "done", 120)
            results = client.get(f"/api/v1/batches/{batch_id}/results.csv")
        assert (final["total"], final["processed"], final["failed"]) == (3_000, 3_000, 6)
        assert_exactly_once(deps, batch_id, list(range(2, 3_002)))
        assert len(parse_results(results.content)) == 3_000
    finally:
        service.stop()


def test_sigterm_hands_the_batch_back_for_the_next_start(crash_deployment: tuple[Deps, str, str],
                                                         tmp_path: Path) -> None:
    deps, master_key, api_key = crash_deployment
    rows = [person(n, competency_title="T", center="C") for n in range(3_000)]
    service = Service(_service_env(deps.settings.database_url, tmp_path, master_key), tmp_path / "issuer.log")
    headers = {"Authorization": f"Bearer {api_key}"}
    try:
        service.start()
        with httpx.Client(base_url=service.url, headers=headers, timeout=30) as client:
            batch_id = client.post(f"/api/v1/batches?type={TYPE}", content=csv_of(rows),
                                   headers={"Content-Type": "text/csv"}).json()["id"]
            _wait_for(client, batch_id, lambda s: s["processed"] >= 100, 60)
        service.signal(signal.SIGTERM)
        with deps.session() as session:
            stopped = session.get(Batch, batch_id)
            assert stopped is not None and stopped.state == "running" and stopped.lease_until == 0
        service.start()
        with httpx.Client(base_url=service.url, headers=headers, timeout=30) as client:
            _wait_for(client, batch_id, lambda s: s["state"] == "done", batch_module.LEASE_SECONDS - 5)
        assert_exactly_once(deps, batch_id, list(range(2, 3_002)))
    finally:
        service.stop()
