"""Helpers several verifier test modules share: a held credential and a wallet's answer to one
credential query. They used to be imported from another test module."""

from __future__ import annotations

import time

import credcore.holder
from credcore.keys import SigningKey
from testkit.live import Live

KYC_CLAIMS = ("given_name", "family_name", "document_number", "birthdate")


def present_to(sd_jwt: str, holder: SigningKey | None, *, aud: str, nonce: str, disclose: tuple[str, ...],
               iat: int | None = None) -> str:
    """A wallet's answer to one credential query: the chosen disclosures and a KB-JWT bound to the
    request's client_id and nonce (no KB-JWT when ``holder`` is None)."""
    return credcore.holder.present(sd_jwt, holder, disclose_claims=disclose, aud=aud, nonce=nonce,
                                   iat=iat or int(time.time()))


def held_credential(live: Live, type_id: str = "ppt-status", who: str = "migracion:officer") -> tuple[str, SigningKey]:
    """A credential issued by staff and redeemed into a wallet: the SD-JWT VC and the holder key."""
    wallet = live.wallet()
    return wallet.redeem(live.issue(type_id, who)), wallet.holder
