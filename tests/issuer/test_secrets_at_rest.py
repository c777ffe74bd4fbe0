"""security.md #147: offer secrets at rest. A local user who copies the database (file or dump)
finds no open offer's tx_code nor its offer link in clear; idempotency records are sealed and
deleted after a day by the background worker; ``var/`` is 0700 and SQLite's files 0600."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

from sqlalchemy import MetaData, select

from credcore.clock import FixedClock
from issuer import housekeeping
from issuer.batch_worker import BatchWorker
from issuer.db.engine import migrate
from issuer.db.models import IdempotencyRecord
from issuer.deps import build_deps
from tests.issuer.deployment import NOW, Deployment, make_settings
from tests.issuer.support import body, post, rows


def _dump(deployment: Deployment) -> str:
    """Every value of every table, as a database dump would show it (SQLite or PostgreSQL)."""
    metadata = MetaData()
    metadata.reflect(bind=deployment.deps.engine)
    parts = []
    with deployment.deps.engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)):
                for value in row:
                    parts.append(value.decode("latin-1") if isinstance(value, bytes) else str(value))
    return "\n".join(parts)


def _files(deployment: Deployment) -> bytes:
    url = deployment.deps.settings.database_url
    if not url.startswith("sqlite"):
        return b""
    path = Path(url.split("///", 1)[1])
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists())


def test_a_database_copy_holds_no_open_offer_secret(deployment: Deployment) -> None:
    created = [post(deployment, body(), f"retry-safe-key-{n:06d}").json() for n in range(3)]
    created.append(deployment.client.post("/api/v1/credentials", json=body(),
                                          headers={**deployment.auth(), "Idempotency-Key": "another-key-0000001"})
                   .json())
    dump, files = _dump(deployment), _files(deployment)
    for answer in created:
        tx_code, uri = answer["offer"]["tx_code"], answer["offer"]["offer_uri"]
        assert tx_code not in dump and uri not in dump
        assert tx_code.encode() not in files and uri.encode() not in files
    # A retry still gets the same answer: the sealed record is opened with the master key.
    again = post(deployment, body(), "retry-safe-key-000000")
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["offer"]["tx_code"] == created[0]["offer"]["tx_code"]


def test_idempotency_records_are_deleted_after_a_day(deployment: Deployment) -> None:
    first = post(deployment, body(), "purged-after-a-day-01")
    assert first.status_code == 201 and rows(deployment, IdempotencyRecord) == 1
    deployment.clock.advance(3600)
    assert housekeeping.purge(deployment.deps).idempotency_records == 0
    deployment.clock.advance(86_400 - 3600 + 1)
    assert housekeeping.purge(deployment.deps).idempotency_records == 1
    assert rows(deployment, IdempotencyRecord) == 0


def test_the_background_worker_purges(deployment: Deployment) -> None:
    post(deployment, body(), "purged-by-the-worker-1")
    deployment.clock.advance(86_401)
    worker = BatchWorker(deployment.deps, poll_seconds=0.05)
    worker.start()
    try:
        deadline = time.monotonic() + 20
        while rows(deployment, IdempotencyRecord) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.stop()
    assert rows(deployment, IdempotencyRecord) == 0


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_var_is_0700_and_every_sqlite_file_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)  # as a default shell would leave it
    try:
        var = tmp_path / "var"
        url = f"sqlite:///{var}/puente.db"
        migrate(url)
        deps = build_deps(make_settings(url, var), clock=FixedClock(NOW))
        with deps.session() as session:  # a write, so the WAL and its index exist
            session.add(IdempotencyRecord(institution_id=1, key="k" * 16, api_key_id=1, request_hash="h",
                                          created_at=NOW))
            session.commit()
            db = var / "puente.db"
            assert _mode(var) == 0o700
            for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
                assert path.exists() and _mode(path) == 0o600, path
        deps.engine.dispose()
        # A database left world-readable by an older version is narrowed when the service starts.
        var.chmod(0o755)
        db.chmod(0o644)
        build_deps(make_settings(url, var)).engine.dispose()
        assert _mode(var) == 0o700 and _mode(db) == 0o600
    finally:
        os.umask(old)
