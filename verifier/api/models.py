"""Response models of the verifier's routers: what the OpenAPI document shows (routes answer with
the same JSON they always did; extra members are allowed so a report is never cut)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

UnixTime = Annotated[int, Field(ge=0, le=2_147_483_647)]
HttpStatus = Annotated[int, Field(ge=100, le=599)]


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Check(Open):
    name: str
    label: str
    ok: bool
    code: str | None = None


class ReportError(Open):
    code: str
    message: str
    detail: str | None = None


class Issuer(Open):
    id: str | None = None
    name: str | None = None


class Report(Open):
    """The verification report of PRODUCT.md: claims only when valid."""

    valid: bool
    verdict: str
    credential_type: str | None = None
    credential_name: str | None = None
    issuer: Issuer | None = None
    claims: dict[str, Any]
    labels: dict[str, str]
    holder_binding: str
    expires_at: UnixTime | None = None
    checks: list[Check]
    error: ReportError | None = None
    status_checked_at: UnixTime | None = None


class Problem(Open):
    """RFC 9457 problem details with Puente's stable ``code``."""

    type: str
    title: str
    status: HttpStatus
    code: str
    detail: str | None = None


class PresentationRequestCreated(Open):
    id: str
    status: str
    result_token: str
    expires_at: UnixTime
    client_id: str
    request_uri: str
    qr: str
    qr_png: str
    result_uri: str
    dcql_query: dict[str, Any]


class PresentedCredential(Report):
    dcql_satisfied: bool


class PresentationOutcome(Open):
    valid: bool
    verdict: str
    credentials: dict[str, PresentedCredential | list[PresentedCredential]]
    error: ReportError | None = None


class PresentationStatus(Open):
    id: str
    status: str
    expires_at: UnixTime
    request_fetched: bool
    claims_deleted: bool
    result: PresentationOutcome | None = None


class WalletError(Open):
    error: str
    error_description: str | None = None


class WalletAccepted(Open):
    """``{}``: the answer was processed; the frontend reads the verdict."""


class PageToken(Open):
    token: str
    expires_at: UnixTime


PROBLEMS: dict[int | str, dict[str, Any]] = {status: {"model": Problem} for status in (401, 404, 413, 422, 429, 503)}


Seconds = Annotated[int, Field(ge=0, le=2_147_483_647)]


class OfflineKeyBinding(Open):
    audience: str
    max_age: Seconds
    leeway: Seconds


class OfflineConfig(Open):
    """What the scanning page needs to verify offline with the service's own limits."""

    registry_jwk: dict[str, Any]
    trust_list_max_age_seconds: Seconds
    status_max_age_seconds: Seconds
    status_ttl_min_seconds: Seconds
    status_ttl_max_seconds: Seconds
    key_binding: OfflineKeyBinding
    leeway: Seconds
    messages: dict[str, Any]
    checks: dict[str, Any]


class StatusListAddresses(Open):
    uris: list[str]
