"""The issuer's ``/``: a small page for whoever opens the service's address (an officer, a
developer, a verifier's operator) linking the staff console, the API documentation and the trust
list, instead of a JSON 404."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from issuer.console.routing import ConsoleRoute
from issuer.console.web import render

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)


@router.get("/")
def landing(request: Request) -> Response:
    return render(request, "landing.html")
