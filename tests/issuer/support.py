"""Helpers several issuer test modules share: builders of CSV batches and console steps, the
OpenID4VCI steps, log capture. They used to be imported from other test modules."""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import httpx
from httpx import Response
from sqlmodel import col, func, select

from credcore.keys import public_key_from_jwk
from issuer.batch_worker import BatchWorker
from issuer.db.models import (
    ApprovalRequest,
    Batch,
    BatchRow,
    Credential,
    Offer,
)
from issuer.deps import Deps
from servicekit.logs import JsonFormatter
from testkit.wallet import Wallet
from testkit.world import example_claims
from tests.issuer.console_support import Browser, csrf_of, make_user
from tests.issuer.deployment import BASE, Deployment

TYPE = "skills-certification"
COLUMNS = ["given_name", "family_name", "document_number", "competency_code", "competency_title", "level", "hours",
           "center", "date"]
CSV_FILE = "text/csv"
SENA = f"{BASE}/i/sena"
SKILLS = "skills-certification"


def person(n: int, **changes: str) -> dict[str, str]:
    values = {name: str(value) for name, value in example_claims(TYPE).items()}
    values.update(given_name=f"Persona {n}", document_number=f"V{1_000_000 + n}")
    values.update(changes)
    return values


def csv_of(rows: list[dict[str, str]], columns: list[str] = COLUMNS, *, newline: str = "\n", bom: bool = False,
           delimiter: str = ",") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(name, "") for name in columns])
    data = buffer.getvalue().encode("utf-8")
    return b"\xef\xbb\xbf" + data if bom else data


def batch_rows(deps: Deps, batch_id: str) -> list[BatchRow]:
    with deps.session() as session:
        return list(session.exec(select(BatchRow).where(BatchRow.batch_id == batch_id)
                                 .order_by(col(BatchRow.row_number))).all())


def assert_exactly_once(deps: Deps, batch_id: str, expected_rows: list[int]) -> None:
    """One batch row per input row; every issued row's credential exists once; counts agree."""
    rows = batch_rows(deps, batch_id)
    assert [row.row_number for row in rows] == expected_rows
    issued = [row.credential_id for row in rows if row.credential_id]
    with deps.session() as session:
        batch = session.get(Batch, batch_id)
        records = session.exec(select(Credential).where(Credential.batch_id == batch_id)).all()
        offers = session.exec(select(func.count()).select_from(Offer)
                              .where(col(Offer.credential_id).in_(issued))).one()
        slots = session.exec(select(Credential.status_list_id, Credential.status_idx)).all()
    assert batch is not None and batch.state == "done"
    assert len(set(issued)) == len(issued) == batch.issued == len(records) == offers
    assert {record.id for record in records} == set(issued)
    assert batch.issued + batch.failed == batch.total == len(expected_rows)
    assert len(set(slots)) == len(slots)


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def log_lines() -> Iterator[list[str]]:
    """Every line the "puente" logger writes while the block runs, as the JSON formatter prints it
    (with the time fields removed: they are digits that a 6-digit tx_code could match by chance),
    plus each record's raw message and arguments. A handler of its own rather than ``caplog``, so
    the check also runs under ``-p no:logging``."""
    logger = logging.getLogger("puente")
    keep, level = _Keep(), logger.level
    logger.addHandler(keep)
    logger.setLevel(logging.DEBUG)
    lines: list[str] = []
    try:
        yield lines
    finally:
        logger.removeHandler(keep)
        logger.setLevel(level)
        for record in keep.records:
            entry = json.loads(JsonFormatter().format(record))
            entry.pop("ts", None)
            entry.pop("ms", None)
            lines.append(json.dumps(entry, ensure_ascii=False))
            lines.append(f"{record.msg} {record.args!r} {record.exc_text or ''}")


def body(type_id: str = SKILLS, **claims: Any) -> dict[str, Any]:
    return {"type": type_id, "claims": {**example_claims(type_id), **claims}}


def post(deployment: Deployment, payload: dict[str, Any], key: str | None, who: str = "sena:officer") -> Any:
    headers = deployment.auth(who) | ({} if key is None else {"Idempotency-Key": key})
    return deployment.client.post("/api/v1/credentials", json=payload, headers=headers)


def rows(deployment: Deployment, model: Any) -> int:
    with deployment.deps.session() as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def path_of(response: object) -> str:
    return urlparse(str(response.url)).path  # type: ignore[attr-defined]


def signed_in(deployment: Deployment, slug: str = "sena", role: str = "officer") -> Browser:
    user = make_user(deployment, slug, role)
    browser = Browser.new(deployment)
    page = browser.sign_in(user)
    assert page.status_code == 200 and page.url.path == "/console", page.text
    return browser


def template_rows(browser: Browser, type_id: str = SKILLS) -> tuple[list[str], dict[str, str]]:
    """The template's header and its example row, as a spreadsheet would read them."""
    response = browser.get(f"/console/batches/template/{type_id}.csv")
    assert response.status_code == 200, response.text
    header, example = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    return header, dict(zip(header, example, strict=True))


def csv_from(header: list[str], rows: list[dict[str, str]], *, delimiter: str = ",") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(name, "") for name in header])
    return buffer.getvalue().encode("utf-8")


def people(example: dict[str, str], count: int) -> list[dict[str, str]]:
    return [{**example, "given_name": f"Persona {n}", "document_number": f"V{1_000_000 + n}"}
            for n in range(1, count + 1)]


def upload(browser: Browser, data: bytes, type_id: str = SKILLS, *, form_id: str | None = None,
           name: str = "lote.csv") -> Response:
    """Open the upload page and send its form with ``data`` as the file (redirects followed)."""
    page = browser.get("/console/batches/new")
    found = re.search(r'name="form_id" value="([^"]+)"', page.text)
    assert found, "the upload form has no form_id"
    fields = {"type": type_id, "form_id": form_id or found[1]}
    return browser.post("/console/batches", fields, csrf=csrf_of(page.text), files={"file": (name, data, CSV_FILE)})


def uploaded(browser: Browser, data: bytes) -> str:
    """The id of the batch a successful upload of ``data`` made."""
    response = upload(browser, data)
    assert response.status_code == 200, response.text
    return batch_id_of(str(response.url))


def batch_id_of(url: str) -> str:
    found = re.search(r"/console/batches/([A-Za-z0-9_-]+)", url)
    assert found, url
    return found[1]


def run_worker(deployment: Deployment) -> None:
    worker = BatchWorker(deployment.deps)
    while worker.run_once():
        pass


def sena_keys(deployment: Deployment) -> dict[str, Any]:
    keys = deployment.client.get("/.well-known/jwt-vc-issuer/i/sena").json()["jwks"]["keys"]
    return {jwk["kid"]: public_key_from_jwk(jwk) for jwk in keys}


def a_batch(deployment: Deployment, browser: Browser, count: int = 6) -> str:
    header, example = template_rows(browser)
    batch_id = uploaded(browser, csv_from(header, people(example, count)))
    run_worker(deployment)
    return batch_id


def credentials_of(deployment: Deployment, batch_id: str) -> list[Credential]:
    with deployment.deps.session() as session:
        return list(session.exec(select(Credential).where(Credential.batch_id == batch_id)))


def statuses(deployment: Deployment, batch_id: str) -> list[int]:
    return sorted(record.status for record in credentials_of(deployment, batch_id))


def ask(browser: Browser, batch_id: str, reason: str = "El lote se cargó con la norma equivocada") -> Any:
    return browser.post(f"/console/batches/{batch_id}/revoke", {"reason": reason, "confirm": "yes"},
                        csrf_from=f"/console/batches/{batch_id}/revoke")


def request_id(deployment: Deployment) -> str:
    with deployment.deps.session() as session:
        found = session.exec(select(ApprovalRequest)).all()
    assert len(found) == 1
    return found[0].id


@dataclass
class Ready:
    """An issued credential whose offer the wallet has fetched and exchanged for an access token."""

    created: dict[str, Any]
    offer: dict[str, Any]
    access: str


def ready(deployment: Deployment, wallet: Wallet, who: str = "sena:officer", type_id: str = SKILLS) -> Ready:
    created = deployment.issue(type_id, who=who)
    offer = wallet.fetch_offer(created["offer"]["offer_uri"])
    access = wallet.token(offer["credential_issuer"], wallet.pre_authorized_code(offer), created["offer"]["tx_code"])
    return Ready(created, offer, access)


def oauth_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == code, response.text
    assert response.headers["cache-control"] == "no-store"


def unreachable_database(url: str) -> str:
    if url.startswith("sqlite"):
        return "sqlite:////nonexistent-puente-dir/down.db"
    return "postgresql+psycopg://postgres@127.0.0.1:1/down?connect_timeout=2"
