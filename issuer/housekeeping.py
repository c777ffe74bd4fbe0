"""What the background worker deletes once a minute, so no store grows without bound and no
secret outlives its use (security.md #147, #148): idempotency records (with their sealed answers)
after a day, and one-time codes — c_nonces, pre-authorized codes, access tokens — once expired.
A code is refused the moment it expires or is used; deleting it later changes no answer."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete
from sqlmodel import col

from issuer import idempotency
from issuer.db.models import OneTimeCode
from issuer.deps import Deps

EVERY_SECONDS = 60


@dataclass(frozen=True)
class Purged:
    idempotency_records: int
    one_time_codes: int


def purge(deps: Deps) -> Purged:
    now = deps.now()
    with deps.session() as session:
        records = idempotency.purge(session, now)
        codes = session.execute(delete(OneTimeCode).where(col(OneTimeCode.expires_at) < now))
        session.commit()
    return Purged(records, int(getattr(codes, "rowcount", 0) or 0))
