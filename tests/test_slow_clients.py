"""security.md #162: slow clients do not exhaust a service. 500 connections that never finish
their request headers are closed within 15 s — by the service as ``puente serve`` runs it, and by
the reverse proxy of deploy/haproxy.cfg in front of it — while ``/healthz`` keeps answering; a
flood of identical log records is held back."""

from __future__ import annotations

import io
import logging
import os
import selectors
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from credcore.encoding import b64url_encode
from issuer.app import create_app
from issuer.config import Settings
from issuer.db.engine import migrate
from issuer.deps import build_deps
from issuer.institutions import create_institution
from servicekit import slow_clients
from servicekit.slow_clients import HEADER_TIMEOUT, RepeatFilter, server_options

ROOT = Path(__file__).resolve().parent.parent
HALF_OPEN = 500
PARTIAL = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Lento: "


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def issuer_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The issuer served by uvicorn with the options of ``puente serve``."""
    tmp = tmp_path_factory.mktemp("slow")
    url = f"sqlite:///{tmp}/issuer.db"
    migrate(url)
    settings = Settings(env="test", database_url=url, var_dir=tmp, master_key=b64url_encode(bytes(range(32))),
                        worker_enabled=False, rate_limit_per_minute=0)
    deps = build_deps(settings)
    with deps.session() as session:
        create_institution(session, deps, slug="sena", name="SENA", types=["skills-certification"])
        session.commit()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, deps=deps), host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False, lifespan="on",
                                           **server_options()))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    yield port
    server.should_exit = True
    thread.join(timeout=10)
    deps.engine.dispose()


def _attack(port: int, health_url: str) -> tuple[float, int, list[int]]:
    """Open the half-open connections, then wait (at most 15 s) for each to be closed by the
    other side, asking /healthz on fresh connections every half second meanwhile. Returns the
    seconds until the last one closed, how many stayed open, and the health answers."""
    selector = selectors.DefaultSelector()
    started = time.monotonic()
    for _ in range(HALF_OPEN):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(PARTIAL)
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
    open_count, last_closed, health, next_check = HALF_OPEN, 0.0, [], 0.0
    with httpx.Client(timeout=5) as http:
        while open_count and time.monotonic() - started < 15:
            for key, _ in selector.select(timeout=0.2):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                try:
                    data = sock.recv(4096)
                except (ConnectionResetError, BlockingIOError) as exc:
                    if isinstance(exc, BlockingIOError):
                        continue
                    data = b""
                if not data:  # closed (a proxy may send a 408 first, then close)
                    selector.unregister(sock)
                    sock.close()
                    open_count -= 1
                    last_closed = time.monotonic() - started
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + 0.5
                health.append(http.get(health_url).status_code)
    for key in list(selector.get_map().values()):
        key.fileobj.close()  # type: ignore[union-attr]
    return last_closed, open_count, health


def test_the_service_closes_half_open_connections_and_stays_healthy(issuer_port: int) -> None:
    # A slow but complete request is still answered: the deadline is for the headers only.
    slow = socket.create_connection(("127.0.0.1", issuer_port))
    slow.sendall(PARTIAL)
    time.sleep(1)
    slow.sendall(b"1\r\nConnection: close\r\n\r\n")
    answer = slow.recv(4096)
    slow.close()
    assert answer.startswith(b"HTTP/1.1 200")
    last_closed, still_open, health = _attack(issuer_port, f"http://127.0.0.1:{issuer_port}/healthz")
    assert still_open == 0
    assert HEADER_TIMEOUT - 1 <= last_closed < 15  # closed by the deadline, not earlier, not later
    assert len(health) >= 10 and set(health) == {200}


def test_haproxy_in_front_closes_them_too(issuer_port: int, tmp_path: Path) -> None:
    if shutil.which("haproxy") is None:
        if os.environ.get("CI"):
            pytest.fail("haproxy is required in CI")
        pytest.skip("haproxy is not available")
    lb, other = free_port(), free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PUENTE_")},
           "PUENTE_LB_ISSUER_BIND": f"127.0.0.1:{lb}", "PUENTE_LB_VERIFIER_BIND": f"127.0.0.1:{other}",
           "PUENTE_ISSUER_1": f"127.0.0.1:{issuer_port}", "PUENTE_ISSUER_2": f"127.0.0.1:{issuer_port}",
           "PUENTE_VERIFIER_1": f"127.0.0.1:{free_port()}", "PUENTE_VERIFIER_2": f"127.0.0.1:{free_port()}"}
    with open(tmp_path / "haproxy.log", "wb") as log:
        balancer = subprocess.Popen(["haproxy", "-f", str(ROOT / "deploy" / "haproxy.cfg"), "-db"], env=env,
                                    stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{lb}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and balancer.poll() is None, (tmp_path / "haproxy.log").read_text()
            time.sleep(0.2)
        last_closed, still_open, health = _attack(lb, f"http://127.0.0.1:{lb}/healthz")
        assert still_open == 0 and last_closed < 15
        assert len(health) >= 10 and set(health) == {200}
    finally:
        balancer.terminate()
        balancer.wait(timeout=10)


def test_identical_log_records_are_held_back(monkeypatch: pytest.MonkeyPatch) -> None:
    class Clock:
        now = 1_000_000.0

        def time(self) -> float:
            return self.now

    clock = Clock()
    monkeypatch.setattr(slow_clients, "time", clock)
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    logger = logging.getLogger("puente.test-flood")
    logger.addHandler(handler)
    logger.propagate = False
    logger.addFilter(RepeatFilter(per_minute=5))
    try:
        for _ in range(10_000):
            logger.error("accept failed: too many open files")
        logger.error("another error")
        assert written.getvalue().count("too many open files") == 5
        assert "another error" in written.getvalue()
        clock.now += 60  # the next minute: one line says how many were held
        logger.error("accept failed: too many open files")
        assert "9995 identical records held back" in written.getvalue()
    finally:
        logger.removeHandler(handler)
