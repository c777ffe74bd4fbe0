"""The batch worker (issuer.batches): issues uploaded batches in the background.

``BatchWorker`` claims a batch with an atomic ``UPDATE … WHERE lease_until < now`` (safe with several
processes), then issues it chunk by chunk. Each chunk is one transaction holding the credentials,
their offers, one ``batch_rows`` row per input row and the progress counters, so a chunk is either
wholly committed or not at all. Rows already in ``batch_rows`` are skipped: a batch whose process was
killed resumes where it stopped, and the ``(batch_id, row_number)`` primary key makes issuing a row
twice impossible (security.md #132). The lease is renewed by every chunk and is the fencing token: a
worker whose lease was taken over commits nothing more. A row that fails validation never stops the
batch: it gets an error in the results (security.md #136).
"""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, update
from sqlmodel import Session, col, select

from credcore.messages import text
from issuer import audit, housekeeping
from issuer import credentials as creds
from issuer.batch_csv import CsvRow, parse_csv
from issuer.db.models import Batch, BatchRow, Institution
from issuer.deps import Deps
from issuer.errors import ServiceError
from servicekit.logs import LOG
from servicekit.metrics import Metrics

LEASE_SECONDS = 30
WORKER_ACTOR = "batch-worker"


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
            return row.errors + (exc.errors or [{"field": "", "code": exc.code, "message": exc.message("es")}])
        except Exception as exc:  # one row must not stall the batch: it gets an error like any other
            _log_failure("batch worker: a row could not be prepared", exc)
            return [*row.errors, {"field": "", "code": "internal_error",
                                  "message": text("row.internal_error", "es")}]
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
