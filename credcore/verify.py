"""The verification recipe: a QR text or compact SD-JWT → a verdict with its checks.

Order (abort at the first failure, security.md preamble): format → issuer trust (key from the
trust list by iss+kid) → signature → accreditation for the vct → validity (exp required, nbf, iat)
→ disclosures (RFC 9901 §7.1) → disclosed claims against the type → holder binding → status.
The status list is consulted last, only for an otherwise valid credential.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from credcore import jws, qr, status_list
from credcore.clock import Clock
from credcore.credential_types import TypeRegistry
from credcore.errors import (
    CredentialError,
    DisclosureError,
    ExpiredError,
    KeyBindingError,
    MalformedError,
    NotYetValidError,
    RevokedError,
    StatusUnavailableError,
    SuspendedError,
)
from credcore.issue import LEGACY_TYP, REGISTERED_CLAIMS, SD_JWT_VC_TYP
from credcore.key_binding import HolderKeys, KeyBindingPolicy, holder_key_from_cnf, verify_kb_jwt
from credcore.keys import PublicKey
from credcore.messages import CHECK_NAMES, message
from credcore.ports import NonceStore, StatusListSource
from credcore.sdjwt import SdJwt, parse_compact, process_disclosures, sd_alg_of
from credcore.trust import TrustList

T = TypeVar("T")
CRITICAL_CLAIMS = frozenset({"iss", "vct", "vct#integrity", "iat", "exp", "nbf", "cnf", "status"})
MAX_NUMERIC_DATE = 253_402_300_799  # 9999-12-31T23:59:59Z


@dataclass(frozen=True)
class VerificationPolicy:
    key_binding: KeyBindingPolicy = field(default_factory=KeyBindingPolicy)
    require_holder_binding: bool = False  # True refuses paper credentials (bank flow)
    require_status: bool = True
    leeway: int = 60
    accept_legacy_typ: bool = False
    max_status_inflated: int = status_list.MAX_INFLATED
    trust_list_grace: int | None = None  # seconds past the list's next_update; None: no limit (offline)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    code: str | None = None


@dataclass
class VerifiedCredential:
    issuer_id: str
    issuer_name: str
    vct: str
    type_id: str
    claims: dict[str, Any]
    holder_binding: str
    iat: int
    exp: int
    status: tuple[str, int] | None


@dataclass
class VerificationReport:
    valid: bool
    verdict: str
    checks: list[Check]
    credential: VerifiedCredential | None = None
    error: CredentialError | None = None
    partial: dict[str, Any] = field(default_factory=dict)

    def as_json(self, lang: str = "es", types: TypeRegistry | None = None) -> dict[str, Any]:
        """The report of PRODUCT.md. Claims only when valid: a rejected credential yields none."""
        cred = self.credential
        ctype = types.by_id.get(cred.type_id) if types and cred else None
        issuer = self.partial.get("issuer")
        return {
            "valid": self.valid,
            "verdict": self.verdict,
            "credential_type": cred.type_id if cred else self.partial.get("type_id"),
            "credential_name": ctype.name(lang) if ctype else None,
            "issuer": {"id": cred.issuer_id, "name": cred.issuer_name} if cred else issuer,
            "claims": cred.claims if cred and self.valid else {},
            "labels": {k: ctype.label(k, lang) for k in cred.claims} if ctype and cred and self.valid else {},
            "holder_binding": cred.holder_binding if cred and self.valid else "absent",
            "expires_at": cred.exp if cred and self.valid else None,
            "checks": [
                {"name": c.name, "label": _check_label(c.name, lang), "ok": c.ok, "code": c.code}
                for c in self.checks
            ],
            "error": None if self.error is None else {
                "code": self.error.code,
                "message": message(self.error.code, lang),
                "detail": self.error.description,
            },
        }


def _check_label(name: str, lang: str) -> str:
    es, en = CHECK_NAMES.get(name, (name, name))
    return en if lang == "en" else es


class _Run:
    """Records each check as it passes; the first failure is recorded and re-raised."""

    def __init__(self) -> None:
        self.checks: list[Check] = []
        self.partial: dict[str, Any] = {}

    def step(self, name: str, action: Callable[[], T]) -> T:
        try:
            result = action()
        except CredentialError as exc:
            self.checks.append(Check(name, False, exc.code))
            raise
        self.checks.append(Check(name, True))
        return result


def _numeric_date(claims: dict[str, Any], name: str, required: bool) -> int | None:
    value = claims.get(name)
    if value is None:
        if required:
            code = "exp_missing" if name == "exp" else "malformed"
            raise MalformedError(f"required claim {name} is missing", code=code)
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_NUMERIC_DATE:
        raise MalformedError(f"claim {name} is not a valid NumericDate")
    return value


def _check_validity(claims: dict[str, Any], now: int, leeway: int) -> tuple[int, int]:
    exp = _numeric_date(claims, "exp", True)
    iat = _numeric_date(claims, "iat", True)
    nbf = _numeric_date(claims, "nbf", False)
    assert exp is not None and iat is not None
    if now > exp + leeway:
        raise ExpiredError("the credential has expired")
    if nbf is not None and nbf > now + leeway:
        raise NotYetValidError("the credential is not valid yet")
    if iat > now + leeway:
        raise NotYetValidError("the credential was issued in the future", code="iat_invalid")
    return iat, exp


def _disclose(payload: dict[str, Any], sd: SdJwt) -> dict[str, Any]:
    processed = process_disclosures(payload, sd.disclosures)
    for path in processed.paths.values():
        if path[0] in CRITICAL_CLAIMS:
            raise DisclosureError("a validity-critical claim was selectively disclosable",
                                  code="critical_claim_disclosable")
    return processed.claims


def parse_input(text: str, points: qr.P256Points | None = None) -> SdJwt:
    """A scanned QR text (``PT1:…``) or a compact SD-JWT, leading/trailing whitespace ignored
    (``points``: a long-lived verifier's decompressed P-256 points, see :class:`VerifierMemory`)."""
    if not isinstance(text, str):
        raise MalformedError("input must be text")
    text = text.strip()
    if text.startswith(qr.PREFIX) or text[:2].upper() == qr.PREFIX[:2]:
        text = qr.decode(text, points)
    return parse_compact(text)


@dataclass
class VerifierMemory:
    """What a long-lived verifier remembers between verifications, all pure functions of their inputs:
    holder keys already imported, status list tokens already verified with the same key, the P-256
    points of PT1 QRs already decompressed. The verifier owns one and passes it to every call;
    without one nothing is remembered."""

    holder_keys: HolderKeys = field(default_factory=HolderKeys)
    status_lists: status_list.VerifiedStatusLists = field(default_factory=status_list.VerifiedStatusLists)
    qr_points: qr.P256Points = field(default_factory=qr.P256Points)


def verify_presentation(
    text: str,
    *,
    trust: TrustList,
    types: TypeRegistry,
    clock: Clock,
    policy: VerificationPolicy = VerificationPolicy(),
    status_source: StatusListSource | None = None,
    nonce_store: NonceStore | None = None,
    memory: VerifierMemory | None = None,
    run: _Run | None = None,
) -> VerifiedCredential:
    """Verify and return the credential; raise the first :class:`CredentialError` met."""
    run = run or _Run()
    now = clock.now()
    typs = (SD_JWT_VC_TYP, LEGACY_TYP) if policy.accept_legacy_typ else (SD_JWT_VC_TYP,)

    def fmt() -> tuple[SdJwt, jws.Jws, dict[str, Any]]:
        sd = parse_input(text, memory.qr_points if memory is not None else None)
        token = jws.parse(sd.issuer_jwt)
        jws.check_header(token, typs)
        return sd, token, token.claims()

    sd, token, payload = run.step("format", fmt)

    def issuer_trust() -> PublicKey:
        trust.check_current(now, policy.trust_list_grace)
        return trust.key_for(payload.get("iss"), token.header, now=now)

    key = run.step("issuer_trust", issuer_trust)
    issuer = trust.issuer(payload.get("iss"))
    iss = issuer.id
    run.partial["issuer"] = {"id": issuer.id, "name": issuer.name}
    run.step("signature", lambda: jws.verify_signature(token, key))
    run.step("accreditation", lambda: trust.check_accreditation(iss, payload.get("vct")))
    vct = str(payload["vct"])
    iat, exp = run.step("validity", lambda: _check_validity(payload, now, policy.leeway))
    claims = run.step("disclosures", lambda: _disclose(payload, sd))
    ctype = types.for_vct(vct) if vct in types.by_vct else None
    run.partial["type_id"] = ctype.id if ctype else None
    shown = {k: v for k, v in claims.items() if k not in REGISTERED_CLAIMS}

    def claims_check() -> None:
        if ctype is None:
            raise MalformedError("unknown credential type (vct)", code="unknown_type")
        ctype.validate_disclosed(shown)
        ctype.check_dates_not_after(shown, datetime.fromtimestamp(iat, UTC).date())

    run.step("claims", claims_check)
    assert ctype is not None
    binding = run.step("holder_binding", lambda: _holder_binding(sd, payload, policy, now, nonce_store, memory))
    if "status" not in payload and not (policy.require_status and trust.status_required(iss, vct)):
        # SD-JWT VC makes status optional; the trust list (or the caller's policy) says this issuer
        # and type may go without, and the report says so rather than hiding the check.
        run.checks.append(Check("status", True, "not_applicable"))
        reference = None
    else:
        reference = run.step("status", lambda: _status(payload, iss, trust, policy, now, status_source, memory))
    return VerifiedCredential(issuer.id, issuer.name, vct, ctype.id, shown, binding, iat, exp, reference)


def _holder_binding(
    sd: SdJwt, payload: dict[str, Any], policy: VerificationPolicy, now: int, nonce_store: NonceStore | None,
    memory: VerifierMemory | None,
) -> str:
    if "cnf" not in payload:
        if sd.kb_jwt is not None:
            raise KeyBindingError("a credential without cnf cannot carry a KB-JWT", code="kb_unexpected")
        if policy.require_holder_binding:
            raise KeyBindingError("this verifier requires holder binding", code="kb_missing")
        return "absent"
    holder = holder_key_from_cnf(payload["cnf"], memory.holder_keys if memory is not None else None)
    if sd.kb_jwt is None:
        raise KeyBindingError("the key-binding JWT is missing", code="kb_missing")
    verify_kb_jwt(sd.kb_jwt, sd.without_kb(), holder, policy=policy.key_binding, now=now,
                  nonce_store=nonce_store, sd_alg=sd_alg_of(payload))
    return "verified"


def _status(
    payload: dict[str, Any],
    iss: str,
    trust: TrustList,
    policy: VerificationPolicy,
    now: int,
    source: StatusListSource | None,
    memory: VerifierMemory | None,
) -> tuple[str, int] | None:
    reference = status_list.reference(payload)
    if reference is None:
        raise StatusUnavailableError("the credential has no status reference", code="status_missing")
    uri, idx = reference
    if not status_list.hosted_by(uri, iss):
        raise StatusUnavailableError("status list is not hosted by the issuer", code="status_invalid")
    if source is None:
        raise StatusUnavailableError("no status list available offline for this credential")
    try:
        token = source.status_list_token(uri)
    except StatusUnavailableError:
        raise
    except Exception as exc:  # any failure of the port is never "valid", nor another verdict
        raise StatusUnavailableError("status list could not be fetched") from exc
    verify = memory.status_lists.verify if memory is not None else status_list.verify_status_list_token
    parsed = verify(token, uri=uri, resolve_key=trust.resolver(iss, now=now), now=now,
                    max_inflated=policy.max_status_inflated)
    try:
        value = parsed.status_list.get(idx)
    except CredentialError as exc:
        raise StatusUnavailableError("status index outside the list", code="status_invalid") from exc
    if value == status_list.INVALID:
        raise RevokedError("revoked")
    if value == status_list.SUSPENDED:
        raise SuspendedError("suspended")
    if value != status_list.VALID:
        raise StatusUnavailableError(f"unknown status value {value}", code="status_invalid")
    return reference


def verification_report(text: Any, **kwargs: Any) -> VerificationReport:
    """:func:`verify_presentation` as a report that never raises for any input."""
    run = _Run()
    try:
        credential = verify_presentation(text, run=run, **kwargs)
    except CredentialError as exc:
        return VerificationReport(False, exc.verdict, run.checks, None, exc, run.partial)
    return VerificationReport(True, "valid", run.checks, credential, None, run.partial)
