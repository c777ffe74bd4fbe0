"""``Idempotency-Key`` for POST /api/v1/credentials (draft-ietf-httpapi-idempotency-key-header;
security.md #133–135): required, well-formed, scoped to the institution and the API key; a retry
with the same body gets the same response and no second credential; a different body is 422; a
retry while the first is still running is 409.

No secret rests in clear (security.md #147): the stored response — which holds an offer's URI and
tx_code — is sealed with the master key and opened only to answer a retry; the request is kept
as a keyed hash (its claims cannot be guessed from it); records are deleted after a day.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from credcore.encoding import b64url_decode, b64url_encode
from issuer.db.models import IdempotencyRecord
from issuer.deps import Deps
from issuer.errors import Conflict, Invalid, ServiceError
from issuer.staff import Staff

KEY_FORMAT = re.compile(r"[A-Za-z0-9_.:-]{16,100}")
ABANDONED_AFTER = 120  # seconds: a "running" record this old belongs to a crashed request
KEEP_SECONDS = 86_400  # a retry comes within a day; then the record (and its sealed answer) is deleted


def request_hash(deps: Deps, body: Any) -> str:
    return deps.box.code_hash("idempotency:" + json.dumps(body, sort_keys=True, ensure_ascii=False))


def _context(record: IdempotencyRecord) -> str:
    return f"idempotency:{record.institution_id}:{record.key}"


def begin(deps: Deps, staff: Staff, key: str | None, body: Any) -> IdempotencyRecord | dict[str, Any]:
    """Claim the key, or return the stored response ({"status", "body"}) of a finished request."""
    if not key:
        raise ServiceError("idempotency_key_missing")
    if not KEY_FORMAT.fullmatch(key):
        raise ServiceError("idempotency_key_invalid")
    digest = request_hash(deps, body)
    with deps.session() as session:
        existing = session.get(IdempotencyRecord, (staff.institution.id, key))
        if existing is None:
            record = IdempotencyRecord(institution_id=staff.institution.id or 0, key=key,
                                       api_key_id=staff.principal_id, request_hash=digest, created_at=deps.now())
            session.add(record)
            try:
                session.commit()
                return record
            except IntegrityError:
                session.rollback()
                existing = session.get(IdempotencyRecord, (staff.institution.id, key))
                if existing is None:
                    raise
        return _replay(session, deps, staff, existing, digest)


def _replay(session: Session, deps: Deps, staff: Staff, existing: IdempotencyRecord,
            digest: str) -> IdempotencyRecord | dict[str, Any]:
    if existing.request_hash != digest or existing.api_key_id != staff.principal_id:
        raise Invalid("idempotency_key_reused")
    if existing.state == "done" and existing.response is not None:
        if "sealed" not in existing.response:  # stored in clear before answers were sealed; gone within a day
            return {"status": existing.status_code, "body": existing.response}
        sealed = b64url_decode(existing.response["sealed"])
        return {"status": existing.status_code, "body": json.loads(deps.box.open(sealed, _context(existing)))}
    if existing.created_at > deps.now() - ABANDONED_AFTER:
        raise Conflict("idempotency_in_progress")
    existing.created_at = deps.now()  # take over a request that crashed before committing anything
    session.add(existing)
    session.commit()
    return existing


def complete(session: Session, deps: Deps, record: IdempotencyRecord, status: int, body: dict[str, Any]) -> None:
    """Store the response, sealed, in the same transaction as the work it describes."""
    row = session.get(IdempotencyRecord, (record.institution_id, record.key))
    assert row is not None
    sealed = deps.box.seal(json.dumps(body, ensure_ascii=False).encode(), _context(row))
    row.state, row.status_code, row.response = "done", status, {"sealed": b64url_encode(sealed)}
    session.add(row)


def purge(session: Session, now: int) -> int:
    """Delete the records older than a day; the number deleted."""
    result = session.execute(delete(IdempotencyRecord).where(col(IdempotencyRecord.created_at) < now - KEEP_SECONDS))
    return int(getattr(result, "rowcount", 0) or 0)


def abandon(deps: Deps, record: IdempotencyRecord) -> None:
    """The request failed before doing anything: free the key so a corrected request can use it."""
    with deps.session() as session:
        row = session.get(IdempotencyRecord, (record.institution_id, record.key))
        if row is not None and row.state == "running":
            session.delete(row)
            session.commit()
