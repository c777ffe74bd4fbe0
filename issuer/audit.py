"""Append-only, hash-chained audit log of staff actions (who, what, when, outcome), never claim
values. Each event's hash covers the previous hash and the event's canonical JSON, so removing,
reordering or editing any event breaks the chain (``puente audit verify``)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, text
from sqlmodel import Session, col, select

from issuer.db.models import AuditEvent

GENESIS = "0" * 64


def event_hash(prev_hash: str, event: dict[str, Any]) -> str:
    body = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def _fields(row: AuditEvent) -> dict[str, Any]:
    return {"seq": row.seq, "at": row.at, "institution_id": row.institution_id, "actor": row.actor,
            "action": row.action, "target": row.target, "outcome": row.outcome, "details": row.details}


def _lock(session: Session) -> None:
    """Serialize appends: PostgreSQL advisory lock; SQLite's writer lock comes with the first write."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(7152001)"))


def record(session: Session, *, at: int, actor: str, action: str, outcome: str = "ok",
           institution_id: int | None = None, target: str | None = None,
           details: dict[str, Any] | None = None) -> AuditEvent:
    """Append one event in the caller's transaction (it commits with the action it records)."""
    _lock(session)
    last = session.exec(select(AuditEvent).order_by(col(AuditEvent.seq).desc()).limit(1)).first()
    row = AuditEvent(seq=(last.seq + 1) if last else 1, at=at, institution_id=institution_id, actor=actor,
                     action=action, target=target, outcome=outcome, details=details or {},
                     prev_hash=last.hash if last else GENESIS, hash="")
    row.hash = event_hash(row.prev_hash, _fields(row))
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    events: int
    broken_at: int | None = None
    reason: str | None = None


def verify_chain(rows: Iterable[AuditEvent]) -> ChainCheck:
    prev, count, expected_seq = GENESIS, 0, 1
    for row in rows:
        if row.seq != expected_seq:
            return ChainCheck(False, count, row.seq, "missing or reordered event")
        if row.prev_hash != prev:
            return ChainCheck(False, count, row.seq, "previous hash does not match")
        if event_hash(prev, _fields(row)) != row.hash:
            return ChainCheck(False, count, row.seq, "event was altered")
        prev, count, expected_seq = row.hash, count + 1, expected_seq + 1
    return ChainCheck(True, count)


def check_database(session: Session) -> ChainCheck:
    return verify_chain(session.exec(select(AuditEvent).order_by(col(AuditEvent.seq))))


def events_of(session: Session, institution_id: int | None, *, after: int, limit: int) -> list[dict[str, Any]]:
    """An institution's events after ``seq``, oldest first, as the staff API shows them."""
    rows = session.exec(select(AuditEvent).where(AuditEvent.institution_id == institution_id, AuditEvent.seq > after)
                        .order_by(col(AuditEvent.seq)).limit(limit)).all()
    return [{"seq": r.seq, "at": r.at, "actor": r.actor, "action": r.action, "target": r.target,
             "outcome": r.outcome, "details": r.details, "hash": r.hash, "prev_hash": r.prev_hash} for r in rows]


def search(session: Session, institution_id: int | None, *, action: str = "", actor: str = "", target: str = "",
           start: int | None = None, end: int | None = None, offset: int = 0, limit: int = 50) -> list[AuditEvent]:
    """An institution's events newest first; each filter is an exact match, ``start``/``end`` days."""
    query = select(AuditEvent).where(AuditEvent.institution_id == institution_id)
    if action:
        query = query.where(AuditEvent.action == action)
    if actor:
        query = query.where(AuditEvent.actor == actor)
    if target:
        query = query.where(AuditEvent.target == target)
    if start is not None:
        query = query.where(AuditEvent.at >= start)
    if end is not None:
        query = query.where(AuditEvent.at < end + 86_400)
    return list(session.exec(query.order_by(col(AuditEvent.seq).desc()).offset(offset).limit(limit)))


def actions_of(session: Session, institution_id: int | None) -> list[str]:
    """The actions an institution's log holds (the audit page's filter offers them)."""
    return sorted(session.exec(select(AuditEvent.action).where(AuditEvent.institution_id == institution_id)
                               .distinct()).all())


def history(session: Session, institution_id: int | None, credential_id: str,
            batch_id: str | None) -> list[AuditEvent]:
    """A credential's events, oldest first; a revocation of its whole batch is part of its history too."""
    about = col(AuditEvent.target) == credential_id
    if batch_id:
        about = or_(about, and_(col(AuditEvent.target) == batch_id, col(AuditEvent.action).startswith("approval.")))
    return list(session.exec(select(AuditEvent).where(AuditEvent.institution_id == institution_id, about)
                             .order_by(col(AuditEvent.seq))))

