"""``POST /api/v1/verify``: a scanned QR text or a compact SD-JWT in, the report out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from verifier.api.models import PROBLEMS, Report
from verifier.deps import Lang, Service

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


@router.post("/verify", response_model=Report, responses={413: PROBLEMS[413], 422: PROBLEMS[422]})
async def verify(body: VerifyRequest, request: Request, service: Service, lang: Lang) -> Response:
    """Verify offline-format QR texts and SD-JWT presentations. Always 200 with a report for any
    credential, valid or not; 422 only for a request of the wrong shape, 413 when too large."""
    text = body.qr if body.qr is not None else body.presentation
    assert text is not None
    # Verification is CPU work of about a millisecond: done right here in the event loop it costs no
    # thread hand-off and no GIL contention. Only when it may wait on the network (a status list to
    # fetch) does it go to a worker thread, so that a slow issuer never holds up other requests.
    compact, may_wait = service.plan(text)
    report = await service.verify_async(compact, lang, offload=may_wait)
    request.app.state.metrics.events.labels(f"verdict_{report['verdict']}").inc()
    return JSONResponse(report)
