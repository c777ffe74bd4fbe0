"""One truth across replicas (issue 12): the shared-store port with its memory and Redis adapters,
two verifier processes' worth of services on one Redis, and failing closed when Redis goes away."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from credcore import qr
from credcore.ports import SharedStore, SharedStoreUnavailable
from servicekit.shared_store import MemoryStore, RedisStore, serving
from testkit.live import Live
from tests.redis_server import PrivateRedis, shared_redis
from verifier.app import create_app


@pytest.fixture
def redis_url_prefix() -> Iterator[tuple[str, str]]:
    yield from shared_redis()


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest, redis_url_prefix: tuple[str, str]) -> SharedStore:
    if request.param == "memory":
        return MemoryStore()
    url, prefix = redis_url_prefix
    return RedisStore(url, prefix)


def test_store_contract(store: SharedStore) -> None:
    now = int(time.time())
    assert store.put_once("a", b"1", now + 30, now) is True
    assert store.put_once("a", b"2", now + 30, now) is False
    assert store.get("a", now) == b"1"
    assert store.take("a", now) == b"1" and store.take("a", now) is None and store.get("a", now) is None
    store.put("b", b"x", now + 30, now)
    store.put("b", b"y", now + 30, now)
    assert store.get("b", now) == b"y"
    store.delete("b")
    assert store.get("b", now) is None
    assert [store.incr("c", now + 60, now) for _ in range(3)] == [1, 2, 3]
    assert store.acquire("s", "m1", now + 30, now, 2) and store.acquire("s", "m2", now + 30, now, 2)
    assert store.acquire("s", "m1", now + 30, now, 2)  # already a member: no new slot needed
    assert not store.acquire("s", "m3", now + 30, now, 2)
    store.release("s", "m1")
    assert store.acquire("s", "m3", now + 30, now, 2)
    # Members expire one by one: a later `now` frees the slots of expired members.
    assert store.acquire("s", "m4", now + 90, now + 31, 2)
    store.ping()


def test_redis_entries_expire_by_ttl(redis_url_prefix: tuple[str, str]) -> None:
    """Expiry is Redis's own TTL, never a sweep: every key is written with one."""
    url, prefix = redis_url_prefix
    store = RedisStore(url, prefix)
    now = int(time.time())
    store.put_once("once", b"1", now + 40, now)
    store.put("value", b"1", now + 50, now)
    store.incr("counter", now + 60, now)
    store.incr("counter", now + 999, now)  # a later increment keeps the first expiry
    store.acquire("set", "m", now + 70, now, 5)
    ttls = {name: store.client.ttl(prefix + name) for name in ("once", "value", "counter", "set")}
    assert 0 < ttls["once"] <= 41 and 0 < ttls["value"] <= 51 and 0 < ttls["counter"] <= 61
    assert 0 < ttls["set"] <= 71


def test_redis_down_is_unavailable_not_an_answer(tmp_path: Path) -> None:
    server = PrivateRedis(tmp_path)
    store = RedisStore(server.url, "t:", timeout=0.5)
    now = int(time.time())
    with pytest.raises(SharedStoreUnavailable):
        store.put_once("k", b"1", now + 10, now)
    with pytest.raises(SharedStoreUnavailable):
        store.ping()


def _replica(live: Live, url: str, prefix: str, **overrides: Any) -> TestClient:
    service = live.verifier_service(redis_url=url, redis_prefix=prefix, **overrides)
    return TestClient(create_app(service.settings, service=service))


def test_live_qr_is_accepted_once_across_replicas(live: Live, redis_url_prefix: tuple[str, str]) -> None:
    url, prefix = redis_url_prefix
    _, presentation = live.wallet_presentation()
    text = qr.encode(presentation)
    with _replica(live, url, prefix) as first, _replica(live, url, prefix) as second:
        assert first.post("/api/v1/verify", json={"qr": text}).json()["verdict"] == "valid"
        again = second.post("/api/v1/verify", json={"qr": text}).json()
        assert again["valid"] is False and again["error"]["code"] == "replayed"


def test_presentation_request_across_replicas(live: Live, redis_url_prefix: tuple[str, str]) -> None:
    from tests.verifier.support import KYC_CLAIMS, held_credential, start

    url, prefix = redis_url_prefix
    with _replica(live, url, prefix) as first, _replica(live, url, prefix) as second:
        flow = start(first, {"preset": "bank-kyc"})  # created and its request object fetched at the first
        assert second.get(urlsplit(flow.created["request_uri"]).path).status_code == 404  # served once in all
        sd_jwt, holder = held_credential(live)
        flow.client = second
        assert flow.answer({"kyc": [flow.presentation(sd_jwt, holder, KYC_CLAIMS)]}).status_code == 200
        flow.client = first
        assert flow.answer({"kyc": [flow.presentation(sd_jwt, holder, KYC_CLAIMS)]}).status_code == 400
        flow.client = second
        body = flow.result()
        assert body["status"] == "done" and set(body["result"]["credentials"]["kyc"]["claims"]) == set(KYC_CLAIMS)
        flow.client = first
        again = flow.result()
        assert again["claims_deleted"] is True and again["result"]["credentials"]["kyc"]["claims"] == {}


def test_redis_outage_fails_closed_and_recovers(live: Live, tmp_path: Path) -> None:
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        with _replica(live, server.url, "outage:") as client:
            _, first = live.wallet_presentation()
            assert client.post("/api/v1/verify", json={"qr": qr.encode(first)}).json()["verdict"] == "valid"
            assert client.get("/readyz").status_code == 200
            server.stop()
            _, second = live.wallet_presentation()
            for lang, word in (("es", "almacén"), ("en", "shared store")):
                refused = client.post("/api/v1/verify", json={"qr": qr.encode(second)},
                                      headers={"Accept-Language": lang})
                assert refused.status_code == 503, refused.text
                assert refused.json()["code"] == "shared_store_unavailable" and word in refused.json()["title"]
                assert refused.headers["Retry-After"]
            ready = client.get("/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["shared_store"] is False
            created = client.post("/api/v1/presentation-requests", json={"preset": "bank-kyc"})
            assert created.status_code == 503 and created.json()["code"] == "shared_store_unavailable"
            server.start()  # the same port again: the service recovers by itself
            assert client.get("/readyz").status_code == 200
            assert client.post("/api/v1/verify", json={"qr": qr.encode(second)}).json()["verdict"] == "valid"
    finally:
        server.stop()


def test_one_client_filling_its_quota_never_stops_another(live: Live, redis_url_prefix: tuple[str, str]) -> None:
    """security.md #150 (issue 11 #4): open requests are counted per client across replicas, and
    DCQL queries are capped at 4 KiB."""
    url, prefix = redis_url_prefix
    service = live.verifier_service(redis_url=url, redis_prefix=prefix, open_requests_per_client=3)
    app = create_app(service.settings, service=service)
    with TestClient(app, client=("203.0.113.7", 4000)) as attacker, \
            TestClient(app, client=("198.51.100.2", 4000)) as bank:
        for _ in range(3):
            assert attacker.post("/api/v1/presentation-requests", json={"preset": "bank-kyc"}).status_code == 201
        refused = attacker.post("/api/v1/presentation-requests", json={"preset": "bank-kyc"},
                                headers={"Accept-Language": "en"})
        assert refused.status_code == 429 and refused.json()["code"] == "client_quota_exceeded"
        assert refused.headers["Retry-After"] and "open requests" in refused.json()["title"]
        assert bank.post("/api/v1/presentation-requests", json={"preset": "bank-kyc"}).status_code == 201
        big = {"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": {"vct_values": ["x" * 4200]}}]}
        too_big = bank.post("/api/v1/presentation-requests", json={"dcql_query": big})
        assert too_big.status_code == 422 and too_big.json()["code"] == "dcql_invalid"
        assert "4096" in too_big.json()["detail"]
    # The quota is the same at another replica (one Redis).
    other = live.verifier_service(redis_url=url, redis_prefix=prefix, open_requests_per_client=3)
    with TestClient(create_app(other.settings, service=other), client=("203.0.113.7", 4001)) as elsewhere:
        assert elsewhere.post("/api/v1/presentation-requests", json={"preset": "bank-kyc"}).status_code == 429


def test_commands_of_concurrent_requests_share_round_trips(redis_url_prefix: tuple[str, str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """While a service serves, the replay check and the rate-limit count are awaited on its loop and
    the commands of concurrent requests leave together, each still atomic: of twenty requests
    racing for one nonce exactly one gets it, and counters count every increment."""
    url, prefix = redis_url_prefix
    store = RedisStore(url, prefix)
    batches: list[int] = []

    async def scenario() -> tuple[list[bool], list[int]]:
        async with serving(store):
            pipeline = store._on_loop()
            assert pipeline is not None
            client = pipeline.client
            original = client.pipeline

            def counting(**kwargs: Any) -> Any:
                pipe = original(**kwargs)
                execute = pipe.execute

                async def counted(**execute_kwargs: Any) -> Any:
                    batches.append(len(pipe.command_stack))
                    return await execute(**execute_kwargs)

                pipe.execute = counted
                return pipe

            monkeypatch.setattr(client, "pipeline", counting)
            now = int(time.time())
            taken = await asyncio.gather(*(store.put_once_async("nonce", b"1", now + 30, now) for _ in range(20)))
            counts = await asyncio.gather(*(store.incr_async("counter", now + 60, now) for _ in range(10)))
            return list(taken), list(counts)

    def blocking(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the blocking client was used on the serving loop")

    monkeypatch.setattr(store, "put_once", blocking)
    monkeypatch.setattr(store, "incr", blocking)
    # A loop of its own in a thread of its own: the browser tests' Playwright keeps an asyncio loop
    # running in the main thread for the whole session, and asyncio.run() refuses to start inside it.
    with ThreadPoolExecutor(max_workers=1) as pool:
        taken, counts = pool.submit(asyncio.run, scenario()).result()
    assert taken.count(True) == 1 and taken.count(False) == 19
    assert sorted(counts) == list(range(1, 11))
    assert sum(batches) == 30 and len(batches) < 30  # pipelined: fewer round trips than commands
    assert store.client.ttl(prefix + "nonce") > 0 and store.client.ttl(prefix + "counter") > 0


def test_awaited_replay_check_gives_the_blocking_verdicts(live: Live, redis_url_prefix: tuple[str, str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Over HTTP the replay check is awaited (the blocking client is never used) and a replayed QR
    gets exactly the report the blocking path gives."""
    url, prefix = redis_url_prefix
    service = live.verifier_service(redis_url=url, redis_prefix=prefix)

    def blocking(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the blocking client was used on the serving loop")

    _, presentation = live.wallet_presentation()
    text = qr.encode(presentation)
    with TestClient(create_app(service.settings, service=service)) as client:
        monkeypatch.setattr(service.store, "put_once", blocking)
        monkeypatch.setattr(service.store, "incr", blocking)
        assert client.post("/api/v1/verify", json={"qr": text}).json()["verdict"] == "valid"
        replayed = client.post("/api/v1/verify", json={"qr": text}).json()
        monkeypatch.undo()
    expected = service.verify(text, "es")
    replayed.pop("status_checked_at"), expected.pop("status_checked_at")
    assert replayed == expected and replayed["error"]["code"] == "replayed"
