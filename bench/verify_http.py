"""``verify_http_per_s`` and ``verify_http_vs_hello``: throughput of ``POST /api/v1/verify`` on one
verifier worker (uvicorn, its own process) with 16 concurrent keep-alive connections from an
asyncio load generator on loopback, divided by the same server's trivial endpoint
(``GET /api/v1/hello``) measured in the same run, rounds interleaved. Also ``verify_http_p99_ms``.

Each verification is of a different live wallet QR (a fresh KB-JWT nonce each: the verifier
rejects a replayed one), from a credential issued by a real issuer serving the trust list and the
status list on loopback.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
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

from credcore import jws, qr
from credcore.encoding import b64url_encode
from credcore.issue import issue_credential
from credcore.key_binding import OFFLINE_AUDIENCE, create_kb_jwt
from credcore.keys import generate_key
from credcore.sdjwt import SdJwt, parse_compact, select_disclosures
from issuer.app import create_app as create_issuer
from issuer.config import Settings
from issuer.db.engine import migrate
from issuer.deps import build_deps
from issuer.institutions import active_key, create_institution, registry_key
from puente.operator import operator_staff
from tests.support import REFERENCE_DISCLOSED, example_claims
from tests.verifier.conftest import ServerThread, free_port

GOAL = 0.6
CONNECTIONS = 16


def _presentations(count: int, sd_jwt: str, holder: object) -> list[str]:
    sd = parse_compact(sd_jwt)
    payload = jws.parse(sd.issuer_jwt).claims()
    chosen = select_disclosures(payload, sd.disclosures, [(name,) for name in REFERENCE_DISCLOSED])
    presented = SdJwt(sd.issuer_jwt, chosen).without_kb()
    now = int(time.time())
    return [qr.encode(presented + create_kb_jwt(presented, holder, aud=OFFLINE_AUDIENCE,  # type: ignore[arg-type]
                                                nonce=secrets.token_urlsafe(16), iat=now)) for _ in range(count)]


async def _load(base: str, requests: list[tuple[str, str | None]], seconds: float) -> tuple[float, list[float]]:
    """Send requests (method path, body) from 16 workers until ``seconds`` pass or they run out."""
    queue = iter(requests)
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        async def worker() -> None:
            for method_path, body in queue:
                if time.perf_counter() > deadline:
                    return
                _method, path = method_path.split(" ", 1)
                started = time.perf_counter()
                if body is None:
                    response = await client.get(path)
                else:
                    response = await client.post(path, content=body, headers={"Content-Type": "application/json"})
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise RuntimeError(f"{method_path} answered {response.status_code}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
        elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, latencies


def _run_load(base: str, requests: list[tuple[str, str | None]], seconds: float) -> tuple[float, list[float]]:
    """Run the load in a thread of its own: its event loop must not meet one already running in the
    caller's thread (a test session with Playwright has one)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _load(base, requests, seconds)).result()


def run(rounds: int = 3, seconds: float = 3.0, quick: bool = False) -> Mapping[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        return _run(Path(tmp), rounds, seconds, quick)


def _run(tmp: Path, rounds: int, seconds: float, quick: bool) -> Mapping[str, float]:
    issuer_port, verifier_port = free_port(), free_port()
    url = f"sqlite:///{tmp}/issuer.db"
    migrate(url)
    settings = Settings(env="test", database_url=url, var_dir=tmp, public_issuer_url=f"http://127.0.0.1:{issuer_port}",
                        master_key=b64url_encode(secrets.token_bytes(32)), worker_enabled=False,
                        rate_limit_per_minute=0)
    deps = build_deps(settings)
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
    env = {**os.environ, "PUENTE_ENV": "test", "PUENTE_VAR_DIR": str(tmp / "verifier"),
           "PUENTE_REGISTRY_PUBLIC_JWK": json.dumps(registry), "PUENTE_RATE_LIMIT_PER_MINUTE": "0",
           "PUENTE_TRUST_LIST_URL": f"http://127.0.0.1:{issuer_port}/trust-list"}
    with ServerThread(create_issuer(settings, deps=deps), issuer_port):
        verifier = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "puente.demo:verifier_app", "--host", "127.0.0.1",
             "--port", str(verifier_port), "--workers", "1", "--log-level", "warning", "--no-access-log"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            return _measure(f"http://127.0.0.1:{verifier_port}", credential.sd_jwt, holder, rounds, seconds, quick)
        finally:
            verifier.terminate()
            verifier.wait(timeout=10)
            deps.engine.dispose()


def _wait_ready(base: str) -> None:
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the verifier did not become ready")


def _measure(base: str, sd_jwt: str, holder: object, rounds: int, seconds: float,
             quick: bool) -> Mapping[str, float]:
    _wait_ready(base)
    per_round = 60 if quick else 4000
    hello_rates: list[float] = []
    verify_rates: list[float] = []
    latencies: list[float] = []
    first = httpx.post(f"{base}/api/v1/verify", json={"qr": _presentations(1, sd_jwt, holder)[0]}, timeout=10).json()
    if first["verdict"] != "valid":
        raise RuntimeError(f"reference QR does not verify: {first['error']}")
    for _ in range(rounds):
        hello = [("GET /api/v1/hello", None)] * per_round
        rate, _ = _run_load(base, hello, seconds)
        hello_rates.append(rate)
        texts = _presentations(per_round, sd_jwt, holder)
        bodies = [("POST /api/v1/verify", json.dumps({"qr": text})) for text in texts]
        rate, lat = _run_load(base, bodies, seconds)
        verify_rates.append(rate)
        latencies += lat
    ratios = sorted(v / h for v, h in zip(verify_rates, hello_rates, strict=True))
    p99 = statistics.quantiles(latencies, n=100)[98] if len(latencies) >= 100 else max(latencies)
    return {"verify_http_per_s": round(statistics.median(verify_rates)),
            "hello_http_per_s": round(statistics.median(hello_rates)),
            "verify_http_vs_hello": round(statistics.median(ratios), 2),
            "verify_http_p99_ms": round(p99 * 1000, 1)}
