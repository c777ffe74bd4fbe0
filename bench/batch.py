"""``batch_issue_per_s``: credentials per second of a 10,000-row CSV batch, end to end in-process,
on SQLite and (when a database is configured) on PostgreSQL; and ``credcore_issue_per_s``.

A batch is made as an upload makes it (``issuer.batches.create_batch``: parse, check, seal, store;
not timed). The time runs from the worker claiming the pending batch to the batch marked done:
opening and parsing the stored CSV, validating every row, allocating status indexes, signing the
paper companions, sealing claims and tx codes, and committing credentials, offers, batch rows and
progress chunk by chunk (``batch_chunk_rows``, 500 by default). No HTTP. Before a number is printed,
the run checks that every row was issued exactly once.

The baseline, measured in the same run on the same claims, is ``credcore.issue.issue_credential``
called alone for each row (the claims checked against the schema, the paper companion with a
status reference signed): the core's whole issuance of a row, which the batch splits between
``prepare()`` (the check) and ``store()`` (the signature). ``batch_vs_credcore`` is their ratio: the
share of the core's speed the whole service keeps. PostgreSQL comes from
``PUENTE_BENCH_DATABASE_URL`` or ``PUENTE_TEST_DATABASE_URL``; each run uses its own schema and
drops it.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, text
from sqlmodel import select

from bench import BenchmarkError
from credcore.encoding import b64url_encode
from credcore.issue import issue_credential
from issuer.batch_worker import BatchWorker
from issuer.batches import create_batch
from issuer.config import Settings
from issuer.db.engine import migrate, normalize_url
from issuer.db.models import Batch, BatchRow, Credential
from issuer.deps import Deps, build_deps
from issuer.institutions import active_key, create_institution, issuer_id
from issuer.staff import Staff, create_api_key

ROWS = 10_000
GOAL = 1_000.0  # credentials per second on SQLite (issue 3)
GOAL_VS_CREDCORE = 0.7  # batch_vs_credcore: the share of the core's signing speed a batch keeps (issue 13)
TYPE_ID = "skills-certification"
COLUMNS = ("given_name", "family_name", "document_number", "competency_code", "competency_title", "level", "hours",
           "center", "date")
GIVEN = ("José Gregorio", "María Fernanda", "Luis Alberto", "Ana Karina", "Yorman", "Daniela", "Óscar", "Luz Marina")
FAMILY = ("Pérez Rodríguez", "González", "Hernández Ruiz", "Rodríguez Mora", "Martínez", "Peña Aguilar")
TITLES = ("Aplicar tecnologías de la información teniendo en cuenta las necesidades de la unidad administrativa",
          "Atender clientes de acuerdo con procedimiento de servicio y normativa", "Preparar alimentos según receta")
CENTERS = ("Centro de Comercio y Servicios - SENA Regional Norte de Santander", "Centro de Gestión Industrial - Bogotá")


def csv_bytes(rows: int) -> bytes:
    """A CSV of ``rows`` distinct, valid skills certifications (CRLF, as spreadsheets write it)."""
    lines = [",".join(COLUMNS)]
    for n in range(rows):
        lines.append(",".join([GIVEN[n % len(GIVEN)], FAMILY[n % len(FAMILY)], f"V{10_000_000 + n}",
                               f"{220201501 + n % 97}", f'"{TITLES[n % len(TITLES)]}"', str(1 + n % 8),
                               str(40 + n % 200), f'"{CENTERS[n % len(CENTERS)]}"', f"2026-0{1 + n % 9}-1{n % 10}"]))
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _settings(url: str, var_dir: Path) -> Settings:
    return Settings(env="test", database_url=url, var_dir=var_dir, public_issuer_url="https://issuer.bench",
                    master_key=b64url_encode(secrets.token_bytes(32)), worker_enabled=False)


def _staff(deps: Deps) -> Staff:
    with deps.session() as session:
        institution = create_institution(session, deps, slug="sena", name="SENA", types=[TYPE_ID])
        _, key = create_api_key(session, deps, institution, role="officer", name="bench")
        session.commit()
    return Staff.of_key(key, institution)


def _check_exactly_once(deps: Deps, batch_id: str, rows: int) -> None:
    with deps.session() as session:
        batch = session.get(Batch, batch_id)
        rows_done = session.exec(select(func.count()).select_from(BatchRow).where(BatchRow.batch_id == batch_id)).one()
        credentials = session.exec(select(func.count()).select_from(Credential)
                                   .where(Credential.batch_id == batch_id)).one()
    if batch is None or batch.state != "done" or batch.issued != rows or rows_done != rows or credentials != rows:
        raise BenchmarkError(f"batch not issued exactly once: {batch and batch.state}, {rows_done} rows, "
                             f"{credentials} credentials for {rows}")


def batch_rate(url: str, var_dir: Path, data: bytes, rows: int) -> float:
    """Rows per second from claiming the stored batch to its completion."""
    migrate(url)
    deps = build_deps(_settings(url, var_dir))
    try:
        staff = _staff(deps)
        batch = create_batch(deps, staff, type_id=TYPE_ID, data=data)
        worker = BatchWorker(deps)
        started = time.perf_counter()
        if not worker.run_once():
            raise BenchmarkError("the worker found no batch to process")
        elapsed = time.perf_counter() - started
        _check_exactly_once(deps, batch.id, rows)
        return rows / elapsed
    finally:
        deps.engine.dispose()


def credcore_rate(var_dir: Path, data: bytes, rows: int) -> float:
    """issue_credential alone (schema check and signature), over the same rows' claims (parsed once,
    untimed)."""
    from issuer.batch_csv import parse_csv

    deps = build_deps(_settings(f"sqlite:///{var_dir}/baseline.db", var_dir))
    migrate(deps.settings.database_url)
    try:
        with deps.session() as session:
            institution = create_institution(session, deps, slug="sena", name="SENA", types=[TYPE_ID])
            key = active_key(session, deps, institution)
            session.commit()
        ctype = deps.types.get(TYPE_ID)
        claims = [row.claims for row in parse_csv(ctype, data).rows]
        iss, uri, exp = issuer_id(deps, institution), f"{issuer_id(deps, institution)}/status/1", deps.now() + 86_400
        started = time.perf_counter()
        for item in claims:
            issue_credential(ctype=ctype, claims=item, issuer=iss, key=key, clock=deps.clock,
                             status=(uri, secrets.randbelow(131_072)), valid_until=exp, paper=True)
        return len(claims) / (time.perf_counter() - started)
    finally:
        deps.engine.dispose()


@contextmanager
def postgres_schema(base: str) -> Iterator[str]:
    """A fresh schema on the given PostgreSQL database, dropped afterwards."""
    schema = f"bench_{secrets.token_hex(6)}"
    admin = create_engine(normalize_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        separator = "&" if "?" in base else "?"
        yield f"{normalize_url(base)}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def run(*, rows: int = ROWS) -> dict[str, Any]:
    data = csv_bytes(rows)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="puente-bench-") as tmp:
        var_dir = Path(tmp)
        results["batch_issue_per_s"] = batch_rate(f"sqlite:///{var_dir}/batch.db", var_dir, data, rows)
        base = os.environ.get("PUENTE_BENCH_DATABASE_URL") or os.environ.get("PUENTE_TEST_DATABASE_URL")
        if base:
            with postgres_schema(base) as url:
                results["batch_issue_per_s_postgresql"] = batch_rate(url, var_dir, data, rows)
        else:
            results["batch_issue_per_s_postgresql"] = "skipped (no database)"
        results["credcore_issue_per_s"] = credcore_rate(var_dir, data, min(rows, 3_000))
    results["batch_vs_credcore"] = results["batch_issue_per_s"] / results["credcore_issue_per_s"]
    return results
