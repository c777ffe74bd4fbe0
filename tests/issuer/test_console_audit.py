"""The auditor's console: the institution's audit log (newest first, 50 a page, no claim values),
the whole-chain check (intact, then broken at the tampered event), read-only credential views, and
every state-changing console route refused to an auditor with nothing changed."""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlmodel import col, func, select

from issuer import audit
from issuer.db.models import AuditEvent, Credential, StaffUser
from issuer.operator import institution as find_institution
from testkit.world import example_claims
from tests.issuer.console_support import Browser, make_user
from tests.issuer.deployment import Deployment

SEQ_CELL = re.compile(r"<tr>\s*<td>(\d+)</td>")


def _auditor(deployment: Deployment) -> Browser:
    user = make_user(deployment, "sena", "auditor")
    browser = Browser.new(deployment)
    assert browser.sign_in(user).url.path == "/console"
    return browser


def _seqs(html: str) -> list[int]:
    return [int(seq) for seq in SEQ_CELL.findall(html)]


def _total_events(deployment: Deployment) -> int:
    with deployment.deps.session() as session:
        return int(session.exec(select(func.count()).select_from(AuditEvent)).one())


def test_auditor_sees_the_institutions_events_newest_first_without_claim_values(deployment: Deployment) -> None:
    issued = deployment.issue()
    deployment.issue(type_id="ppt-status", who="migracion:officer")
    browser = _auditor(deployment)
    page = browser.get("/console/audit")
    assert page.status_code == 200
    with deployment.deps.session() as session:
        sena = find_institution(session, "sena")
        own = session.exec(select(AuditEvent).where(AuditEvent.institution_id == sena.id)
                           .order_by(col(AuditEvent.seq).desc())).all()
        others = session.exec(select(AuditEvent.seq).where(AuditEvent.institution_id != sena.id)).all()
    seqs = _seqs(page.text)
    assert seqs == [row.seq for row in own][:50] and seqs == sorted(seqs, reverse=True)
    assert not set(seqs) & set(others)
    assert "credential.issue" in page.text and issued["id"] in page.text and "officer:" in page.text
    assert '<span class="key">type</span>: skills-certification' in page.text  # harmless details are shown
    for value in example_claims("skills-certification").values():
        if len(str(value)) > 3:  # (a small number could be any count on the page)
            assert str(value) not in page.text, value
    assert 'id="chain-result"' not in page.text  # the check runs only when asked


def test_audit_log_is_paginated_by_fifty(deployment: Deployment) -> None:
    with deployment.deps.session() as session:
        sena = find_institution(session, "sena")
        for n in range(60):
            audit.record(session, at=deployment.clock.now(), actor="test", action="test.event",
                         institution_id=sena.id, target=f"t{n}")
        session.commit()
    browser = _auditor(deployment)
    with deployment.deps.session() as session:  # reading the log records nothing: this is all of it
        own = session.exec(select(AuditEvent.seq).where(AuditEvent.institution_id == sena.id)
                           .order_by(col(AuditEvent.seq).desc())).all()
    assert 50 < len(own) <= 100
    first = browser.get("/console/audit")
    assert _seqs(first.text) == own[:50] and 'href="/console/audit?page=2"' in first.text
    assert "/console/audit?page=0" not in first.text
    second = browser.get("/console/audit?page=2")
    assert _seqs(second.text) == own[50:] and 'href="/console/audit?page=1"' in second.text
    assert "/console/audit?page=3" not in second.text
    empty = browser.get("/console/audit?page=500")
    assert empty.status_code == 200 and _seqs(empty.text) == []
    assert browser.get("/console/audit?page=0").status_code == 422


def test_chain_check_says_intact_then_broken_at_the_tampered_event(deployment: Deployment) -> None:
    deployment.issue()
    browser = _auditor(deployment)
    checked = browser.get("/console/audit?check=1")
    assert checked.status_code == 200 and "Cadena íntegra" in checked.text
    total = _total_events(deployment)
    assert f"{total} eventos" in checked.text
    with deployment.deps.session() as session:
        target = session.exec(select(AuditEvent).where(AuditEvent.action == "credential.issue")).one()
        tampered_seq = target.seq
    with deployment.deps.engine.begin() as connection:
        connection.execute(text("UPDATE audit_events SET action = 'credential.nothing' WHERE seq = :seq"),
                           {"seq": tampered_seq})
    broken = browser.get("/console/audit?check=1")
    assert broken.status_code == 200 and "Cadena íntegra" not in broken.text
    assert f"Cadena rota en el evento {tampered_seq}" in broken.text and "el evento fue modificado" in broken.text
    english = browser.get("/console/lang/en?next=/console/audit%3Fcheck%3D1")
    assert f"Chain broken at event {tampered_seq}" in english.text and "the event was altered" in english.text


def test_admins_may_read_the_audit_log_and_officers_may_not(deployment: Deployment) -> None:
    admin = Browser.new(deployment)
    admin.sign_in(make_user(deployment, "sena", "admin"))
    page = admin.get("/console/audit?check=1")
    assert page.status_code == 200 and "Cadena íntegra" in page.text
    officer = Browser.new(deployment)
    officer.sign_in(make_user(deployment, "sena", "officer"))
    assert officer.get("/console/audit").status_code == 403
    assert officer.get("/console/audit?check=1").status_code == 403
    assert "/console/audit" not in officer.get("/console").text


def test_auditor_reads_credentials_without_claims_and_every_change_is_refused(deployment: Deployment) -> None:
    issued = deployment.issue()
    credential_id = issued["id"]
    browser = _auditor(deployment)
    listing = browser.get("/console/credentials")
    assert listing.status_code == 200 and credential_id in listing.text
    detail = browser.get(f"/console/credentials/{credential_id}")
    assert detail.status_code == 200 and "José Gregorio" not in detail.text
    assert f"/console/credentials/{credential_id}/status/revoke" not in detail.text

    with deployment.deps.session() as session:
        users_before = session.exec(select(func.count()).select_from(StaffUser)).one()
        credentials_before = session.exec(select(func.count()).select_from(Credential)).one()
    events_before = _total_events(deployment)
    attempts = [
        (f"/console/credentials/{credential_id}/status/revoke", {"reason": "prueba", "confirm": "yes"}),
        (f"/console/credentials/{credential_id}/status/suspend", {"reason": "prueba", "confirm": "yes"}),
        ("/console/admin/users", {"username": "nuevo.auditor", "display_name": "Nuevo", "role": "admin",
                                  "password": "clave inicial bastante larga 7",
                                  "password_again": "clave inicial bastante larga 7"}),
        ("/console/issue/skills-certification",
         {name: str(value) for name, value in example_claims("skills-certification").items()}),
        ("/console/admin/api-keys", {"name": "puerta trasera", "role": "admin"}),
        ("/console/admin/keys/rotate", {}),
    ]
    for path, data in attempts:
        response = browser.post(path, data, csrf_from="/console")
        assert response.status_code == 403, (path, response.status_code)
        assert "Su rol no permite esta acción." in response.text
    assert browser.get(f"/console/credentials/{credential_id}/status/revoke").status_code == 403
    assert browser.get("/console/issue/skills-certification").status_code == 403
    assert browser.get(f"/console/credentials/{credential_id}/offer").status_code == 403
    with deployment.deps.session() as session:
        record = session.get(Credential, credential_id)
        assert record is not None and record.status == 0 and record.status_reason is None
        assert session.exec(select(func.count()).select_from(StaffUser)).one() == users_before
        assert session.exec(select(func.count()).select_from(Credential)).one() == credentials_before
    assert _total_events(deployment) == events_before
    assert deployment.client.get(f"/api/v1/credentials/{credential_id}",
                                 headers=deployment.auth("sena:admin")).json()["status"] == "valid"


def test_auditor_filters_events_by_action_actor_target_and_day(deployment: Deployment) -> None:
    first = deployment.issue()
    second = deployment.issue()
    deployment.client.post(f"/api/v1/credentials/{second['id']}/revoke", json={"reason": "error de digitación"},
                           headers=deployment.auth())
    deployment.clock.advance(3 * 86_400)
    third = deployment.issue()
    browser = _auditor(deployment)
    revokes = browser.get("/console/audit?action=credential.revoke")
    assert revokes.status_code == 200 and second["id"] in _table(revokes.text)
    assert first["id"] not in _table(revokes.text) and third["id"] not in _table(revokes.text)
    assert '<option value="credential.revoke" selected>' in revokes.text
    by_target = browser.get(f"/console/audit?target={first['id']}")
    assert first["id"] in _table(by_target.text) and second["id"] not in _table(by_target.text)
    from datetime import UTC, datetime, timedelta

    today = (datetime.fromtimestamp(deployment.clock.now(), UTC) - timedelta(hours=5)).date().isoformat()
    recent = browser.get(f"/console/audit?action=credential.issue&from={today}&to={today}")
    assert third["id"] in _table(recent.text) and first["id"] not in _table(recent.text)
    nobody = browser.get("/console/audit?actor=officer:nadie")
    assert "Ningún evento coincide" in nobody.text
    assert browser.get("/console/audit?from=ayer").status_code == 422
    # Filters never reach another institution's events.
    theirs = deployment.issue("ppt-status", who="migracion:officer")
    assert theirs["id"] not in _table(browser.get(f"/console/audit?target={theirs['id']}").text)


def _table(html: str) -> str:
    """The events table alone (the page's links repeat the filters)."""
    if 'id="events"' not in html:
        return ""
    return html.split('id="events"', 1)[1].split("</table>", 1)[0]
