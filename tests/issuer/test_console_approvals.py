"""Revoking a whole batch needs two people (security.md #112, multi-user approval for high-value
operations): one asks, another of the same institution approves (which revokes every valid or
suspended credential of the batch at once, offers included) or rejects; the one who asked cannot
decide, auditors and other institutions cannot touch it, and undecided requests expire."""

from __future__ import annotations

from sqlmodel import select

from credcore.status_list import verify_status_list_token
from issuer.db.models import ApprovalRequest, Offer
from tests.issuer.console_support import Browser, csrf_of, make_user
from tests.issuer.deployment import BASE, Deployment
from tests.issuer.support import (
    a_batch,
    ask,
    credentials_of,
    request_id,
    sena_keys,
    signed_in,
    statuses,
)

SENA = f"{BASE}/i/sena"


def test_one_asks_another_approves_and_the_whole_batch_is_revoked(deployment: Deployment) -> None:
    asker = signed_in(deployment)
    batch_id = a_batch(deployment, asker)
    one = credentials_of(deployment, batch_id)[0]
    deployment.client.post(f"/api/v1/credentials/{one.id}/suspend", json={"reason": "revisión"},
                           headers=deployment.auth())
    page = asker.get(f"/console/batches/{batch_id}")
    assert f"/console/batches/{batch_id}/revoke" in page.text
    confirm = asker.get(f"/console/batches/{batch_id}/revoke")
    assert '<dd id="revocable-count"><strong>6</strong>' in confirm.text
    unconfirmed = asker.post(f"/console/batches/{batch_id}/revoke", {"reason": "error"}, csrf=csrf_of(confirm.text))
    assert unconfirmed.status_code == 422
    asked = ask(asker, batch_id)
    assert "/console/approvals/" in str(asked.url) and 'id="waiting"' in asked.text
    assert statuses(deployment, batch_id) == [0, 0, 0, 0, 0, 2]  # nothing changed yet
    rid = request_id(deployment)
    # The one who asked cannot approve, even by posting the form by hand; nor ask twice.
    own = asker.post(f"/console/approvals/{rid}/approve", {"confirm": "yes"}, csrf_from="/console/approvals")
    assert own.status_code == 403 and "second_person_required" in own.text
    assert ask(asker, batch_id).status_code == 409
    assert statuses(deployment, batch_id) == [0, 0, 0, 0, 0, 2]

    approver = Browser.new(deployment)
    approver.sign_in(make_user(deployment, username="otra.oficial"))
    home = approver.get("/console")
    assert 'Aprobaciones <span class="badge status-suspended">1' in home.text
    detail = approver.get(f"/console/approvals/{rid}")
    assert "El lote se cargó con la norma equivocada" in detail.text and 'id="approve"' in detail.text
    no_tick = approver.post(f"/console/approvals/{rid}/approve", {}, csrf=csrf_of(detail.text))
    assert no_tick.status_code == 422 and statuses(deployment, batch_id) == [0, 0, 0, 0, 0, 2]
    done = approver.post(f"/console/approvals/{rid}/approve", {"confirm": "yes"}, csrf=csrf_of(detail.text))
    assert "Aprobada: el lote fue revocado." in done.text
    assert statuses(deployment, batch_id) == [1] * 6
    with deployment.deps.session() as session:
        ids = [record.id for record in credentials_of(deployment, batch_id)]
        offers = session.exec(select(Offer).where(Offer.credential_id.in_(ids))).all()  # type: ignore[attr-defined]
    assert {offer.state for offer in offers} == {"dead"}
    # Verifiers see it: every index of the batch is "invalid" (1) in the signed status list.
    token = deployment.client.get(f"{SENA}/status/1").text
    keys = sena_keys(deployment)
    verified = verify_status_list_token(token, uri=f"{SENA}/status/1", now=deployment.clock.now(),
                                        resolve_key=lambda parsed: keys[parsed.header["kid"]])
    assert {verified.status_list.get(record.status_idx) for record in credentials_of(deployment, batch_id)} == {1}
    # Each credential's history shows the batch revocation, with who asked and who approved.
    history = approver.get(f"/console/credentials/{one.id}").text
    assert "approval.request" in history and "approval.approve" in history
    again = approver.post(f"/console/approvals/{rid}/approve", {"confirm": "yes"},
                          csrf_from=f"/console/approvals/{rid}")
    assert again.status_code == 409


def test_a_rejected_request_changes_nothing(deployment: Deployment) -> None:
    asker = signed_in(deployment)
    batch_id = a_batch(deployment, asker, count=3)
    ask(asker, batch_id)
    rid = request_id(deployment)
    admin = make_user(deployment, role="admin")
    approver = Browser.new(deployment)
    approver.sign_in(admin)
    rejected = approver.post(f"/console/approvals/{rid}/reject", {"confirm": "yes"},
                             csrf_from=f"/console/approvals/{rid}")
    assert "Rechazada: no cambió nada." in rejected.text
    assert statuses(deployment, batch_id) == [0, 0, 0]
    assert "Rechazada" in asker.get("/console/approvals").text


def test_requests_expire_after_three_days(deployment: Deployment) -> None:
    asker = signed_in(deployment)
    batch_id = a_batch(deployment, asker, count=2)
    ask(asker, batch_id)
    rid = request_id(deployment)
    deployment.clock.advance(3 * 86_400 + 1)
    approver = Browser.new(deployment)
    approver.sign_in(make_user(deployment, username="otra.oficial"))
    page = approver.get(f"/console/approvals/{rid}")
    assert "Vencida" in page.text and 'id="approve"' not in page.text
    late = approver.post(f"/console/approvals/{rid}/approve", {"confirm": "yes"}, csrf=csrf_of(page.text))
    assert late.status_code == 409 and statuses(deployment, batch_id) == [0, 0]
    assert ask(asker, batch_id).status_code == 200  # a new request may be made


def test_auditors_and_other_institutions_cannot_touch_requests(deployment: Deployment) -> None:
    asker = signed_in(deployment)
    batch_id = a_batch(deployment, asker, count=2)
    ask(asker, batch_id)
    rid = request_id(deployment)
    auditor = Browser.new(deployment)
    auditor.sign_in(make_user(deployment, role="auditor"))
    csrf = csrf_of(auditor.get("/console").text)
    assert "/console/approvals" not in auditor.get("/console").text
    assert auditor.get("/console/approvals").status_code == 403
    assert auditor.post(f"/console/approvals/{rid}/approve", {"confirm": "yes"}, csrf=csrf).status_code == 403
    assert auditor.post(f"/console/batches/{batch_id}/revoke", {"reason": "x", "confirm": "yes"},
                        csrf=csrf).status_code == 403
    other = Browser.new(deployment)
    other.sign_in(make_user(deployment, "migracion", "officer"))
    csrf = csrf_of(other.get("/console").text)
    assert other.get(f"/console/approvals/{rid}").status_code == 404
    assert other.post(f"/console/approvals/{rid}/approve", {"confirm": "yes"}, csrf=csrf).status_code == 404
    assert other.post(f"/console/batches/{batch_id}/revoke", {"reason": "x", "confirm": "yes"},
                      csrf=csrf).status_code == 404
    assert rid not in other.get("/console/approvals").text
    assert statuses(deployment, batch_id) == [0, 0]
    with deployment.deps.session() as session:
        assert [r.state for r in session.exec(select(ApprovalRequest))] == ["pending"]
