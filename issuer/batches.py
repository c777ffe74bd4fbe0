"""CSV batches (issue 3; PRODUCT.md "Issuer HTTP interface"; security.md #114, #132, #136).

Upload: a UTF-8 CSV (with or without BOM, comma or semicolon separated, CRLF or LF, quoted fields
may hold newlines) whose header row names claims of the credential type, plus an optional
``valid_until`` column (YYYY-MM-DD, valid through that day in Colombia). Empty cells are absent
claims; integer claims are converted from text. Binary or zipped files (an ``.xlsx`` renamed to
``.csv``), text in another encoding, unknown or repeated columns and missing required columns are
refused before anything is stored. The file is kept sealed with the master key until processed.

Rows are numbered as a spreadsheet shows them: the header is row 1, so the first credential is
row 2. A row that fails validation never stops the batch: it gets an error in the results, every
other row is issued (security.md #136: a per-row report, never a silent skip).

Reading the CSV is ``issuer.batch_csv`` (pure); processing is ``issuer.batch_worker``:
``BatchWorker`` claims a batch with an atomic ``UPDATE … WHERE lease_until < now``
(safe with several processes), then issues it chunk by chunk. Each chunk is one transaction holding
the credentials, their offers, one ``batch_rows`` row per input row and the progress counters, so
a chunk is either wholly committed or not at all. Rows already in ``batch_rows`` are skipped: a
batch whose process was killed resumes where it stopped, and the ``(batch_id, row_number)``
primary key makes issuing a row twice impossible (security.md #132). The lease is renewed by every
chunk and is the fencing token: a worker whose lease was taken over commits nothing more.

Results: one CSV row per input row, in input order, with the credential id, offer URI and tx_code,
or the errors (in Spanish). Every cell that a spreadsheet would run as a formula is prefixed with
``'`` (security.md #114): a program reading the file drops a leading ``'`` to get the value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, cast

from sqlalchemy.orm import QueryableAttribute, defer
from sqlmodel import Session, col, select

from credcore.credential_types import CredentialType
from issuer import audit, batch_csv
from issuer import credentials as creds
from issuer.batch_csv import parse_csv
from issuer.db.models import Batch, BatchRow, Institution, Offer
from issuer.deps import Deps
from issuer.errors import Conflict, Forbidden, Invalid, NotFound, TooLarge
from issuer.oid4vci import offer_uri
from issuer.repository import scoped
from issuer.staff import Staff

RESULTS_PAGE = 1000
WITHOUT_CSV = defer(cast("QueryableAttribute[Any]", Batch.csv_sealed))  # up to 20 MB that no page shows




def _credential_type(deps: Deps, institution: Institution, type_id: str) -> CredentialType:
    if type_id not in deps.types.by_id:
        raise Invalid("unknown_type")
    if type_id not in institution.types:
        raise Forbidden("not_accredited_for_type", variant="institution")
    return deps.types.get(type_id)


def too_large(limit: int) -> TooLarge:
    megabytes = f"{limit / 1_048_576:.1f}"
    return TooLarge("payload_too_large", variant="file_exceeds", limit=limit, megabytes=megabytes)


def create_batch(deps: Deps, staff: Staff, *, type_id: str, data: bytes, lang: str = "es",
                 in_transaction: Callable[[Session, Batch], None] | None = None) -> Batch:
    """Check and store an upload (sealed), pending for the worker; committed before returning.
    ``in_transaction(session, batch)`` runs in the same transaction (an idempotency record)."""
    staff.require("batch")
    if len(data) > deps.settings.batch_max_bytes:
        raise too_large(deps.settings.batch_max_bytes)
    ctype = _credential_type(deps, staff.institution, type_id)
    parsed = parse_csv(ctype, data, max_rows=deps.settings.batch_max_rows)
    batch_id = creds.new_id()
    batch = Batch(id=batch_id, institution_id=staff.institution.id or 0, type_id=type_id, state="pending",
                  total=len(parsed.rows), csv_sealed=deps.box.seal(data, f"batch:{batch_id}"),
                  lang=lang if lang in ("es", "en") else "es", created_by=staff.api_key_id,
                  created_by_user=staff.user_id, created_at=deps.now())
    with deps.session() as session:
        session.add(batch)
        session.flush()
        audit.record(session, at=deps.now(), actor=staff.actor, action="batch.create",
                     institution_id=staff.institution.id, target=batch_id,
                     details={"type": type_id, "rows": batch.total, "bytes": len(data)})
        if in_transaction is not None:
            in_transaction(session, batch)
        session.commit()
    return batch


def get_scoped(session: Session, staff: Staff, batch_id: str) -> Batch:
    """Another institution's batch is indistinguishable from a missing one (404)."""
    staff.require("batch")
    # The sealed CSV (up to 20 MB) is loaded only when read, never for progress or results.
    batch = scoped(session, Batch, batch_id[:64], staff.institution.id, options=[WITHOUT_CSV])
    if batch is None:
        raise NotFound("batch_not_found")
    return batch


def newest_of(session: Session, institution_id: int | None, *, offset: int, limit: int) -> list[Batch]:
    """An institution's batches, newest first, without their sealed CSVs."""
    return list(session.exec(
        select(Batch).options(WITHOUT_CSV).where(Batch.institution_id == institution_id)
        .order_by(col(Batch.created_at).desc(), col(Batch.id).desc()).offset(offset).limit(limit)).all())


def describe(batch: Batch) -> dict[str, Any]:
    return {"id": batch.id, "type": batch.type_id, "state": batch.state, "total": batch.total,
            "processed": batch.issued + batch.failed, "issued": batch.issued, "failed": batch.failed,
            "created_at": batch.created_at, "finished_at": batch.finished_at}


def progress(deps: Deps, staff: Staff, batch_id: str) -> dict[str, Any]:
    with deps.session() as session:
        return describe(get_scoped(session, staff, batch_id))


def results(deps: Deps, staff: Staff, batch_id: str) -> tuple[Batch, Iterator[str]]:
    """The results CSV of a finished batch (409 before), as pieces of text; its download is audited. UTF-8
    with a BOM, so that a spreadsheet shows the accents of the messages."""
    with deps.session() as session:
        batch = get_scoped(session, staff, batch_id)
        if batch.state != "done":
            raise Conflict("batch_not_done", variant="results_later")
        audit.record(session, at=deps.now(), actor=staff.actor, action="batch.results",
                     institution_id=staff.institution.id, target=batch.id)
        session.commit()
    return batch, _result_lines(deps, staff.institution, batch.id)


def _result_lines(deps: Deps, institution: Institution, batch_id: str) -> Iterator[str]:
    """The CSV text, a page of rows at a time."""
    yield "\ufeff" + batch_csv.csv_line(list(batch_csv.RESULT_COLUMNS))
    after = 0
    while True:
        with deps.session() as session:
            page = session.exec(
                select(BatchRow.row_number, BatchRow.credential_id, BatchRow.errors, Offer)
                .outerjoin(Offer, col(Offer.id) == col(BatchRow.offer_id))
                .where(BatchRow.batch_id == batch_id, BatchRow.row_number > after)
                .order_by(col(BatchRow.row_number)).limit(RESULTS_PAGE)).all()
        if not page:
            return
        lines = []
        for number, credential_id, errors, offer in page:
            if credential_id and offer is not None:
                tx_code = deps.box.open(offer.tx_code_sealed, f"tx:{offer.id}").decode()
                cells = [str(number), "issued", credential_id, offer_uri(deps, institution, offer), tx_code, ""]
            else:
                cells = [str(number), "error", "", "", "", batch_csv.error_text(errors or [])]
            lines.append(batch_csv.csv_line(cells))
        yield "".join(lines)
        after = page[-1][0]
