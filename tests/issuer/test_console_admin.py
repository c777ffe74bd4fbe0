"""Console administration, driven like an admin in a browser: staff users (create, first sign-in,
disable), API keys (shown once, working, revoked at once), signing keys (rotate, mark compromised
only after typing the kid), accredited types, and the limits: other roles get 403 and another
institution's ids are 404, with nothing changed."""

from __future__ import annotations

import re
from html import unescape

from sqlmodel import col, func, select

from credcore import jws
from issuer import credentials as creds
from issuer.db.models import ApiKey, AuditEvent, Credential, SigningKey, StaffUser
from issuer.operator import institution as find_institution
from tests.issuer.console_support import Browser, make_user
from tests.issuer.deployment import Deployment

INITIAL = "clave inicial bastante larga 7"
KEY_TEXT = re.compile(r'id="api-key-text"[^>]*value="(pk_[^"]+)"')


def _admin(deployment: Deployment, slug: str = "sena") -> Browser:
    admin = make_user(deployment, slug, "admin")
    browser = Browser.new(deployment)
    page = browser.sign_in(admin)
    assert page.status_code == 200 and page.url.path == "/console", page.text
    return browser


def _signed_in(deployment: Deployment, role: str, slug: str = "sena") -> Browser:
    user = make_user(deployment, slug, role)
    browser = Browser.new(deployment)
    assert browser.sign_in(user).url.path == "/console"
    return browser


def _user(deployment: Deployment, username: str) -> StaffUser | None:
    with deployment.deps.session() as session:
        return session.exec(select(StaffUser).where(StaffUser.username == username)).first()


def _signing_keys(deployment: Deployment, slug: str = "sena") -> dict[str, str]:
    with deployment.deps.session() as session:
        inst = find_institution(session, slug)
        rows = session.exec(select(SigningKey).where(SigningKey.institution_id == inst.id)).all()
        return {row.kid: row.state for row in rows}


def _active_kid(deployment: Deployment, slug: str = "sena") -> str:
    return next(kid for kid, state in _signing_keys(deployment, slug).items() if state == "active")


def _kid_of(deployment: Deployment, credential_id: str) -> str:
    with deployment.deps.session() as session:
        record = session.get(Credential, credential_id)
        assert record is not None
        return str(jws.parse(creds.paper_of(deployment.deps, record).split("~")[0]).header["kid"])


def _published_kids(deployment: Deployment) -> set[str]:
    metadata = deployment.client.get("/.well-known/jwt-vc-issuer/i/sena")
    assert metadata.status_code == 200
    return {key["kid"] for key in metadata.json()["jwks"]["keys"]}


def _counts(deployment: Deployment) -> tuple[int, int, int, int]:
    """Users, active API keys, signing keys, audit events: what a refused request must not change."""
    with deployment.deps.session() as session:
        return (session.exec(select(func.count()).select_from(StaffUser)).one(),
                session.exec(select(func.count()).select_from(ApiKey).where(col(ApiKey.revoked_at).is_(None))).one(),
                session.exec(select(func.count()).select_from(SigningKey)
                             .where(SigningKey.state == "active")).one(),
                session.exec(select(func.count()).select_from(AuditEvent)
                             .where(col(AuditEvent.action).not_in(["console.sign_in", "console.second_factor"]))
                             ).one())


def _prefix(deployment: Deployment, who: str) -> str:
    return deployment.keys[who].split("_")[1]


# --- users ----------------------------------------------------------------------------------------


def test_admin_creates_an_officer_who_must_choose_a_password_then_disables_them(deployment: Deployment) -> None:
    admin = _admin(deployment)
    form = admin.get("/console/admin/users")
    assert form.status_code == 200
    assert "cambiarla" in form.text and 'for="f-password_again"' in form.text
    created = admin.post("/console/admin/users", {"username": "Ana.Gomez", "display_name": "Ana Gómez",
                                                  "role": "officer", "password": INITIAL, "password_again": INITIAL},
                         csrf_from="/console/admin/users")
    assert created.status_code == 200 and created.url.path == "/console/admin/users"
    assert "Usuario creado" in created.text and "ana.gomez" in created.text
    row = _user(deployment, "ana.gomez")
    assert row is not None and row.role == "officer" and row.must_change_password and row.disabled_at is None

    officer = Browser.new(deployment)
    first = officer.post("/console/login", {"username": "ana.gomez", "password": INITIAL}, csrf_from="/console/login")
    assert first.status_code == 200 and first.url.path == "/console/password"
    assert officer.get("/console/credentials").url.path == "/console/password"  # nothing else until it is changed
    chosen = "mi propia frase secreta 2026"
    home = officer.post("/console/password", {"current": INITIAL, "password": chosen, "password_again": chosen})
    assert home.status_code == 200 and home.url.path == "/console" and "Ana Gómez" in home.text
    assert officer.get("/console/credentials").status_code == 200

    confirm = admin.get(f"/console/admin/users/{row.id}/disable")
    assert confirm.status_code == 200 and "terminan de inmediato" in confirm.text
    disabled = admin.post(f"/console/admin/users/{row.id}/disable", {},
                          csrf_from=f"/console/admin/users/{row.id}/disable")
    assert disabled.status_code == 200 and "Usuario desactivado" in disabled.text

    dead = officer.get("/console/credentials")  # the session ended at once (security.md #110)
    assert dead.url.path == "/console/login"
    again = Browser.new(deployment).post("/console/login", {"username": "ana.gomez", "password": chosen},
                                         csrf_from="/console/login")
    assert again.status_code == 401 and "Usuario o contraseña incorrectos." in again.text
    wrong = Browser.new(deployment).post("/console/login", {"username": "ana.gomez", "password": "otra cosa 12345"},
                                         csrf_from="/console/login")
    assert wrong.status_code == 401 and "Usuario o contraseña incorrectos." in wrong.text
    with deployment.deps.session() as session:
        actions = session.exec(select(AuditEvent.action, AuditEvent.actor).where(AuditEvent.target == "@ana.gomez")
                               .order_by(col(AuditEvent.seq))).all()
    assert ("staff_user.create", "admin:@admin.sena") in actions
    assert ("staff_user.disable", "admin:@admin.sena") in actions


def test_user_form_errors_are_shown_next_to_the_fields_and_nothing_is_created(deployment: Deployment) -> None:
    admin = _admin(deployment)
    before = _counts(deployment)
    bad = admin.post("/console/admin/users", {"username": "x", "display_name": "", "role": "officer",
                                              "password": INITIAL, "password_again": INITIAL + "!"},
                     csrf_from="/console/admin/users")
    assert bad.status_code == 422
    assert 'id="e-password_again"' in bad.text and "Las contraseñas no coinciden." in bad.text
    short = admin.post("/console/admin/users", {"username": "x", "display_name": "", "role": "boss",
                                                "password": "corta", "password_again": "corta"},
                       csrf_from="/console/admin/users")
    assert short.status_code == 422
    for field in ("username", "display_name", "role", "password"):
        assert f'id="e-{field}"' in short.text, field
    assert "/ Use" not in short.text  # one language at a time
    assert 'value="corta"' not in short.text  # passwords are never echoed back
    make_user(deployment, "migracion", "officer", username="ya.existe")
    taken = admin.post("/console/admin/users", {"username": "ya.existe", "display_name": "Otra", "role": "auditor",
                                                "password": INITIAL, "password_again": INITIAL},
                       csrf_from="/console/admin/users")
    assert taken.status_code == 409 and 'id="e-username"' in taken.text and "ya existe" in taken.text
    after = _counts(deployment)
    assert after[:3] == (before[0] + 1, before[1], before[2])  # only make_user's
    assert _user(deployment, "x") is None


def test_an_admin_cannot_disable_themselves(deployment: Deployment) -> None:
    admin = _admin(deployment)
    me = _user(deployment, "admin.sena")
    assert me is not None
    page = admin.get(f"/console/admin/users/{me.id}/disable")
    assert page.status_code == 200 and "No puede desactivar su propia cuenta" in page.text
    assert f'action="/console/admin/users/{me.id}/disable"' not in page.text
    refused = admin.post(f"/console/admin/users/{me.id}/disable", {}, csrf_from="/console/admin/users")
    assert refused.status_code == 403
    me_after = _user(deployment, "admin.sena")
    assert me_after is not None and me_after.disabled_at is None
    assert admin.get("/console/admin/users").status_code == 200


# --- API keys -------------------------------------------------------------------------------------


def test_api_key_is_shown_once_works_and_is_revoked_at_once(deployment: Deployment) -> None:
    admin = _admin(deployment)
    created = admin.post("/console/admin/api-keys", {"name": "Sistema de matrícula", "role": "officer"},
                         csrf_from="/console/admin/api-keys")
    assert created.status_code == 200 and created.headers["cache-control"] == "no-store"
    assert "no se puede volver a mostrar" in created.text
    found = KEY_TEXT.search(created.text)
    assert found, created.text
    text = unescape(found.group(1))
    prefix = text.split("_")[1]
    listing = admin.get("/console/admin/api-keys")
    assert prefix in listing.text and text not in listing.text and "Sistema de matrícula" in listing.text
    with deployment.deps.session() as session:
        row = session.exec(select(ApiKey).where(ApiKey.prefix == prefix)).one()
        assert row.role == "officer" and text not in row.key_hash
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "api_key.create",
                                                      AuditEvent.target == prefix)).one()
        assert event.actor == "admin:@admin.sena"

    bearer = {"Authorization": f"Bearer {text}"}
    assert deployment.client.get("/api/v1/credentials", headers=bearer).status_code == 200

    confirm = admin.get(f"/console/admin/api-keys/{prefix}/revoke")
    assert confirm.status_code == 200 and "inmediata y definitiva" in confirm.text
    revoked = admin.post(f"/console/admin/api-keys/{prefix}/revoke", {},
                         csrf_from=f"/console/admin/api-keys/{prefix}/revoke")
    assert revoked.status_code == 200 and "Clave revocada" in revoked.text
    assert deployment.client.get("/api/v1/credentials", headers=bearer).status_code == 401
    again = admin.post(f"/console/admin/api-keys/{prefix}/revoke", {}, csrf_from="/console/admin/api-keys")
    assert again.status_code == 200  # revoking twice is harmless and records nothing more
    with deployment.deps.session() as session:
        revokes = session.exec(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "api_key.revoke", AuditEvent.target == prefix)).one()
    assert revokes == 1


def test_api_key_form_needs_a_name_and_a_role(deployment: Deployment) -> None:
    admin = _admin(deployment)
    before = _counts(deployment)
    refused = admin.post("/console/admin/api-keys", {"name": " ", "role": "root"},
                         csrf_from="/console/admin/api-keys")
    assert refused.status_code == 422 and 'id="e-name"' in refused.text and 'id="e-role"' in refused.text
    assert KEY_TEXT.search(refused.text) is None
    assert _counts(deployment) == before


# --- signing keys ---------------------------------------------------------------------------------


def test_rotation_makes_a_new_active_key_and_keeps_the_old_one_published(deployment: Deployment) -> None:
    admin = _admin(deployment)
    old_kid = _active_kid(deployment)
    page = admin.get("/console/admin/keys")
    assert page.status_code == 200 and old_kid in page.text
    confirm = admin.get("/console/admin/keys/rotate")
    assert confirm.status_code == 200 and old_kid in confirm.text
    done = admin.post("/console/admin/keys/rotate", {}, csrf_from="/console/admin/keys/rotate")
    assert done.status_code == 200 and "Clave rotada" in done.text
    states = _signing_keys(deployment)
    new_kid = _active_kid(deployment)
    assert new_kid != old_kid and states[old_kid] == "retired" and len(states) == 2
    assert new_kid in done.text
    assert _published_kids(deployment) == {old_kid, new_kid}
    issued = deployment.issue()
    assert _kid_of(deployment, issued["id"]) == new_kid
    with deployment.deps.session() as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "key.rotate")).one()
    assert event.target == new_kid and event.actor == "admin:@admin.sena"


def test_marking_a_key_compromised_needs_its_kid_typed(deployment: Deployment) -> None:
    admin = _admin(deployment)
    before_issue = deployment.issue()
    kid = _active_kid(deployment)
    assert _kid_of(deployment, before_issue["id"]) == kid
    warning = admin.get(f"/console/admin/keys/{kid}/compromise")
    assert warning.status_code == 200
    assert "key_compromised" in warning.text and "no se puede deshacer" in warning.text
    assert 'name="confirm_kid"' in warning.text
    path = f"/console/admin/keys/{kid}/compromise"
    for typed in ("", kid[:-1], "yes"):
        refused = admin.post(path, {"confirm_kid": typed}, csrf_from=path)
        assert refused.status_code == 422 and "No se cambió nada" in refused.text
        assert _signing_keys(deployment) == {kid: "active"}
    done = admin.post(path, {"confirm_kid": kid}, csrf_from=path)
    assert done.status_code == 200 and "comprometida" in done.text
    states = _signing_keys(deployment)
    assert states[kid] == "compromised"
    new_kid = _active_kid(deployment)
    assert new_kid != kid and kid not in _published_kids(deployment)
    after = deployment.issue()
    assert _kid_of(deployment, after["id"]) == new_kid
    with deployment.deps.session() as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "key.compromised")).one()
    assert event.target == kid and event.actor == "admin:@admin.sena"
    page = admin.get(path)
    assert page.status_code == 200 and 'name="confirm_kid"' not in page.text  # already compromised


def test_external_institution_has_no_local_keys_to_manage(deployment: Deployment) -> None:
    from credcore.keys import generate_key
    from issuer.institutions import accredit_external

    outside = generate_key("ES256")
    with deployment.deps.session() as session:
        inst = accredit_external(session, deployment.deps, issuer_id="https://ext.example/issuer", name="Externa",
                                 jwks={"keys": [outside.public.jwk()]}, types=["ppt-status"], actor="test")
        session.commit()
        slug = inst.slug
    admin = _admin(deployment, slug)
    page = admin.get("/console/admin/keys")
    assert page.status_code == 200 and "propio sistema" in page.text and "/console/admin/keys/rotate" not in page.text
    assert admin.get("/console/admin/keys/rotate").status_code == 409
    refused = admin.post("/console/admin/keys/rotate", {}, csrf_from="/console/admin/keys")
    assert refused.status_code == 409
    assert _signing_keys(deployment, slug) == {outside.kid: "active"}


# --- types ----------------------------------------------------------------------------------------


def test_types_page_lists_only_the_accredited_types(deployment: Deployment) -> None:
    admin = _admin(deployment)
    page = admin.get("/console/admin/types")
    assert page.status_code == 200
    types = deployment.deps.types
    for type_id in ("skills-certification", "qualification-validation"):
        ctype = types.get(type_id)
        assert ctype.name("es") in page.text
        assert ctype.label(ctype.claim_names[0], "es") in page.text
    assert types.get("ppt-status").name("es") not in page.text
    assert "puente" in page.text and "registro" in page.text
    assert "<form" not in page.text.split("<main", 1)[1].split("</main>")[0]  # read-only (no forms besides nav)


# --- who may do it --------------------------------------------------------------------------------


def test_officers_and_auditors_get_403_on_every_admin_page(deployment: Deployment) -> None:
    target = make_user(deployment, "sena", "officer", username="objetivo.sena")
    prefix = _prefix(deployment, "sena:officer")
    kid = _active_kid(deployment)
    gets = ["/console/admin", "/console/admin/users", f"/console/admin/users/{target.id}/disable",
            "/console/admin/api-keys", f"/console/admin/api-keys/{prefix}/revoke", "/console/admin/keys",
            "/console/admin/keys/rotate", f"/console/admin/keys/{kid}/compromise", "/console/admin/types"]
    posts: list[tuple[str, dict[str, str]]] = [
        ("/console/admin/users", {"username": "intruso", "display_name": "Intruso", "role": "admin",
                                  "password": INITIAL, "password_again": INITIAL}),
        (f"/console/admin/users/{target.id}/disable", {}),
        ("/console/admin/api-keys", {"name": "intrusa", "role": "admin"}),
        (f"/console/admin/api-keys/{prefix}/revoke", {}),
        ("/console/admin/keys/rotate", {}),
        (f"/console/admin/keys/{kid}/compromise", {"confirm_kid": kid}),
    ]
    before = _counts(deployment)
    for role in ("officer", "auditor"):
        browser = _signed_in(deployment, role)
        home = browser.get("/console")
        assert "/console/admin/users" not in home.text  # no menu entry either
        for path in gets:
            assert browser.get(path).status_code == 403, (role, path)
        for path, data in posts:
            response = browser.post(path, data, csrf_from="/console")
            assert response.status_code == 403, (role, path)
            assert "Su rol no permite esta acción." in response.text
    made = 2  # the officer and the auditor who signed in (a user and a "staff_user.create" event each)
    assert _counts(deployment) == (before[0] + made, before[1], before[2], before[3] + made)
    assert _user(deployment, "intruso") is None
    target_row = _user(deployment, "objetivo.sena")
    assert target_row is not None and target_row.disabled_at is None
    assert _signing_keys(deployment) == {kid: "active"}


def test_another_institutions_ids_are_not_found_and_nothing_changes(deployment: Deployment) -> None:
    other_user = make_user(deployment, "migracion", "officer")
    other_prefix = _prefix(deployment, "migracion:officer")
    other_kid = _active_kid(deployment, "migracion")
    admin = _admin(deployment)
    before = _counts(deployment)
    assert admin.get(f"/console/admin/users/{other_user.id}/disable").status_code == 404
    assert admin.post(f"/console/admin/users/{other_user.id}/disable", {},
                      csrf_from="/console/admin/users").status_code == 404
    assert admin.get(f"/console/admin/api-keys/{other_prefix}/revoke").status_code == 404
    assert admin.post(f"/console/admin/api-keys/{other_prefix}/revoke", {},
                      csrf_from="/console/admin/api-keys").status_code == 404
    assert admin.get(f"/console/admin/keys/{other_kid}/compromise").status_code == 404
    assert admin.post(f"/console/admin/keys/{other_kid}/compromise", {"confirm_kid": other_kid},
                      csrf_from="/console/admin/keys").status_code == 404
    assert admin.get("/console/admin/users/999999/disable").status_code == 404
    assert _counts(deployment) == before
    row = _user(deployment, other_user.username)
    assert row is not None and row.disabled_at is None
    assert deployment.client.get("/api/v1/credentials", headers=deployment.auth("migracion:officer")).status_code == 200
    assert _signing_keys(deployment, "migracion") == {other_kid: "active"}
    users_page = admin.get("/console/admin/users").text
    keys_page = admin.get("/console/admin/api-keys").text
    assert other_user.username not in users_page and other_prefix not in keys_page
    assert other_kid not in admin.get("/console/admin/keys").text


def test_admin_pages_need_a_signed_in_admin_and_a_csrf_token(deployment: Deployment) -> None:
    anonymous = Browser.new(deployment)
    assert anonymous.get("/console/admin/users").url.path == "/console/login"
    admin = _admin(deployment)
    before = _counts(deployment)
    forged = admin.post("/console/admin/keys/rotate", {}, csrf="not-the-token")
    assert forged.status_code == 403
    assert _counts(deployment) == before
    sub_nav = admin.get("/console/admin/api-keys")
    assert 'href="/console/admin/api-keys" aria-current="page"' in sub_nav.text
    assert 'href="/console/admin/keys"' in sub_nav.text and 'href="/console/admin/types"' in sub_nav.text
