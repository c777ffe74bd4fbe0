"""The staff console on loopback for the browser tests (tests/browser/test_console*.py): an issuer with
two institutions (SENA, Migración Colombia), an officer, an auditor and an admin (with TOTP) in each,
the batch worker off; and signing in the way a person does."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
import pytest

from credcore.encoding import b64url_encode
from issuer import accounts
from issuer.app import create_app
from issuer.config import Settings
from issuer.db.engine import migrate
from issuer.db.models import Credential
from issuer.deps import Deps, build_deps
from issuer.institutions import create_institution
from testkit.servers import ServerThread, free_port

PASSWORD = "una frase bastante larga 2026"
TABLET = {"width": 1024, "height": 1366}


@dataclass
class Console:
    url: str
    deps: Deps
    users: dict[str, str]  # "<slug>:<role>" -> username
    totp: dict[str, str]  # username -> TOTP secret (admins)

    def status_of(self, credential_id: str) -> int:
        with self.deps.session() as session:
            record = session.get(Credential, credential_id)
            assert record is not None
            return record.status

    def issue(self, slug: str, type_id: str, claims: dict[str, Any]) -> str:
        from issuer.operator import issue

        return str(issue(self.deps, slug, type_id, claims, None, "es")["id"])


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    port = free_port()
    url = f"sqlite:///{tmp_path}/issuer.db"
    migrate(url)
    settings = Settings(env="test", database_url=url, var_dir=tmp_path, public_issuer_url=f"http://127.0.0.1:{port}",
                        master_key=b64url_encode(secrets.token_bytes(32)), worker_enabled=False,
                        rate_limit_per_minute=0, batch_chunk_rows=10)
    deps = build_deps(settings)
    users: dict[str, str] = {}
    totp: dict[str, str] = {}
    with deps.session() as session:
        for slug, name, types in (("sena", "SENA - Servicio Nacional de Aprendizaje", ["skills-certification"]),
                                  ("migracion", "Migración Colombia", ["ppt-status"])):
            institution = create_institution(session, deps, slug=slug, name=name, types=types)
            for role, prefix in (("officer", "oficial"), ("auditor", "auditor"), ("admin", "admin")):
                user = accounts.create_user(session, deps, institution, username=f"{prefix}.{slug}",
                                            display_name=f"{prefix.title()} {slug.upper()}", role=role,
                                            password=PASSWORD, actor="operator:test")
                user.must_change_password = False
                if role == "admin":
                    totp[user.username] = accounts.totp_secret(deps, session, user)
                    user.totp_confirmed_at = 1
                session.add(user)
                users[f"{slug}:{role}"] = user.username
        session.commit()
    with ServerThread(create_app(settings, deps=deps), port):
        yield Console(f"http://127.0.0.1:{port}", deps, users, totp)
    deps.engine.dispose()


def sign_in(page: Any, console: Console, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{console.url}/console/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("load")
    if "/console/login/code" in page.url:
        page.fill("#code", pyotp.TOTP(console.totp[username]).now())
        page.click("button[type=submit]")
        page.wait_for_load_state("load")
