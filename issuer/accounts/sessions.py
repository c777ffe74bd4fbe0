"""Server-side console sessions: sign-in with the password (a half-signed session when the
second factor is due), the live session behind a cookie, sign-out."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import delete, or_
from sqlmodel import Session, col, select

from issuer import audit
from issuer.accounts.passwords import _HASHER, PASSWORD_MAX, hash_password, normalize_username, password_ok
from issuer.accounts.throttle import FORGET_FAILURES_AFTER, SignInRefused, gate
from issuer.db.models import Institution, LoginThrottle, StaffSession, StaffUser
from issuer.deps import Deps
from issuer.staff import Staff

SESSION_IDLE_SECONDS = 30 * 60
SESSION_MAX_SECONDS = 12 * 3600
SECOND_FACTOR_SECONDS = 5 * 60  # between the password and the TOTP code


def staff_of(user: StaffUser, institution: Institution) -> Staff:
    return Staff(institution, user.role, f"{user.role}:@{user.username}", user_id=user.id)



@dataclass(frozen=True)
class SignedIn:
    token: str  # goes in the cookie; the database holds only its keyed hash
    user: StaffUser
    stage: str  # "totp" (second factor due) or "active"


def new_session(session: Session, deps: Deps, user: StaffUser, stage: str) -> str:
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


def sign_in(deps: Deps, username: str, password: str, client: str = "") -> SignedIn:
    """Check name and password from a client (its address). Admins (and anyone with TOTP) get a
    session that can only finish the second factor; others an active one. Raises ``SignInRefused``."""
    name = normalize_username(username)
    with deps.session() as session:
        throttle = gate(session, deps, name, client)
        now = deps.now()
        wait = throttle.wait(now)
        if wait:
            raise SignInRefused(retry_after=wait)
        user = session.exec(select(StaffUser).where(StaffUser.username == name)).first() if name else None
        ok = password_ok(user.password_hash if user else None, password[:PASSWORD_MAX * 4])
        if user is None or not ok or user.disabled_at is not None:
            throttle.fail(now)
            audit.record(session, at=now, actor="console", action="console.sign_in", outcome="refused",
                         institution_id=user.institution_id if user else None,
                         target=f"@{user.username}" if user else None)
            session.commit()
            raise SignInRefused(retry_after=throttle.wait(now))
        if _HASHER.check_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
            session.add(user)
        stage = "totp" if user.role == "admin" or user.totp_confirmed_at is not None else "active"
        throttle.succeed(signed_in=stage == "active")
        token = new_session(session, deps, user, stage)
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

