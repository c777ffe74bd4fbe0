"""``puente keys rotate-master``: re-seal every sealed value with the current master key
(security.md #163). Values already sealed with it are left alone, and each page of rows is
re-sealed and committed in one transaction, so the job is resumable: killed at any moment (even
``kill -9``), a page is either fully re-sealed or untouched, every value still opens with the
current or an old key, and a second run finishes the job."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import SQLModel, col, select

from credcore.encoding import b64url_decode, b64url_encode
from issuer.db.models import (
    Batch,
    Credential,
    IdempotencyRecord,
    Offer,
    RegistryKey,
    SigningKey,
    StaffUser,
)
from issuer.deps import Deps

PAGE = 200


@dataclass(frozen=True)
class Sealed:
    """One sealed column: its table, the attribute, and the context it was sealed under."""

    model: type[SQLModel]
    column: str
    context: Callable[[Any], str]


SEALED = (
    Sealed(SigningKey, "private_sealed", lambda row: f"signing-key:{row.kid}"),
    Sealed(RegistryKey, "private_sealed", lambda row: f"registry-key:{row.kid}"),
    Sealed(Credential, "claims_sealed", lambda row: f"claims:{row.id}"),
    Sealed(Credential, "paper_sealed", lambda row: f"paper:{row.id}"),
    Sealed(Offer, "tx_code_sealed", lambda row: f"tx:{row.id}"),
    Sealed(Batch, "csv_sealed", lambda row: f"batch:{row.id}"),
    Sealed(StaffUser, "totp_sealed", lambda row: f"totp:{row.id}"),
)


def _reseal_page(deps: Deps, target: Sealed, after: Any) -> tuple[int, Any]:
    """Re-seal one page of rows after primary key ``after``: (how many changed, the last key)."""
    model: Any = target.model
    key_column = col(model.id)
    with deps.session() as session:
        query = select(model).order_by(key_column).limit(PAGE)
        if after is not None:
            query = query.where(key_column > after)
        rows = list(session.exec(query))
        changed = 0
        for row in rows:
            sealed = getattr(row, target.column)
            if sealed is None or deps.box.is_current(sealed):
                continue
            context = target.context(row)
            setattr(row, target.column, deps.box.seal(deps.box.open(sealed, context), context))
            session.add(row)
            changed += 1
        session.commit()
        return changed, (rows[-1].id if rows else None)


def _reseal_idempotency(deps: Deps) -> int:
    changed = 0
    with deps.session() as session:
        keys = list(session.exec(select(IdempotencyRecord.institution_id, IdempotencyRecord.key)))
    for start in range(0, len(keys), PAGE):
        with deps.session() as session:
            for institution_id, key in keys[start:start + PAGE]:
                row = session.get(IdempotencyRecord, (institution_id, key))
                if row is None or not row.response or "sealed" not in row.response:
                    continue
                sealed = b64url_decode(row.response["sealed"])
                if deps.box.is_current(sealed):
                    continue
                context = f"idempotency:{row.institution_id}:{row.key}"
                row.response = {"sealed": b64url_encode(deps.box.seal(deps.box.open(sealed, context), context))}
                session.add(row)
                changed += 1
            session.commit()
    return changed


def rotate_master(deps: Deps, progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Re-seal everything not yet sealed with the current master key; counts per column."""
    counts: dict[str, int] = {}
    for target in SEALED:
        name = f"{target.model.__tablename__}.{target.column}"
        total, after = 0, None
        while True:
            changed, after = _reseal_page(deps, target, after)
            total += changed
            if progress is not None and changed:
                progress(name, total)
            if after is None:
                break
        counts[name] = total
    counts["idempotency.response"] = _reseal_idempotency(deps)
    return counts


def remaining(deps: Deps) -> int:
    """Sealed values not yet sealed with the current master key."""
    left = 0
    with deps.session() as session:
        for target in SEALED:
            for row in session.exec(select(target.model)):
                sealed = getattr(row, target.column)
                left += sealed is not None and not deps.box.is_current(sealed)
        for record in session.exec(select(IdempotencyRecord)):
            if record.response and "sealed" in record.response:
                left += not deps.box.is_current(b64url_decode(record.response["sealed"]))
    return left
