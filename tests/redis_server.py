"""Redis for tests: the machine's server (``PUENTE_TEST_REDIS_URL``, default 127.0.0.1:6379) with a
key prefix of the test's own, or a private ``redis-server`` child on a free port that a test can
stop and start again (an outage)."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

SHARED_URL = os.environ.get("PUENTE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required in CI")
    pytest.skip(f"{what} is not available")


def shared_redis() -> Iterator[tuple[str, str]]:
    """(url, prefix) of the machine's Redis; every key under the prefix is deleted afterwards."""
    import redis

    client = redis.Redis.from_url(SHARED_URL, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        _missing(f"Redis at {SHARED_URL}")
    prefix = f"test:{secrets.token_hex(6)}:"
    try:
        yield SHARED_URL, prefix
    finally:
        keys = list(client.scan_iter(f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateRedis:
    """A ``redis-server`` of the test's own (no persistence), stopped and started by its pid."""

    def __init__(self, workdir: Path) -> None:
        if shutil.which("redis-server") is None:
            _missing("redis-server")
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
