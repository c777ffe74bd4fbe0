"""Staff API: issue, read, search and change the status of credentials; offer QR and printable PDF;
the audit log. Every query is scoped to the caller's institution."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from credcore import qr
from issuer import audit, idempotency
from issuer import credentials as creds
from issuer.api.common import MAX_INT, DepsDep, IssuerRoute, LangDep, StaffDep, permitted
from issuer.api.models import AuditLog, CredentialIssued, CredentialPage, CredentialRecord, CredentialReissued
from issuer.db.models import Credential, Institution, Offer
from issuer.deps import Deps
from issuer.errors import NotFound
from issuer.oid4vci import find_offer_for, offer_uri
from issuer.staff import Staff
from servicekit import qr_image

router = APIRouter(prefix="/api/v1", tags=["staff"], route_class=IssuerRoute)


class IssueRequest(BaseModel):
    """Only these fields are read: issuer, status index, kid or role never come from the client."""

    model_config = ConfigDict(extra="forbid")
    type: str = Field(max_length=64)
    claims: dict[str, Any]
    valid_until: int | None = Field(default=None, ge=0, le=253_402_300_799)


class StatusRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500)


def _links(record_id: str) -> dict[str, str]:
    return {"self": f"/api/v1/credentials/{record_id}", "offer_qr": f"/api/v1/credentials/{record_id}/offer.png",
            "pdf": f"/api/v1/credentials/{record_id}/pdf"}


def _offer_body(deps: Deps, institution: Institution, offer: Offer, tx_code: str) -> dict[str, Any]:
    return {"offer_uri": offer_uri(deps, institution, offer), "tx_code": tx_code, "expires_at": offer.expires_at}


@router.post("/credentials", status_code=201, response_model=CredentialIssued)
def issue(body: IssueRequest, request: Request, deps: DepsDep, staff: Annotated[Staff, permitted("issue")],
          lang: LangDep, idempotency_key: Annotated[str | None, Header()] = None) -> Response:
    """Issue one credential: 201 with its id, the OpenID4VCI offer (URI, tx_code, expiry) and links."""
    claimed = idempotency.begin(deps, staff, idempotency_key, body.model_dump())
    if isinstance(claimed, dict):
        return JSONResponse(claimed["body"], status_code=claimed["status"],
                            headers={"Idempotent-Replayed": "true"})

    def finish(session: Session, issued: creds.Issued) -> None:
        idempotency.complete(session, deps, claimed, 201, _issue_response(deps, staff.institution, issued))

    try:
        issued = creds.issue_one(deps, staff, type_id=body.type, claims=body.claims, valid_until=body.valid_until,
                                 lang=lang, in_transaction=finish)
    except Exception:
        idempotency.abandon(deps, claimed)
        raise
    request.app.state.metrics.events.labels("credentials_issued").inc()
    headers = {"Location": f"/api/v1/credentials/{issued.credential.id}", "Cache-Control": "no-store"}
    return JSONResponse(_issue_response(deps, staff.institution, issued), status_code=201, headers=headers)


def _issue_response(deps: Deps, institution: Institution, issued: creds.Issued) -> dict[str, Any]:
    return {"id": issued.credential.id, "type": issued.credential.type_id, "status": "valid",
            "valid_until": issued.credential.valid_until,
            "offer": _offer_body(deps, institution, issued.offer, issued.tx_code),
            "links": _links(issued.credential.id)}


@router.get("/credentials/{credential_id}", response_model=CredentialRecord, response_model_exclude_unset=True)
def get_credential(credential_id: str, deps: DepsDep, staff: StaffDep) -> dict[str, Any]:
    with deps.session() as session:
        record = creds.get_scoped(session, staff, credential_id)
        body = creds.describe(deps, session, record, with_claims=staff.can("read_claims"))
        body["links"] = _links(record.id)
        return body


@router.get("/credentials", response_model=CredentialPage, response_model_exclude_unset=True)
def list_credentials(
    deps: DepsDep, staff: StaffDep,
    type: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[Literal["valid", "revoked", "suspended"] | None, Query()] = None,
    document_number: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> dict[str, Any]:
    with deps.session() as session:
        found = creds.search(session, deps, staff, type_id=type, status=status, document_number=document_number,
                             limit=limit, offset=offset)
        items = [creds.describe(deps, session, record, with_claims=False) for record in found]
    return {"items": items, "count": len(items), "limit": limit, "offset": offset}


@router.post("/credentials/{credential_id}/reissue", status_code=201, response_model=CredentialReissued)
def reissue(credential_id: str, request: Request, deps: DepsDep, staff: Annotated[Staff, permitted("issue")],
            idempotency_key: Annotated[str | None, Header()] = None) -> Response:
    """Issue a credential again for a new phone (the old one lost, broken or replaced): 201 with the
    new credential and its offer, like an issuance, plus ``replaces``. When a wallet redeems the new
    offer, the old credential is revoked with the reason "teléfono reemplazado". The old offer, and
    any earlier re-issuance not yet redeemed, stop working at once (security cases #166–#170, #174)."""
    claimed = idempotency.begin(deps, staff, idempotency_key, {"reissue": credential_id})
    if isinstance(claimed, dict):
        return JSONResponse(claimed["body"], status_code=claimed["status"],
                            headers={"Idempotent-Replayed": "true"})
    def finish(session: Session, issued: creds.Issued) -> None:
        body = {**_issue_response(deps, staff.institution, issued), "replaces": issued.credential.replaces}
        idempotency.complete(session, deps, claimed, 201, body)

    try:
        issued, original = creds.reissue(deps, staff, credential_id, in_transaction=finish)
    except Exception:
        idempotency.abandon(deps, claimed)
        raise
    request.app.state.metrics.events.labels("credentials_reissued").inc()
    body = {**_issue_response(deps, staff.institution, issued), "replaces": original}
    headers = {"Location": f"/api/v1/credentials/{issued.credential.id}", "Cache-Control": "no-store"}
    return JSONResponse(body, status_code=201, headers=headers)


@router.post("/credentials/{credential_id}/{action}", response_model=CredentialRecord,
             response_model_exclude_unset=True)
def change_status(credential_id: str, action: Literal["revoke", "suspend", "reinstate"], body: StatusRequest,
                  request: Request, deps: DepsDep, staff: Annotated[Staff, permitted("status")]) -> dict[str, Any]:
    record = creds.change_status(deps, staff, credential_id, action, body.reason)
    request.app.state.metrics.events.labels(f"credentials_{action}").inc()
    with deps.session() as session:
        return creds.describe(deps, session, record, with_claims=False)


def _offer_of(session: Session, deps: Deps, record: Credential) -> tuple[Offer, str]:
    offer = find_offer_for(session, record.id)
    if offer is None:
        raise NotFound("offer_not_found")
    return offer, deps.box.open(offer.tx_code_sealed, f"tx:{offer.id}").decode()


@router.get("/credentials/{credential_id}/offer.png")
def offer_png(credential_id: str, deps: DepsDep, staff: StaffDep) -> Response:
    """The OpenID4VCI offer as a QR code, for a wallet to scan (the tx_code is given separately)."""
    staff.require("read_claims")
    with deps.session() as session:
        record = creds.get_scoped(session, staff, credential_id)
        offer, _ = _offer_of(session, deps, record)
        png = qr_image.render_png(offer_uri(deps, staff.institution, offer), "M", box_size=8)
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


@router.get("/credentials/{credential_id}/pdf")
def printable_pdf(credential_id: str, deps: DepsDep, staff: StaffDep) -> Response:
    """A4 PDF for a holder without a phone: the paper QR, the claims in Spanish and English, the
    issuer, and the offer QR with its tx_code to load the full credential into a wallet later."""
    from issuer.institutions import contact_line
    from issuer.pdf import render_credential_pdf

    staff.require("read_claims")
    with deps.session() as session:
        record = creds.get_scoped(session, staff, credential_id)
        offer, tx_code = _offer_of(session, deps, record)
        pdf = render_credential_pdf(
            institution_name=staff.institution.name, ctype=deps.types.get(record.type_id),
            claims=creds.claims_of(deps, record), paper_qr=qr.encode(creds.paper_of(deps, record)),
            offer_uri=offer_uri(deps, staff.institution, offer), tx_code=tx_code,
            valid_until=record.valid_until, credential_id=record.id,
            institution_contact=contact_line(staff.institution),
        )
    return Response(pdf, media_type="application/pdf",
                    headers={"Cache-Control": "no-store",
                             "Content-Disposition": f'inline; filename="puente-{record.id}.pdf"'})


@router.get("/audit", response_model=AuditLog, response_model_exclude_unset=True)
def audit_log(deps: DepsDep, staff: StaffDep, after: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
              limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> dict[str, Any]:
    """The institution's events in the hash-chained log (the whole chain is checked with
    ``puente audit verify``)."""
    staff.require("audit")
    with deps.session() as session:
        return {"events": audit.events_of(session, staff.institution.id, after=after, limit=limit)}

