"""TOTP second factor (RFC 6238: 6 digits, 30 s, SHA-1, as authenticator apps expect), required for
admins: the secret sealed at rest, enrolment on first use, one use per time step."""

from __future__ import annotations

import hmac

import pyotp
from sqlmodel import Session

from issuer import audit
from issuer.accounts.sessions import SignedIn, new_session
from issuer.accounts.throttle import InvalidCode, SignInRefused, gate
from issuer.db.models import Institution, StaffSession, StaffUser
from issuer.deps import Deps

TOTP_STEP = 30


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


def second_factor(deps: Deps, token: str, code: str, client: str = "") -> SignedIn:
    """Finish a sign-in with a TOTP code (enrolling it if it is the first); the half-signed session
    is replaced by a new active one. Wrong codes count towards the same lockout as passwords."""
    now = deps.now()
    with deps.session() as session:
        row = session.get(StaffSession, deps.box.code_hash(f"session:{token}"))
        user = session.get(StaffUser, row.user_id) if row else None
        if row is None or user is None or row.stage != "totp" or row.ended_at is not None or row.expires_at <= now \
                or user.disabled_at is not None:
            raise SignInRefused()
        throttle = gate(session, deps, user.username, client)
        wait = throttle.wait(now)
        if wait:
            raise SignInRefused(retry_after=wait)
        step = _totp_step(totp_secret(deps, session, user), code, now, user.totp_last_step)
        if step is None:
            throttle.fail(now)
            audit.record(session, at=now, actor=f"{user.role}:@{user.username}", action="console.second_factor",
                         outcome="refused", institution_id=user.institution_id, target=f"@{user.username}")
            session.commit()
            raise InvalidCode(retry_after=throttle.wait(now))
        throttle.succeed(signed_in=True)
        enrolled = user.totp_confirmed_at is None
        user.totp_last_step = step
        if enrolled:
            user.totp_confirmed_at = now
        session.add(user)
        row.ended_at = now
        session.add(row)
        new_token = new_session(session, deps, user, "active")
        audit.record(session, at=now, actor=f"{user.role}:@{user.username}", action="console.second_factor",
                     institution_id=user.institution_id, target=f"@{user.username}",
                     details={"enrolled": enrolled})
        session.commit()
        return SignedIn(new_token, user, "active")

