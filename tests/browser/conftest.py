"""Chromium (Debian's, driven by Playwright) against a verifier served on loopback by uvicorn, with
the live issuer of tests/verifier. A missing browser skips these tests locally and fails them in CI."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from testkit.live import Live, live  # noqa: F401  (live: the fixture)
from testkit.servers import ServerThread, free_port
from tests.browser.chromium import Chromium, Verifier, require_browser
from verifier.app import create_app


@pytest.fixture
def verifier(live: Live) -> Iterator[Verifier]:  # noqa: F811  (the imported fixture)
    """The verifier app (API and scanning page) on a free loopback port; one per test, so that no
    test sees another's cached status lists or used key-binding nonces."""
    service = live.verifier_service()
    port = free_port()
    with ServerThread(create_app(service.settings, service=service), port):
        yield Verifier(f"http://127.0.0.1:{port}", service)


@pytest.fixture(scope="session")
def _playwright() -> Iterator[Any]:
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture
def chromium(_playwright: Any) -> Iterator[Chromium]:
    launcher = Chromium(_playwright)
    yield launcher
    launcher.close()
