"""security.md #160: a known user name cannot be locked out by anyone. Five guesses at
``admin.sena`` from anywhere used to lock the real admin out; now failures are counted per
(name, client) as hard as before, plus a slower limit per name across all clients that holds back
only clients that have failed — the admin with password and TOTP on their own device gets in."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import select

from issuer.db.models import AuditEvent
from tests.issuer.console_support import Browser, ConsoleUser, make_user
from tests.issuer.deployment import Deployment
from tests.issuer.support import path_of


def _from(deployment: Deployment, address: str) -> Browser:
    client = TestClient(deployment.client.app, base_url=str(deployment.client.base_url), follow_redirects=True,
                        client=(address, 50_000))
    return Browser(deployment, client)


def _guess(browser: Browser, admin: ConsoleUser, password: str = "no es la contraseña") -> str:
    return browser.post("/console/login", {"username": admin.username, "password": password},
                        csrf_from="/console/login").text


def _count_refused(deployment: Deployment) -> int:
    with deployment.deps.session() as session:
        return len(session.exec(select(AuditEvent).where(AuditEvent.action == "console.sign_in",
                                                         AuditEvent.outcome == "refused")).all())


def test_guesses_from_one_client_do_not_lock_the_admin_out(deployment: Deployment) -> None:
    admin = make_user(deployment, role="admin")
    attacker = _from(deployment, "203.0.113.5")
    for _ in range(8):
        _guess(attacker, admin)
    # The attacker is still stopped, even when it now has the right password.
    assert "Demasiados intentos fallidos" in _guess(attacker, admin, admin.password)
    real = _from(deployment, "198.51.100.20")
    landed = real.sign_in(admin)
    assert landed.status_code == 200 and path_of(landed) == "/console"


def test_guessing_from_many_clients_meets_the_slower_name_wide_limit(deployment: Deployment) -> None:
    admin = make_user(deployment, role="admin")
    attackers = [_from(deployment, f"203.0.113.{n}") for n in range(1, 21)]
    for attacker in attackers[:19]:  # one failure per client: none reaches its own 5
        assert "Usuario o contraseña incorrectos" in _guess(attacker, admin)
    # The 20th failure at the name, from anywhere, starts the name-wide lock (60 s) ...
    assert "Demasiados intentos fallidos. Espere 60 segundos" in _guess(attackers[19], admin)
    # ... which holds back every client that has failed ...
    assert "Demasiados intentos fallidos" in _guess(attackers[0], admin)
    assert "Demasiados intentos fallidos" in _guess(attackers[0], admin, admin.password)
    # ... and a new one gets a single guess (checked and counted), then joins them.
    newcomer = _from(deployment, "203.0.113.99")
    refused = _count_refused(deployment)
    assert "Demasiados intentos fallidos" in _guess(newcomer, admin)
    assert _count_refused(deployment) == refused + 1
    assert "Demasiados intentos fallidos" in _guess(newcomer, admin, admin.password)
    assert _count_refused(deployment) == refused + 1  # not even checked
    # The admin, from a device that has not failed, signs in with password and TOTP.
    landed = _from(deployment, "198.51.100.20").sign_in(admin)
    assert landed.status_code == 200 and path_of(landed) == "/console"
    # A full sign-in clears the name-wide count; the attackers' own locks stay.
    deployment.clock.advance(61)
    assert "Usuario o contraseña incorrectos" in _guess(attackers[1], admin)
