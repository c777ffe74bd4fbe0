"""security.md #141: hostile input never makes the verifier answer 5xx. Every operation of its
OpenAPI document is driven with huge integers, deeply nested JSON (also inside a presentation's
JWT) and wrong types."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from testkit.live import Live
from tests.hostile import DEEP_ARRAYS, DEEP_JWT, Hostile, drive, integer_bounds, schema_integers


def test_no_route_of_the_document_answers_5xx_to_hostile_input(live: Live, verifier_client: TestClient) -> None:
    created = verifier_client.post("/api/v1/presentation-requests", json={"preset": "employment"})
    assert created.status_code == 201, created.text
    request_id, token = created.json()["id"], created.json()["result_token"]
    _, presentation = live.wallet_presentation()
    hostile = Hostile(
        path_values={"request_id": request_id},
        headers=lambda _url: {"Authorization": f"Bearer {token}", "Accept-Language": "en"},
        bodies={("POST", "/api/v1/verify"): {"presentation": presentation},
                ("POST", "/api/v1/presentation-requests"): {
                    "dcql_query": {"credentials": [{"id": "a", "format": "dc+sd-jwt",
                                                    "meta": {"vct_values": ["https://x/vct/y"]},
                                                    "claims": [{"path": ["given_name"]}]}]}}},
        forms={("POST", "/vp/{request_id}/response"): {"vp_token": '{"employment": ["x"]}', "state": "s"}},
    )
    document: dict[str, Any] = verifier_client.get("/openapi.json").json()
    sent, failures = drive(verifier_client, document, hostile)
    assert sent > 150
    assert failures == [], "\n".join(failures)
    assert verifier_client.get("/healthz").status_code == 200


def test_deep_json_is_refused_before_parsing(verifier_client: TestClient) -> None:
    deep = verifier_client.post("/api/v1/verify", content=DEEP_ARRAYS, headers={"Content-Type": "application/json"})
    assert deep.status_code == 400 and deep.json()["code"] == "json_too_deep"
    inside = verifier_client.post("/api/v1/verify", json={"presentation": DEEP_JWT})
    assert inside.status_code == 200 and inside.json()["valid"] is False


def test_every_integer_parameter_is_bounded(verifier_client: TestClient) -> None:
    app: Any = verifier_client.app
    assert integer_bounds(app, 2_147_483_647) == []
    assert schema_integers(app.openapi(), 2_147_483_647) == []
