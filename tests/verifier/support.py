"""Helpers several verifier test modules share: a held credential and a wallet's answer to one
credential query. They used to be imported from another test module."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from fastapi.testclient import TestClient

import credcore.holder
from credcore.encoding import b64url_decode
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


def decode_unsecured_jwt(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, signature = token.split(".")
    assert signature == ""
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload))


@dataclass
class Flow:
    """One presentation request as seen by the frontend (``created``) and by the wallet (``request``)."""

    client: TestClient
    created: dict[str, Any]
    request: dict[str, Any]

    @property
    def token(self) -> str:
        value: str = self.created["result_token"]
        return value

    def presentation(self, sd_jwt: str, holder: SigningKey | None, disclose: tuple[str, ...],
                     iat: int | None = None) -> str:
        return present_to(sd_jwt, holder, aud=self.request["client_id"], nonce=self.request["nonce"],
                          disclose=disclose, iat=iat)

    def post(self, form: dict[str, str]) -> httpx.Response:
        return self.client.post(urlsplit(self.request["response_uri"]).path, data=form)

    def answer(self, vp_token: dict[str, list[str]], state: str | None = None) -> httpx.Response:
        return self.post({"vp_token": json.dumps(vp_token), "state": state or self.request["state"]})

    def result_response(self, token: str | None = None, lang: str = "es") -> httpx.Response:
        headers = {"Accept-Language": lang}
        if token != "":
            headers["Authorization"] = f"Bearer {token or self.token}"
        return self.client.get(f"/api/v1/presentation-requests/{self.created['id']}", headers=headers)

    def result(self, lang: str = "es") -> dict[str, Any]:
        response = self.result_response(lang=lang)
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        body: dict[str, Any] = response.json()
        return body


def create(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/v1/presentation-requests", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def start(client: TestClient, body: dict[str, Any]) -> Flow:
    """Create a request and fetch its request object the way a wallet does: from the QR text."""
    created = create(client, body)
    link = urlsplit(created["qr"])
    assert link.scheme == "openid4vp"
    params = parse_qs(link.query, strict_parsing=True)
    assert set(params) == {"client_id", "request_uri"}
    fetched = client.get(urlsplit(params["request_uri"][0]).path)
    assert fetched.status_code == 200, fetched.text
    assert fetched.headers["content-type"] == "application/oauth-authz-req+jwt"
    header, payload = decode_unsecured_jwt(fetched.text)
    assert header == {"alg": "none", "typ": "oauth-authz-req+jwt"}
    assert payload["client_id"] == params["client_id"][0] == created["client_id"]  # OpenID4VP §5.10.2
    return Flow(client, created, payload)
