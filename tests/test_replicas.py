"""Many replicas, one truth (issue 12): two issuer and two verifier processes (``puente serve``) on
one PostgreSQL and one Redis, behind HAProxy with deploy/haproxy.cfg, driven through the balancer
only. Needs PostgreSQL (PUENTE_TEST_DATABASE_URL names the server), Redis and haproxy; in CI all
three must be there (.ci/run provides them)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from credcore import qr
from credcore.clock import SystemClock
from credcore.encoding import b64url_encode
from issuer.config import Settings
from issuer.db.engine import migrate
from issuer.deps import Deps, build_deps
from issuer.institutions import create_institution, registry_key
from issuer.staff import create_api_key
from testkit.wallet import Wallet, present
from tests.issuer.support import TYPE, assert_exactly_once, csv_of, person
from tests.redis_server import shared_redis

ROOT = Path(__file__).resolve().parent.parent
ISSUER_LIMIT = 40  # OpenID4VCI requests per client and minute, counted across both issuers
pytestmark = pytest.mark.timeout(600)


_TAKEN: set[int] = set()


def free_port() -> int:
    """A free port below the ephemeral range, so no outgoing connection takes it before it is bound."""
    import random
    import socket

    while True:
        port = random.randint(20_000, 32_000)
        if port in _TAKEN:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _TAKEN.add(port)
        return port


def _missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required in CI")
    pytest.skip(f"{what} is not available")


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """A fresh PostgreSQL database on the test server, dropped afterwards."""
    server = os.environ.get("PUENTE_TEST_DATABASE_URL")
    if not server or not server.startswith("postgresql"):
        _missing("PostgreSQL (PUENTE_TEST_DATABASE_URL)")
    import psycopg

    parts = urlsplit(server)
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    name = f"puente_replicas_{secrets.token_hex(4)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class Process:
    """A child process with its log in a file, stopped (or killed) by its own pid."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.argv, self.env, self.log = name, argv, env, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=log)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self, number: int = signal.SIGKILL) -> None:
        if self.alive():
            assert self.process is not None
            self.process.send_signal(number)
            self.process.wait(timeout=30)
        self.process = None

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""


def _wait_http(url: str, process: Process, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        assert process.alive(), f"{process.name} died:\n{process.tail()}"
        assert time.monotonic() < deadline, f"{process.name} did not become ready:\n{process.tail()}"
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)


@dataclass
class Cluster:
    issuer_url: str
    verifier_url: str
    deps: Deps
    keys: dict[str, str]
    issuers: dict[str, Process]
    direct: dict[str, str]  # replica name → its own address (not through the balancer)
    http: httpx.Client
    processes: list[Process] = field(default_factory=list)

    def wallet(self) -> Wallet:
        return Wallet(self.http, lambda: int(time.time()))  # type: ignore[arg-type]

    def issue(self, type_id: str = "skills-certification", who: str = "sena") -> dict[str, Any]:
        from testkit.world import example_claims

        response = self.http.post(f"{self.issuer_url}/api/v1/credentials",
                                  json={"type": type_id, "claims": example_claims(type_id)},
                                  headers={"Authorization": f"Bearer {self.keys[who]}",
                                           "Idempotency-Key": secrets.token_urlsafe(18)})
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created


@pytest.fixture(scope="module")
def cluster(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if shutil.which("haproxy") is None:
        _missing("haproxy")
    tmp = tmp_path_factory.mktemp("replicas")
    redis_gen = shared_redis()
    redis_url, prefix = next(redis_gen)
    sa_url = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    migrate(sa_url)
    master_key = b64url_encode(secrets.token_bytes(32))
    lb_issuer, lb_verifier = free_port(), free_port()
    issuer_url, verifier_url = f"http://127.0.0.1:{lb_issuer}", f"http://127.0.0.1:{lb_verifier}"
    settings = Settings(env="test", database_url=sa_url, var_dir=tmp, public_issuer_url=issuer_url,
                        master_key=master_key, worker_enabled=False, rate_limit_per_minute=0)
    deps = build_deps(settings, clock=SystemClock())
    keys: dict[str, str] = {}
    with deps.session() as session:
        for slug, name, types in (("sena", "SENA", ["skills-certification"]),
                                  ("migracion", "Migración Colombia", ["ppt-status"])):
            institution = create_institution(session, deps, slug=slug, name=name, types=types)
            keys[slug] = create_api_key(session, deps, institution, role="officer", name="replicas")[0]
        session.commit()
        registry = registry_key(session, deps).public
    keep = {k: v for k, v in os.environ.items() if not k.startswith("PUENTE_")}
    # The balancer runs here: its address (127.0.0.1) is the one trusted proxy, as operators set it.
    common = {**keep, "PUENTE_ENV": "test", "PUENTE_REDIS_URL": redis_url, "PUENTE_TRUSTED_PROXIES": "127.0.0.1"}
    ports = {name: free_port() for name in ("issuer1", "issuer2", "verifier1", "verifier2")}
    serve = [sys.executable, "-m", "puente", "serve"]
    processes: dict[str, Process] = {}
    for name in ("issuer1", "issuer2"):
        env = {**common, "PUENTE_DATABASE_URL": sa_url, "PUENTE_MASTER_KEY": master_key,
               "PUENTE_VAR_DIR": str(tmp / name), "PUENTE_PUBLIC_ISSUER_URL": issuer_url,
               "PUENTE_REDIS_PREFIX": f"{prefix}issuer:", "PUENTE_WORKER_ENABLED": "true",
               "PUENTE_BATCH_CHUNK_ROWS": "25", "PUENTE_BATCH_LEASE_SECONDS": "4",
               "PUENTE_RATE_LIMIT_PER_MINUTE": str(ISSUER_LIMIT),
               "PUENTE_NONCE_RATE_LIMIT_PER_MINUTE": str(ISSUER_LIMIT)}
        processes[name] = Process(name, [*serve, "issuer", "--port", str(ports[name])], env, tmp / f"{name}.log")
    for name in ("verifier1", "verifier2"):
        env = {**common, "PUENTE_VAR_DIR": str(tmp / name), "PUENTE_PUBLIC_VERIFIER_URL": verifier_url,
               "PUENTE_TRUST_LIST_URL": f"{issuer_url}/trust-list", "PUENTE_REDIS_PREFIX": f"{prefix}verifier:",
               "PUENTE_REGISTRY_PUBLIC_JWK": json.dumps(registry.jwk()), "PUENTE_RATE_LIMIT_PER_MINUTE": "0"}
        processes[name] = Process(name, [*serve, "verifier", "--port", str(ports[name])], env, tmp / f"{name}.log")
    balancer_env = {**keep, "PUENTE_LB_ISSUER_BIND": f"127.0.0.1:{lb_issuer}",
                    "PUENTE_LB_VERIFIER_BIND": f"127.0.0.1:{lb_verifier}",
                    **{f"PUENTE_{name[:-1].upper()}_{name[-1]}": f"127.0.0.1:{port}" for name, port in ports.items()}}
    balancer = Process("haproxy", ["haproxy", "-f", str(ROOT / "deploy" / "haproxy.cfg"), "-db"], balancer_env,
                       tmp / "haproxy.log")
    everything = [*processes.values(), balancer]
    try:
        balancer.start()  # first: replicas are down for it until their /readyz answers
        for name in ("issuer1", "issuer2"):
            processes[name].start()
        for name in ("issuer1", "issuer2"):
            _wait_http(f"http://127.0.0.1:{ports[name]}/readyz", processes[name])
        _wait_http(f"{issuer_url}/healthz", balancer)
        for name in ("verifier1", "verifier2"):
            processes[name].start()
        for name in ("verifier1", "verifier2"):
            _wait_http(f"http://127.0.0.1:{ports[name]}/readyz", processes[name])
        _wait_for_both(issuer_url, verifier_url)
        with httpx.Client(timeout=30) as http:
            yield Cluster(issuer_url, verifier_url, deps, keys, {n: processes[n] for n in ("issuer1", "issuer2")},
                          {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}, http, everything)
    finally:
        for process in everything:
            process.kill(signal.SIGTERM)
        deps.engine.dispose()
        for _ in redis_gen:  # deletes the test's keys
            pass


def _wait_for_both(*urls: str) -> None:
    """The balancer has seen every replica healthy: requests reach both of each."""
    for url in urls:
        deadline = time.monotonic() + 30
        seen: set[str] = set()
        while len(seen) < 2:
            assert time.monotonic() < deadline, f"only {seen} answer behind {url}"
            seen.add(httpx.get(f"{url}/healthz", timeout=5).headers.get("x-puente-replica", ""))
            seen.discard("")
            time.sleep(0.1)


def _replica(response: httpx.Response) -> str:
    return response.headers["x-puente-replica"]


def test_the_same_live_qr_is_valid_once_whichever_replica_answers(cluster: Cluster) -> None:
    wallet = cluster.wallet()
    sd_jwt = wallet.redeem(cluster.issue())
    text = qr.encode(present(sd_jwt, wallet.holder, now=int(time.time())))
    first = cluster.http.post(f"{cluster.verifier_url}/api/v1/verify", json={"qr": text})
    second = cluster.http.post(f"{cluster.verifier_url}/api/v1/verify", json={"qr": text})
    assert first.json()["verdict"] == "valid", first.text
    assert second.json()["valid"] is False and second.json()["error"]["code"] == "replayed"
    assert _replica(first) != _replica(second)  # round robin: the replay went to the other process


def test_a_presentation_request_is_answered_and_read_through_other_replicas(cluster: Cluster) -> None:
    from tests.verifier.support import KYC_CLAIMS, decode_unsecured_jwt, present_to

    wallet = cluster.wallet()
    sd_jwt = wallet.redeem(cluster.issue("ppt-status", "migracion"))
    http, base = cluster.http, cluster.verifier_url
    created = http.post(f"{base}/api/v1/presentation-requests", json={"preset": "bank-kyc"})
    assert created.status_code == 201, created.text
    body = created.json()
    fetched = http.get(body["request_uri"])
    assert fetched.status_code == 200 and _replica(fetched) != _replica(created)
    again = http.get(body["request_uri"])
    assert again.status_code == 404  # served once, at whichever replica
    _, request = decode_unsecured_jwt(fetched.text)
    presentation = present_to(sd_jwt, wallet.holder, aud=request["client_id"], nonce=request["nonce"],
                              disclose=KYC_CLAIMS)
    answered = http.post(request["response_uri"], data={"vp_token": json.dumps({"kyc": [presentation]}),
                                                         "state": request["state"]})
    assert answered.status_code == 200, answered.text
    readers = []
    for _ in range(2):
        result = http.get(f"{base}{body['result_uri']}", headers={"Authorization": f"Bearer {body['result_token']}"})
        assert result.status_code == 200
        readers.append((_replica(result), result.json()))
    (first_by, first), (second_by, second) = readers
    assert first_by != second_by
    assert first["status"] == "done" and set(first["result"]["credentials"]["kyc"]["claims"]) == set(KYC_CLAIMS)
    assert second["claims_deleted"] is True and second["result"]["credentials"]["kyc"]["claims"] == {}


def _batch_metrics(url: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=5).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith("puente_events_total") and "batch_rows_" in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_a_batch_is_issued_exactly_once_by_two_issuers_even_when_one_is_killed(cluster: Cluster) -> None:
    rows = [person(n, competency_title="T", center="C") for n in range(600)]
    headers = {"Authorization": f"Bearer {cluster.keys['sena']}", "Content-Type": "text/csv"}
    uploaded = cluster.http.post(f"{cluster.issuer_url}/api/v1/batches?type={TYPE}", content=csv_of(rows),
                                 headers=headers)
    assert uploaded.status_code == 202, uploaded.text
    batch_id = uploaded.json()["id"]
    status = f"{cluster.issuer_url}/api/v1/batches/{batch_id}"
    deadline = time.monotonic() + 120
    while True:  # the batch is under way at one of the issuers
        state = cluster.http.get(status, headers=headers).json()
        if state["processed"] >= 50:
            break
        assert time.monotonic() < deadline, state
        time.sleep(0.05)
    working = [name for name in cluster.issuers if _batch_metrics(cluster.direct[name]) > 0]
    assert len(working) == 1 and state["processed"] < 600, (working, state)
    cluster.issuers[working[0]].kill(signal.SIGKILL)  # mid-batch, holding the lease
    other = next(name for name in cluster.issuers if name != working[0])
    deadline = time.monotonic() + 180
    while state["state"] != "done":
        assert time.monotonic() < deadline, state
        time.sleep(0.2)
        state = cluster.http.get(status, headers=headers).json()  # the balancer skips the dead replica
    assert (state["total"], state["processed"], state["failed"]) == (600, 600, 0)
    assert _batch_metrics(cluster.direct[other]) > 0  # the survivor finished it
    assert_exactly_once(cluster.deps, batch_id, list(range(2, 602)))
    cluster.issuers[working[0]].start()  # back for the tests that follow
    _wait_http(f"{cluster.direct[working[0]]}/readyz", cluster.issuers[working[0]])
    _wait_for_both(cluster.issuer_url)


def test_a_rate_limit_counts_across_replicas(cluster: Cluster) -> None:
    if 60 - time.time() % 60 < 20:  # one fixed window for the whole test
        time.sleep(60 - time.time() % 60 + 0.5)
    url = f"{cluster.issuer_url}/i/sena/nonce"
    served: Counter[str] = Counter()
    for _ in range(2 * ISSUER_LIMIT + 2):
        response = cluster.http.post(url)
        if response.status_code == 429:
            break
        assert response.status_code == 200, response.text
        served[_replica(response)] += 1
    else:
        pytest.fail(f"no 429 after {2 * ISSUER_LIMIT + 2} requests: each replica counted alone ({served})")
    assert set(served) == {"issuer1", "issuer2"} and sum(served.values()) <= ISSUER_LIMIT
    assert response.headers.get("retry-after")


def _from(address: str) -> httpx.Client:
    """A client whose connections leave from ``address`` (another loopback address: another client
    as the balancer sees it)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30)


def _spend(client: httpx.Client, url: str, headers: Callable[[int], dict[str, str]] | None = None) -> int:
    """POSTs until the first 429; how many were served (fails if none is refused)."""
    for number in range(2 * ISSUER_LIMIT + 2):
        response = client.post(url, headers=headers(number) if headers else None)
        if response.status_code == 429:
            assert response.headers.get("retry-after")
            return number
        assert response.status_code == 200, response.text
    pytest.fail(f"no 429 after {2 * ISSUER_LIMIT + 2} requests")


def test_behind_the_trusted_balancer_each_client_has_its_own_budget(cluster: Cluster) -> None:
    """security-cases.md #166: the replicas trust the balancer's X-Forwarded-For (and only its), so
    two clients get separate budgets; a client's own X-Forwarded-For, through the balancer (which
    replaces it) or straight to a replica (an untrusted peer), buys it nothing."""
    if 60 - time.time() % 60 < 25:  # one fixed window for the whole test
        time.sleep(60 - time.time() % 60 + 0.5)
    url = f"{cluster.issuer_url}/i/sena/nonce"
    with _from("127.0.0.2") as spoofer, _from("127.0.0.3") as other, _from("127.0.0.4") as direct:
        # A spoofer rotating X-Forwarded-For through the balancer is counted by its real address.
        served = _spend(spoofer, url, lambda n: {"X-Forwarded-For": f"203.0.113.{n}"})
        assert served == ISSUER_LIMIT
        # Another client behind the same balancer still has its whole budget.
        assert _spend(other, url) == ISSUER_LIMIT
        # Straight to a replica from an address that is not a trusted proxy: the header is ignored.
        replica = f"{cluster.direct['issuer1']}/i/sena/nonce"
        assert _spend(direct, replica, lambda n: {"X-Forwarded-For": f"198.51.100.{n}"}) == ISSUER_LIMIT
