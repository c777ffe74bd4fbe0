"""security.md #149: ``/metrics`` (issuance and failed sign-in counts) is not public. Outside
development it answers a loopback client (a scraper on the same host) or the bearer of
``PUENTE_METRICS_TOKEN``; anyone else gets 401."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.issuer.deployment import BASE, METRICS, METRICS_TOKEN, Deployment


def test_metrics_need_the_token_from_another_host(deployment: Deployment) -> None:
    deployment.issue()
    for headers in ({}, {"Authorization": "Bearer otra-cosa"}, {"Authorization": METRICS_TOKEN}):
        refused = deployment.client.get("/metrics", headers=headers)
        assert refused.status_code == 401 and refused.json()["code"] == "metrics_token_required"
        assert "puente_events_total" not in refused.text
    allowed = deployment.client.get("/metrics", headers=METRICS)
    assert allowed.status_code == 200 and 'event="credentials_issued"} 1.0' in allowed.text


def test_a_loopback_scraper_needs_no_token(deployment: Deployment) -> None:
    app = deployment.client.app
    with TestClient(app, base_url=BASE, client=("127.0.0.1", 41000)) as local:
        assert local.get("/metrics").status_code == 200
    with TestClient(app, base_url=BASE, client=("::1", 41000)) as local:
        assert local.get("/metrics").status_code == 200
    with TestClient(app, base_url=BASE, client=("192.0.2.7", 41000)) as remote:
        assert remote.get("/metrics").status_code == 401


def test_development_keeps_metrics_open(deployment: Deployment, reconfigure: Callable[..., Deployment]) -> None:
    assert reconfigure(env="development", metrics_token=None).client.get("/metrics").status_code == 200
    without_token = reconfigure(metrics_token=None)  # outside development, no token set: loopback only
    assert without_token.client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401
