"""Issuer test fixtures: a migrated database (SQLite, or PostgreSQL when PUENTE_TEST_DATABASE_URL
is set), a demo deployment with two institutions and API keys for each role, and an HTTP client."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from credcore.clock import FixedClock
from issuer.app import create_app
from issuer.db.engine import migrate, normalize_url
from issuer.deps import build_deps
from issuer.institutions import create_institution
from issuer.staff import create_api_key
from testkit.wallet import Wallet
from tests.issuer.deployment import BASE, NOW, Deployment, make_settings


def database_urls(tmp_path: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp_path}/issuer.db"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every database test runs on SQLite, and on PostgreSQL when PUENTE_TEST_DATABASE_URL is set
    (CI sets it). Each PostgreSQL test gets its own schema, dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/issuer.db"
        return
    base = os.environ.get("PUENTE_TEST_DATABASE_URL")
    if not base:
        pytest.skip("PUENTE_TEST_DATABASE_URL not set: PostgreSQL variant runs in CI")
    schema = f"t_{secrets.token_hex(6)}"
    admin = create_engine(normalize_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in base else "?"
    yield f"{normalize_url(base)}{separator}options=-csearch_path%3D{schema}"
    with admin.connect() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def deployment(database_url: str, tmp_path: Path) -> Iterator[Deployment]:
    migrate(database_url)
    clock = FixedClock(NOW)
    settings = make_settings(database_url, tmp_path)
    deps = build_deps(settings, clock=clock)
    keys: dict[str, str] = {}
    with deps.session() as session:
        sena = create_institution(session, deps, slug="sena", name="SENA",
                                  types=["skills-certification", "qualification-validation"])
        migracion = create_institution(session, deps, slug="migracion", name="Migración Colombia",
                                       types=["ppt-status"])
        for institution in (sena, migracion):
            for role in ("admin", "officer", "auditor"):
                text_key, _ = create_api_key(session, deps, institution, role=role, name=f"{role} test")
                keys[f"{institution.slug}:{role}"] = text_key
        session.commit()
    app = create_app(settings, deps=deps)
    with TestClient(app, base_url=BASE) as client:
        yield Deployment(deps, client, clock, keys)
    deps.engine.dispose()


@pytest.fixture
def wallet(deployment: Deployment) -> Wallet:
    """A holder with a fresh key, talking to the deployment over HTTP."""
    return Wallet(deployment.client, deployment.clock.now)


@pytest.fixture
def reconfigure(deployment: Deployment, tmp_path: Path) -> Iterator[Callable[..., Deployment]]:
    """The deployment's database, keys and clock served by another app built with other settings
    (``reconfigure(rate_limit_per_minute=3)``), as a restarted service would be."""
    with ExitStack() as stack:

        def build(**overrides: object) -> Deployment:
            settings = make_settings(deployment.deps.settings.database_url, tmp_path, **overrides)
            deps = replace(deployment.deps, settings=settings)
            client = stack.enter_context(TestClient(create_app(settings, deps=deps), base_url=BASE))
            return Deployment(deps, client, deployment.clock, deployment.keys)

        yield build
