"""Staff console sign-in, sessions and request forgery: security.md #110, #111, #112 (MFA for
admins), #113, plus the officer's issue and status pages and institution scoping. Every test runs
on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlparse

import pyotp
import pytest
from argon2 import PasswordHasher
from sqlmodel import select

from issuer.accounts import passwords
from issuer.db.models import Credential, StaffSession, StaffUser
from testkit.world import example_claims
from tests.issuer.console_support import PASSWORD, Browser, csrf_of, make_user
from tests.issuer.deployment import METRICS, Deployment
from tests.issuer.support import path_of

SESSION = "__Host-puente_session"


def status_of(deployment: Deployment, credential_id: str) -> int:
    with deployment.deps.session() as session:
        record = session.get(Credential, credential_id)
        assert record is not None
        return record.status


# --- #113: the session cookie ------------------------------------------------------------------------


def test_session_cookie_is_host_prefixed_httponly_secure_samesite_strict(deployment: Deployment) -> None:
    officer = make_user(deployment)
    browser = Browser.new(deployment)
    page = browser.get("/console/login")
    response = browser.client.post("/console/login", data={"username": officer.username, "password": PASSWORD,
                                                           "csrf": csrf_of(page.text)}, follow_redirects=False)
    assert response.status_code == 303
    cookie = next(value for value in response.headers.get_list("set-cookie") if value.startswith(SESSION + "="))
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite", "path"} <= attributes
    assert "domain" not in attributes
    assert "samesite=strict" in cookie.lower() and "path=/" in cookie.lower()
    # The database keeps only a keyed hash of the token.
    token = response.cookies[SESSION]
    with deployment.deps.session() as session:
        hashes = [row.token_hash for row in session.exec(select(StaffSession))]
    assert token not in hashes and deployment.deps.box.code_hash(f"session:{token}") in hashes


def test_pages_need_a_session_and_come_back_after_sign_in(deployment: Deployment) -> None:
    officer = make_user(deployment)
    browser = Browser.new(deployment)
    response = browser.get("/console/credentials?status=valid")
    assert path_of(response) == "/console/login"
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert response.headers["x-frame-options"] == "DENY" and response.headers["cache-control"] == "no-store"
    page = browser.post("/console/login", {"username": officer.username, "password": PASSWORD,
                                           "next": "/console/credentials?status=valid"}, csrf=csrf_of(response.text))
    assert path_of(page) == "/console/credentials" and "status=valid" in str(page.url)


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"])
def test_next_never_leaves_the_console(deployment: Deployment, target: str) -> None:
    officer = make_user(deployment)
    browser = Browser.new(deployment)
    page = browser.post("/console/login", {"username": officer.username, "password": PASSWORD, "next": target},
                        csrf_from="/console/login")
    assert urlparse(str(page.url)).netloc == urlparse(str(deployment.client.base_url)).netloc
    assert path_of(page) == "/console"


# --- #111: no enumeration, lockout with growing delays, rate limit ----------------------------------


def test_unknown_user_and_wrong_password_look_the_same(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> None:
    officer = make_user(deployment)
    verified: list[str] = []

    class Counting(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            verified.append(str(hash))
            return super().verify(hash, password)

    monkeypatch.setattr(passwords, "_HASHER", Counting())
    answers = []
    for username in (officer.username, "nadie.existe"):
        browser = Browser.new(deployment)
        answers.append(browser.post("/console/login", {"username": username, "password": "contraseña equivocada"},
                                    csrf_from="/console/login"))
    assert [a.status_code for a in answers] == [401, 401]
    metrics = deployment.client.get("/metrics", headers=METRICS).text
    assert 'event="console_sign_in_refused"} 2.0' in metrics
    assert all("Usuario o contraseña incorrectos." in a.text for a in answers)
    # Both paths pay for one argon2 verification: the timing does not tell the names apart.
    assert len(verified) == 2 and all(stored.startswith("$argon2id$") for stored in verified)


def _attempt(deployment: Deployment, username: str, password: str) -> object:
    return Browser.new(deployment).post("/console/login", {"username": username, "password": password},
                                        csrf_from="/console/login")


def test_lockout_after_five_failures_with_growing_delays(deployment: Deployment) -> None:
    officer = make_user(deployment)
    for _ in range(5):
        _attempt(deployment, officer.username, "no es la contraseña")
    locked = _attempt(deployment, officer.username, PASSWORD)  # even the right password waits
    assert locked.status_code == 401 and "Demasiados intentos fallidos. Espere 30 segundos" in locked.text
    assert locked.headers["retry-after"] == "30"
    deployment.clock.advance(31)
    again = _attempt(deployment, officer.username, "tampoco es")  # one more failure doubles the delay
    assert "Espere 60 segundos" in again.text
    deployment.clock.advance(61)
    assert path_of(_attempt(deployment, officer.username, PASSWORD)) == "/console"
    # Success resets the counter.
    assert "Usuario o contraseña incorrectos." in _attempt(deployment, officer.username, "mal otra vez").text


def test_unknown_names_lock_the_same_way(deployment: Deployment) -> None:
    for _ in range(5):
        _attempt(deployment, "no.existe", "cualquier cosa")
    assert "Espere 30 segundos" in _attempt(deployment, "no.existe", "cualquier cosa").text


def test_sign_in_is_rate_limited_per_client(deployment: Deployment, reconfigure: object) -> None:
    limited = reconfigure(rate_limit_per_minute=3)  # type: ignore[operator]
    browser = Browser.new(limited)
    page = browser.get("/console/login")
    statuses = [browser.client.post("/console/login", data={"username": f"u{i}", "password": "x" * 12,
                                                             "csrf": csrf_of(page.text)},
                                    follow_redirects=False).status_code for i in range(4)]
    assert statuses == [401, 401, 401, 429]
    page = browser.client.post("/console/login", data={"username": "u", "password": "x" * 12,
                                                       "csrf": csrf_of(page.text)},
                               headers={"Accept": "text/html,application/xhtml+xml"}, follow_redirects=False)
    assert page.status_code == 429 and page.headers["retry-after"]
    assert page.headers["content-type"].startswith("text/html") and "Demasiadas solicitudes" in page.text


def test_disabled_user_cannot_sign_in_and_loses_sessions_at_once(deployment: Deployment) -> None:
    officer = make_user(deployment)
    browser = Browser.new(deployment)
    assert path_of(browser.sign_in(officer)) == "/console"
    with deployment.deps.session() as session:
        user = session.get(StaffUser, officer.id)
        assert user is not None
        user.disabled_at = deployment.clock.now()
        session.add(user)
        session.commit()
    assert path_of(browser.get("/console/credentials")) == "/console/login"  # #110: dead at once
    assert "Usuario o contraseña incorrectos." in _attempt(deployment, officer.username, PASSWORD).text


# --- #112: TOTP second factor for admins --------------------------------------------------------------


def test_admin_needs_the_totp_code(deployment: Deployment) -> None:
    admin = make_user(deployment, role="admin")
    browser = Browser.new(deployment)
    first = browser.post("/console/login", {"username": admin.username, "password": PASSWORD},
                         csrf_from="/console/login")
    assert path_of(first) == "/console/login/code"
    # The half-signed session opens nothing else.
    assert path_of(browser.get("/console/credentials")) == "/console/login/code"
    wrong = browser.post("/console/login/code", {"code": "000000"}, csrf_from="/console/login/code")
    assert wrong.status_code == 401 and "El código no es correcto" in wrong.text
    code = admin.code(deployment.clock.now())
    done = browser.post("/console/login/code", {"code": code}, csrf_from="/console/login/code")
    assert path_of(done) == "/console" and "Hola" in done.text
    # The same code cannot be used twice (a shoulder-surfed code is useless after its use).
    other = Browser.new(deployment)
    other.post("/console/login", {"username": admin.username, "password": PASSWORD}, csrf_from="/console/login")
    replay = other.post("/console/login/code", {"code": code}, csrf_from="/console/login/code")
    assert replay.status_code == 401
    deployment.clock.advance(30)
    fresh = other.post("/console/login/code", {"code": admin.code(deployment.clock.now())},
                       csrf_from="/console/login/code")
    assert path_of(fresh) == "/console"


def test_wrong_totp_codes_count_towards_the_lockout(deployment: Deployment) -> None:
    admin = make_user(deployment, role="admin")
    browser = Browser.new(deployment)
    browser.post("/console/login", {"username": admin.username, "password": PASSWORD}, csrf_from="/console/login")
    for _ in range(4):
        browser.post("/console/login/code", {"code": "123456"}, csrf_from="/console/login/code")
    last = browser.post("/console/login/code", {"code": "654321"}, csrf_from="/console/login/code")
    assert "Espere 30 segundos" in last.text
    right = browser.post("/console/login/code", {"code": admin.code(deployment.clock.now())},
                         csrf_from="/console/login/code")
    assert right.status_code == 401 and "Espere" in right.text
    assert path_of(browser.get("/console")) == "/console/login/code"


def test_new_admin_enrols_totp_and_chooses_a_password(deployment: Deployment) -> None:
    admin = make_user(deployment, role="admin", ready=False)
    browser = Browser.new(deployment)
    page = browser.post("/console/login", {"username": admin.username, "password": PASSWORD},
                        csrf_from="/console/login")
    assert path_of(page) == "/console/login/code"
    assert 'id="totp-secret"' in page.text and "data:image/png;base64," in page.text
    secret = page.text.split('id="totp-secret">')[1].split("<")[0].replace(" ", "")
    done = browser.post("/console/login/code", {"code": pyotp.TOTP(secret).at(deployment.clock.now())},
                        csrf_from="/console/login/code")
    assert path_of(done) == "/console/password"
    # Until the password is changed, every page leads back here.
    assert path_of(browser.get("/console/credentials")) == "/console/password"
    mismatch = browser.post("/console/password", {"current": PASSWORD, "password": "otra frase muy larga 1",
                                                   "password_again": "otra frase muy larga 2"})
    assert mismatch.status_code == 422 and "no coinciden" in mismatch.text
    short = browser.post("/console/password", {"current": PASSWORD, "password": "corta", "password_again": "corta"})
    assert short.status_code == 422 and "al menos 12" in short.text
    changed = browser.post("/console/password", {"current": PASSWORD, "password": "mi nueva frase secreta",
                                                  "password_again": "mi nueva frase secreta"})
    assert path_of(changed) == "/console" and "Contraseña cambiada." in changed.text
    with deployment.deps.session() as session:
        user = session.get(StaffUser, admin.id)
        assert user is not None and user.totp_confirmed_at is not None and not user.must_change_password
        assert user.password_hash.startswith("$argon2id$")


# --- sign-out and session lifetime ----------------------------------------------------------------------


def test_sign_out_ends_the_session_on_the_server(deployment: Deployment) -> None:
    officer = make_user(deployment)
    browser = Browser.new(deployment)
    browser.sign_in(officer)
    stolen = browser.cookie(SESSION)
    assert stolen
    out = browser.post("/console/logout", {}, csrf_from="/console")
    assert path_of(out) == "/console/login" and "Sesión cerrada." in out.text
    thief = Browser.new(deployment)
    thief.client.cookies.set(SESSION, stolen)
    assert path_of(thief.get("/console/credentials")) == "/console/login"


def test_idle_sessions_expire(deployment: Deployment) -> None:
    officer = make_user(deployment)
    browser = Browser.new(deployment)
    browser.sign_in(officer)
    deployment.clock.advance(25 * 60)
    assert path_of(browser.get("/console")) == "/console"  # activity keeps it alive
    deployment.clock.advance(31 * 60)
    assert path_of(browser.get("/console")) == "/console/login"


# --- #113: forged requests --------------------------------------------------------------------------------


def test_status_change_without_the_csrf_token_is_refused(deployment: Deployment) -> None:
    issued = deployment.issue()
    officer = make_user(deployment)
    browser = Browser.new(deployment)
    browser.sign_in(officer)
    path = f"/console/credentials/{issued['id']}/status/revoke"
    missing = browser.client.post(path, data={"reason": "ataque", "confirm": "yes"})
    assert missing.status_code == 403 and "csrf_invalid" in missing.text
    # A token from another person's session does not work either.
    other = Browser.new(deployment)
    other.sign_in(make_user(deployment, username="otra.persona"))
    foreign = browser.client.post(path, data={"reason": "ataque", "confirm": "yes",
                                              "csrf": csrf_of(other.get("/console").text)})
    assert foreign.status_code == 403
    # The right token from a page of another site (Origin header) is refused too.
    cross = browser.client.post(path, data={"reason": "ataque", "confirm": "yes",
                                            "csrf": csrf_of(browser.get(path).text)},
                                headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403
    assert status_of(deployment, issued["id"]) == 0


def test_a_get_never_changes_status(deployment: Deployment) -> None:
    issued = deployment.issue()
    browser = Browser.new(deployment)
    browser.sign_in(make_user(deployment))
    page = browser.get(f"/console/credentials/{issued['id']}/status/revoke")
    assert page.status_code == 200 and "La revocación es definitiva" in page.text
    assert status_of(deployment, issued["id"]) == 0


def test_sign_in_form_needs_its_own_token(deployment: Deployment) -> None:
    officer = make_user(deployment)
    client = Browser.new(deployment).client
    response = client.post("/console/login", data={"username": officer.username, "password": PASSWORD})
    assert response.status_code == 403
    with deployment.deps.session() as session:
        assert session.exec(select(StaffSession)).first() is None


# --- the officer's pages ------------------------------------------------------------------------------------


def form_of(type_id: str) -> dict[str, str]:
    return {name: str(value) for name, value in example_claims(type_id).items()}


def test_officer_issues_from_the_form_and_sees_offer_and_code(deployment: Deployment) -> None:
    browser = Browser.new(deployment)
    browser.sign_in(make_user(deployment))
    form = browser.get("/console/issue/skills-certification")
    assert 'type="date"' in form.text and 'type="number"' in form.text and "Nombres" in form.text
    assert 'pattern="[0-9]{6,12}"' in form.text
    data = {**form_of("skills-certification"), "form_id": "formulario-de-prueba-0001"}
    result = browser.post("/console/issue/skills-certification", data, csrf=csrf_of(form.text))
    assert path_of(result).endswith("/offer") and "Credencial emitida." in result.text
    tx_code = result.text.split('id="tx-code"')[1].split(">")[1].split("<")[0].replace(" ", "")
    assert len(tx_code) == 6 and tx_code.isdigit()
    assert "openid-credential-offer://" in result.text
    credential_id = path_of(result).split("/")[3]
    assert browser.get(f"/console/credentials/{credential_id}/offer.png").headers["content-type"] == "image/png"
    pdf = browser.get(f"/console/credentials/{credential_id}/pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    # The same form sent twice (a double click) issues once.
    again = browser.post("/console/issue/skills-certification", data, csrf=csrf_of(form.text))
    assert path_of(again) == path_of(result)
    with deployment.deps.session() as session:
        records = session.exec(select(Credential)).all()
        assert len(records) == 1 and records[0].created_by_user is not None


def test_issue_form_shows_field_errors_inline_and_keeps_the_values(deployment: Deployment) -> None:
    browser = Browser.new(deployment)
    browser.sign_in(make_user(deployment))
    data = {**form_of("skills-certification"), "level": "9", "given_name": "Ana <b>María</b>"}
    page = browser.post("/console/issue/skills-certification", data, csrf_from="/console/issue/skills-certification")
    assert page.status_code == 422
    level_input = page.text.split('id="f-level"')[1].split(">")[0]
    assert 'aria-invalid="true"' in level_input and 'aria-describedby="h-level e-level"' in level_input
    assert 'href="#f-level"' in page.text  # the summary links to the field
    assert "Ana &lt;b&gt;María&lt;/b&gt;" in page.text  # kept, and escaped
    future = browser.post("/console/issue/skills-certification", {**form_of("skills-certification"),
                                                                   "date": "2999-01-01"},
                          csrf_from="/console/issue/skills-certification")
    assert future.status_code == 422 and "La fecha no puede estar en el futuro." in future.text
    with deployment.deps.session() as session:
        assert session.exec(select(Credential)).first() is None


def test_officer_finds_and_revokes_with_reason_and_confirmation(deployment: Deployment) -> None:
    claims = {**example_claims("skills-certification"), "document_number": "V12345678"}
    issued = deployment.issue(claims=claims)
    deployment.issue(claims={**claims, "document_number": "OTRO-1234"})
    browser = Browser.new(deployment)
    browser.sign_in(make_user(deployment))
    found = browser.get(f"/console/credentials?document_number={claims['document_number'].lower()}")
    assert found.text.count('<td><a href="/console/credentials/') == 1 and issued["id"] in found.text
    path = f"/console/credentials/{issued['id']}/status/revoke"
    unconfirmed = browser.post(path, {"reason": "Certificado emitido por error"})
    assert unconfirmed.status_code == 422 and status_of(deployment, issued["id"]) == 0
    no_reason = browser.post(path, {"reason": "", "confirm": "yes"})
    assert no_reason.status_code == 422 and status_of(deployment, issued["id"]) == 0
    done = browser.post(path, {"reason": "Certificado emitido por error", "confirm": "yes"})
    assert "Credencial revocada." in done.text and "Certificado emitido por error" in done.text
    assert "credential.revoke" in done.text  # the history, from the audit log
    assert status_of(deployment, issued["id"]) == 1
    # Revocation is final: no reinstate button, and a forced reinstate is refused.
    assert "/status/reinstate" not in done.text
    forced = browser.post(f"/console/credentials/{issued['id']}/status/reinstate", {"reason": "x", "confirm": "yes"})
    assert forced.status_code == 409 and status_of(deployment, issued["id"]) == 1


def test_search_by_status_type_and_date(deployment: Deployment) -> None:
    first = deployment.issue()
    deployment.clock.advance(3 * 86_400)
    second = deployment.issue("qualification-validation")
    browser = Browser.new(deployment)
    browser.sign_in(make_user(deployment))
    by_type = browser.get("/console/credentials?type=qualification-validation")
    assert second["id"] in by_type.text and first["id"] not in by_type.text
    from datetime import UTC, datetime, timedelta
    day = (datetime.fromtimestamp(deployment.clock.now(), UTC) - timedelta(hours=5)).date().isoformat()
    by_date = browser.get(f"/console/credentials?from={day}&to={day}")
    assert second["id"] in by_date.text and first["id"] not in by_date.text
    assert "No se encontraron" in browser.get("/console/credentials?status=revoked").text
    bad = browser.get("/console/credentials?from=ayer")
    assert bad.status_code == 422 and "date_invalid" in bad.text


# --- institution scoping and roles -----------------------------------------------------------------------------


def test_another_institutions_credential_is_not_found(deployment: Deployment) -> None:
    theirs = deployment.issue("ppt-status", who="migracion:officer")
    browser = Browser.new(deployment)
    browser.sign_in(make_user(deployment, "sena", "officer"))
    for suffix in ("", "/offer", "/offer.png", "/pdf", "/status/revoke"):
        response = browser.get(f"/console/credentials/{theirs['id']}{suffix}")
        assert response.status_code == 404, suffix
    csrf = csrf_of(browser.get("/console").text)
    forged = browser.post(f"/console/credentials/{theirs['id']}/status/revoke",
                          {"reason": "intento", "confirm": "yes"}, csrf=csrf)
    assert forged.status_code == 404 and status_of(deployment, theirs["id"]) == 0
    assert theirs["id"] not in browser.get("/console/credentials").text
    assert browser.get("/console/issue/ppt-status").status_code == 404  # not accredited


def test_auditor_reads_without_claim_values_and_changes_nothing(deployment: Deployment) -> None:
    claims = example_claims("skills-certification")
    issued = deployment.issue(claims=claims)
    browser = Browser.new(deployment)
    browser.sign_in(make_user(deployment, role="auditor"))
    listing = browser.get("/console/credentials")
    detail = browser.get(f"/console/credentials/{issued['id']}")
    assert issued["id"] in listing.text and detail.status_code == 200
    for page in (listing, detail):
        assert claims["given_name"] not in page.text and claims["family_name"] not in page.text
    assert "/status/" not in detail.text and "Su rol no permite ver los datos" in detail.text
    for path in ("/console/issue", "/console/issue/skills-certification", f"/console/credentials/{issued['id']}/pdf",
                 f"/console/credentials/{issued['id']}/offer"):
        assert browser.get(path).status_code == 403, path
    csrf = csrf_of(listing.text)
    assert browser.post(f"/console/credentials/{issued['id']}/status/revoke", {"reason": "x", "confirm": "yes"},
                        csrf=csrf).status_code == 403
    assert browser.post("/console/issue/skills-certification", form_of("skills-certification"),
                        csrf=csrf).status_code == 403
    assert status_of(deployment, issued["id"]) == 0
    with deployment.deps.session() as session:
        assert len(session.exec(select(Credential)).all()) == 1


def test_english_switch_and_spanish_default(deployment: Deployment) -> None:
    browser = Browser.new(deployment)
    assert "Iniciar sesión" in browser.get("/console/login").text
    browser.get("/console/lang/en?next=/console/login")
    page = browser.get("/console/login")
    assert "Sign in" in page.text and '<html lang="en">' in page.text
    wrong = browser.post("/console/login", {"username": "x.y.z", "password": "not the password"})
    assert "Wrong user name or password." in wrong.text


def test_old_failures_are_forgotten_and_old_rows_cleaned(deployment: Deployment) -> None:
    officer = make_user(deployment)
    for _ in range(4):
        _attempt(deployment, officer.username, "mal escrita")
    _attempt(deployment, "spray.user", "cualquier cosa")
    deployment.clock.advance(2 * 86_400)
    for _ in range(4):  # four more a day later: not five in a row
        assert "Usuario o contraseña incorrectos." in _attempt(deployment, officer.username, "mal escrita").text
    browser = Browser.new(deployment)
    browser.sign_in(officer)
    deployment.clock.advance(2 * 86_400)
    Browser.new(deployment).sign_in(officer)
    from issuer.db.models import LoginThrottle

    with deployment.deps.session() as session:
        names = session.exec(select(LoginThrottle)).all()
        sessions = session.exec(select(StaffSession)).all()
    assert len(names) <= 1  # the sprayed name's counter is gone
    assert len(sessions) == 1  # the expired session is gone, the new one stays


def test_passwords_with_accents_can_be_changed(deployment: Deployment) -> None:
    user = make_user(deployment, username="nandu.perez", password="contraseña de ñandú 2026")
    browser = Browser.new(deployment)
    browser.sign_in(user)
    same = browser.post("/console/password", {"current": "contraseña de ñandú 2026", "password":
                                              "contraseña de ñandú 2026", "password_again": "contraseña de ñandú 2026"},
                        csrf_from="/console/password")
    assert same.status_code == 422 and "distinta" in same.text
    changed = browser.post("/console/password", {"current": "contraseña de ñandú 2026", "password": "árbol ñame y café",
                                                 "password_again": "árbol ñame y café"}, csrf_from="/console/password")
    assert path_of(changed) == "/console"
    assert path_of(Browser.new(deployment).sign_in(replace(user, password="árbol ñame y café"))) == "/console"


def test_database_down_is_a_503_page_and_nothing_half_done(deployment: Deployment) -> None:
    from sqlalchemy import create_engine

    from tests.issuer.support import unreachable_database

    issued = deployment.issue()
    browser = Browser.new(deployment)
    browser.sign_in(make_user(deployment))
    csrf = csrf_of(browser.get("/console").text)
    deps = deployment.deps
    working = deps.engine
    deps.engine = create_engine(unreachable_database(deps.settings.database_url))
    try:
        for response in (browser.get("/console/credentials"),
                         browser.client.post(f"/console/credentials/{issued['id']}/status/revoke",
                                             data={"reason": "x", "confirm": "yes", "csrf": csrf})):
            assert response.status_code == 503, response.text[:300]
            assert response.headers["content-type"].startswith("text/html")
            assert "La base de datos no está disponible" in response.text
    finally:
        deps.engine.dispose()
        deps.engine = working
    assert status_of(deployment, issued["id"]) == 0
    assert path_of(browser.get("/console")) == "/console"  # the session survived the outage
