"""A live issuer on loopback (real HTTP, SQLite) with two institutions and their API keys, and the
verifier settings and service that trust it, as deployed; plus a wallet that redeems its offers and
presents the credentials. ``live`` is a module-scoped pytest fixture: a conftest (or a test module)
imports it to use it."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from credcore.encoding import b64url_encode
from credcore.keys import PublicKey
from issuer.app import create_app as create_issuer
from issuer.config import Settings
from issuer.db.engine import migrate
from issuer.deps import Deps, build_deps
from issuer.institutions import create_institution, registry_key
from issuer.staff import create_api_key
from testkit.servers import ServerThread, free_port
from testkit.wallet import Wallet, present
from testkit.world import example_claims
from verifier.app import build_service
from verifier.config import VerifierSettings
from verifier.service import VerifierService


@dataclass
class Live:
    issuer_url: str
    issuer_deps: Deps
    http: httpx.Client
    keys: dict[str, str]
    registry: PublicKey
    tmp: Path

    def issue(self, type_id: str = "skills-certification", who: str = "sena:officer",
              claims: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.http.post(
            f"{self.issuer_url}/api/v1/credentials",
            json={"type": type_id, "claims": claims or example_claims(type_id)},
            headers={"Authorization": f"Bearer {self.keys[who]}", "Idempotency-Key": secrets.token_urlsafe(18)},
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def change(self, credential_id: str, action: str, who: str = "sena:officer") -> None:
        response = self.http.post(f"{self.issuer_url}/api/v1/credentials/{credential_id}/{action}",
                                  json={"reason": "prueba"}, headers={"Authorization": f"Bearer {self.keys[who]}"})
        assert response.status_code == 200, response.text

    def wallet(self) -> Wallet:
        return Wallet(self.http, lambda: int(time.time()))  # type: ignore[arg-type]

    def verifier_settings(self, **overrides: Any) -> VerifierSettings:
        values: dict[str, Any] = {"env": "test", "var_dir": self.tmp / "verifier",
                                  "trust_list_url": f"{self.issuer_url}/trust-list", "background_refresh": False,
                                  "rate_limit_per_minute": 0,
                                  "registry_public_jwk": json.dumps(self.registry.jwk())}
        values.update(overrides)
        return VerifierSettings(**values)

    def verifier_service(self, **overrides: Any) -> VerifierService:
        service = build_service(self.verifier_settings(**overrides))
        service.trust.refresh()
        return service

    def wallet_presentation(self, type_id: str = "skills-certification", who: str = "sena:officer",
                            disclose: tuple[str, ...] = ("given_name", "family_name", "competency_title"),
                            **kwargs: Any) -> tuple[dict[str, Any], str]:
        created = self.issue(type_id, who)
        wallet = self.wallet()
        sd_jwt = wallet.redeem(created)
        return created, present(sd_jwt, wallet.holder, now=int(time.time()), disclose=disclose, **kwargs)


def loopback_issuer(tmp: Path, port: int) -> Deps:
    """An issuer to serve on 127.0.0.1:``port``: a migrated SQLite database under ``tmp``, a fresh
    master key, no batch worker and no rate limit."""
    url = f"sqlite:///{tmp}/issuer.db"
    migrate(url)
    return build_deps(Settings(env="test", database_url=url, var_dir=tmp, public_issuer_url=f"http://127.0.0.1:{port}",
                               master_key=b64url_encode(secrets.token_bytes(32)), worker_enabled=False,
                               rate_limit_per_minute=0))


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("live")
    port = free_port()
    deps = loopback_issuer(tmp, port)
    settings = deps.settings
    keys: dict[str, str] = {}
    with deps.session() as session:
        for slug, name, types in (("sena", "SENA", ["skills-certification"]),
                                  ("migracion", "Migración Colombia", ["ppt-status"])):
            institution = create_institution(session, deps, slug=slug, name=name, types=types)
            for role in ("officer", "admin"):
                keys[f"{slug}:{role}"] = create_api_key(session, deps, institution, role=role, name=role)[0]
        session.commit()
        pinned = registry_key(session, deps).public
    with ServerThread(create_issuer(settings, deps=deps), port), httpx.Client(timeout=10) as http:
        yield Live(f"http://127.0.0.1:{port}", deps, http, keys, pinned, tmp)
    deps.engine.dispose()
