"""``puente serve`` / ``make run`` build each service from PUENTE_* variables alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from credcore.encoding import b64url_encode
from credcore.keys import generate_key
from issuer.db.engine import migrate
from puente.demo import SERVICES, make_app


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    registry = tmp_path / "registry-public.jwk"
    registry.write_text(json.dumps(generate_key().public.jwk()), "utf-8")
    url = f"sqlite:///{tmp_path}/puente.db"
    migrate(url)
    for name, value in {"PUENTE_ENV": "test", "PUENTE_DATABASE_URL": url, "PUENTE_VAR_DIR": str(tmp_path),
                        "PUENTE_MASTER_KEY": b64url_encode(bytes(32)), "PUENTE_WORKER_ENABLED": "false",
                        "PUENTE_BACKGROUND_REFRESH": "false",
                        "PUENTE_REGISTRY_PUBLIC_JWK_FILE": str(registry)}.items():
        monkeypatch.setenv(name, value)
    return tmp_path


@pytest.mark.parametrize("service", [name for name, _, _ in SERVICES])
def test_each_service_starts_from_the_environment(environment: Path, service: str) -> None:
    with TestClient(make_app(service)) as client:
        assert client.get("/healthz").status_code == 200
        page = client.get("/")
        if service in ("verifier", "wallet"):
            assert page.status_code == 200 and "default-src 'none'" in page.headers["content-security-policy"]


def test_wallet_is_told_the_pinned_registry_key(environment: Path) -> None:
    with TestClient(make_app("wallet")) as client:
        config = client.get("/config.json").json()
    assert config["registry_jwk"] == json.loads((environment / "registry-public.jwk").read_text())
    assert config["trust_list_url"].endswith("/trust-list")


def test_demo_offer_is_ready_for_the_wallet(environment: Path) -> None:
    from issuer.config import Settings
    from issuer.operator import open_deps, seed
    from puente.demo import demo_offer

    deps = open_deps(Settings())
    seed(deps, None)
    offer = demo_offer(deps)
    assert offer["offer_uri"].startswith("openid-credential-offer://?credential_offer_uri=")
    assert offer["wallet_link"].startswith("http://127.0.0.1:8003/?offer=openid-credential-offer%3A%2F%2F")
    assert len(offer["tx_code"]) == 6 and offer["tx_code"].isdigit()



def test_demo_verifier_signs_requests_with_its_own_certificate(environment: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import stat

    from credcore import jws
    from credcore.keys import public_key_from_key
    from puente.demo import DEMO_VERIFIER_NAME, demo_verifier_identity
    from verifier.app import build_service
    from verifier.config import VerifierSettings

    certificate, key = demo_verifier_identity(environment)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    first = certificate.read_bytes()
    assert demo_verifier_identity(environment) == (certificate, key) and certificate.read_bytes() == first
    monkeypatch.setenv("PUENTE_VP_CERTIFICATE_FILE", str(certificate))
    monkeypatch.setenv("PUENTE_VP_KEY_FILE", str(key))
    identity = build_service(VerifierSettings()).identity
    assert identity is not None and identity.certified_name == DEMO_VERIFIER_NAME
    assert identity.client_id.startswith("x509_hash:")
    token = jws.parse(identity.sign({"client_id": identity.client_id}, "oauth-authz-req+jwt"))
    jws.verify_signature(token, public_key_from_key(identity.leaf.public_key()))
