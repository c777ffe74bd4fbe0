"""Administration pages of the staff console (admins only, everything scoped to the admin's own
institution): staff users (create, disable), API keys (create and show once, revoke), the
institution's signing keys (rotate, mark compromised after typing the key id) and its accredited
credential types (read-only: the registry decides them).

Another institution's user id, key prefix or kid is "not found", never "forbidden": nothing here
tells an admin what exists elsewhere."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select
from starlette.datastructures import FormData

from issuer import accounts, audit, staff
from issuer.console.routing import ConsoleRoute
from issuer.console.web import Console, ConsoleDep, FormDep, form_text, redirect, render
from issuer.db.models import ApiKey, Credential, Institution, SigningKey
from issuer.errors import Conflict, Invalid, NotFound, ServiceError, field_error
from issuer.institutions import add_signing_key, mark_compromised
from servicekit.hostile import MAX_INT

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)

# A role, its hint and a signing key's state → their catalog entries.
ROLE_LABELS = {role: f"console.role_name.{role}" for role in staff.ROLES}
ROLE_HINTS = {role: f"console.role_hint.{role}" for role in staff.ROLES}
KEY_STATES = {state: f"console.key_state.{state}" for state in ("active", "retired", "compromised")}
PASSWORD_FIELD_LIMIT = 512  # longer than any valid password, so the rules (not truncation) reject it
PREFIX_PATH = Path(pattern=r"^[0-9a-f]{1,16}$")
KID_PATH = Path(min_length=1, max_length=64)
UserId = Annotated[int, Path(ge=1, le=MAX_INT)]
Count = Annotated[int, Query(ge=0, le=MAX_INT)]


def _manage(console: Console) -> Institution:
    console.require("manage")
    return console.staff.institution


def _raw(form: FormData, name: str) -> str:
    """A password as typed: not stripped (spaces may be part of it), only capped."""
    value = form.get(name)
    return value[:PASSWORD_FIELD_LIMIT] if isinstance(value, str) else ""


# --- users ----------------------------------------------------------------------------------------


def _users_page(request: Request, console: Console, *, values: dict[str, str] | None = None,
                errors: dict[str, str] | None = None, error: str | None = None, status: int = 200,
                created: int | None = None, disabled: int | None = None, reset: int | None = None) -> Response:
    institution = _manage(console)
    with console.deps.session() as session:
        users = accounts.users_of(session, institution)
    by_id = {u.id: u for u in users}
    return render(request, "admin_users.html", {
        "users": users, "role_labels": ROLE_LABELS, "role_hints": ROLE_HINTS, "roles": staff.ROLES,
        "values": values or {"username": "", "display_name": "", "role": "officer"}, "errors": errors or {},
        "error": error, "created": by_id.get(created) if created else None,
        "disabled": by_id.get(disabled) if disabled else None, "reset": by_id.get(reset) if reset else None,
        "password_min": accounts.PASSWORD_MIN, "password_max": accounts.PASSWORD_MAX,
    }, console=console, status=status)


@router.get("/admin")
def admin_home(console: ConsoleDep) -> Response:
    _manage(console)
    return redirect("/console/admin/users")


@router.get("/admin/users")
def users_page(request: Request, console: ConsoleDep, created: Count = 0,
               disabled: Count = 0, reset: Count = 0) -> Response:
    return _users_page(request, console, created=created or None, disabled=disabled or None, reset=reset or None)


@router.post("/admin/users")
def create_user(request: Request, console: ConsoleDep, form: FormDep) -> Response:
    institution = _manage(console)
    values = {"username": form_text(form, "username", 100), "display_name": form_text(form, "display_name", 200),
              "role": form_text(form, "role", 16)}
    password, again = _raw(form, "password"), _raw(form, "password_again")
    try:
        if password != again:
            problems = accounts.password_problems(password, accounts.normalize_username(values["username"]))
            raise Invalid("password_mismatch", variant="check_user", errors=[
                *problems, field_error("password_again", "mismatch", "field.password_mismatch")])
        with console.deps.session() as session:
            user = accounts.create_user(session, console.deps, institution, username=values["username"],
                                        display_name=values["display_name"], role=values["role"], password=password,
                                        actor=console.staff.actor)
            new_id = user.id
            try:
                session.commit()
            except IntegrityError:  # the same name created at the same moment by someone else
                raise Conflict("username_taken",
                               errors=[field_error("username", "taken", "field.username_taken")]) from None
    except (Invalid, Conflict) as exc:
        errors = {e["field"]: _one_language(e["message"], console.lang) for e in exc.errors}
        return _users_page(request, console, values=values, errors=errors, error=exc.message(console.lang),
                           status=exc.status)
    return redirect(f"/console/admin/users?created={new_id}")


def _one_language(message: str, lang: str) -> str:
    """Field messages from the domain read "español / English": show the page's language only."""
    spanish, separator, english = message.partition(" / ")
    if not separator:
        return message
    return english if lang == "en" else spanish


@router.get("/admin/users/{user_id}/disable")
def confirm_disable_user(request: Request, user_id: UserId, console: ConsoleDep) -> Response:
    _manage(console)
    with console.deps.session() as session:
        user = accounts.user_scoped(session, console.staff, user_id)
    return render(request, "admin_user_disable.html", {
        "target": user, "role_labels": ROLE_LABELS, "is_self": user.id == console.staff.user_id,
    }, console=console)


@router.post("/admin/users/{user_id}/disable")
def disable_user(user_id: UserId, console: ConsoleDep, form: FormDep) -> Response:
    _manage(console)
    with console.deps.session() as session:
        accounts.disable_user(session, console.deps, console.staff, user_id)
        session.commit()
    return redirect(f"/console/admin/users?disabled={user_id}")


def _reset_page(request: Request, console: Console, user_id: int, *, errors: dict[str, str] | None = None,
                error: str | None = None, status: int = 200) -> Response:
    _manage(console)
    with console.deps.session() as session:
        user = accounts.user_scoped(session, console.staff, user_id)
    return render(request, "admin_user_reset.html", {
        "target": user, "role_labels": ROLE_LABELS, "is_self": user.id == console.staff.user_id,
        "errors": errors or {}, "error": error}, console=console, status=status)


@router.get("/admin/users/{user_id}/reset")
def confirm_reset_user(request: Request, user_id: UserId, console: ConsoleDep) -> Response:
    return _reset_page(request, console, user_id)


@router.post("/admin/users/{user_id}/reset")
def reset_user(request: Request, user_id: UserId, console: ConsoleDep,
               form: FormDep) -> Response:
    _manage(console)
    password, again = form.get("password"), form.get("password_again")
    password = password if isinstance(password, str) else ""
    if password != (again if isinstance(again, str) else ""):
        return _reset_page(request, console, user_id, status=422,
                           errors={"password_again": console.msg("console.passwords_do_not_match")},
                           error=console.msg("console.check_temporary_password"))
    try:
        with console.deps.session() as session:
            accounts.reset_access(session, console.deps, console.staff, user_id, password=password,
                                  second_factor=form_text(form, "second_factor") == "yes")
            session.commit()
    except Invalid as exc:
        errors = {e["field"]: _one_language(e["message"], console.lang) for e in exc.errors}
        return _reset_page(request, console, user_id, errors=errors, error=exc.message(console.lang), status=422)
    return redirect(f"/console/admin/users?reset={user_id}")


# --- API keys -------------------------------------------------------------------------------------


def _api_keys(session: Session, institution: Institution) -> list[ApiKey]:
    return list(session.exec(select(ApiKey).where(ApiKey.institution_id == institution.id)
                             .order_by(col(ApiKey.revoked_at).is_not(None), col(ApiKey.created_at).desc(),
                                       col(ApiKey.id).desc())))


def _api_keys_page(request: Request, console: Console, *, values: dict[str, str] | None = None,
                   errors: dict[str, str] | None = None, error: str | None = None, status: int = 200,
                   revoked: str = "") -> Response:
    institution = _manage(console)
    with console.deps.session() as session:
        keys = _api_keys(session, institution)
    return render(request, "admin_api_keys.html", {
        "keys": keys, "role_labels": ROLE_LABELS, "role_hints": ROLE_HINTS, "roles": staff.ROLES,
        "values": values or {"name": "", "role": "officer"}, "errors": errors or {}, "error": error,
        "revoked": next((k for k in keys if k.prefix == revoked), None) if revoked else None,
    }, console=console, status=status)


@router.get("/admin/api-keys")
def api_keys_page(request: Request, console: ConsoleDep,
                  revoked: Annotated[str, Query(max_length=16)] = "") -> Response:
    return _api_keys_page(request, console, revoked=revoked)


@router.post("/admin/api-keys")
def create_api_key(request: Request, console: ConsoleDep, form: FormDep) -> Response:
    """The key's text goes into this response only: it is never stored, logged or shown again."""
    institution = _manage(console)
    values = {"name": form_text(form, "name", 200), "role": form_text(form, "role", 16)}
    errors: dict[str, str] = {}
    if not values["name"] or len(values["name"]) > 100:
        errors["name"] = console.msg("console.give_name_says_what")
    if values["role"] not in staff.ROLES:
        errors["role"] = console.msg("console.choose_role")
    if errors:
        return _api_keys_page(request, console, values=values, errors=errors, status=422,
                              error=console.msg("console.check_key_s_details"))
    with console.deps.session() as session:
        text, row = staff.create_api_key(session, console.deps, institution, role=values["role"],
                                         name=values["name"], actor=console.staff.actor)
        session.commit()
    return render(request, "admin_api_key_created.html", {"key_text": text, "key": row, "role_labels": ROLE_LABELS},
                  console=console)


def _api_key_scoped(session: Session, console: Console, prefix: str) -> ApiKey:
    row = session.exec(select(ApiKey).where(ApiKey.institution_id == console.staff.institution.id,
                                            ApiKey.prefix == prefix)).first()
    if row is None:
        raise NotFound("unknown_api_key")
    return row


@router.get("/admin/api-keys/{prefix}/revoke")
def confirm_revoke_api_key(request: Request, prefix: Annotated[str, PREFIX_PATH], console: ConsoleDep) -> Response:
    _manage(console)
    with console.deps.session() as session:
        key = _api_key_scoped(session, console, prefix)
    return render(request, "admin_api_key_revoke.html", {"key": key, "role_labels": ROLE_LABELS}, console=console)


@router.post("/admin/api-keys/{prefix}/revoke")
def revoke_api_key(prefix: Annotated[str, PREFIX_PATH], console: ConsoleDep, form: FormDep) -> Response:
    _manage(console)
    with console.deps.session() as session:
        key = _api_key_scoped(session, console, prefix)
        if key.revoked_at is None:  # revoking twice changes nothing and records nothing
            staff.revoke_api_key(session, console.deps, console.staff, prefix)
            session.commit()
    return redirect(f"/console/admin/api-keys?revoked={prefix}")


# --- signing keys ---------------------------------------------------------------------------------


class ExternalKeys(ServiceError):
    status = 409
    code = "external_institution_keys"


def _signing_keys(session: Session, institution: Institution) -> list[SigningKey]:
    return list(session.exec(select(SigningKey).where(SigningKey.institution_id == institution.id)
                             .order_by(col(SigningKey.id).desc())))


def _local_institution(console: Console) -> Institution:
    institution = _manage(console)
    if institution.external_id:
        raise ExternalKeys()
    return institution


def _signing_key_scoped(session: Session, institution: Institution, kid: str) -> SigningKey:
    row = session.exec(select(SigningKey).where(SigningKey.institution_id == institution.id,
                                                SigningKey.kid == kid)).first()
    if row is None:
        raise NotFound("unknown_key")
    return row


@router.get("/admin/keys")
def signing_keys_page(request: Request, console: ConsoleDep,
                      done: Annotated[str, Query(max_length=20)] = "") -> Response:
    institution = _manage(console)
    with console.deps.session() as session:
        keys = [] if institution.external_id else _signing_keys(session, institution)
    return render(request, "admin_keys.html", {
        "keys": keys, "external": bool(institution.external_id), "states": KEY_STATES,
        "done": done if done in ("rotated", "compromised") else "",
    }, console=console)


@router.get("/admin/keys/rotate")
def confirm_rotate(request: Request, console: ConsoleDep) -> Response:
    institution = _local_institution(console)
    with console.deps.session() as session:
        active = next((k for k in _signing_keys(session, institution) if k.state == "active"), None)
    return render(request, "admin_key_rotate.html", {"active": active}, console=console)


@router.post("/admin/keys/rotate")
def rotate(console: ConsoleDep, form: FormDep) -> Response:
    """A new active key; the old one stays published as retired, so what it signed stays valid."""
    institution = _local_institution(console)
    with console.deps.session() as session:
        # one rotation at a time per institution (PostgreSQL row lock; SQLite has a single writer)
        session.exec(select(Institution).where(Institution.id == institution.id).with_for_update()).one()
        row = add_signing_key(session, console.deps, institution)
        audit.record(session, at=console.deps.now(), actor=console.staff.actor, action="key.rotate",
                     institution_id=institution.id, target=row.kid)
        session.commit()
    return redirect("/console/admin/keys?done=rotated")


def _signed_while_active(session: Session, institution: Institution, key: SigningKey) -> int:
    """Credentials issued while the key was the active one (by their time of issue: an estimate to the
    second around a rotation)."""
    query = select(func.count()).select_from(Credential).where(Credential.institution_id == institution.id,
                                                                Credential.created_at >= key.created_at)
    ended = key.retired_at or key.compromised_at
    if ended is not None:
        query = query.where(Credential.created_at <= ended)
    return int(session.exec(query).one())


def _compromise_page(request: Request, console: Console, kid: str, *, typed: str = "", error: str | None = None,
                     status: int = 200) -> Response:
    institution = _local_institution(console)
    with console.deps.session() as session:
        key = _signing_key_scoped(session, institution, kid)
        signed = _signed_while_active(session, institution, key)
    return render(request, "admin_key_compromise.html", {
        "key": key, "signed": signed, "typed": typed, "error": error, "states": KEY_STATES,
    }, console=console, status=status)


@router.get("/admin/keys/{kid}/compromise")
def confirm_compromise(request: Request, kid: Annotated[str, KID_PATH], console: ConsoleDep) -> Response:
    return _compromise_page(request, console, kid)


@router.post("/admin/keys/{kid}/compromise")
def compromise(request: Request, kid: Annotated[str, KID_PATH], console: ConsoleDep, form: FormDep) -> Response:
    institution = _local_institution(console)
    typed = form_text(form, "confirm_kid", 100)
    if typed != kid:
        message = console.msg("console.confirm_type_key_id_2")
        return _compromise_page(request, console, kid, typed=typed, error=message, status=422)
    with console.deps.session() as session:
        session.exec(select(Institution).where(Institution.id == institution.id).with_for_update()).one()
        key = _signing_key_scoped(session, institution, kid)
        if key.state != "compromised":  # marking twice changes nothing and records nothing
            mark_compromised(session, console.deps, institution, kid, actor=console.staff.actor)
            session.commit()
    return redirect("/console/admin/keys?done=compromised")


# --- credential types -----------------------------------------------------------------------------


@router.get("/admin/types")
def types_page(request: Request, console: ConsoleDep) -> Response:
    institution = _manage(console)
    types: list[dict[str, Any]] = []
    for type_id in institution.types:
        if type_id not in console.deps.types.by_id:
            continue
        ctype = console.deps.types.get(type_id)
        required = set(ctype.schema.get("required", []))
        types.append({"id": ctype.id, "name": ctype.name(console.lang), "vct": ctype.vct,
                      "valid_days": ctype.valid_days,
                      "claims": [{"name": name, "label": ctype.label(name, console.lang),
                                  "required": name in required} for name in ctype.claim_names]})
    return render(request, "admin_types.html", {"types": types}, console=console)
