"""Sign-in throttling with growing delays. Failures are counted per user *name* (whether or not
such a user exists: neither the message nor the lockout tells an attacker which names exist, #111),
per (name, client) and, more slowly, per name across all clients (#160)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from issuer.db.models import LoginThrottle
from issuer.deps import Deps
from issuer.errors import ServiceError

LOCK_AFTER = 5  # failures before the first lock
LOCK_BASE_SECONDS = 30  # then 30 s, 60 s, 120 s, ... for each further failure
LOCK_MAX_SECONDS = 3600
NAME_LOCK_AFTER = 20  # failures at one name from all clients together before the name-wide lock
NAME_LOCK_BASE_SECONDS = 60  # then 60 s, doubling every 20 further failures, up to an hour


class SignInRefused(ServiceError):
    """Wrong name or password, or a locked name: one message for all (no enumeration)."""

    status = 401
    code = "sign_in_failed"

    def __init__(self, *, retry_after: int = 0) -> None:
        if retry_after:
            super().__init__("sign_in_locked", retry_after=retry_after)
        else:
            super().__init__()
        self.retry_after = retry_after


class InvalidCode(SignInRefused):
    """A wrong or reused TOTP code (the session stays half signed in), or a locked name."""

    code = "totp_invalid"


def _row(session: Session, key: str) -> LoginThrottle:
    """A counter, created if missing and locked until the transaction ends, so parallel guesses
    are checked and counted one after the other (none slips past the lock)."""
    dialect = session.get_bind().dialect.name
    values = {"name_hash": key, "failures": 0, "locked_until": 0, "last_failure_at": 0}
    if dialect == "postgresql":
        session.execute(pg_insert(LoginThrottle).values(**values).on_conflict_do_nothing())
    else:  # SQLite: this write takes the database's write lock for the rest of the transaction
        session.execute(sqlite_insert(LoginThrottle).values(**values).on_conflict_do_nothing())
    row = session.get(LoginThrottle, key, with_for_update=True, populate_existing=True)
    assert row is not None
    return row


def _name_key(deps: Deps, name: str) -> str:
    return deps.box.code_hash(f"sign-in:{name}")


@dataclass(frozen=True)
class Gate:
    """The two counters of one sign-in attempt (security.md #160): this (name, client) pair,
    locked after 5 failures as before, and the name across every client, which locks only after
    ``NAME_LOCK_AFTER`` failures and then only holds back clients that have failed themselves —
    so guessing from anywhere stays slow, and the person with the password signing in from their
    own device is not locked out by someone else's guesses."""

    pair: LoginThrottle
    name: LoginThrottle

    def wait(self, now: int) -> int:
        own = locked_for(self.pair, now)
        if own:
            return own
        failed_here = self.pair.failures > 0 and now - self.pair.last_failure_at <= FORGET_FAILURES_AFTER
        return locked_for(self.name, now) if failed_here else 0

    def fail(self, now: int) -> None:
        record_failure(self.pair, now)
        _forget_old(self.name, now)
        self.name.failures += 1
        self.name.last_failure_at = now
        if self.name.failures >= NAME_LOCK_AFTER:
            steps = (self.name.failures - NAME_LOCK_AFTER) // NAME_LOCK_AFTER
            self.name.locked_until = now + min(NAME_LOCK_BASE_SECONDS * 2 ** steps, LOCK_MAX_SECONDS)

    def succeed(self, *, signed_in: bool) -> None:
        """A right password clears this client's count; the name's only once fully signed in
        (with the second factor when one is due)."""
        for row in (self.pair, self.name) if signed_in else (self.pair,):
            row.failures, row.locked_until = 0, 0


def gate(session: Session, deps: Deps, name: str, client: str) -> Gate:
    """Both counters, the name's first (one order everywhere: no deadlock between two attempts)."""
    name_key = _name_key(deps, name)
    by_name = _row(session, name_key)
    pair = _row(session, name_key[:32] + deps.box.code_hash(f"sign-in-client:{client}")[:32])
    return Gate(pair, by_name)


def locked_for(row: LoginThrottle, now: int) -> int:
    return max(0, row.locked_until - now)


FORGET_FAILURES_AFTER = 86_400  # a day without failures starts the count again


def _forget_old(row: LoginThrottle, now: int) -> None:
    if row.last_failure_at and now - row.last_failure_at > FORGET_FAILURES_AFTER:
        row.failures = 0


def record_failure(row: LoginThrottle, now: int) -> None:
    _forget_old(row, now)
    row.failures += 1
    row.last_failure_at = now
    if row.failures >= LOCK_AFTER:
        row.locked_until = now + min(LOCK_BASE_SECONDS * 2 ** (row.failures - LOCK_AFTER), LOCK_MAX_SECONDS)


def forget(session: Session, deps: Deps, name: str) -> None:
    """Lift a name's locks, from every client (an admin reset its access)."""
    prefix = _name_key(deps, name)[:32]
    session.execute(delete(LoginThrottle).where(col(LoginThrottle.name_hash).startswith(prefix, autoescape=True)))
