"""The holder's side: build a presentation from an SD-JWT VC, as a wallet does.

``present`` keeps the disclosures that reveal the chosen claims (their parents come along) and
appends a KB-JWT by the holder over exactly that text (RFC 9901 §4.3). Tests, the benchmarks and the
demo wallet build presentations with it instead of each writing their own.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from credcore import jws
from credcore.key_binding import OFFLINE_AUDIENCE, create_kb_jwt
from credcore.keys import SigningKey
from credcore.sdjwt import SdJwt, parse_compact, select_disclosures


def disclose(sd_jwt: str, claims: Iterable[str]) -> str:
    """``issuer_jwt~D1~…~DN~``: the disclosures that reveal ``claims`` (top-level names), no KB-JWT.
    The issuer's payload is read, not verified: the verifier checks it."""
    sd = parse_compact(sd_jwt)
    payload = jws.parse(sd.issuer_jwt).claims()
    chosen = select_disclosures(payload, sd.disclosures, [(name,) for name in claims])
    return SdJwt(sd.issuer_jwt, chosen).without_kb()


def present(sd_jwt: str, holder: SigningKey | None, *, disclose_claims: Iterable[str], iat: int,
            aud: str = OFFLINE_AUDIENCE, nonce: str | None = None) -> str:
    """The presentation of ``disclose_claims`` with a KB-JWT by ``holder`` for ``aud`` and ``nonce``
    (a fresh random nonce when None); without a KB-JWT when ``holder`` is None (a paper credential)."""
    presented = disclose(sd_jwt, disclose_claims)
    if holder is None:
        return presented
    return presented + create_kb_jwt(presented, holder, aud=aud,
                                     nonce=secrets.token_urlsafe(16) if nonce is None else nonce, iat=iat)
