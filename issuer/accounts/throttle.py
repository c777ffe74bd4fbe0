"""Sign-in throttling with growing delays. Failures are counted per user *name*, whether or not
such a user exists: neither the message nor the lockout tells an attacker which names exist (#111)."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from issuer.db.models import LoginThrottle
from issuer.deps import Deps
from issuer.errors import ServiceError

LOCK_AFTER = 5  # failures before the first lock
LOCK_BASE_SECONDS = 30  # then 30 s, 60 s, 120 s, ... for each further failure
LOCK_MAX_SECONDS = 3600


class SignInRefused(ServiceError):
    """Wrong name or password, or a locked name: one message for all (no enumeration)."""

    status = 401
    code = "sign_in_failed"
    wrong = ("Usuario o contraseña incorrectos.", "Wrong user name or password.")

    def __init__(self, *, retry_after: int = 0) -> None:
        if retry_after:
            super().__init__(f"Demasiados intentos fallidos. Espere {retry_after} segundos e intente de nuevo.",
                             f"Too many failed attempts. Wait {retry_after} seconds and try again.",
                             code="sign_in_locked")
        else:
            super().__init__(*self.wrong)
        self.retry_after = retry_after


class InvalidCode(SignInRefused):
    """A wrong or reused TOTP code (the session stays half signed in), or a locked name."""

    code = "totp_invalid"
    wrong = ("El código no es correcto o ya se usó. Escriba el código actual de su aplicación.",
             "The code is wrong or was already used. Type the current code from your app.")


def counter(session: Session, deps: Deps, name: str) -> LoginThrottle:
    """The name's counter, created if missing and locked until the transaction ends, so parallel
    guesses at one name are checked and counted one after the other (none slips past the lock)."""
    key = deps.box.code_hash(f"sign-in:{name}")
    dialect = session.get_bind().dialect.name
    values = {"name_hash": key, "failures": 0, "locked_until": 0, "last_failure_at": 0}
    if dialect == "postgresql":
        session.execute(pg_insert(LoginThrottle).values(**values).on_conflict_do_nothing())
    else:  # SQLite: this write takes the database's write lock for the rest of the transaction
        session.execute(sqlite_insert(LoginThrottle).values(**values).on_conflict_do_nothing())
    row = session.get(LoginThrottle, key, with_for_update=True, populate_existing=True)
    assert row is not None
    return row


def locked_for(row: LoginThrottle, now: int) -> int:
    return max(0, row.locked_until - now)


FORGET_FAILURES_AFTER = 86_400  # a day without failures starts the count again


def record_failure(row: LoginThrottle, now: int) -> None:
    if row.last_failure_at and now - row.last_failure_at > FORGET_FAILURES_AFTER:
        row.failures = 0
    row.failures += 1
    row.last_failure_at = now
    if row.failures >= LOCK_AFTER:
        row.locked_until = now + min(LOCK_BASE_SECONDS * 2 ** (row.failures - LOCK_AFTER), LOCK_MAX_SECONDS)



def forget(session: Session, deps: Deps, name: str) -> None:
    """Lift a name's lock (an admin reset its access)."""
    row = session.get(LoginThrottle, deps.box.code_hash(f"sign-in:{name}"))
    if row is not None:
        session.delete(row)
