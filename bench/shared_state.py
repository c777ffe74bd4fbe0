"""Shared state of replicas (issue 12), as ratios and sizes measured in this run.

- ``redis_bytes_per_live_qr``: Redis memory (``INFO memory`` used_memory) per accepted live QR,
  i.e. per key-binding nonce taken with ``SET NX EX`` through the verifier's replay store; and what
  one million live QRs a day keep in Redis at any moment (``redis_mb_1m_qr_per_day``: spread over
  the day; ``redis_mb_1m_qr_in_1h``: all of them in one hour). A nonce lives 420 s (KB-JWT max age
  300 s plus twice the 60 s leeway). Needs Redis (PUENTE_BENCH_REDIS_URL or PUENTE_TEST_REDIS_URL).
- ``status_refresh_100_99x304_vs_full``: a verifier refreshing 100 status lists of which 99 answer
  304 (the verifier's conditional request), relative to one full fetch-and-verify of one list
  (fetch, signature check, inflation) — both over the same HTTP stack (an in-process transport
  serving a real signed list of 131,072 two-bit entries with its ETag).
- ``verify_redis_vs_memory``: live-QR verification (everything credcore checks, plus taking the
  KB-JWT nonce in the replay store) with the Redis store relative to the memory store, in one
  process on distinct presentations, rounds alternated. Each verification waits for one blocking
  round trip here; the service awaits it on its event loop instead, pipelined with the other
  requests' commands (servicekit/shared_store.py), and issue 12's goal (≥ 0.9) is on that path:
  ``verify_http_redis_vs_memory`` (bench/redis_http.py).
"""

from __future__ import annotations

import hashlib
import os
import random
import secrets
import statistics
import time
from collections.abc import Mapping

import httpx

from credcore.clock import FixedClock
from credcore.keys import generate_key
from credcore.ports import SharedNonceStore
from credcore.status_list import StatusList, build_status_list_token, verify_status_list_token
from servicekit.shared_store import RedisStore
from verifier.config import VerifierSettings
from verifier.fetch import fetch_conditional
from verifier.status_cache import StatusCache

NONCE_LIFE = 300 + 2 * 60
GOAL_MB = 200.0


def redis_bytes(count: int = 20_000) -> Mapping[str, float | str]:
    url = os.environ.get("PUENTE_BENCH_REDIS_URL") or os.environ.get("PUENTE_TEST_REDIS_URL")
    if not url:
        return {"redis_bytes_per_live_qr": "skipped: no Redis (PUENTE_BENCH_REDIS_URL or PUENTE_TEST_REDIS_URL)"}
    prefix = f"bench:{secrets.token_hex(4)}:verifier:"
    store = RedisStore(url, prefix)
    nonces = SharedNonceStore(store)
    client = store.client
    now = int(time.time())
    try:
        before = int(client.info("memory")["used_memory"])
        audience = "https://puente.example/offline"
        for _ in range(count):  # what a verifier stores per accepted live QR: its KB-JWT nonce
            assert nonces.consume(f"{audience}|{secrets.token_urlsafe(16)}", now + NONCE_LIFE, now)
        after = int(client.info("memory")["used_memory"])
    finally:
        keys = list(client.scan_iter(f"{prefix}*", count=5000))
        for start in range(0, len(keys), 5000):
            client.delete(*keys[start:start + 5000])
    per_qr = max(0.0, (after - before) / count)
    live_day = 1_000_000 / 86_400 * NONCE_LIFE
    live_hour = 1_000_000 / 3_600 * NONCE_LIFE
    return {"redis_bytes_per_live_qr": round(per_qr, 1),
            "redis_mb_1m_qr_per_day": round(per_qr * live_day / 1e6, 2),
            "redis_mb_1m_qr_in_1h": round(per_qr * live_hour / 1e6, 2)}


def _served_list() -> tuple[str, str, object]:
    key = generate_key("ES256")
    statuses = StatusList(131_072, 2)
    rng = random.Random(7)
    for index in rng.sample(range(131_072), 2_000):
        statuses.set(index, 1)
    now = int(time.time())
    token = build_status_list_token(statuses, uri="https://issuer.example/i/x/status/1",
                                    issuer="https://issuer.example/i/x", key=key, iat=now, ttl=60, exp=now + 86_400)
    etag = '"' + hashlib.sha256(token.encode()).hexdigest()[:32] + '"'
    return token, etag, key


def status_refresh(rounds: int = 5, lists: int = 100) -> Mapping[str, float | str]:
    token, etag, key = _served_list()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers.get("if-none-match") == etag:
            return httpx.Response(304, headers={"ETag": etag})
        return httpx.Response(200, content=token.encode(),
                              headers={"Content-Type": "application/statuslist+jwt", "ETag": etag})

    client = httpx.Client(transport=httpx.MockTransport(handler))
    settings = VerifierSettings(env="test", background_refresh=False)
    public = key.public  # type: ignore[attr-defined]
    uris = [f"https://issuer.example/i/x/status/{n}" for n in range(lists)]

    def full_fetch_and_verify() -> None:
        text, _ = fetch_conditional(uris[0], settings=settings, client=client, accept="application/statuslist+jwt")
        assert text is not None
        verify_status_list_token(text, uri="https://issuer.example/i/x/status/1", resolve_key=lambda _t: public,
                                 now=int(time.time()))

    ratios: list[float] = []
    for _ in range(rounds):
        cache = StatusCache(settings, FixedClock(int(time.time())), client)
        for uri in uris:
            cache.refresh(uri)  # each list held once, with its ETag
        cache._entries[uris[-1]].etag = '"changed"'  # one list changed at the issuer
        started = time.perf_counter()
        for uri in uris:
            cache.refresh(uri)
        verify_status_list_token(token, uri="https://issuer.example/i/x/status/1", resolve_key=lambda _t: public,
                                 now=int(time.time()))  # the one changed list is checked in full
        refresh = time.perf_counter() - started
        assert (cache.fetches, cache.revalidations) == (lists + 1, lists - 1)
        fulls = []
        for _ in range(10):  # the baseline is short: its median over ten runs
            started = time.perf_counter()
            full_fetch_and_verify()
            fulls.append(time.perf_counter() - started)
        ratios.append(refresh / statistics.median(fulls))
    return {"status_refresh_100_99x304_vs_full": round(statistics.median(ratios), 2)}


def verify_stores(rounds: int = 5, per_round: int = 200) -> Mapping[str, float | str]:
    url = os.environ.get("PUENTE_BENCH_REDIS_URL") or os.environ.get("PUENTE_TEST_REDIS_URL")
    if not url:
        return {"verify_redis_vs_memory": "skipped: no Redis (PUENTE_BENCH_REDIS_URL or PUENTE_TEST_REDIS_URL)"}
    from bench.fixtures import build_reference
    from credcore.key_binding import OFFLINE_AUDIENCE, KeyBindingPolicy
    from credcore.verify import VerificationPolicy, VerifierMemory, verification_report
    from servicekit.shared_store import MemoryStore
    from testkit.world import REFERENCE_DISCLOSED

    ref = build_reference()
    world = ref.world
    policy = VerificationPolicy(key_binding=KeyBindingPolicy(audience=OFFLINE_AUDIENCE, max_age=3600))
    prefix = f"bench:{secrets.token_hex(4)}:"
    redis_store = RedisStore(url, prefix)

    def rate(store: object) -> float:
        nonces = SharedNonceStore(store)  # type: ignore[arg-type]
        remembered = VerifierMemory()
        texts = [world.present(ref.credential, REFERENCE_DISCLOSED, aud=OFFLINE_AUDIENCE) for _ in range(per_round)]
        started = time.perf_counter()
        for text in texts:
            report = verification_report(text, trust=ref.trust, types=world.types, clock=world.clock, policy=policy,
                                         status_source=ref.status_source, nonce_store=nonces, memory=remembered)
            assert report.valid, report.verdict
        return per_round / (time.perf_counter() - started)

    ratios = []
    try:
        for _ in range(rounds):
            memory, redis_rate = rate(MemoryStore()), rate(redis_store)
            ratios.append(redis_rate / memory)
    finally:
        keys = list(redis_store.client.scan_iter(f"{prefix}*", count=5000))
        if keys:
            redis_store.client.delete(*keys)
    return {"verify_redis_vs_memory": round(statistics.median(ratios), 2)}


def run(rounds: int = 5, count: int = 20_000, per_round: int = 200) -> Mapping[str, float | str]:
    return {**redis_bytes(count), **status_refresh(rounds), **verify_stores(rounds, per_round)}


if __name__ == "__main__":
    for name, value in run().items():
        print(f"{name}: {value}")
