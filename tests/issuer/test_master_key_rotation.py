"""security.md #163: the master key can be rotated. Every sealed value names its key; old keys
still open what they sealed; ``puente keys rotate-master`` re-seals everything with the new key,
and killed with SIGKILL half-way it loses nothing: a second run finishes the job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import insert, text
from sqlmodel import select

from credcore.encoding import b64url_encode
from issuer import credentials as creds
from issuer.db.models import Batch, Credential
from issuer.deps import Deps
from issuer.rekey import remaining, rotate_master
from issuer.secrets_box import MAGIC, NONCE_BYTES, MasterKeyError, SecretBox, key_id, make_box
from tests.issuer.console_support import Browser, make_user
from tests.issuer.deployment import Deployment, make_settings

OLD = bytes(range(32))  # the tests' master key (conftest)
NEW = bytes(range(100, 132))
ROOT = Path(__file__).resolve().parent.parent.parent


def _rotated(deployment: Deployment, *, keep_old: bool) -> Deps:
    settings = make_settings(deployment.deps.settings.database_url, Path(deployment.deps.settings.var_dir),
                             master_key=b64url_encode(NEW), hash_key=b64url_encode(OLD),
                             old_master_keys=b64url_encode(OLD) if keep_old else None)
    return replace(deployment.deps, settings=settings, box=make_box(settings))


def test_sealed_values_name_their_key_and_old_keys_still_open() -> None:
    old, new = SecretBox(OLD), SecretBox(NEW, (OLD,), hash_root=OLD)
    sealed = old.seal(b"secreto", "tx:1")
    assert sealed.startswith(MAGIC + key_id(OLD))
    assert new.open(sealed, "tx:1") == b"secreto" and not new.is_current(sealed)
    assert new.is_current(new.seal(b"secreto", "tx:1"))
    # A value sealed before key ids existed (nonce + ciphertext) opens too.
    legacy = old.seal(b"antiguo", "claims:x")[len(MAGIC) + 8:]
    assert len(legacy) > NONCE_BYTES and new.open(legacy, "claims:x") == b"antiguo"
    with pytest.raises(MasterKeyError):
        SecretBox(NEW).open(sealed, "tx:1")  # without the old key nothing opens: no silent fallback
    # Keyed hashes keep their root across the rotation (API keys and codes still match).
    assert new.code_hash("x") == old.code_hash("x") and new.search_hash("A 1") == old.search_hash("A 1")


def test_old_keys_without_the_hash_key_refuse_to_start(deployment: Deployment) -> None:
    settings = make_settings(deployment.deps.settings.database_url, Path(deployment.deps.settings.var_dir),
                             master_key=b64url_encode(NEW), old_master_keys=b64url_encode(OLD))
    with pytest.raises(MasterKeyError, match="PUENTE_HASH_KEY"):
        make_box(settings)


def test_rotation_reseals_everything_and_the_old_key_can_go(deployment: Deployment) -> None:
    created = deployment.issue()
    admin = make_user(deployment, role="admin")  # a sealed TOTP secret
    rotating = _rotated(deployment, keep_old=True)
    assert remaining(rotating) > 5
    counts = rotate_master(rotating)
    assert counts["credentials.claims_sealed"] == 1 and counts["offers.tx_code_sealed"] == 1
    assert counts["staff_users.totp_sealed"] == 1 and counts["signing_keys.private_sealed"] >= 2
    assert remaining(rotating) == 0 and rotate_master(rotating) == dict.fromkeys(counts, 0)  # nothing left
    done = _rotated(deployment, keep_old=False)  # PUENTE_OLD_MASTER_KEYS removed
    with done.session() as session:
        record = session.exec(select(Credential).where(Credential.id == created["id"])).one()
        assert creds.describe(done, session, record, with_claims=True)["claims"]["given_name"]
    from fastapi.testclient import TestClient

    from issuer.app import create_app

    with TestClient(create_app(done.settings, deps=done), base_url=str(deployment.client.base_url)) as client:
        moved = Deployment(done, client, deployment.clock, deployment.keys)
        assert client.get(f"/api/v1/credentials/{created['id']}/pdf", headers=moved.auth()).status_code == 200
        moved.issue()  # signing keys open, API keys still match
        signed = Browser.new(moved).sign_in(admin)
        assert signed.url.path == "/console"


def _sealed_batches(deployment: Deployment, count: int) -> None:
    box = deployment.deps.box
    rows = [{"id": f"b{n:08d}", "institution_id": 1, "type_id": "skills-certification", "state": "done",
             "csv_sealed": box.seal(f"fila {n}\n".encode() * 20, f"batch:b{n:08d}"), "created_at": 1, "total": 0,
             "issued": 0, "failed": 0, "lang": "es", "lease_until": 0} for n in range(count)]
    with deployment.deps.session() as session:
        session.execute(insert(Batch), rows)
        session.commit()


def _resealed(deps: Deps) -> tuple[int, int]:
    with deps.session() as session:
        sealed = [row.csv_sealed for row in session.exec(select(Batch))]
    return sum(deps.box.is_current(value) for value in sealed), len(sealed)


def test_kill_9_half_way_loses_nothing_and_a_second_run_finishes(deployment: Deployment) -> None:
    _sealed_batches(deployment, 12_000)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PUENTE_")}, "PUENTE_ENV": "test",
           "PUENTE_DATABASE_URL": deployment.deps.settings.database_url,
           "PUENTE_VAR_DIR": str(deployment.deps.settings.var_dir), "PUENTE_MASTER_KEY": b64url_encode(NEW),
           "PUENTE_OLD_MASTER_KEYS": b64url_encode(OLD), "PUENTE_HASH_KEY": b64url_encode(OLD)}
    command = [sys.executable, "-m", "puente", "keys", "rotate-master"]
    rotating = _rotated(deployment, keep_old=True)
    job = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    started = text("SELECT 1 FROM batches WHERE substr(csv_sealed, 1, 12) = :prefix LIMIT 1")
    with rotating.engine.connect() as connection:  # a cheap look, so the kill comes right after a page
        while connection.execute(started, {"prefix": MAGIC + key_id(NEW)}).first() is None \
                and job.poll() is None and time.monotonic() < deadline:
            connection.rollback()
            time.sleep(0.002)
    job.send_signal(signal.SIGKILL)
    job.wait()
    done, total = _resealed(rotating)
    assert 0 < done < total, "the job must be killed half-way"
    with rotating.session() as session:  # every value still opens, whichever key sealed it
        for row in session.exec(select(Batch)):
            assert rotating.box.open(row.csv_sealed, f"batch:{row.id}").startswith(b"fila ")
    second = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stdout + second.stderr
    assert _resealed(rotating) == (total, total) and remaining(rotating) == 0
