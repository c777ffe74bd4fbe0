"""The HTTP path, measured with wrk (bench/wrk.py) against baselines from the same run.

Two servers are started with the same uvicorn settings (``python -m uvicorn``, the same workers,
log level and event loop/HTTP parser choice as ``puente serve``): the verifier
(``puente.demo:verifier_app``, with its request ids, JSON access log, metrics and a rate limit too
high to trip) and a bare FastAPI hello (bench/bare_hello.py). Each round loads, in alternating
order, the bare hello, the verifier's ``GET /api/v1/hello`` and ``POST /api/v1/verify`` with
distinct live wallet QRs (a fresh KB-JWT nonce each: a replayed one would be rejected), and times
the verifier's own ``VerifierService.verify`` in this process on distinct QRs as the in-process
baseline. All with 16 keep-alive connections from one wrk thread, first with one worker, then two.

One worker keeps the KB-JWT replay store in memory; two share it through Redis
(``PUENTE_BENCH_REDIS_URL``, else ``PUENTE_TEST_REDIS_URL``), as ``puente serve --workers 2``
requires; without one the ``_2w`` lines say skipped. Without wrk every line says
``skipped: wrk missing``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench import wrk
from credcore import qr
from credcore.holder import disclose, present
from credcore.issue import issue_credential
from credcore.keys import SigningKey, generate_key, public_key_from_jwk
from issuer.app import create_app as create_issuer
from issuer.institutions import active_key, create_institution, registry_key
from issuer.operator import operator_staff
from testkit.live import loopback_issuer
from testkit.servers import ServerThread, free_port
from testkit.world import REFERENCE_DISCLOSED, example_claims
from verifier.app import build_service
from verifier.config import VerifierSettings

GOAL_VERIFY = 0.40  # verify_http_vs_bare_hello
GOAL_HELLO = 0.85  # hello_vs_bare_hello
CONNECTIONS = 16
VALID = '"verdict":"valid"'
NO_REDIS = "skipped: no Redis (PUENTE_BENCH_REDIS_URL or PUENTE_TEST_REDIS_URL)"
LINES = ("bare_hello_per_s", "hello_http_per_s", "verify_http_per_s", "verify_inprocess_per_s",
         "verify_http_vs_bare_hello", "hello_vs_bare_hello", "verify_http_vs_inprocess",
         "verify_http_p50_ms", "verify_http_p99_ms", "hello_http_p50_ms", "hello_http_p99_ms",
         "bare_hello_per_s_2w", "hello_http_per_s_2w", "verify_http_per_s_2w", "verify_http_vs_bare_hello_2w",
         "hello_vs_bare_hello_2w", "verify_http_p50_ms_2w", "verify_http_p99_ms_2w")


class Presenter:
    """Distinct live QRs of one credential: the reference disclosures and a fresh KB-JWT each."""

    def __init__(self, sd_jwt: str, holder: SigningKey) -> None:
        self.presented, self.holder = disclose(sd_jwt, REFERENCE_DISCLOSED), holder

    def qrs(self, count: int) -> list[str]:
        now = int(time.time())
        return [qr.encode(present(self.presented, self.holder, disclose_claims=REFERENCE_DISCLOSED, iat=now))
                for _ in range(count)]

    def bodies(self, count: int) -> list[str]:
        return [json.dumps({"qr": text}) for text in self.qrs(count)]


def run(rounds: int = 3, seconds: float = 3.0, quick: bool = False) -> Mapping[str, float | str]:
    if not wrk.available():
        return dict.fromkeys(LINES, wrk.MISSING)
    with tempfile.TemporaryDirectory() as tmp:
        return _run(Path(tmp), rounds, 1.0 if quick else seconds, quick)


def _run(tmp: Path, rounds: int, seconds: float, quick: bool) -> Mapping[str, float | str]:
    results: dict[str, float | str] = {}
    with serving_issuer(tmp) as (issuer_env, presenter):
        env = {**issuer_env, "PUENTE_VAR_DIR": str(tmp / "verifier")}
        trust_url, registry = env["PUENTE_TRUST_LIST_URL"], json.loads(env["PUENTE_REGISTRY_PUBLIC_JWK"])
        inprocess = build_service(VerifierSettings(env="test", var_dir=tmp / "inprocess", trust_list_url=trust_url,
                                                   background_refresh=False),
                                  registry_key=public_key_from_jwk(registry))
        if not inprocess.trust.refresh():
            raise RuntimeError("the in-process verifier could not fetch the trust list")
        results.update(_measure_workers(tmp, env, presenter, inprocess, 1, rounds, seconds, quick))
        # Two workers share KB-JWT nonces through Redis, as `puente serve --workers 2` requires.
        redis_url = os.environ.get("PUENTE_BENCH_REDIS_URL") or os.environ.get("PUENTE_TEST_REDIS_URL")
        if redis_url:
            shared = {**env, "PUENTE_WORKERS": "2", "PUENTE_REDIS_URL": redis_url}
            results.update(_measure_workers(tmp, shared, presenter, inprocess, 2, rounds, seconds, quick))
        else:
            results.update(dict.fromkeys((name for name in LINES if name.endswith("_2w")), NO_REDIS))
    return {name: results[name] for name in LINES}


@contextmanager
def serving_issuer(tmp: Path) -> Iterator[tuple[dict[str, str], Presenter]]:
    """An issuer serving SENA's trust list and status list; the verifiers' environment and live QRs."""
    port = free_port()
    deps = loopback_issuer(tmp, port)
    settings = deps.settings
    holder = generate_key()
    with deps.session() as session:
        sena = create_institution(session, deps, slug="sena", name="SENA", types=["skills-certification"])
        session.commit()
        registry = registry_key(session, deps).public.jwk()
        key = active_key(session, deps, sena)
    from issuer import credentials as creds

    record = creds.issue_one(deps, operator_staff(sena), type_id="skills-certification",
                             claims=example_claims("skills-certification"), valid_until=None, lang="es").credential
    credential = issue_credential(
        ctype=deps.types.get("skills-certification"), claims=example_claims("skills-certification"),
        issuer=settings.issuer_id("sena"), key=key, clock=deps.clock, holder_jwk=holder.public.jwk(),
        status=(f"{settings.issuer_id('sena')}/status/1", record.status_idx), valid_until=record.valid_until)
    env = {**os.environ, "PUENTE_ENV": "test", "PUENTE_REGISTRY_PUBLIC_JWK": json.dumps(registry),
           "PUENTE_RATE_LIMIT_PER_MINUTE": "1000000000", "PUENTE_TRUST_LIST_URL": f"http://127.0.0.1:{port}/trust-list"}
    try:
        issuer = create_issuer(settings, deps=deps)
        logging.getLogger("puente").setLevel(logging.WARNING)
        with ServerThread(issuer, port):
            yield env, Presenter(credential.sd_jwt, holder)
    finally:
        deps.engine.dispose()


class Servers:
    """The verifier and the bare hello, each ``python -m uvicorn`` with the same settings."""

    def __init__(self, tmp: Path, env: dict[str, str], workers: int) -> None:
        self.verifier_port, self.bare_port = free_port(), free_port()
        common = ["--host", "127.0.0.1", "--workers", str(workers), "--log-level", "warning", "--no-access-log"]
        self.logs = [(tmp / f"verifier-{workers}w.log").open("wb"), (tmp / f"bare-{workers}w.log").open("wb")]
        self.processes = [
            subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "puente.demo:verifier_app", *common,
                              "--port", str(self.verifier_port)], env=env, stdout=self.logs[0], stderr=self.logs[0]),
            subprocess.Popen([sys.executable, "-m", "uvicorn", "bench.bare_hello:app", *common,
                              "--port", str(self.bare_port)], env=env, stdout=self.logs[1], stderr=self.logs[1]),
        ]
        self.verifier = f"http://127.0.0.1:{self.verifier_port}"
        self.bare = f"http://127.0.0.1:{self.bare_port}"

    def wait_ready(self) -> None:
        for url in (f"{self.verifier}/readyz", f"{self.bare}/hello"):
            deadline = time.time() + 60
            while True:
                if any(process.poll() is not None for process in self.processes):
                    raise RuntimeError(f"a server exited: {[log.name for log in self.logs]}")
                try:
                    if httpx.get(url, timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.time() > deadline:
                    for log in self.logs:
                        log.flush()
                    tails = [Path(log.name).read_text("utf-8", "replace")[-1500:] for log in self.logs]
                    raise RuntimeError(f"{url} did not become ready: {tails}")
                time.sleep(0.2)

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self.logs:
            log.close()


def _inprocess_rate(service: Any, presenter: Presenter, count: int) -> float:
    texts = presenter.qrs(count)
    started = time.perf_counter()
    for text in texts:
        report = service.verify(text, "es")
        if report["verdict"] != "valid":
            raise RuntimeError(f"in-process verification failed: {report['error']}")
    return count / (time.perf_counter() - started)


def _measure_workers(tmp: Path, env: dict[str, str], presenter: Presenter, inprocess: Any, workers: int, rounds: int,
                     seconds: float, quick: bool) -> dict[str, float]:
    servers = Servers(tmp, env, workers)
    try:
        servers.wait_ready()
        first = httpx.post(f"{servers.verifier}/api/v1/verify", json={"qr": presenter.qrs(1)[0]}, timeout=10).json()
        if first["verdict"] != "valid":
            raise RuntimeError(f"reference QR does not verify over HTTP: {first['error']}")
        inprocess_rate = _inprocess_rate(inprocess, presenter, 20 if quick else 200)  # also warms up
        # Enough distinct QRs for the fastest rate seen so far, twice over; a run that still runs out
        # is void and done again with twice as many.
        fastest = [inprocess_rate * workers]

        def bare() -> wrk.Load:
            return wrk.run(servers.bare, workdir=tmp, seconds=seconds, connections=CONNECTIONS, path="/hello")

        def hello() -> wrk.Load:
            return wrk.run(servers.verifier, workdir=tmp, seconds=seconds, connections=CONNECTIONS,
                           path="/api/v1/hello")

        def verify() -> wrk.Load:
            supply = math.ceil(max(fastest) * 2 * (seconds + 1)) + 200
            for _attempt in range(4):
                try:
                    load = wrk.run(servers.verifier, workdir=tmp, seconds=seconds, connections=CONNECTIONS,
                                   method="POST", path="/api/v1/verify", bodies=presenter.bodies(supply),
                                   expect=VALID)
                except wrk.BodiesExhausted:
                    supply *= 2
                    continue
                fastest.append(load.per_s)
                return load
            raise wrk.LoadError(f"wrk outran {supply} distinct QRs")

        if not quick:
            for warm_up in (bare, hello, verify):
                warm_up()
        loads: dict[str, list[wrk.Load]] = {"bare": [], "hello": [], "verify": []}
        inprocess_rates: list[float] = []
        kinds = {"bare": bare, "hello": hello, "verify": verify}
        for number in range(rounds):
            order = list(kinds) if number % 2 == 0 else list(reversed(kinds))
            for kind in order:
                loads[kind].append(kinds[kind]())
            if workers == 1:
                inprocess_rates.append(_inprocess_rate(inprocess, presenter, 20 if quick else 300))
    finally:
        servers.stop()
    return _summary(loads, inprocess_rates, "" if workers == 1 else f"_{workers}w")


def _median_ratio(top: list[wrk.Load] | list[float], bottom: list[wrk.Load] | list[float]) -> float:
    def rate(item: wrk.Load | float) -> float:
        return item.per_s if isinstance(item, wrk.Load) else item

    return round(statistics.median(rate(a) / rate(b) for a, b in zip(top, bottom, strict=True)), 2)


def _summary(loads: dict[str, list[wrk.Load]], inprocess: list[float], suffix: str) -> dict[str, float]:
    bare, hello, verify = loads["bare"], loads["hello"], loads["verify"]
    results: dict[str, float] = {
        f"bare_hello_per_s{suffix}": round(statistics.median(load.per_s for load in bare)),
        f"hello_http_per_s{suffix}": round(statistics.median(load.per_s for load in hello)),
        f"verify_http_per_s{suffix}": round(statistics.median(load.per_s for load in verify)),
        f"verify_http_vs_bare_hello{suffix}": _median_ratio(verify, bare),
        f"hello_vs_bare_hello{suffix}": _median_ratio(hello, bare),
        f"verify_http_p50_ms{suffix}": round(statistics.median(load.p50_ms for load in verify), 1),
        f"verify_http_p99_ms{suffix}": round(statistics.median(load.p99_ms for load in verify), 1),
    }
    if not suffix:
        results["verify_inprocess_per_s"] = round(statistics.median(inprocess))
        results["verify_http_vs_inprocess"] = _median_ratio([load.per_s for load in verify], inprocess)
        results["hello_http_p50_ms"] = round(statistics.median(load.p50_ms for load in hello), 1)
        results["hello_http_p99_ms"] = round(statistics.median(load.p99_ms for load in hello), 1)
    return results
