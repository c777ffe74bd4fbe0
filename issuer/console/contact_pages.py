"""The institution's contact details (admins): where holders turn when a credential is revoked or
a phone is lost. Wallet cards and printed PDFs show them (issuer metadata ``x-puente.contact``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlmodel import select

from issuer.console.routing import ConsoleRoute
from issuer.console.web import Console, ConsoleDep, FormDep, form_text, redirect, render
from issuer.db.models import Institution
from issuer.errors import Invalid
from issuer.institutions import set_contact

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)
FIELDS = ("contact_phone", "contact_email", "contact_web")


def _page(request: Request, console: Console, values: dict[str, str], *, errors: dict[str, str] | None = None,
          error: str | None = None, saved: bool = False, status: int = 200) -> Response:
    return render(request, "admin_contact.html", {"values": values, "errors": errors or {}, "error": error,
                                                  "saved": saved}, console=console, status=status)


@router.get("/admin/contact")
def contact_page(request: Request, console: ConsoleDep, saved: Annotated[int, Query(ge=0, le=1)] = 0) -> Response:
    console.require("manage")
    institution = console.staff.institution
    return _page(request, console, {name: getattr(institution, name) or "" for name in FIELDS}, saved=bool(saved))


@router.post("/admin/contact")
def save_contact(request: Request, console: ConsoleDep, form: FormDep) -> Response:
    console.require("manage")
    values = {name: form_text(form, name, 300) for name in FIELDS}
    try:
        with console.deps.session() as session:
            row = session.exec(select(Institution).where(Institution.id == console.staff.institution.id)).one()
            set_contact(session, console.deps, row, phone=values["contact_phone"], email=values["contact_email"],
                        web=values["contact_web"], actor=console.staff.actor)
            session.commit()
    except Invalid as exc:
        key = "message_en" if console.lang == "en" else "message"
        errors = {e["field"]: e[key] for e in exc.errors}
        return _page(request, console, values, errors=errors, error=exc.message(console.lang), status=422)
    return redirect("/console/admin/contact?saved=1")
