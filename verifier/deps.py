"""FastAPI dependencies of the verifier's routers: the service built by ``create_app``, the
reader's language, a bearer token. All are ``async``: FastAPI would run a plain ``def`` dependency
in a worker thread, a hand-off that costs more than these few lines."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from credcore.messages import negotiate
from verifier.service import VerifierService

MAX_BEARER = 256


async def service_of(request: Request) -> VerifierService:
    service: VerifierService = request.app.state.service
    return service


async def language(accept_language: Annotated[str | None, Header()] = None) -> str:
    return negotiate(accept_language)


async def bearer(authorization: Annotated[str | None, Header()] = None) -> str | None:
    """The token of ``Authorization: Bearer <token>``, or None when absent or malformed."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token and len(token) <= MAX_BEARER else None


Service = Annotated[VerifierService, Depends(service_of)]
Lang = Annotated[str, Depends(language)]
Bearer = Annotated[str | None, Depends(bearer)]
