"""The issuer tests' deployment as a library: settings for a test database, the Deployment the
``deployment`` fixture (conftest.py) yields, and the constants the tests share."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from fastapi.testclient import TestClient

from credcore.clock import FixedClock
from credcore.encoding import b64url_encode
from issuer.config import Settings
from issuer.deps import Deps

BASE = "https://issuer.test"
METRICS_TOKEN = "metrics-token-of-the-tests"
METRICS = {"Authorization": f"Bearer {METRICS_TOKEN}"}  # /metrics is not public outside development
NOW = 1_795_000_000


@dataclass
class Deployment:
    deps: Deps
    client: TestClient
    clock: FixedClock
    keys: dict[str, str]  # "<slug>:<role>" -> API key text

    def auth(self, who: str = "sena:officer") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}

    def issue(self, type_id: str = "skills-certification", claims: dict | None = None, who: str = "sena:officer",
              **extra: object) -> dict:
        from testkit.world import example_claims

        body = {"type": type_id, "claims": claims or example_claims(type_id), **extra}
        headers = {**self.auth(who), "Idempotency-Key": secrets.token_urlsafe(18)}
        response = self.client.post("/api/v1/credentials", json=body, headers=headers)
        assert response.status_code == 201, response.text
        return response.json()


def make_settings(url: str, tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "test", "database_url": url, "var_dir": tmp_path, "public_issuer_url": BASE,
        "master_key": b64url_encode(bytes(range(32))), "worker_enabled": False, "rate_limit_per_minute": 0,
        "metrics_token": METRICS_TOKEN,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]
