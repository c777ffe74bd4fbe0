"""Operations of the issuer: health, readiness, metrics with domain counters, OpenAPI and docs,
request ids, and logs that carry no secrets."""

from __future__ import annotations

from tests.issuer.deployment import METRICS, Deployment


def test_health_readiness_and_docs(deployment: Deployment) -> None:
    client = deployment.client
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": True, "keys": True, "trust_list": True}
    assert "/api/v1/credentials" in client.get("/openapi.json").json()["paths"]
    assert client.get("/docs").status_code == 200
    assert client.get("/healthz").headers["x-request-id"]


def test_metrics_count_requests_and_issuance(deployment: Deployment) -> None:
    created = deployment.issue()
    revoke = deployment.client.post(f"/api/v1/credentials/{created['id']}/revoke", json={"reason": "prueba"},
                                    headers=deployment.auth())
    assert revoke.status_code == 200
    text = deployment.client.get("/metrics", headers=METRICS).text
    assert 'puente_events_total{event="credentials_issued"} 1.0' in text
    assert 'puente_events_total{event="credentials_revoke"} 1.0' in text
    assert 'puente_http_requests_total{method="POST",route="/api/v1/credentials",status="201"} 1.0' in text
