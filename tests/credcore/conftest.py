"""Fixtures of the credential-core tests: a fresh deployment and a guard against any network use."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from testkit.world import World


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, Any]]]:
    """Records (and refuses) every attempt to resolve a name or open a connection.

    The test asserts the list is empty afterwards: an exception alone could be swallowed by a
    fail-closed ``except Exception`` in the code under test.
    """
    attempts: list[tuple[str, Any]] = []

    def refuse(name: str) -> Any:
        def blocked(*args: Any, **kwargs: Any) -> Any:
            attempts.append((name, args[1:] if name == "connect" else args))
            raise OSError(f"network access in a credential-core test: {name}")

        return blocked

    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket.socket, "connect", refuse("connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("connect_ex"))
    yield attempts
    assert attempts == [], f"the core tried to use the network: {attempts}"
