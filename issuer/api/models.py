"""Response models of the issuer's staff API: what the OpenAPI document shows. Routes answer with the
same JSON they always did: extra members are allowed and, with ``response_model_exclude_unset``, a
member the route did not send is not added."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from servicekit.hostile import MAX_INT

Time = Annotated[int, Field(ge=0, le=253_402_300_799)]  # seconds since 1970, up to the year 9999
Count = Annotated[int, Field(ge=0, le=MAX_INT)]


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class OfferBody(Open):
    """The OpenID4VCI offer a holder's wallet redeems: the URI (as a QR), the tx_code told apart."""

    offer_uri: str
    tx_code: str
    expires_at: Time


class CredentialIssued(Open):
    id: str
    type: str
    status: str
    valid_until: Time | None = None
    offer: OfferBody
    links: dict[str, str]


class CredentialReissued(CredentialIssued):
    """A re-issuance for a new phone: the new credential, and the one its redemption revokes."""

    replaces: str


class StatusListEntry(Open):
    uri: str
    idx: Count


class CredentialRecord(Open):
    """A credential as the staff sees it; ``claims`` only with the ``read_claims`` permission."""

    id: str
    type: str
    status: str
    status_reason: str | None = None
    issuer: str
    status_list: StatusListEntry
    valid_until: Time | None = None
    created_at: Time
    delivered: bool
    batch_id: str | None = None
    claims: dict[str, Any] | None = None
    links: dict[str, str] | None = None


class CredentialPage(Open):
    items: list[CredentialRecord]
    count: Count
    limit: Count
    offset: Count


class AuditEventBody(Open):
    seq: Count
    at: Time
    actor: str
    action: str
    target: str | None = None
    outcome: str
    details: dict[str, Any]
    hash: str
    prev_hash: str


class AuditLog(Open):
    events: list[AuditEventBody]


class BatchAccepted(Open):
    id: str
    state: str
    total: Count
    links: dict[str, str]


class BatchProgress(Open):
    id: str
    type: str
    state: str
    total: Count
    processed: Count
    issued: Count
    failed: Count
    created_at: Time
    finished_at: Time | None = None


# ----------------------------------------------------------------------------- OpenID4VCI and public documents


class CredentialOffer(Open):
    credential_issuer: str
    credential_configuration_ids: list[str]
    grants: dict[str, Any]


class TokenAnswer(Open):
    access_token: str
    token_type: str
    expires_in: Count


class NonceAnswer(Open):
    c_nonce: str


class IssuedCopy(Open):
    credential: str


class CredentialAnswer(Open):
    """One SD-JWT VC per proof: the copies of a batch issuance, each bound to its own key."""

    credentials: list[IssuedCopy]


class IssuerMetadata(Open):
    credential_issuer: str
    credential_endpoint: str
    nonce_endpoint: str
    credential_configurations_supported: dict[str, Any]


class AuthorizationServerMetadata(Open):
    issuer: str
    token_endpoint: str
    grant_types_supported: list[str]


class JwtVcIssuerMetadata(Open):
    issuer: str
    jwks: dict[str, Any]
