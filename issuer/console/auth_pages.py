"""Sign-in (password, then TOTP for admins, with enrolment the first time), password change,
sign-out and the language switch."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from issuer import accounts
from issuer.console.routing import ConsoleRoute
from issuer.console.web import (
    PRE_COOKIE,
    SESSION_COOKIE,
    CsrfRejected,
    Redirect,
    checked_form,
    clear_cookie,
    console_of,
    cookie_name,
    csrf_for,
    deps_of,
    form_text,
    lang_of,
    new_pre_secret,
    redirect,
    render,
    safe_next,
    session_token,
    set_cookie,
    signed_in_any,
)
from issuer.db.models import Institution, StaffUser
from issuer.errors import Invalid, field_error
from servicekit import qr_image

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)


def client_of(request: Request) -> str:
    """The TCP peer's address, as the rate limiter counts it (forwarded headers are not trusted)."""
    return request.client.host if request.client else ""


def _pre_secret(request: Request) -> str | None:
    value = request.cookies.get(cookie_name(request, PRE_COOKIE))
    return value if value and len(value) <= 64 else None


def _login_page(request: Request, *, next_url: str, error: str | None = None, status: int = 200,
                username: str = "") -> Response:
    pre = _pre_secret(request) or new_pre_secret()
    deps = deps_of(request)
    response = render(request, "login.html", {"csrf": csrf_for(deps, f"pre:{pre}"), "next": next_url,
                                              "error": error, "username": username}, status=status)
    set_cookie(request, response, PRE_COOKIE, pre)
    return response


@router.get("/login")
def login_page(request: Request, next: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    current = accounts.current(deps_of(request), session_token(request))
    if current is not None and current.row.stage == "active":
        return redirect(safe_next(next))
    return _login_page(request, next_url=safe_next(next))


@router.post("/login")
async def login(request: Request) -> Response:
    deps = deps_of(request)
    pre = _pre_secret(request)
    if pre is None:
        raise CsrfRejected()
    form = await checked_form(request, csrf_for(deps, f"pre:{pre}"))
    username, password = form_text(form, "username", 100), form.get("password")
    next_url = safe_next(form_text(form, "next"))
    await form.close()
    try:
        signed = accounts.sign_in(deps, username, password if isinstance(password, str) else "",
                                  client=client_of(request))
    except accounts.SignInRefused as exc:
        request.app.state.metrics.events.labels("console_sign_in_refused").inc()
        response = _login_page(request, next_url=next_url, error=exc.message(lang_of(request)), status=401,
                               username=username)
        if exc.retry_after:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    request.app.state.metrics.events.labels("console_sign_in").inc()
    response = redirect(next_url if signed.stage == "active" else "/console/login/code?next=" + next_url)
    set_cookie(request, response, SESSION_COOKIE, signed.token)
    return response


def _half_signed_in(request: Request) -> accounts.Current:
    deps = deps_of(request)
    current = accounts.current(deps, session_token(request))
    if current is None:
        raise Redirect("/console/login")
    if current.row.stage == "active":
        raise Redirect("/console")
    return current


def _code_page(request: Request, current: accounts.Current, *, next_url: str, error: str | None = None,
               status: int = 200) -> Response:
    deps = deps_of(request)
    enrol: dict[str, str] | None = None
    if current.user.totp_confirmed_at is None:
        with deps.session() as session:
            user = session.get(StaffUser, current.user.id)
            institution = session.get(Institution, current.user.institution_id)
            assert user is not None and institution is not None
            secret = accounts.totp_secret(deps, session, user)
            session.commit()
        uri = accounts.provisioning_uri(secret, user, institution)
        png = qr_image.render_png(uri, "M", box_size=5)
        import base64

        enrol = {"secret": " ".join(secret[i:i + 4] for i in range(0, len(secret), 4)),
                 "qr": "data:image/png;base64," + base64.b64encode(png).decode()}
    return render(request, "login_code.html", {"csrf": csrf_for(deps, current.token), "next": next_url,
                                               "error": error, "enrol": enrol, "who": current.user},
                  status=status)


@router.get("/login/code")
def code_page(request: Request, next: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    return _code_page(request, _half_signed_in(request), next_url=safe_next(next))


@router.post("/login/code")
async def code(request: Request) -> Response:
    deps = deps_of(request)
    current = _half_signed_in(request)
    form = await checked_form(request, csrf_for(deps, current.token))
    next_url = safe_next(form_text(form, "next"))
    typed = form_text(form, "code", 20)
    await form.close()
    try:
        signed = accounts.second_factor(deps, current.token, typed, client=client_of(request))
    except accounts.InvalidCode as exc:
        return _code_page(request, current, next_url=next_url, error=exc.message(lang_of(request)), status=401)
    except accounts.SignInRefused as exc:
        if exc.retry_after:
            return _code_page(request, current, next_url=next_url, error=exc.message(lang_of(request)), status=401)
        response = redirect("/console/login")
        clear_cookie(request, response, SESSION_COOKIE)
        return response
    response = redirect(next_url)
    set_cookie(request, response, SESSION_COOKIE, signed.token)
    return response


@router.get("/password")
def password_page(request: Request) -> Response:
    console = console_of(request, signed_in_any(request))
    return render(request, "password.html", {"errors": {}}, console=console)


@router.post("/password")
async def password(request: Request) -> Response:
    deps = deps_of(request)
    console = console_of(request, signed_in_any(request))
    form = await checked_form(request, console.csrf)
    current, new, again = (form.get(name) for name in ("current", "password", "password_again"))
    await form.close()
    texts = [value if isinstance(value, str) else "" for value in (current, new, again)]
    try:
        if texts[1] != texts[2]:
            raise Invalid("password_mismatch",
                          errors=[field_error("password_again", "mismatch", "field.password_mismatch")])
        with deps.session() as session:
            user = session.get(StaffUser, console.current.user.id)
            assert user is not None
            accounts.change_password(session, deps, user, current=texts[0], new=texts[1],
                                     keep_session=console.current.token)
            session.commit()
    except Invalid as exc:
        errors = {error["field"]: error["message"] for error in exc.errors}
        return render(request, "password.html", {"errors": errors, "error": exc.message(console.lang)},
                      console=console, status=422)
    return redirect("/console?changed=password")


@router.post("/logout")
async def logout(request: Request) -> Response:
    deps = deps_of(request)
    token = session_token(request)
    current = accounts.current(deps, token)
    if current is not None:
        await checked_form(request, csrf_for(deps, current.token))
        accounts.sign_out(deps, current.token)
    response = redirect("/console/login?signed_out=1")
    clear_cookie(request, response, SESSION_COOKIE)
    return response


@router.get("/lang/{lang}")
def switch_language(request: Request, lang: Literal["es", "en"],
                    next: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    response = redirect(safe_next(next))
    response.set_cookie("puente_lang", lang, max_age=365 * 86_400, path="/", samesite="lax",
                        secure=request.url.scheme == "https")
    return response
