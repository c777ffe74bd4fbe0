"""security.md #141: hostile input never makes the issuer answer 5xx. Every operation of the
OpenAPI document is driven with huge integers (past int64 and PostgreSQL's integer), deeply nested
JSON (30,000 ``[``) and wrong types, on SQLite and PostgreSQL; the console's integer parameters,
outside the document, are bounded too."""

from __future__ import annotations

from typing import Any

from issuer.api.common import MAX_INT
from testkit.wallet import Wallet, offer_url
from testkit.world import example_claims
from tests.hostile import DEEP_ARRAYS, Hostile, drive, integer_bounds, schema_integers
from tests.issuer.deployment import BASE, Deployment

SENA = f"{BASE}/i/sena"


def _hostile(deployment: Deployment, wallet: Wallet) -> Hostile:
    created = deployment.issue()
    open_offer = deployment.issue()
    offer = wallet.fetch_offer(open_offer["offer"]["offer_uri"])
    access = wallet.token(SENA, wallet.pre_authorized_code(offer), open_offer["offer"]["tx_code"])
    proof = wallet.proof(aud=SENA, nonce=wallet.nonce(SENA))
    offer_id = offer_url(created["offer"]["offer_uri"]).rsplit("/", 1)[1]

    def headers(url: str) -> dict[str, str]:
        if url.startswith("/i/"):
            return {"Authorization": f"Bearer {access}"}
        return {**deployment.auth("sena:admin"), "Accept-Language": "en"}

    return Hostile(
        path_values={"slug": "sena", "credential_id": created["id"], "action": "suspend", "offer_id": offer_id,
                     "number": "1", "type_id": "skills-certification", "batch_id": "desconocido"},
        headers=headers,
        bodies={("POST", "/api/v1/credentials"): {"type": "skills-certification",
                                                  "claims": example_claims("skills-certification"),
                                                  "valid_until": 1_900_000_000},
                ("POST", "/api/v1/credentials/{credential_id}/{action}"): {"reason": "prueba"},
                ("POST", "/i/{slug}/credential"): {"credential_configuration_id": "skills-certification",
                                                   "proofs": {"jwt": [proof]}}},
        forms={("POST", "/i/{slug}/token"): {"grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code",
                                             "pre-authorized_code": wallet.pre_authorized_code(offer),
                                             "tx_code": "123456"}},
    )


def test_no_route_of_the_document_answers_5xx_to_hostile_input(deployment: Deployment, wallet: Wallet) -> None:
    document: dict[str, Any] = deployment.client.get("/openapi.json").json()
    sent, failures = drive(deployment.client, document, _hostile(deployment, wallet))
    assert sent > 500
    assert failures == [], "\n".join(failures)
    assert deployment.client.get("/healthz").status_code == 200


def test_the_attacks_of_the_red_team_run_are_refused_with_4xx(deployment: Deployment) -> None:
    admin = deployment.auth("sena:admin")
    for url in ("/api/v1/credentials?offset=9223372036854775808", "/api/v1/audit?after=1180591620717411303424"):
        answer = deployment.client.get(url, headers=admin)
        assert answer.status_code == 422, (url, answer.text)
    assert deployment.client.get("/i/sena/status/1180591620717411303424").status_code == 422
    deep = deployment.client.post("/i/sena/credential", content=DEEP_ARRAYS,
                                  headers={"Content-Type": "application/json", "Authorization": "Bearer x"})
    assert deep.status_code == 400 and deep.json()["code"] == "json_too_deep"
    # A body nested less than the gate but more than the parser allows: the OAuth error, not a 500.
    nested = deployment.client.post("/i/sena/credential", content=b"[" * 50 + b"]" * 50,
                                    headers={"Content-Type": "application/json", "Authorization": "Bearer x"})
    assert nested.status_code == 400 and nested.json()["error"] == "invalid_credential_request"


def test_every_integer_parameter_is_bounded(deployment: Deployment) -> None:
    app: Any = deployment.client.app
    assert integer_bounds(app, MAX_INT) == []
    assert schema_integers(app.openapi(), 253_402_300_799) == []


def test_nul_characters_never_reach_the_database(deployment: Deployment) -> None:
    """PostgreSQL text cannot hold NUL: a NUL in a path, a query, a form or a JSON body is a 400."""
    admin = deployment.auth("sena:admin")
    answers = [deployment.client.get("/api/v1/credentials/%00", headers=admin),
               deployment.client.get("/api/v1/credentials?type=a%00b", headers=admin),
               deployment.client.post("/console/login", data={"username": "admin\x00sena", "password": "x"}),
               deployment.client.post("/api/v1/credentials", headers=admin,
                                      content=b'{"type": "skills\\u0000certification", "claims": {}}')]
    assert [a.status_code for a in answers] == [400] * 4
    assert {a.json()["code"] for a in answers} == {"nul_character"}
