"""``verify_http`` with the Redis store relative to the memory store (issue 12, goal ≥ 0.9).

Two verifiers are served side by side, each ``python -m uvicorn`` with one worker and the settings
``bench/verify_http.py`` uses (httptools, uvloop, a rate limit on but too high to trip): one keeps its
shared state (KB-JWT nonces, rate-limit counters) in memory, the other in Redis
(``PUENTE_BENCH_REDIS_URL``, else ``PUENTE_TEST_REDIS_URL``; without one the lines say skipped).
wrk loads ``POST /api/v1/verify`` of each in turn with distinct live QRs (16 keep-alive
connections), rounds alternating which goes first; every answer must be ``valid``. Each Redis
verification costs two Redis commands: the rate-limit counter and the nonce's ``SET NX EX``.
"""

from __future__ import annotations

import math
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from bench import wrk
from bench.verify_http import CONNECTIONS, VALID, Presenter, serving_issuer
from testkit.servers import free_port

GOAL = 0.9  # verify_http_redis_vs_memory (issue 12)
NO_REDIS = "skipped: no Redis (PUENTE_BENCH_REDIS_URL or PUENTE_TEST_REDIS_URL)"
LINES = ("verify_http_memory_per_s", "verify_http_redis_per_s", "verify_http_redis_vs_memory",
         "verify_http_memory_p99_ms", "verify_http_redis_p99_ms")


def redis_url() -> str | None:
    return os.environ.get("PUENTE_BENCH_REDIS_URL") or os.environ.get("PUENTE_TEST_REDIS_URL")


def run(rounds: int = 5, seconds: float = 3.0, quick: bool = False) -> Mapping[str, float | str]:
    if not wrk.available():
        return dict.fromkeys(LINES, wrk.MISSING)
    url = redis_url()
    if not url:
        return dict.fromkeys(LINES, NO_REDIS)
    with tempfile.TemporaryDirectory() as tmp, serving_issuer(Path(tmp)) as (env, presenter):
        return _measure(Path(tmp), env, presenter, url, rounds, 1.0 if quick else seconds, quick)


class Verifier:
    """One verifier process, ``python -m uvicorn`` with one worker."""

    def __init__(self, tmp: Path, name: str, env: dict[str, str]) -> None:
        self.port = free_port()
        self.log = (tmp / f"verifier-{name}.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "puente.demo:verifier_app", "--host", "127.0.0.1",
             "--port", str(self.port), "--workers", "1", "--log-level", "warning", "--no-access-log"],
            env={**env, "PUENTE_VAR_DIR": str(tmp / name)}, stdout=self.log, stderr=self.log)
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, presenter: Presenter) -> None:
        deadline = time.time() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the verifier exited: {Path(self.log.name).read_text('utf-8', 'replace')[-1500:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline:
                raise RuntimeError(f"{self.url} did not become ready")
            time.sleep(0.2)
        first = httpx.post(f"{self.url}/api/v1/verify", json={"qr": presenter.qrs(1)[0]}, timeout=10).json()
        if first["verdict"] != "valid":
            raise RuntimeError(f"reference QR does not verify over HTTP: {first['error']}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def _measure(tmp: Path, env: dict[str, str], presenter: Presenter, url: str, rounds: int, seconds: float,
             quick: bool) -> dict[str, float | str]:
    prefix = f"bench:{secrets.token_hex(4)}:verifier:"
    servers = {"memory": Verifier(tmp, "memory", env),
               "redis": Verifier(tmp, "redis", {**env, "PUENTE_REDIS_URL": url, "PUENTE_REDIS_PREFIX": prefix})}
    fastest = [500.0]
    try:
        for server in servers.values():
            server.wait_ready(presenter)

        def load(server: Verifier) -> wrk.Load:
            supply = math.ceil(max(fastest) * 2 * (seconds + 1)) + 200
            for _attempt in range(4):
                try:
                    result = wrk.run(server.url, workdir=tmp, seconds=seconds, connections=CONNECTIONS, method="POST",
                                     path="/api/v1/verify", bodies=presenter.bodies(supply), expect=VALID)
                except wrk.BodiesExhausted:
                    supply *= 2
                    continue
                fastest.append(result.per_s)
                return result
            raise wrk.LoadError(f"wrk outran {supply} distinct QRs")

        if not quick:
            for server in servers.values():
                load(server)  # warm-up
        loads: dict[str, list[wrk.Load]] = {"memory": [], "redis": []}
        for number in range(rounds):
            order = ["memory", "redis"] if number % 2 == 0 else ["redis", "memory"]
            for name in order:
                loads[name].append(load(servers[name]))
    finally:
        for server in servers.values():
            server.stop()
        _forget(url, prefix)
    ratios = [r.per_s / m.per_s for m, r in zip(loads["memory"], loads["redis"], strict=True)]
    return {"verify_http_memory_per_s": round(statistics.median(x.per_s for x in loads["memory"])),
            "verify_http_redis_per_s": round(statistics.median(x.per_s for x in loads["redis"])),
            "verify_http_redis_vs_memory": round(statistics.median(ratios), 2),
            "verify_http_memory_p99_ms": round(statistics.median(x.p99_ms for x in loads["memory"]), 1),
            "verify_http_redis_p99_ms": round(statistics.median(x.p99_ms for x in loads["redis"]), 1)}


def _forget(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(f"{prefix}*", count=5000))
    for start in range(0, len(keys), 5000):
        client.delete(*keys[start:start + 5000])
    client.close()


if __name__ == "__main__":
    for name, value in run().items():
        print(f"{name}: {value}")
