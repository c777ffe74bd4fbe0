"""The offline page's endpoints refuse with the service's problem shape (servicekit.problems)."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_a_status_list_of_no_trusted_issuer_is_a_404_problem(verifier_client: TestClient) -> None:
    answer = verifier_client.get("/api/v1/offline/status-list", params={"uri": "https://evil.example/status/1"},
                                 headers={"Accept-Language": "en"})
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["cache-control"] == "no-cache"
    body = answer.json()
    assert (body["type"], body["status"], body["code"]) == ("about:blank", 404, "status_invalid")
    assert body["title"]


def test_the_offline_config_keeps_every_member(verifier_client: TestClient) -> None:
    config = verifier_client.get("/api/v1/offline/config").json()
    assert set(config) == {"registry_jwk", "trust_list_max_age_seconds", "status_max_age_seconds",
                           "status_ttl_min_seconds", "status_ttl_max_seconds", "key_binding", "leeway", "messages",
                           "checks"}
    assert config["key_binding"]["audience"] == "urn:puente:offline"
    assert all(isinstance(pair, list) and len(pair) == 2 for pair in config["messages"].values())
    assert config["registry_jwk"]["kty"] in ("EC", "OKP")
