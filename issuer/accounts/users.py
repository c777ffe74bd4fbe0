"""Staff users of an institution: creation (they choose their own password at first sign-in),
listing, disabling, access reset by an admin, and a user's own password change."""

from __future__ import annotations

import hmac
import re

from sqlmodel import Session, select

from issuer import audit
from issuer.accounts import throttle
from issuer.accounts.passwords import hash_password, normalize_username, password_ok, password_problems
from issuer.accounts.sessions import end_sessions
from issuer.db.models import Institution, StaffUser
from issuer.deps import Deps
from issuer.errors import Conflict, Forbidden, Invalid, NotFound, field_error
from issuer.repository import scoped
from issuer.staff import ROLES, Staff

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")


def create_user(session: Session, deps: Deps, institution: Institution, *, username: str, display_name: str,
                role: str, password: str, actor: str) -> StaffUser:
    """A new user who must choose their own password at first sign-in; admins also enrol TOTP then."""
    name = normalize_username(username)
    errors = []
    if not USERNAME.match(name):
        errors.append(field_error("username", "pattern", "field.username_pattern"))
    if role not in ROLES:
        errors.append(field_error("role", "enum", "field.role_unknown"))
    if not display_name.strip() or len(display_name) > 100:
        errors.append(field_error("display_name", "required", "field.display_name"))
    errors += password_problems(password, name)
    if errors:
        raise Invalid("user_invalid", errors=errors)
    if session.exec(select(StaffUser).where(StaffUser.username == name)).first() is not None:
        raise Conflict("username_taken", errors=[field_error("username", "taken", "field.username_taken")])
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
    user = scoped(session, StaffUser, user_id, staff.institution.id)
    if user is None:
        raise NotFound("user_not_found")
    return user


def disable_user(session: Session, deps: Deps, staff: Staff, user_id: int) -> StaffUser:
    """Disable a user of the caller's institution and end every session of theirs at once (#110)."""
    staff.require("manage")
    user = user_scoped(session, staff, user_id)
    if user.id == staff.user_id:
        raise Forbidden("cannot_disable_self")
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
        raise Forbidden("cannot_reset_self")
    if user.disabled_at is not None:
        raise Conflict("user_disabled")
    errors = password_problems(password, user.username)
    if errors:
        raise Invalid("password_invalid", errors=errors)
    user.password_hash, user.must_change_password = hash_password(password), True
    if second_factor:
        user.totp_sealed, user.totp_confirmed_at, user.totp_last_step = None, None, 0
    session.add(user)
    end_sessions(session, deps, user.id or 0)
    throttle.forget(session, deps, user.username)
    audit.record(session, at=deps.now(), actor=staff.actor, action="staff_user.reset",
                 institution_id=staff.institution.id, target=f"@{user.username}",
                 details={"second_factor": second_factor})
    return user


def change_password(session: Session, deps: Deps, user: StaffUser, *, current: str, new: str,
                    keep_session: str | None) -> None:
    """The user's own change: the current password is checked again; other sessions end."""
    if not password_ok(user.password_hash, current):
        raise Invalid("current_password_wrong",
                      errors=[field_error("current", "wrong", "field.current_password_wrong")])
    errors = password_problems(new, user.username)
    if not errors and hmac.compare_digest(current.encode(), new.encode()):
        errors = [field_error("password", "unchanged", "field.password_unchanged")]
    if errors:
        raise Invalid("password_invalid", variant="new_password", errors=errors)
    user.password_hash, user.must_change_password = hash_password(new), False
    session.add(user)
    end_sessions(session, deps, user.id or 0, keep=keep_session)
    audit.record(session, at=deps.now(), actor=f"{user.role}:@{user.username}", action="staff_user.password",
                 institution_id=user.institution_id, target=f"@{user.username}")

