"""The issuance recipe: claims of a credential type → a signed SD-JWT VC (``typ: dc+sd-jwt``).

Holder claims (and every claim the type metadata does not mark ``sd: never``) become disclosures
with fresh 128-bit salts; ``iss``, ``vct``, ``iat``, ``exp``, ``cnf`` and ``status`` are always in
the clear. The paper companion (PRODUCT.md "Paper") carries only the type's ``paper_claims``, in the
clear and without ``cnf``: paper cannot select, so selective disclosure would only cost bytes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from credcore import jws
from credcore.clock import Clock
from credcore.credential_types import CredentialType
from credcore.disclosure import Disclosure
from credcore.errors import IssuanceError
from credcore.keys import SigningKey, public_key_from_jwk
from credcore.messages import field_message
from credcore.sdjwt import RandomBytes, SdJwt, conceal_claims

SD_JWT_VC_TYP = "dc+sd-jwt"
LEGACY_TYP = "vc+sd-jwt"
REGISTERED_CLAIMS = frozenset({"iss", "vct", "vct#integrity", "iat", "exp", "nbf", "cnf", "status", "sub", "_sd_alg"})
COLOMBIA = timezone(timedelta(hours=-5))  # no daylight saving time


@dataclass(frozen=True)
class IssuedCredential:
    sd_jwt: str
    payload: dict[str, Any]
    disclosures: tuple[Disclosure, ...]
    iat: int
    exp: int

    @property
    def parts(self) -> SdJwt:
        return SdJwt(self.sd_jwt.split("~")[0], tuple(d.text for d in self.disclosures))


def end_of_day_in_colombia(day: date) -> int:
    """The last second of ``day`` in Colombia: a permit valid "until 30 May" lasts all that day."""
    return int(datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=COLOMBIA).timestamp())


def expiry_for(ctype: CredentialType, claims: dict[str, Any], now: int, valid_until: int | None,
               lang: str = "es") -> int:
    """``exp``: the officer's ``valid_until``, else the type's expiry claim, else its default period."""
    if valid_until is not None:
        exp = valid_until
    elif ctype.exp_claim and isinstance(claims.get(ctype.exp_claim), str):
        exp = end_of_day_in_colombia(date.fromisoformat(claims[ctype.exp_claim]))
    else:
        exp = now + ctype.valid_days * 86_400
    if exp <= now:
        raise IssuanceError("the credential would already be expired", code="valid_until_invalid",
                            errors=[{"field": "valid_until", "code": "past",
                                     "message": field_message("past", lang)}])
    return exp


def _cnf(holder_jwk: dict[str, Any]) -> dict[str, Any]:
    return {"jwk": public_key_from_jwk(holder_jwk).members()}


def issue_credential(
    *,
    ctype: CredentialType,
    claims: dict[str, Any],
    issuer: str,
    key: SigningKey,
    clock: Clock,
    holder_jwk: dict[str, Any] | None = None,
    status: tuple[str, int] | None = None,
    valid_until: int | None = None,
    random_bytes: RandomBytes = os.urandom,
    decoys: int | None = None,
    lang: str = "es",
    paper: bool = False,
    header: dict[str, Any] | None = None,
    claims_checked: bool = False,
) -> IssuedCredential:
    """Validate ``claims`` against ``ctype`` and sign an SD-JWT VC for them.

    ``decoys=None`` pads the top-level ``_sd`` with decoy digests up to the number of claims the
    type can disclose, so the digest count says nothing about which optional claims exist.
    ``header`` adds protected-header members (an institution's own ``kid``, an ``x5c`` chain).
    ``claims_checked=True`` says the caller has just validated these very claims against ``ctype``
    with this clock (the issuer's ``prepare`` does, for every credential it stores), so they are not
    validated a second time.
    """
    now = clock.now()
    if not claims_checked:
        ctype.validate(claims, today=datetime.fromtimestamp(now, UTC).date(), lang=lang)
    exp = expiry_for(ctype, claims, now, valid_until, lang)
    payload: dict[str, Any] = {"iss": issuer, "vct": ctype.vct, "iat": now, "exp": exp}
    if holder_jwk is not None and not paper:
        payload["cnf"] = _cnf(holder_jwk)
    if status is not None:
        payload["status"] = {"status_list": {"idx": status[1], "uri": status[0]}}
    if paper:
        shown = {name: claims[name] for name in ctype.paper_claims if name in claims}
        concealed: dict[str, Any] = shown
        disclosures: list[Disclosure] = []
    else:
        disclosable = ctype.disclosable()
        if decoys is None:  # pad to the type's full claim count: absent optional claims don't show
            decoys = len(disclosable) - sum(1 for name in disclosable if name in claims)
        concealed, disclosures = conceal_claims(
            claims,
            [(name,) for name in disclosable],
            random_bytes=random_bytes,
            decoys=decoys,
        )
    payload.update(concealed)
    token = jws.sign(payload, key, {**(header or {}), "typ": SD_JWT_VC_TYP})
    sd_jwt = SdJwt(token, tuple(d.text for d in disclosures)).serialize()
    return IssuedCredential(sd_jwt, payload, tuple(disclosures), now, exp)
