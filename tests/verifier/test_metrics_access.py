"""security.md #149: the verifier's ``/metrics`` is not public outside development either."""

from __future__ import annotations

from fastapi.testclient import TestClient

from testkit.live import Live
from verifier.app import create_app


def test_verifier_metrics_need_the_token_or_loopback(live: Live) -> None:
    service = live.verifier_service(metrics_token="token-de-metricas")
    app = create_app(service.settings, service=service)
    with TestClient(app, client=("198.51.100.4", 50000)) as remote:
        refused = remote.get("/metrics")
        assert refused.status_code == 401 and refused.json()["code"] == "metrics_token_required"
        assert remote.get("/metrics", headers={"Authorization": "Bearer token-de-metricas"}).status_code == 200
    with TestClient(app, client=("127.0.0.1", 50000)) as local:
        assert local.get("/metrics").status_code == 200
