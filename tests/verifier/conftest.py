"""A live issuer on loopback (real HTTP, SQLite) and a verifier that fetches its trust list and
status lists, as deployed (testkit.live); plus a verifier app in a test client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from testkit.live import Live, live  # noqa: F401  (live: the fixture)
from verifier.app import create_app


@pytest.fixture
def verifier_client(live: Live) -> Iterator[TestClient]:  # noqa: F811  (the imported fixture)
    service = live.verifier_service()
    with TestClient(create_app(service.settings, service=service)) as client:
        yield client
