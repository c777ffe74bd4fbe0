"""``POST /api/v1/verify``: a scanned QR text or a compact SD-JWT in, the report out."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from credcore.messages import negotiate
from verifier.service import VerifierService

router = APIRouter(prefix="/api/v1", tags=["verify"])
MAX_INPUT = 48 * 1024


class VerifyRequest(BaseModel):
    """Exactly one of ``qr`` (the scanned text, "PT1:…") or ``presentation`` (compact SD-JWT)."""

    model_config = ConfigDict(extra="forbid")
    qr: str | None = Field(default=None, max_length=MAX_INPUT)
    presentation: str | None = Field(default=None, max_length=MAX_INPUT)

    @model_validator(mode="after")
    def exactly_one(self) -> VerifyRequest:
        if (self.qr is None) == (self.presentation is None):
            raise ValueError("give exactly one of qr or presentation")
        return self


def service_of(request: Request) -> VerifierService:
    service: VerifierService = request.app.state.service
    return service


@router.post("/verify")
def verify(body: VerifyRequest, request: Request,
           accept_language: Annotated[str | None, Header()] = None) -> dict[str, Any]:
    """Verify offline-format QR texts and SD-JWT presentations. Always 200 with a report for any
    credential, valid or not; 422 only for a request of the wrong shape, 413 when too large."""
    service = service_of(request)
    lang = negotiate(accept_language)
    text = body.qr if body.qr is not None else body.presentation
    assert text is not None
    report = service.verify(text, lang)
    request.app.state.metrics.events.labels(f"verdict_{report['verdict']}").inc()
    return report
