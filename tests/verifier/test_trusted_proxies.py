"""Who the client is behind a reverse proxy (security-cases.md #166): X-Forwarded-For is believed
only from a peer in PUENTE_TRUSTED_PROXIES, and then only its right-most entry that is not itself a
trusted proxy. The same through real HAProxy: tests/test_replicas.py."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from servicekit.ratelimit import TrustedProxies
from testkit.live import Live
from verifier.app import create_app

LIMIT = 3


def test_the_right_most_untrusted_entry_is_the_client() -> None:
    proxies = TrustedProxies("10.0.0.0/8, 192.0.2.1 ::1")
    assert proxies.client("203.0.113.9", [b"198.51.100.1"]) == "203.0.113.9"  # the peer is no proxy
    assert proxies.client("10.1.2.3", [b"198.51.100.1"]) == "198.51.100.1"
    # A client's own entries are left of what the proxies appended: they never win.
    assert proxies.client("10.1.2.3", [b"6.6.6.6, 198.51.100.1"]) == "198.51.100.1"
    assert proxies.client("10.1.2.3", [b"6.6.6.6", b"198.51.100.1, 192.0.2.1"]) == "198.51.100.1"
    assert proxies.client("::1", [b"::ffff:198.51.100.7"]) == "198.51.100.7"
    # Nothing usable where the proxy writes: the proxy's own address, never the garbage.
    assert proxies.client("10.1.2.3", [b"198.51.100.1, unknown"]) == "10.1.2.3"
    assert proxies.client("10.1.2.3", [b"10.9.9.9"]) == "10.9.9.9"  # only proxies: the left-most
    assert not TrustedProxies("") and not TrustedProxies(" , ")
    with pytest.raises(RuntimeError, match=r"no es una dirección IP.*neither an IP address"):
        TrustedProxies("10.0.0.0/8,proxy.example")


def _one_window() -> None:
    """The fixed one-minute window will not end during the test."""
    if 60 - time.time() % 60 < 10:
        time.sleep(60 - time.time() % 60 + 0.5)


def _spend(client: TestClient, headers: dict[str, str] | None = None, spoof: bool = False) -> int:
    for number in range(2 * LIMIT + 2):
        sent = {**(headers or {}), **({"X-Forwarded-For": f"203.0.113.{number}"} if spoof else {})}
        response = client.post("/api/v1/verify", json={"qr": "PT1:X"}, headers=sent)
        if response.status_code == 429:
            return number
        assert response.status_code == 200, response.text
    raise AssertionError("never limited")


def test_only_a_trusted_proxy_names_the_client(live: Live) -> None:
    service = live.verifier_service(rate_limit_per_minute=LIMIT, trusted_proxies="10.0.0.0/8")
    app = create_app(service.settings, service=service)
    _one_window()
    with TestClient(app, client=("10.0.0.5", 40000)) as proxy, \
            TestClient(app, client=("203.0.113.200", 40000)) as stranger:
        # Two clients behind the trusted proxy: a budget each.
        assert _spend(proxy, {"X-Forwarded-For": "198.51.100.1"}) == LIMIT
        assert _spend(proxy, {"X-Forwarded-For": "198.51.100.2"}) == LIMIT
        # A client that is not a proxy rotating X-Forwarded-For is one client all along.
        assert _spend(stranger, spoof=True) == LIMIT


def test_without_trusted_proxies_the_header_means_nothing(live: Live) -> None:
    service = live.verifier_service(rate_limit_per_minute=LIMIT)
    _one_window()
    with TestClient(create_app(service.settings, service=service), client=("10.0.0.5", 40000)) as client:
        assert _spend(client, spoof=True) == LIMIT


def test_a_request_relayed_by_an_untrusted_local_proxy_is_not_loopback(live: Live) -> None:
    """/metrics answers loopback without a token; a same-host proxy the service does not trust must
    not turn every client into loopback."""
    service = live.verifier_service(env="test")
    with TestClient(create_app(service.settings, service=service), client=("127.0.0.1", 40000)) as client:
        assert client.get("/metrics").status_code == 200
        assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.5"}).status_code == 401
