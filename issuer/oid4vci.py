"""OpenID4VCI 1.0, pre-authorized code flow with a tx_code (standards.md §4).

The offer object is fetched by reference; every fetch mints a fresh, single-use pre-authorized
code valid for minutes, while the offer itself (printed on paper, say) lives for weeks and dies
after ``tx_code_max_attempts`` wrong codes or once redeemed. The credential is signed only at
redemption, bound to the key proven in the ``openid4vci-proof+jwt``. A wallet may prove up to
``credential_batch_size`` distinct keys with one c_nonce (batch issuance, OpenID4VCI 1.0 §8.2):
it gets one copy per key, each with its own salts and decoys so verifiers cannot link them by the
issuer's signature or digests, all sharing the credential's one status entry (a revocation covers
every copy).
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from credcore import jws
from credcore.errors import CredentialError
from credcore.issue import issue_credential
from credcore.keys import PublicKey, public_key_from_jwk
from credcore.messages import bilingual
from issuer import audit
from issuer.credentials import claims_of, lock_row, revoke_replaced
from issuer.db.models import Credential, Institution, Offer, OneTimeCode, StatusListRow
from issuer.deps import Deps
from issuer.institutions import active_key, by_slug, issuer_id
from issuer.repository import scoped
from issuer.statuses import status_uri

PROOF_TYP = "openid4vci-proof+jwt"
PRE_AUTH_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
# Access tokens are plain bearer tokens (not sender-constrained): never longer than 5 minutes,
# whatever the settings say (security.md #118).
ACCESS_TOKEN_MAX_SECONDS = 300


class OAuthError(Exception):
    """An error in the OAuth/OpenID4VCI vocabulary: ``{"error": code, "error_description": …}``."""

    def __init__(self, code: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.code, self.description, self.status = code, description, status


def offer_uri(deps: Deps, institution: Institution, offer: Offer) -> str:
    from urllib.parse import quote

    url = f"{issuer_id(deps, institution)}/offers/{offer.id}"
    return f"openid-credential-offer://?credential_offer_uri={quote(url, safe='')}"


def _new_code(session: Session, deps: Deps, *, kind: str, institution: Institution, ttl: int,
              offer_id: str | None = None) -> str:
    code = secrets.token_urlsafe(32)
    session.add(OneTimeCode(code_hash=deps.box.code_hash(f"{kind}:{code}"), kind=kind,
                            institution_id=institution.id or 0, offer_id=offer_id, expires_at=deps.now() + ttl))
    return code


def _take_code(session: Session, deps: Deps, *, kind: str, institution: Institution, code: Any) -> OneTimeCode | None:
    """The unused, unexpired code of this kind and institution (not yet consumed)."""
    if not isinstance(code, str) or not code or len(code) > 200:
        return None
    row = scoped(session, OneTimeCode, deps.box.code_hash(f"{kind}:{code}"), institution.id)
    if row is None or row.kind != kind:
        return None
    if row.used_at is not None or row.expires_at < deps.now():
        return None
    return row


def _consume(session: Session, deps: Deps, row: OneTimeCode) -> bool:
    """Mark a code used, atomically: of two concurrent requests presenting it, one gets False."""
    result = session.execute(update(OneTimeCode)
                             .where(col(OneTimeCode.code_hash) == row.code_hash, col(OneTimeCode.used_at).is_(None))
                             .values(used_at=deps.now()).execution_options(synchronize_session=False))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _lock_original(session: Session, offer_id: str) -> None:
    """For a replacement's offer, lock the credential it replaces before the offer: a re-issuance
    takes the same locks in the same order (issuer.credentials.lock_row)."""
    offer = session.get(Offer, offer_id)
    record = session.get(Credential, offer.credential_id) if offer is not None else None
    if record is not None and record.replaces is not None:
        lock_row(session, record.replaces)


def _lock_offer(session: Session, offer_id: str) -> Offer | None:
    """The offer, read fresh and held until commit, so token and credential requests for one offer
    run one after another: tx_code attempts are all counted and codes are redeemed once. The no-op
    UPDATE takes the row lock on PostgreSQL and the writer lock on SQLite, both of which wait."""
    session.execute(update(Offer).where(col(Offer.id) == offer_id)
                    .values(failed_attempts=Offer.failed_attempts).execution_options(synchronize_session=False))
    return session.get(Offer, offer_id, populate_existing=True)


def _open_offer(session: Session, deps: Deps, institution: Institution, offer_id: str) -> Offer:
    offer = scoped(session, Offer, offer_id[:64], institution.id)
    if offer is None:
        raise OAuthError("invalid_request", "unknown credential offer", 404)
    if offer.state != "open" or offer.expires_at < deps.now():
        raise OAuthError("invalid_request", "this credential offer is no longer valid", 404)
    record = session.get(Credential, offer.credential_id)
    if record is None or record.status != 0:
        raise OAuthError("invalid_request", "this credential offer is no longer valid", 404)
    return offer


def credential_offer(deps: Deps, slug: str, offer_id: str) -> dict[str, Any]:
    with deps.session() as session:
        institution = by_slug(session, slug)
        offer = _open_offer(session, deps, institution, offer_id)
        record = session.get(Credential, offer.credential_id)
        assert record is not None
        code = _new_code(session, deps, kind="pre_auth", institution=institution, offer_id=offer.id,
                         ttl=deps.settings.pre_authorized_code_ttl_seconds)
        session.commit()
    return {
        "credential_issuer": issuer_id(deps, institution),
        "credential_configuration_ids": [record.type_id],
        "grants": {PRE_AUTH_GRANT: {
            "pre-authorized_code": code,
            "tx_code": {"input_mode": "numeric", "length": 6,
                        "description": bilingual("offer.tx_code_description")},
        }},
    }


def token(deps: Deps, slug: str, form: dict[str, str]) -> dict[str, Any]:
    if form.get("grant_type") != PRE_AUTH_GRANT:
        raise OAuthError("unsupported_grant_type", "only the pre-authorized code grant is supported")
    if not form.get("pre-authorized_code"):
        raise OAuthError("invalid_request", "pre-authorized_code is required")
    tx_code = form.get("tx_code")
    if not tx_code:
        raise OAuthError("invalid_request", "tx_code is required for this offer")
    with deps.session() as session:
        institution = by_slug(session, slug)
        code = _take_code(session, deps, kind="pre_auth", institution=institution, code=form["pre-authorized_code"])
        if code is None or code.offer_id is None:
            raise OAuthError("invalid_grant", "pre-authorized code is unknown, used or expired")
        offer = _lock_offer(session, code.offer_id)
        if offer is None or offer.state != "open" or offer.expires_at < deps.now():
            raise OAuthError("invalid_grant", "the credential offer is no longer valid")
        if not secrets.compare_digest(deps.box.code_hash(f"{offer.id}:{tx_code}"), offer.tx_code_hash):
            offer.failed_attempts += 1
            dead = offer.failed_attempts >= deps.settings.tx_code_max_attempts
            if dead:
                offer.state = "dead"
            session.add(offer)
            audit.record(session, at=deps.now(), actor="wallet", action="offer.tx_code_wrong",
                         institution_id=institution.id, target=offer.id, outcome="dead" if dead else "refused",
                         details={"attempts": offer.failed_attempts})
            session.commit()
            raise OAuthError("invalid_grant", "wrong tx_code" + ("; the offer is now closed" if dead else ""))
        if not _consume(session, deps, code):
            raise OAuthError("invalid_grant", "pre-authorized code is unknown, used or expired")
        lifetime = min(deps.settings.access_token_ttl_seconds, ACCESS_TOKEN_MAX_SECONDS)
        access = _new_code(session, deps, kind="access", institution=institution, offer_id=offer.id, ttl=lifetime)
        session.commit()
    return {"access_token": access, "token_type": "Bearer", "expires_in": lifetime}


def nonce(deps: Deps, slug: str) -> dict[str, str]:
    """A fresh c_nonce. The table is bounded: past ``max_live_nonces`` unexpired ones for the
    institution (many clients each within their rate limit), expired rows go first, then 503."""
    with deps.session() as session:
        institution = by_slug(session, slug)
        if _live_nonces(session, deps, institution) >= deps.settings.max_live_nonces:
            session.execute(delete(OneTimeCode).where(col(OneTimeCode.expires_at) < deps.now()))
            if _live_nonces(session, deps, institution) >= deps.settings.max_live_nonces:
                raise OAuthError("temporarily_unavailable", "too many open nonces; retry in a minute", status=503)
        value = _new_code(session, deps, kind="c_nonce", institution=institution,
                          ttl=deps.settings.c_nonce_ttl_seconds)
        session.commit()
    return {"c_nonce": value}


def _live_nonces(session: Session, deps: Deps, institution: Institution) -> int:
    return int(session.exec(select(func.count()).select_from(OneTimeCode).where(
        OneTimeCode.kind == "c_nonce", OneTimeCode.institution_id == institution.id,
        col(OneTimeCode.expires_at) >= deps.now())).one())


def _proof_key(deps: Deps, institution: Institution, proof: Any) -> tuple[PublicKey, Any]:
    """The holder key of one ``jwt`` proof and its nonce claim: typ, alg allow-list, embedded public
    jwk only, signature, audience and iat window."""
    if not isinstance(proof, str):
        raise OAuthError("invalid_proof", "proof must be a compact JWT")
    try:
        parsed = jws.parse(proof)
        jws.check_header(parsed, PROOF_TYP)
        header = parsed.header
        if "kid" in header or "x5c" in header or "trust_chain" in header:
            raise OAuthError("invalid_proof", "the proof key must be given as an embedded jwk")
        jwk = header.get("jwk")
        if isinstance(jwk, dict) and "d" in jwk:
            raise OAuthError("invalid_proof", "the proof header carries a private key")
        holder = public_key_from_jwk(jwk)
        jws.verify_signature(parsed, holder)
        claims = parsed.claims()
    except CredentialError as exc:
        raise OAuthError("invalid_proof", f"proof rejected: {exc.description}") from exc
    if claims.get("aud") != issuer_id(deps, institution):
        raise OAuthError("invalid_proof", "proof audience is not this credential issuer")
    iat = claims.get("iat")
    max_age = deps.settings.proof_max_age_seconds
    if not isinstance(iat, int) or isinstance(iat, bool) or abs(deps.now() - iat) > max_age:
        raise OAuthError("invalid_proof", "proof iat missing or outside the accepted window")
    if "nonce" not in claims:  # OpenID4VCI 1.0 §8.3.1.2: a proof without a c_nonce is invalid_proof
        raise OAuthError("invalid_proof", "the proof must contain the c_nonce from the nonce endpoint")
    return holder, claims["nonce"]


def _verify_proofs(session: Session, deps: Deps, institution: Institution, proofs: Any) -> list[PublicKey]:
    """The holder keys of a credential request: 1 to ``credential_batch_size`` ``jwt`` proofs of
    distinct keys, all carrying the same fresh single-use c_nonce (consumed here, once)."""
    limit = deps.settings.credential_batch_size
    if not isinstance(proofs, dict) or set(proofs) != {"jwt"} or not isinstance(proofs["jwt"], list) \
            or not 1 <= len(proofs["jwt"]) <= limit:
        raise OAuthError("invalid_proof", f"between 1 and {limit} jwt proofs are required")
    checked = [_proof_key(deps, institution, proof) for proof in proofs["jwt"]]
    if len({nonce for _, nonce in checked if isinstance(nonce, str)}) != 1 or \
            not all(isinstance(nonce, str) for _, nonce in checked):
        raise OAuthError("invalid_proof", "every proof of a batch must carry the same c_nonce")
    if len({key.kid for key, _ in checked}) != len(checked):
        raise OAuthError("invalid_proof", "each copy needs its own holder key: a key was proven twice")
    nonce_row = _take_code(session, deps, kind="c_nonce", institution=institution, code=checked[0][1])
    if nonce_row is None or not _consume(session, deps, nonce_row):
        raise OAuthError("invalid_nonce", "c_nonce unknown, used or expired: fetch a new one")
    return [key for key, _ in checked]


def credential(deps: Deps, slug: str, authorization: str | None, body: Any) -> dict[str, Any]:
    if not authorization or not authorization.startswith("Bearer "):
        raise OAuthError("invalid_token", "missing access token", 401)
    with deps.session() as session:
        institution = by_slug(session, slug)
        access = _take_code(session, deps, kind="access", institution=institution,
                            code=authorization[len("Bearer "):].strip())
        if access is None or access.offer_id is None:
            raise OAuthError("invalid_token", "access token unknown, used or expired", 401)
        _lock_original(session, access.offer_id)
        offer = _lock_offer(session, access.offer_id)
        if not _consume(session, deps, access):  # rolled back with everything else if the request fails
            raise OAuthError("invalid_token", "access token unknown, used or expired", 401)
        record = session.get(Credential, offer.credential_id, populate_existing=True) if offer else None
        if offer is None or record is None or offer.state != "open":
            raise OAuthError("credential_request_denied", "the credential offer is no longer valid")
        if record.status != 0:
            raise OAuthError("credential_request_denied", "the credential is revoked or suspended")
        if not isinstance(body, dict):
            raise OAuthError("invalid_credential_request", "the request body must be a JSON object")
        requested = body.get("credential_configuration_id") or body.get("credential_identifier")
        if requested != record.type_id:
            raise OAuthError("unknown_credential_configuration", "this token is for another credential configuration")
        holders = _verify_proofs(session, deps, institution, body.get("proofs"))
        status_row = session.get(StatusListRow, record.status_list_id)
        assert status_row is not None
        claims, key = claims_of(deps, record), active_key(session, deps, institution)
        status = (status_uri(deps, institution, status_row.number), record.status_idx)
        copies = [issue_credential(
            ctype=deps.types.get(record.type_id), claims=claims, issuer=issuer_id(deps, institution), key=key,
            clock=deps.clock, holder_jwk=holder.jwk(), status=status, valid_until=record.valid_until,
            random_bytes=deps.random_bytes,
        ).sd_jwt for holder in holders]
        offer.state = "redeemed"
        record.delivered_at = deps.now()
        session.add_all([offer, record])
        audit.record(session, at=deps.now(), actor="wallet", action="credential.deliver",
                     institution_id=institution.id, target=record.id, details={"copies": len(copies)})
        revoke_replaced(session, deps, record)  # a re-issued credential: the old phone's copy ends now
        session.commit()
    return {"credentials": [{"credential": copy} for copy in copies]}


def contact_of(institution: Institution) -> dict[str, str]:
    """The institution's contact details that are set: phone, email, web."""
    fields = {"phone": institution.contact_phone, "email": institution.contact_email, "web": institution.contact_web}
    return {name: value for name, value in fields.items() if value}


def issuer_metadata(deps: Deps, institution: Institution) -> dict[str, Any]:
    iss = issuer_id(deps, institution)
    configurations = {}
    for type_id in institution.types:
        ctype = deps.types.get(type_id)
        configurations[type_id] = {
            "format": "dc+sd-jwt",
            "vct": ctype.vct,
            "scope": type_id,
            "cryptographic_binding_methods_supported": ["jwk"],
            "credential_signing_alg_values_supported": [deps.settings.signing_alg],
            "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": ["ES256", "EdDSA"]}},
            "credential_metadata": {
                "display": [{"name": ctype.name(lang), "locale": lang} for lang in ("es", "en")],
                "claims": [{"path": [name], "mandatory": name in ctype.schema.get("required", []),
                            "display": [{"name": ctype.label(name, lang), "locale": lang} for lang in ("es", "en")]}
                           for name in ctype.claim_names],
            },
        }
    return {
        "credential_issuer": iss,
        "credential_endpoint": f"{iss}/credential",
        "nonce_endpoint": f"{iss}/nonce",
        "batch_credential_issuance": {"batch_size": deps.settings.credential_batch_size},
        "display": [{"name": institution.name, "locale": "es"}, {"name": institution.name, "locale": "en"}],
        "credential_configurations_supported": configurations,
        # Puente's extension: where holders turn (wallet cards show it on a revoked credential).
        "x-puente": {"contact": contact_of(institution)},
    }


def authorization_server_metadata(deps: Deps, institution: Institution) -> dict[str, Any]:
    iss = issuer_id(deps, institution)
    return {
        "issuer": iss,
        "token_endpoint": f"{iss}/token",
        "grant_types_supported": [PRE_AUTH_GRANT],
        "pre-authorized_grant_anonymous_access_supported": True,
        "response_types_supported": [],
    }


def find_offer_for(session: Session, credential_id: str) -> Offer | None:
    return session.exec(select(Offer).where(Offer.credential_id == credential_id)
                        .order_by(Offer.created_at.desc())).first()  # type: ignore[attr-defined]
