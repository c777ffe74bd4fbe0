"""Console accounts: staff users with argon2id password hashes, TOTP second factor (required for
admins), server-side sessions, and sign-in throttling with growing delays.

Nothing here knows about HTTP: ``issuer.console`` turns these results into pages and cookies.

Sign-in failures are counted per user *name*, whether or not such a user exists, and an unknown
name costs one argon2 verification like a known one: neither the message, the lockout nor the
timing tells an attacker which names exist (security.md #111).
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, or_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from issuer import audit
from issuer.db.models import Institution, LoginThrottle, StaffSession, StaffUser
from issuer.deps import Deps
from issuer.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError
from issuer.staff import ROLES, Staff

PASSWORD_MIN, PASSWORD_MAX = 12, 128
LOCK_AFTER = 5  # failures before the first lock
LOCK_BASE_SECONDS = 30  # then 30 s, 60 s, 120 s, ... for each further failure
LOCK_MAX_SECONDS = 3600
SESSION_IDLE_SECONDS = 30 * 60
SESSION_MAX_SECONDS = 12 * 3600
SECOND_FACTOR_SECONDS = 5 * 60  # between the password and the TOTP code
TOTP_STEP = 30
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
COMMON_PASSWORDS = frozenset({
    "123456789012", "contraseña123", "contrasena123", "password1234", "passwordpassword", "qwertyuiopas",
    "colombia1234", "venezuela123", "puentepuente", "administrador", "000000000000", "111111111111",
})

_HASHER = PasswordHasher()  # argon2id with argon2-cffi's RFC 9106 low-memory profile


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _HASHER.hash(secrets.token_urlsafe(16))


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


def normalize_username(name: str) -> str:
    return (name or "").strip().lower()[:100]


def password_problems(password: str, username: str = "") -> list[dict[str, str]]:
    """Field errors for a new password (ASVS 6.2: length 12–128, any characters, not common)."""
    if len(password) < PASSWORD_MIN:
        message = f"Use al menos {PASSWORD_MIN} caracteres. / Use at least {PASSWORD_MIN} characters."
        return [{"field": "password", "code": "too_short", "message": message}]
    if len(password) > PASSWORD_MAX:
        message = f"Use como máximo {PASSWORD_MAX} caracteres. / Use at most {PASSWORD_MAX} characters."
        return [{"field": "password", "code": "too_long", "message": message}]
    if password.lower() in COMMON_PASSWORDS or (username and username.lower() in password.lower()):
        return [{"field": "password", "code": "too_common",
                 "message": "Esa contraseña es demasiado fácil de adivinar. / That password is too easy to guess."}]
    return []


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def _password_ok(stored: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def staff_of(user: StaffUser, institution: Institution) -> Staff:
    return Staff(institution, user.role, f"{user.role}:@{user.username}", user_id=user.id)


# --- users ----------------------------------------------------------------------------------------


def create_user(session: Session, deps: Deps, institution: Institution, *, username: str, display_name: str,
                role: str, password: str, actor: str) -> StaffUser:
    """A new user who must choose their own password at first sign-in; admins also enrol TOTP then."""
    name = normalize_username(username)
    errors = []
    if not USERNAME.match(name):
        errors.append({"field": "username", "code": "pattern",
                       "message": "3 a 64 letras minúsculas, números, punto, guion o guion bajo. / 3 to 64 "
                                  "lower-case letters, digits, dot, hyphen or underscore."})
    if role not in ROLES:
        errors.append({"field": "role", "code": "enum", "message": "Rol desconocido. / Unknown role."})
    if not display_name.strip() or len(display_name) > 100:
        errors.append({"field": "display_name", "code": "required",
                       "message": "Escriba el nombre (máximo 100). / Give the name (at most 100)."})
    errors += password_problems(password, name)
    if errors:
        raise Invalid("Revise los datos del usuario.", "Check the user's details.", code="user_invalid",
                      errors=errors)
    if session.exec(select(StaffUser).where(StaffUser.username == name)).first() is not None:
        raise Conflict("Ese nombre de usuario ya existe.", "That user name is already taken.", code="username_taken",
                       errors=[{"field": "username", "code": "taken",
                                "message": "Ese nombre de usuario ya existe. / That user name is already taken."}])
    user = StaffUser(institution_id=institution.id or 0, username=name, display_name=display_name.strip(),
                     role=role, password_hash=hash_password(password), must_change_password=True,
                     created_at=deps.now())
    session.add(user)
    session.flush()
    audit.record(session, at=deps.now(), actor=actor, action="staff_user.create", institution_id=institution.id,
                 target=f"@{name}", details={"role": role})
    return user


def users_of(session: Session, institution: Institution) -> list[StaffUser]:
    return list(session.exec(select(StaffUser).where(StaffUser.institution_id == institution.id)
                             .order_by(StaffUser.username)))


def user_scoped(session: Session, staff: Staff, user_id: int) -> StaffUser:
    user = session.get(StaffUser, user_id)
    if user is None or user.institution_id != staff.institution.id:
        raise NotFound("Usuario no encontrado.", "User not found.", code="user_not_found")
    return user


def disable_user(session: Session, deps: Deps, staff: Staff, user_id: int) -> StaffUser:
    """Disable a user of the caller's institution and end every session of theirs at once (#110)."""
    staff.require("manage")
    user = user_scoped(session, staff, user_id)
    if user.id == staff.user_id:
        raise Forbidden("No puede desactivar su propia cuenta.", "You cannot disable your own account.",
                        code="cannot_disable_self")
    if user.disabled_at is None:
        user.disabled_at = deps.now()
        session.add(user)
        end_sessions(session, deps, user.id or 0)
        audit.record(session, at=deps.now(), actor=staff.actor, action="staff_user.disable",
                     institution_id=staff.institution.id, target=f"@{user.username}")
    return user


def reset_access(session: Session, deps: Deps, staff: Staff, user_id: int, *, password: str,
                 second_factor: bool) -> StaffUser:
    """An admin (or the operator) gives a user who forgot their password, or lost the phone with
    their TOTP app, a temporary password they must change at next sign-in, and optionally a fresh
    TOTP enrolment. Their sessions end and their sign-in lock is lifted."""
    staff.require("manage")
    user = user_scoped(session, staff, user_id)
    if user.id == staff.user_id:
        raise Forbidden("Use «Cambiar contraseña» para su propia cuenta.", "Use “Change password” for your own "
                        "account.", code="cannot_reset_self")
    if user.disabled_at is not None:
        raise Conflict("El usuario está desactivado.", "The user is disabled.", code="user_disabled")
    errors = password_problems(password, user.username)
    if errors:
        raise Invalid("La contraseña temporal no es válida.", "The temporary password is not valid.",
                      code="password_invalid", errors=errors)
    user.password_hash, user.must_change_password = hash_password(password), True
    if second_factor:
        user.totp_sealed, user.totp_confirmed_at, user.totp_last_step = None, None, 0
    session.add(user)
    end_sessions(session, deps, user.id or 0)
    throttle = session.get(LoginThrottle, deps.box.code_hash(f"sign-in:{user.username}"))
    if throttle is not None:
        session.delete(throttle)
    audit.record(session, at=deps.now(), actor=staff.actor, action="staff_user.reset",
                 institution_id=staff.institution.id, target=f"@{user.username}",
                 details={"second_factor": second_factor})
    return user


def change_password(session: Session, deps: Deps, user: StaffUser, *, current: str, new: str,
                    keep_session: str | None) -> None:
    """The user's own change: the current password is checked again; other sessions end."""
    if not _password_ok(user.password_hash, current):
        raise Invalid("La contraseña actual no es correcta.", "The current password is wrong.",
                      code="current_password_wrong",
                      errors=[{"field": "current", "code": "wrong",
                               "message": "La contraseña actual no es correcta. / The current password is wrong."}])
    errors = password_problems(new, user.username)
    if not errors and hmac.compare_digest(current.encode(), new.encode()):
        errors = [{"field": "password", "code": "unchanged",
                   "message": "Elija una contraseña distinta de la actual. / Choose a password different from the "
                              "current one."}]
    if errors:
        raise Invalid("La nueva contraseña no es válida.", "The new password is not valid.", code="password_invalid",
                      errors=errors)
    user.password_hash, user.must_change_password = hash_password(new), False
    session.add(user)
    end_sessions(session, deps, user.id or 0, keep=keep_session)
    audit.record(session, at=deps.now(), actor=f"{user.role}:@{user.username}", action="staff_user.password",
                 institution_id=user.institution_id, target=f"@{user.username}")


# --- throttling -----------------------------------------------------------------------------------


def _throttle(session: Session, deps: Deps, name: str) -> LoginThrottle:
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


def _locked_for(row: LoginThrottle, now: int) -> int:
    return max(0, row.locked_until - now)


FORGET_FAILURES_AFTER = 86_400  # a day without failures starts the count again


def _fail(row: LoginThrottle, now: int) -> None:
    if row.last_failure_at and now - row.last_failure_at > FORGET_FAILURES_AFTER:
        row.failures = 0
    row.failures += 1
    row.last_failure_at = now
    if row.failures >= LOCK_AFTER:
        row.locked_until = now + min(LOCK_BASE_SECONDS * 2 ** (row.failures - LOCK_AFTER), LOCK_MAX_SECONDS)


# --- sessions -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedIn:
    token: str  # goes in the cookie; the database holds only its keyed hash
    user: StaffUser
    stage: str  # "totp" (second factor due) or "active"


def _new_session(session: Session, deps: Deps, user: StaffUser, stage: str) -> str:
    token = secrets.token_urlsafe(32)
    now = deps.now()
    # Old rows go as new ones come: the user's sessions that ended or expired more than a day ago,
    # and sign-in counters nobody has touched for a day.
    stale = now - FORGET_FAILURES_AFTER
    session.execute(delete(StaffSession).where(col(StaffSession.user_id) == user.id,
                                               or_(col(StaffSession.expires_at) < stale,
                                                   col(StaffSession.ended_at) < stale)))
    session.execute(delete(LoginThrottle).where(col(LoginThrottle.last_failure_at) < stale,
                                                col(LoginThrottle.locked_until) < now))
    ttl = SECOND_FACTOR_SECONDS if stage == "totp" else SESSION_MAX_SECONDS
    session.add(StaffSession(token_hash=deps.box.code_hash(f"session:{token}"), user_id=user.id or 0, stage=stage,
                             created_at=now, last_seen_at=now, expires_at=now + ttl))
    return token


def end_sessions(session: Session, deps: Deps, user_id: int, keep: str | None = None) -> None:
    keep_hash = deps.box.code_hash(f"session:{keep}") if keep else None
    for row in session.exec(select(StaffSession).where(StaffSession.user_id == user_id,
                                                       StaffSession.ended_at == None)):  # noqa: E711
        if row.token_hash != keep_hash:
            row.ended_at = deps.now()
            session.add(row)


def sign_in(deps: Deps, username: str, password: str) -> SignedIn:
    """Check name and password. Admins (and anyone with TOTP) get a session that can only finish the
    second factor; others an active one. Raises ``SignInRefused``."""
    name = normalize_username(username)
    with deps.session() as session:
        throttle = _throttle(session, deps, name)
        now = deps.now()
        wait = _locked_for(throttle, now)
        if wait:
            raise SignInRefused(retry_after=wait)
        user = session.exec(select(StaffUser).where(StaffUser.username == name)).first() if name else None
        ok = _password_ok(user.password_hash if user else None, password[:PASSWORD_MAX * 4])
        if user is None or not ok or user.disabled_at is not None:
            _fail(throttle, now)
            audit.record(session, at=now, actor="console", action="console.sign_in", outcome="refused",
                         institution_id=user.institution_id if user else None,
                         target=f"@{user.username}" if user else None)
            session.commit()
            wait = _locked_for(throttle, now)
            raise SignInRefused(retry_after=wait)
        throttle.failures, throttle.locked_until = 0, 0
        session.add(throttle)
        if _HASHER.check_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
            session.add(user)
        stage = "totp" if user.role == "admin" or user.totp_confirmed_at is not None else "active"
        token = _new_session(session, deps, user, stage)
        audit.record(session, at=now, actor=f"{user.role}:@{user.username}", action="console.sign_in",
                     outcome="ok" if stage == "active" else "password_ok", institution_id=user.institution_id,
                     target=f"@{user.username}")
        session.commit()
        return SignedIn(token, user, stage)


@dataclass(frozen=True)
class Current:
    token: str
    row: StaffSession
    user: StaffUser
    institution: Institution

    @property
    def staff(self) -> Staff:
        return staff_of(self.user, self.institution)


def current(deps: Deps, token: str | None) -> Current | None:
    """The live session for a cookie value, or None: ended, expired, idle too long, or its user
    disabled (so disabling a user ends their sessions at once)."""
    if not token or len(token) > 100:
        return None
    now = deps.now()
    with deps.session() as session:
        row = session.get(StaffSession, deps.box.code_hash(f"session:{token}"))
        if row is None or row.ended_at is not None or row.expires_at <= now:
            return None
        if row.stage == "active" and now - row.last_seen_at > SESSION_IDLE_SECONDS:
            row.ended_at = now
            session.add(row)
            session.commit()
            return None
        user = session.get(StaffUser, row.user_id)
        institution = session.get(Institution, user.institution_id) if user else None
        if user is None or institution is None or user.disabled_at is not None:
            return None
        if now - row.last_seen_at >= 60:  # one write a minute is enough for the idle timeout
            row.last_seen_at = now
            session.add(row)
            session.commit()
        return Current(token, row, user, institution)


def sign_out(deps: Deps, token: str) -> None:
    with deps.session() as session:
        row = session.get(StaffSession, deps.box.code_hash(f"session:{token}"))
        if row is not None and row.ended_at is None:
            row.ended_at = deps.now()
            session.add(row)
            user = session.get(StaffUser, row.user_id)
            if user is not None:
                audit.record(session, at=deps.now(), actor=f"{user.role}:@{user.username}",
                             action="console.sign_out", institution_id=user.institution_id,
                             target=f"@{user.username}")
            session.commit()


# --- TOTP (RFC 6238: 6 digits, 30 s, SHA-1, as authenticator apps expect) --------------------------


def totp_secret(deps: Deps, session: Session, user: StaffUser) -> str:
    """The user's TOTP secret, made (and sealed) on first need."""
    if user.totp_sealed is None:
        user.totp_sealed = deps.box.seal(pyotp.random_base32().encode(), f"totp:{user.id}")
        session.add(user)
        session.flush()
    return deps.box.open(user.totp_sealed, f"totp:{user.id}").decode()


def provisioning_uri(secret: str, user: StaffUser, institution: Institution) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=f"{user.username}", issuer_name=f"Puente {institution.slug}")


def _totp_step(secret: str, code: str, now: int, after_step: int) -> int | None:
    """The time step a code belongs to (now, or one step either side for clock drift), if it is
    later than the last accepted step."""
    totp = pyotp.TOTP(secret)
    code = "".join(code.split())
    if not (len(code) == 6 and code.isdigit()):
        return None
    current_step = now // TOTP_STEP
    for step in (current_step - 1, current_step, current_step + 1):
        if step > after_step and hmac.compare_digest(totp.at(step * TOTP_STEP), code):
            return step
    return None


def second_factor(deps: Deps, token: str, code: str) -> SignedIn:
    """Finish a sign-in with a TOTP code (enrolling it if it is the first); the half-signed session
    is replaced by a new active one. Wrong codes count towards the same lockout as passwords."""
    now = deps.now()
    with deps.session() as session:
        row = session.get(StaffSession, deps.box.code_hash(f"session:{token}"))
        user = session.get(StaffUser, row.user_id) if row else None
        if row is None or user is None or row.stage != "totp" or row.ended_at is not None or row.expires_at <= now \
                or user.disabled_at is not None:
            raise SignInRefused()
        throttle = _throttle(session, deps, user.username)
        wait = _locked_for(throttle, now)
        if wait:
            raise SignInRefused(retry_after=wait)
        step = _totp_step(totp_secret(deps, session, user), code, now, user.totp_last_step)
        if step is None:
            _fail(throttle, now)
            audit.record(session, at=now, actor=f"{user.role}:@{user.username}", action="console.second_factor",
                         outcome="refused", institution_id=user.institution_id, target=f"@{user.username}")
            session.commit()
            raise InvalidCode(retry_after=_locked_for(throttle, now))
        throttle.failures, throttle.locked_until = 0, 0
        session.add(throttle)
        enrolled = user.totp_confirmed_at is None
        user.totp_last_step = step
        if enrolled:
            user.totp_confirmed_at = now
        session.add(user)
        row.ended_at = now
        session.add(row)
        new_token = _new_session(session, deps, user, "active")
        audit.record(session, at=now, actor=f"{user.role}:@{user.username}", action="console.second_factor",
                     institution_id=user.institution_id, target=f"@{user.username}",
                     details={"enrolled": enrolled})
        session.commit()
        return SignedIn(new_token, user, "active")

