"""Console plumbing: templates, language, cookies, the signed-in user, CSRF, and HTML error pages.

Every page is rendered on the server (Jinja2 with autoescaping); the little JavaScript there is
(copy a link, the batch progress bar) is a static file allowed by a strict CSP. State-changing
requests are POST forms carrying a CSRF token bound to the session (HMAC of the session token
under the master key), and the session cookie is SameSite=Strict, HttpOnly, ``__Host-`` and
Secure on TLS and on loopback (security.md #113).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from credcore.messages import text
from credcore.resources import package_dir
from issuer import accounts
from issuer.accounts import Current
from issuer.console import words
from issuer.deps import Deps
from issuer.errors import DATABASE_UNAVAILABLE, Invalid, ServiceError
from issuer.staff import Staff

HERE = package_dir("issuer.console")
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))
COLOMBIA = timezone(timedelta(hours=-5))

SESSION_COOKIE, PRE_COOKIE, LANG_COOKIE = "puente_session", "puente_pre", "puente_lang"
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # "same-origin", not "no-referrer": with no-referrer, browsers send ``Origin: null`` on form posts
    # and the origin check below could not tell the console's own forms from a sandboxed page.
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class Redirect(Exception):
    """Raised by dependencies to send the browser elsewhere (sign-in, second factor, new password)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


class CsrfRejected(ServiceError):
    status = 403
    code = "csrf_invalid"



def deps_of(request: Request) -> Deps:
    deps: Deps = request.app.state.deps
    return deps


def secure_transport(request: Request) -> bool:
    """TLS (directly or as published), or loopback, where browsers accept Secure cookies over HTTP."""
    settings = deps_of(request).settings
    return (request.url.scheme == "https" or settings.base_url.startswith("https://")
            or (request.url.hostname or "") in LOOPBACK)


def cookie_name(request: Request, base: str) -> str:
    """``__Host-`` needs Secure, so plain HTTP on a LAN address (development only) uses the bare name."""
    return f"__Host-{base}" if secure_transport(request) else base


def set_cookie(request: Request, response: Response, base: str, value: str, *, max_age: int | None = None) -> None:
    response.set_cookie(cookie_name(request, base), value, max_age=max_age, path="/", httponly=True,
                        secure=secure_transport(request), samesite="strict")


def clear_cookie(request: Request, response: Response, base: str) -> None:
    response.delete_cookie(cookie_name(request, base), path="/", httponly=True, secure=secure_transport(request),
                           samesite="strict")


def lang_of(request: Request) -> str:
    """Spanish unless the English switch was used (a plain, non-secret preference cookie)."""
    return "en" if request.cookies.get(LANG_COOKIE) == "en" else "es"


def csrf_for(deps: Deps, secret: str) -> str:
    return deps.box.code_hash(f"csrf:{secret}")


def session_token(request: Request) -> str | None:
    return request.cookies.get(cookie_name(request, SESSION_COOKIE))


def _when(lang: str) -> Callable[[int | None], str]:
    def when(seconds: int | None) -> str:
        return words.human_when(seconds, lang)  # one human format per language (console, PDF, wallet)

    return when


def _day(seconds: int | None) -> str:
    if not seconds:
        return "—"
    return datetime.fromtimestamp(seconds, UTC).astimezone(COLOMBIA).strftime("%Y-%m-%d")


def day_start(text: str | None) -> int | None:
    """The first second of a YYYY-MM-DD day in Colombia, for date filters (422 if not a date)."""
    if not text:
        return None
    try:
        return int(datetime.combine(date.fromisoformat(text), time(0, 0), COLOMBIA).timestamp())
    except ValueError:
        raise Invalid("date_invalid") from None


@dataclass
class Console:
    """The signed-in staff member on a console page."""

    request: Request
    deps: Deps
    current: Current
    lang: str
    csrf: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def staff(self) -> Staff:
        return self.current.staff

    def msg(self, key: str, **values: object) -> str:
        """An entry of the one catalog (web_common/i18n) in the console's language."""
        return text(key, self.lang, **values)

    def require(self, permission: str) -> None:
        self.staff.require(permission)


def base_context(request: Request, lang: str, console: Console | None = None) -> dict[str, Any]:
    def msg(key: str, **values: object) -> str:  # an entry of the one catalog (web_common/i18n)
        return text(key, lang, **values)

    context: dict[str, Any] = {"request": request, "lang": lang, "msg": msg, "when": _when(lang), "day": _day,
                               "action_label": lambda action: words.action_label(action, lang),
                               "actor_label": lambda actor: words.actor_label(actor, lang),
                               "console": console, "path": request.url.path,
                               "query": str(request.url.query)}
    if console is not None:
        from issuer.approvals import waiting_for

        context.update(staff=console.staff, user=console.current.user, institution=console.current.institution,
                       csrf=console.csrf, can=console.staff.can, waiting=waiting_for(console.deps, console.staff))
    return context


def render(request: Request, template: str, context: dict[str, Any] | None = None, *, status: int = 200,
           console: Console | None = None, lang: str | None = None) -> HTMLResponse:
    lang = lang or (console.lang if console else lang_of(request))
    full = base_context(request, lang, console)
    full.update(context or {})
    response = TEMPLATES.TemplateResponse(request, template, full, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


def redirect(url: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    response.headers.update(SECURITY_HEADERS)
    return response


def safe_next(value: str | None) -> str:
    """Only console paths: never an open redirect to another site."""
    if value and value.startswith("/console") and not value.startswith("//") and "\\" not in value:
        return value
    return "/console"


def signed_in_any(request: Request) -> Current:
    """Any live session, even one that must change its password (for the password page itself)."""
    deps = deps_of(request)
    current = accounts.current(deps, session_token(request))
    if current is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise Redirect("/console/login?next=" + quote(target if request.method == "GET" else "/console"))
    if current.row.stage != "active":
        raise Redirect("/console/login/code")
    return current


def console_of(request: Request, current: Current) -> Console:
    deps = deps_of(request)
    return Console(request, deps, current, lang_of(request), csrf_for(deps, current.token))


def signed_in(request: Request) -> Console:
    current = signed_in_any(request)
    if current.user.must_change_password:
        raise Redirect("/console/password")
    return console_of(request, current)


ConsoleDep = Annotated[Console, Depends(signed_in)]


def same_origin(request: Request) -> bool:
    """A browser's Origin (or Referer) header, when sent, must be this console's own origin."""
    origin = request.headers.get("origin") or ""
    if not origin:
        referer = request.headers.get("referer") or ""
        if not referer:
            return True
        parts = referer.split("/")
        origin = "/".join(parts[:3]) if len(parts) >= 3 else ""
    own = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"
    return origin == own


async def checked_form(request: Request, expected: str) -> FormData:
    """The posted form, after the CSRF token and the origin are checked."""
    form = await request.form(max_files=1, max_fields=100)
    sent = form.get("csrf")
    if not isinstance(sent, str) or not hmac.compare_digest(sent, expected) or not same_origin(request):
        await form.close()
        raise CsrfRejected()
    return form


async def console_form(request: Request, console: ConsoleDep) -> FormData:
    return await checked_form(request, console.csrf)


FormDep = Annotated[FormData, Depends(console_form)]


def form_text(form: FormData, name: str, limit: int = 500) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def new_pre_secret() -> str:
    return secrets.token_urlsafe(24)


def error_page(request: Request, exc: ServiceError) -> HTMLResponse:
    """A service error on a console page, as a page in the user's language (never JSON)."""
    lang = lang_of(request)
    try:
        current = accounts.current(deps_of(request), session_token(request))
    except DATABASE_UNAVAILABLE:  # the error being shown may be that the database is down: no menu then
        current = None
    console = console_of(request, current) if current and current.row.stage == "active" else None
    return render(request, "error.html", {"error": exc, "message": exc.message(lang)}, status=exc.status,
                  console=console, lang=lang)
