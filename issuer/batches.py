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

Processing: ``BatchWorker`` claims a batch with an atomic ``UPDATE … WHERE lease_until < now``
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

import csv
import io
import re
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

from sqlalchemy import insert, update
from sqlalchemy.orm import QueryableAttribute, defer
from sqlmodel import Session, col, select

from credcore.credential_types import CredentialType
from credcore.issue import end_of_day_in_colombia
from credcore.messages import field_message
from issuer import audit, housekeeping
from issuer import credentials as creds
from issuer.db.models import Batch, BatchRow, Institution, Offer
from issuer.deps import Deps
from issuer.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError, TooLarge
from issuer.oid4vci import offer_uri
from issuer.staff import Staff
from servicekit.logs import LOG
from servicekit.metrics import Metrics

LEASE_SECONDS = 30
VALID_UNTIL = "valid_until"
RESULT_COLUMNS = ("row", "status", "credential_id", "offer_uri", "tx_code", "errors")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
INTEGER = re.compile(r"[+-]?[0-9]{1,15}")
NUMBER = re.compile(r"[+-]?[0-9]{1,15}([.][0-9]{1,15})?")
ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
RESULTS_PAGE = 1000
WORKER_ACTOR = "batch-worker"


# ----------------------------------------------------------------------------- reading the CSV


@dataclass(frozen=True)
class CsvRow:
    number: int  # as a spreadsheet shows it: the header is row 1
    claims: dict[str, Any]
    valid_until: int | None = None
    errors: list[dict[str, str]] = field(default_factory=list)  # found while reading the cells


@dataclass(frozen=True)
class ParsedCsv:
    columns: list[str]
    rows: list[CsvRow]


def _not_utf8(line: int) -> Invalid:
    return Invalid(f"El archivo no está en UTF-8 (línea {line}). Guárdelo como «CSV UTF-8 (delimitado por comas)».",
                   f"The file is not UTF-8 (line {line}). Save it as \"CSV UTF-8 (comma delimited)\".",
                   code="csv_not_utf8")


def decode_csv(data: bytes) -> str:
    """The text of an upload, or 422 for a binary, zipped or non-UTF-8 file."""
    if data.startswith(UTF16_BOMS):
        raise _not_utf8(1)
    if data.startswith(ZIP_MAGIC) or b"\x00" in data:
        raise Invalid("El archivo parece binario o comprimido (¿un .xlsx o un .zip?), no un CSV. "
                      "Guarde la hoja como «CSV UTF-8 (delimitado por comas)».",
                      "The file looks binary or compressed (an .xlsx or a .zip?), not a CSV. "
                      "Save the sheet as \"CSV UTF-8 (comma delimited)\".", code="csv_not_text")
    if data.startswith(BOM):
        data = data[len(BOM):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _not_utf8(data[:exc.start].count(b"\n") + 1) from None


def _delimiter(text: str) -> str:
    """Comma, or the semicolon a Spanish-locale spreadsheet writes (claim names hold neither)."""
    header = text.split("\n", 1)[0]
    if "," not in header and ";" in header:
        return ";"
    return ","


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    number = 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise Invalid(f"El CSV está mal formado cerca de la línea {reader.line_num}.",
                          f"The CSV is malformed near line {reader.line_num}: {exc}.", code="csv_malformed") from None
        number += 1
        yield number, record


def _blank(record: list[str]) -> bool:
    return not any(cell.strip() for cell in record)


def _columns(ctype: CredentialType, header: list[str]) -> list[str]:
    """The header's claim names (``""`` for a column without a name), or 422 listing what is wrong."""
    columns = [cell.strip().lstrip("\ufeff").strip() for cell in header]
    known = [*ctype.claim_names, VALID_UNTIL]
    named = [name for name in columns if name]
    unknown = sorted({name for name in named if name not in known})
    repeated = sorted({name for name in named if named.count(name) > 1})
    missing = [name for name in ctype.schema.get("required", []) if name not in named]
    problems: list[dict[str, str]] = []
    problems += [{"field": n, "code": "unknown_column", "message": "Columna desconocida para este tipo."}
                 for n in unknown]
    problems += [{"field": n, "code": "repeated_column", "message": "Columna repetida."} for n in repeated]
    problems += [{"field": n, "code": "missing_column", "message": "Falta esta columna obligatoria."} for n in missing]
    if unknown:
        raise Invalid(f"Columnas desconocidas para el tipo {ctype.id}: {', '.join(unknown)}. "
                      f"Columnas válidas: {', '.join(known)}.",
                      f"Unknown columns for type {ctype.id}: {', '.join(unknown)}. Valid columns: {', '.join(known)}.",
                      code="csv_unknown_columns", errors=problems)
    if problems:
        raise Invalid(f"Encabezado inválido: columnas repetidas ({', '.join(repeated) or '-'}) o faltantes "
                      f"({', '.join(missing) or '-'}).",
                      f"Invalid header: repeated ({', '.join(repeated) or '-'}) or missing "
                      f"({', '.join(missing) or '-'}) columns.", code="csv_header_invalid", errors=problems)
    return columns


def _convert(kind: Any, value: str) -> Any:
    """Text to the claim's JSON type when it reads as one; otherwise the text, for the schema to reject."""
    if kind == "integer" and INTEGER.fullmatch(value):
        return int(value)
    if kind == "number" and NUMBER.fullmatch(value):
        return float(value) if "." in value else int(value)
    if kind == "boolean" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _row(ctype: CredentialType, columns: list[str], number: int, record: list[str]) -> CsvRow:
    properties = ctype.schema.get("properties", {})
    claims: dict[str, Any] = {}
    valid_until: int | None = None
    errors: list[dict[str, str]] = []
    if any(cell.strip() for cell in record[len(columns):]):
        errors.append({"field": "", "code": "extra_cells", "message": "La fila tiene más celdas que el encabezado."})
    for name, cell in zip(columns, record, strict=False):
        value = cell.strip().replace("\r\n", "\n").replace("\r", "\n")
        if not value:
            continue  # an empty cell is an absent claim
        if not name:
            errors.append({"field": "", "code": "unnamed_column", "message": "Hay un valor en una columna sin nombre."})
        elif name == VALID_UNTIL:
            try:
                valid_until = end_of_day_in_colombia(date.fromisoformat(value)) if ISO_DAY.fullmatch(value) else None
            except ValueError:
                valid_until = None
            if valid_until is None:
                errors.append({"field": VALID_UNTIL, "code": "format", "message": field_message("format", "es")})
        else:
            claims[name] = _convert(properties.get(name, {}).get("type"), value)
    return CsvRow(number, claims, valid_until, errors)


def parse_csv(ctype: CredentialType, data: bytes, *, max_rows: int | None = None) -> ParsedCsv:
    """Header and rows of an upload; blank rows are skipped (they keep their number)."""
    header: list[str] | None = None
    rows: list[CsvRow] = []
    for number, record in _records(decode_csv(data)):
        if _blank(record):
            continue
        if header is None:
            header = _columns(ctype, record)
            continue
        if max_rows is not None and len(rows) >= max_rows:
            raise TooLarge(f"El archivo tiene más de {max_rows} filas; divídalo en varios lotes.",
                           f"The file has more than {max_rows} rows; split it into several batches.",
                           code="too_many_rows")
        rows.append(_row(ctype, header, number, record))
    if header is None or not rows:
        raise Invalid("El archivo no tiene filas de datos bajo el encabezado.",
                      "The file has no data rows under the header.", code="csv_empty")
    return ParsedCsv(header, rows)


# ----------------------------------------------------------------------------- the staff side


def _credential_type(deps: Deps, institution: Institution, type_id: str) -> CredentialType:
    if type_id not in deps.types.by_id:
        raise Invalid("Tipo de credencial desconocido.", "Unknown credential type.", code="unknown_type")
    if type_id not in institution.types:
        raise Forbidden("Su institución no está acreditada para este tipo de credencial.",
                        "Your institution is not accredited for this credential type.", code="not_accredited_for_type")
    return deps.types.get(type_id)


def too_large(limit: int) -> TooLarge:
    megabytes = f"{limit / 1_048_576:.1f}"
    return TooLarge(f"El archivo supera el máximo de {limit} bytes ({megabytes} MB); divídalo en varios lotes.",
                    f"The file exceeds the {limit}-byte limit ({megabytes} MB); split it into several batches.",
                    code="payload_too_large")


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
    batch = session.get(Batch, batch_id[:64], options=[defer(cast("QueryableAttribute[Any]", Batch.csv_sealed))])
    if batch is None or batch.institution_id != staff.institution.id:
        raise NotFound("Lote no encontrado.", "Batch not found.", code="batch_not_found")
    return batch


def describe(batch: Batch) -> dict[str, Any]:
    return {"id": batch.id, "type": batch.type_id, "state": batch.state, "total": batch.total,
            "processed": batch.issued + batch.failed, "issued": batch.issued, "failed": batch.failed,
            "created_at": batch.created_at, "finished_at": batch.finished_at}


def progress(deps: Deps, staff: Staff, batch_id: str) -> dict[str, Any]:
    with deps.session() as session:
        return describe(get_scoped(session, staff, batch_id))


def escape_cell(value: str) -> str:
    """A cell a spreadsheet would run as a formula gets a leading ``'`` (security.md #114)."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def error_text(errors: Iterable[Mapping[str, Any]]) -> str:
    return "; ".join(f"{e['field']}: {e['message']}" if e.get("field") else str(e.get("message", ""))
                     for e in errors)


def _csv_line(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([escape_cell(cell) for cell in cells])
    return buffer.getvalue()


def results(deps: Deps, staff: Staff, batch_id: str) -> tuple[Batch, Iterator[str]]:
    """The results CSV of a finished batch (409 before), as pieces of text; its download is audited. UTF-8
    with a BOM, so that a spreadsheet shows the accents of the messages."""
    with deps.session() as session:
        batch = get_scoped(session, staff, batch_id)
        if batch.state != "done":
            raise Conflict("El lote todavía se está procesando; los resultados estarán al terminar.",
                           "The batch is still being processed; results are available when it is done.",
                           code="batch_not_done")
        audit.record(session, at=deps.now(), actor=staff.actor, action="batch.results",
                     institution_id=staff.institution.id, target=batch.id)
        session.commit()
    return batch, _result_lines(deps, staff.institution, batch.id)


def _result_lines(deps: Deps, institution: Institution, batch_id: str) -> Iterator[str]:
    """The CSV text, a page of rows at a time."""
    yield "\ufeff" + _csv_line(list(RESULT_COLUMNS))
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
                cells = [str(number), "error", "", "", "", error_text(errors or [])]
            lines.append(_csv_line(cells))
        yield "".join(lines)
        after = page[-1][0]


# ----------------------------------------------------------------------------- the worker


def _log_failure(message: str, exc: BaseException) -> None:
    """The error's type and where it was raised, never its text: a database error's text carries
    the statement's parameters."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else "unknown"
    LOG.error(message, extra={"error": type(exc).__name__, "where": where})


def _rowcount(result: Any) -> int:
    """Rows an UPDATE matched (the claim and the lease checks depend on it)."""
    return int(result.rowcount)


class LeaseLost(Exception):
    """Another worker took the batch over (our lease expired): commit nothing more."""


@dataclass
class _Claim:
    batch: Batch
    institution: Institution
    lease: int


class BatchWorker:
    """Issues uploaded batches in a daemon thread: ``start()`` and ``stop()`` (from the app's
    lifespan), or ``run_once()`` to process one batch synchronously (tests, benchmarks)."""

    def __init__(self, deps: Deps, metrics: Metrics | None = None, *, poll_seconds: float = 1.0,
                 lease_seconds: int = LEASE_SECONDS) -> None:
        self.deps, self.metrics = deps, metrics
        self.poll_seconds, self.lease_seconds = poll_seconds, lease_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="puente-batch-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the current chunk, hand the batch back (its lease is released) and return."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        swept = 0.0
        while not self._stop.is_set():
            if time.monotonic() - swept >= housekeeping.EVERY_SECONDS:
                swept = time.monotonic()
                try:
                    housekeeping.purge(self.deps)
                except Exception as exc:  # tried again next minute
                    _log_failure("worker: housekeeping failed", exc)
            try:
                worked = self.run_once()
            except Exception as exc:  # a failed chunk is retried once its lease expires
                _log_failure("batch worker: a chunk failed; the batch will be retried", exc)
                worked = False
            if not worked:
                self._stop.wait(self.poll_seconds)

    def run_once(self) -> bool:
        """Claim one batch that is pending, or running with an expired lease, and process it.
        False when there was none to claim, or the worker is stopping."""
        if self._stop.is_set():
            return False
        claim = self.claim()
        if claim is None:
            return False
        self.process(claim)
        return True

    def claim(self) -> _Claim | None:
        deps, now = self.deps, self.deps.now()
        open_states = ("pending", "running")
        with deps.session() as session:
            candidates = session.exec(
                select(Batch.id).where(col(Batch.state).in_(open_states), Batch.lease_until < now)
                .order_by(col(Batch.created_at), col(Batch.id)).limit(10)).all()
        for batch_id in candidates:
            lease = now + self.lease_seconds
            with deps.session() as session:
                claimed = _rowcount(session.execute(
                    update(Batch).where(col(Batch.id) == batch_id, col(Batch.state).in_(open_states),
                                        col(Batch.lease_until) < now)
                    .values(lease_until=lease, state="running"))) == 1
                session.commit()
                if claimed:
                    batch = session.get(Batch, batch_id)
                    institution = session.get(Institution, batch.institution_id) if batch else None
                    if batch is not None and institution is not None:
                        return _Claim(batch, institution, lease)
        return None

    def process(self, claim: _Claim) -> None:
        batch = claim.batch
        try:
            ctype = self.deps.types.get(batch.type_id)
            rows = parse_csv(ctype, self.deps.box.open(batch.csv_sealed, f"batch:{batch.id}")).rows
        except Exception as exc:  # the stored upload cannot be read again: retrying will not help
            _log_failure("batch worker: the stored CSV cannot be read; the batch failed", exc)
            self._set_failed(claim, f"stored CSV unreadable: {type(exc).__name__}")
            return
        with self.deps.session() as session:
            done = set(session.exec(select(BatchRow.row_number).where(BatchRow.batch_id == batch.id)).all())
        todo = [row for row in rows if row.number not in done]
        size = max(1, self.deps.settings.batch_chunk_rows)
        for start in range(0, len(todo), size):
            if self._stop.is_set():
                self._release(claim)
                return
            try:
                claim.lease = self._commit_chunk(claim, todo[start:start + size])
            except LeaseLost:
                LOG.warning("batch worker: lease lost; another worker continues the batch")
                return
        self._finish(claim)

    def _prepare(self, claim: _Claim, row: CsvRow) -> creds.Prepared | list[dict[str, str]]:
        """The row ready to store, or its errors (messages in Spanish)."""
        try:
            prepared = creds.prepare(self.deps, claim.institution, claim.batch.type_id, row.claims,
                                     row.valid_until, "es")
        except ServiceError as exc:
            return row.errors + (exc.errors or [{"field": "", "code": exc.code, "message": exc.message_es}])
        except Exception as exc:  # one row must not stall the batch: it gets an error like any other
            _log_failure("batch worker: a row could not be prepared", exc)
            return [*row.errors, {"field": "", "code": "internal_error",
                                  "message": "No se pudo procesar esta fila; inténtelo de nuevo en otro lote."}]
        return row.errors or prepared

    def _commit_chunk(self, claim: _Claim, rows: list[CsvRow]) -> int:
        """Issue one chunk in one transaction (retried on a status-index collision); the new lease."""
        checked = [(row, self._prepare(claim, row)) for row in rows]
        counts: dict[str, int] = {}

        def work(session: Session) -> int:
            return self._write_chunk(session, claim, checked, counts)

        lease: int = creds.with_retries(self.deps, work)
        if self.metrics is not None:
            self.metrics.events.labels("batch_rows_issued").inc(counts["issued"])
            self.metrics.events.labels("batch_rows_failed").inc(counts["failed"])
        return lease

    def _write_chunk(self, session: Session, claim: _Claim,
                     checked: list[tuple[CsvRow, creds.Prepared | list[dict[str, str]]]],
                     counts: dict[str, int]) -> int:
        batch = claim.batch
        first, last = checked[0][0].number, checked[-1][0].number
        done = set(session.exec(select(BatchRow.row_number).where(
            BatchRow.batch_id == batch.id, BatchRow.row_number >= first, BatchRow.row_number <= last)).all())
        todo = [(row, outcome) for row, outcome in checked if row.number not in done]
        valid = [(row, outcome) for row, outcome in todo if isinstance(outcome, creds.Prepared)]
        issued = creds.store(session, self.deps, claim.institution, [outcome for _, outcome in valid],
                             created_by=batch.created_by, created_by_user=batch.created_by_user,
                             batch_id=batch.id)
        by_number = {row.number: item for (row, _), item in zip(valid, issued, strict=True)}
        records = []
        for row, outcome in todo:
            item = by_number.get(row.number)
            records.append({"batch_id": batch.id, "row_number": row.number,
                            "credential_id": item.credential_id if item else None,
                            "offer_id": item.offer_id if item else None,
                            "errors": None if item else outcome})
        if records:
            session.execute(insert(BatchRow), records)
        lease = self.deps.now() + self.lease_seconds
        renewed = _rowcount(session.execute(
            update(Batch).where(col(Batch.id) == batch.id, col(Batch.lease_until) == claim.lease)
            .values(issued=col(Batch.issued) + len(issued), failed=col(Batch.failed) + len(todo) - len(issued),
                    lease_until=lease)))
        if renewed != 1:
            raise LeaseLost(batch.id)
        counts.update(issued=len(issued), failed=len(todo) - len(issued))
        return lease

    def _finish(self, claim: _Claim) -> None:
        deps, batch = self.deps, claim.batch
        with deps.session() as session:
            finished = _rowcount(session.execute(
                update(Batch).where(col(Batch.id) == batch.id, col(Batch.lease_until) == claim.lease)
                .values(state="done", finished_at=deps.now(), lease_until=0)))
            final = session.get(Batch, batch.id)
            if finished != 1 or final is None:
                return
            audit.record(session, at=deps.now(), actor=WORKER_ACTOR, action="batch.done",
                         institution_id=batch.institution_id, target=batch.id,
                         details={"total": final.total, "issued": final.issued, "failed": final.failed})
            session.commit()
        LOG.info(f"batch {batch.id} done: {final.issued} issued, {final.failed} failed")

    def _release(self, claim: _Claim) -> None:
        """Stopping: let the next process resume at once instead of waiting for the lease."""
        with self.deps.session() as session:
            session.execute(update(Batch).where(col(Batch.id) == claim.batch.id,
                                                col(Batch.lease_until) == claim.lease).values(lease_until=0))
            session.commit()

    def _set_failed(self, claim: _Claim, reason: str) -> None:
        with self.deps.session() as session:
            session.execute(update(Batch).where(col(Batch.id) == claim.batch.id,
                                                col(Batch.lease_until) == claim.lease)
                            .values(state="failed", error=reason[:500], finished_at=self.deps.now(), lease_until=0))
            session.commit()
