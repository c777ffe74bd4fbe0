"""An admin resets the access of a user who forgot their password or lost their TOTP phone; the
operator can do the same from the command line."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlparse

from issuer.db.models import StaffUser
from tests.issuer.console_support import PASSWORD, Browser, make_user
from tests.issuer.deployment import Deployment

TEMPORARY = "temporal para entregar 77"


def path_of(response: object) -> str:
    return urlparse(str(response.url)).path  # type: ignore[attr-defined]


def test_admin_resets_a_forgotten_password_and_a_lost_second_factor(deployment: Deployment) -> None:
    admin = make_user(deployment, role="admin")
    other_admin = make_user(deployment, role="admin", username="admin.dos")
    officer = make_user(deployment)
    officer_browser = Browser.new(deployment)
    officer_browser.sign_in(officer)
    for _ in range(5):  # the officer locked themselves out
        Browser.new(deployment).post("/console/login", {"username": officer.username, "password": "olvidada"},
                                     csrf_from="/console/login")
    browser = Browser.new(deployment)
    browser.sign_in(admin)
    users = browser.get("/console/admin/users")
    assert f"/console/admin/users/{officer.id}/reset" in users.text
    assert f"/console/admin/users/{admin.id}/reset" not in users.text  # not for oneself
    mismatch = browser.post(f"/console/admin/users/{officer.id}/reset",
                            {"password": TEMPORARY, "password_again": "otra distinta 1234"})
    assert mismatch.status_code == 422 and "no coinciden" in mismatch.text
    short = browser.post(f"/console/admin/users/{officer.id}/reset", {"password": "corta", "password_again": "corta"})
    assert short.status_code == 422
    done = browser.post(f"/console/admin/users/{officer.id}/reset", {"password": TEMPORARY,
                                                                    "password_again": TEMPORARY})
    assert "Acceso restablecido" in done.text
    assert path_of(officer_browser.get("/console")) == "/console/login"  # old sessions ended
    # The lock is lifted; the temporary password works once and must be replaced.
    fresh = Browser.new(deployment)
    assert path_of(fresh.sign_in(replace(officer, password=TEMPORARY))) == "/console/password"
    assert "Usuario o contraseña incorrectos." in Browser.new(deployment).post(
        "/console/login", {"username": officer.username, "password": PASSWORD}, csrf_from="/console/login").text
    # Another admin lost their phone: reset with a new TOTP enrolment at next sign-in.
    browser.post(f"/console/admin/users/{other_admin.id}/reset", {"password": TEMPORARY,
                                                                  "password_again": TEMPORARY,
                                                                  "second_factor": "yes"})
    again = Browser.new(deployment).post("/console/login", {"username": other_admin.username,
                                                            "password": TEMPORARY}, csrf_from="/console/login")
    assert path_of(again) == "/console/login/code" and 'id="totp-secret"' in again.text
    with deployment.deps.session() as session:
        user = session.get(StaffUser, other_admin.id)
        assert user is not None and user.totp_confirmed_at is None and user.must_change_password
    assert browser.post(f"/console/admin/users/{admin.id}/reset", {"password": TEMPORARY,
                                                                    "password_again": TEMPORARY}).status_code == 403


def test_reset_is_for_admins_of_the_same_institution(deployment: Deployment) -> None:
    theirs = make_user(deployment, "migracion", "officer")
    officer = make_user(deployment)
    admin = make_user(deployment, role="admin")
    browser = Browser.new(deployment)
    browser.sign_in(admin)
    assert browser.get(f"/console/admin/users/{theirs.id}/reset").status_code == 404
    assert browser.post(f"/console/admin/users/{theirs.id}/reset", {"password": TEMPORARY,
                                                                    "password_again": TEMPORARY},
                        csrf_from="/console/admin/users").status_code == 404
    officer_browser = Browser.new(deployment)
    officer_browser.sign_in(officer)
    assert officer_browser.get(f"/console/admin/users/{officer.id}/reset").status_code == 403
    assert path_of(Browser.new(deployment).sign_in(theirs)) == "/console"  # untouched


def test_operator_resets_an_admin_who_lost_the_phone(deployment: Deployment) -> None:
    from issuer.operator import reset_staff_user

    admin = make_user(deployment, role="admin")
    reset_staff_user(deployment.deps, admin.username.upper(), TEMPORARY, True)
    page = Browser.new(deployment).post("/console/login", {"username": admin.username, "password": TEMPORARY},
                                        csrf_from="/console/login")
    assert path_of(page) == "/console/login/code" and 'id="totp-secret"' in page.text
