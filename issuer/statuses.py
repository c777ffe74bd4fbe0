"""Status lists: unique, unpredictable indexes in 2-bit lists of 131,072 entries per institution,
status changes, and the signed ``statuslist+jwt`` served for each list.

An index is drawn uniformly at random among the free entries of the institution's open list; the
``(status_list_id, status_idx)`` unique constraint makes a collision between concurrent issuers
impossible (the loser retries). A list is closed once ``fill_limit`` of it is used, so random
probing stays cheap and every holder still hides among more than 98,000 others.
"""

from __future__ import annotations

import secrets

from sqlalchemy import update
from sqlmodel import Session, col, select

from credcore.status_list import StatusList, build_status_list_token
from issuer.caches import ServedStatusList
from issuer.db.models import Credential, Institution, StatusListRow
from issuer.deps import Deps
from issuer.errors import NotFound
from issuer.institutions import active_key, issuer_id
from issuer.repository import institution_by_slug

ALLOCATION_ROUNDS = 64
LOOKUP_BATCH = 500  # candidate indexes per query (well under every driver's parameter limit)


def status_uri(deps: Deps, institution: Institution, number: int) -> str:
    return f"{issuer_id(deps, institution)}/status/{number}"


def _open_list(session: Session, deps: Deps, institution: Institution) -> StatusListRow:
    row = session.exec(select(StatusListRow).where(StatusListRow.institution_id == institution.id,
                                                   col(StatusListRow.full).is_(False))
                       .order_by(col(StatusListRow.number))).first()
    if row is not None:
        return row
    last = session.exec(select(StatusListRow).where(StatusListRow.institution_id == institution.id)
                        .order_by(col(StatusListRow.number).desc())).first()
    row = StatusListRow(institution_id=institution.id or 0, number=(last.number + 1) if last else 1,
                        size=deps.settings.status_list_size, created_at=deps.now())
    session.add(row)
    session.flush()  # a concurrent creator of the same number loses on the unique constraint
    return row


def _free_indexes(session: Session, row: StatusListRow, take: int, taken: set[int]) -> list[int]:
    """``take`` indexes drawn uniformly at random among the list's free entries (rejection sampling:
    random candidates, of which only those no credential holds are kept). Only the candidates are
    looked up, so the cost follows ``take``, not how full the list is."""
    size, list_id = row.size, row.id
    chosen: list[int] = []
    excluded = set(taken)
    free_share = max(0.05, 1 - row.used / size)
    for _ in range(ALLOCATION_ROUNDS):
        want = min(size - len(excluded), int((take - len(chosen)) / free_share * 1.25) + 8)
        candidates: list[int] = []
        seen: set[int] = set()
        while len(candidates) < want:
            idx = secrets.randbelow(size)
            if idx not in excluded and idx not in seen:
                seen.add(idx)
                candidates.append(idx)
        held: set[int] = set()
        for start in range(0, len(candidates), LOOKUP_BATCH):
            part = candidates[start:start + LOOKUP_BATCH]
            held.update(session.exec(select(Credential.status_idx).where(
                Credential.status_list_id == list_id, col(Credential.status_idx).in_(part))).all())
        for idx in candidates:
            if idx not in held and len(chosen) < take:
                chosen.append(idx)
        excluded.update(candidates)
        if len(chosen) == take:
            return chosen
    raise RuntimeError(f"status list {row.id}: no free index found")  # fail closed, never reuse one


def _reserve(session: Session, row: StatusListRow, take: int, limit: int) -> bool:
    """Count ``take`` more entries as used unless that passes ``limit``. The UPDATE takes the list's
    lock (PostgreSQL's row lock, SQLite's write lock) until commit, so the decision is made on the
    current count, never on one read before another issuer committed."""
    reserved = session.execute(update(StatusListRow)
                               .where(col(StatusListRow.id) == row.id, col(StatusListRow.used) + take <= limit)
                               .values(used=StatusListRow.used + take))
    session.refresh(row)
    return int(reserved.rowcount) == 1  # type: ignore[attr-defined]


def allocate(session: Session, deps: Deps, institution: Institution, count: int) -> list[tuple[StatusListRow, int]]:
    """``count`` fresh random indexes (in the caller's transaction). A list is never filled past
    ``fill_limit``, and indexes are drawn once the list is locked, so concurrent issuers do not
    collide (the unique constraint stays as the guarantee)."""
    result: list[tuple[StatusListRow, int]] = []
    while len(result) < count:
        row = _open_list(session, deps, institution)
        limit = int(row.size * deps.settings.status_list_fill_limit)
        take = min(limit - row.used, count - len(result))
        if take <= 0 or not _reserve(session, row, take, limit):
            if row.used >= limit:
                row.full = True
                session.add(row)
                session.flush()
            continue  # full, or fuller than read: try again with the current count
        chosen = _free_indexes(session, row, take, {idx for r, idx in result if r.id == row.id})
        if row.used >= limit:
            row.full = True
            session.add(row)
        result.extend((row, idx) for idx in chosen)
    return result


def bump_version(session: Session, list_id: int) -> None:
    session.execute(update(StatusListRow).where(col(StatusListRow.id) == list_id)
                    .values(version=StatusListRow.version + 1))


def status_list_token(session: Session, deps: Deps, slug: str, number: int) -> tuple[str, int]:
    """The signed list and its ttl. Rebuilt whenever its version changed, so a committed status
    change is in every list served afterwards (across replicas: the version is in the database)."""
    institution = institution_by_slug(session, slug)
    if institution is None or institution.external_id:
        raise NotFound("unknown_status_list")
    row = session.exec(select(StatusListRow).where(StatusListRow.institution_id == institution.id,
                                                   StatusListRow.number == number)).first()
    if row is None:
        raise NotFound("unknown_status_list")
    key = active_key(session, deps, institution)
    now = deps.now()
    ttl = deps.settings.status_list_ttl_seconds
    cache_key = (deps.settings.base_url + slug, number)
    served = deps.caches.status_tokens
    with deps.caches.lock:
        cached = served.get(cache_key)
        if cached and cached.version == row.version and cached.kid == key.kid and cached.exp - now > 2 * ttl:
            return cached.token, ttl
    status_list = StatusList(row.size, row.bits)
    for idx, value in session.exec(select(Credential.status_idx, Credential.status)
                                   .where(Credential.status_list_id == row.id, Credential.status != 0)):
        status_list.set(idx, value)
    exp = now + deps.settings.status_list_validity_seconds
    token = build_status_list_token(status_list, uri=status_uri(deps, institution, number),
                                    issuer=issuer_id(deps, institution), key=key, iat=now, ttl=ttl, exp=exp)
    with deps.caches.lock:
        served[cache_key] = ServedStatusList(row.version, key.kid, token, exp)
    return token, ttl
