"""security.md group K (persistence faults, #132–#140) against the issuer's HTTP API.

#136 (a CSV row that is invalid: per-row semantics, never a silent skip) belongs to batches and is
tested with the batch endpoints.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlmodel import select

from credcore import jws
from credcore.status_list import StatusList
from issuer import audit
from issuer.api.staff_api import IssueRequest
from issuer.db.models import Credential, IdempotencyRecord, Offer, SigningKey, StatusListRow
from issuer.idempotency import ABANDONED_AFTER, request_hash
from issuer.institutions import add_signing_key, by_slug
from issuer.staff import authenticate
from testkit.wallet import Wallet, offer_url
from tests.issuer.deployment import BASE, Deployment
from tests.issuer.support import SKILLS, body, log_lines, post, rows, unreachable_database

SENA = f"{BASE}/i/sena"


def status_values(deployment: Deployment, number: int = 1, slug: str = "sena") -> StatusList:
    response = deployment.client.get(f"/i/{slug}/status/{number}")
    assert response.status_code == 200, response.text
    claims = jws.parse(response.text).claims()
    return StatusList.decode(claims["status_list"]["lst"], claims["status_list"]["bits"])


def list_usage(deployment: Deployment) -> list[tuple[int, int]]:
    with deployment.deps.session() as session:
        return [(r.number, r.used) for r in session.exec(select(StatusListRow).order_by(StatusListRow.number))]


def describe(deployment: Deployment, credential_id: str) -> dict[str, Any]:
    response = deployment.client.get(f"/api/v1/credentials/{credential_id}", headers=deployment.auth())
    assert response.status_code == 200, response.text
    described: dict[str, Any] = response.json()
    return described


def assert_problem(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code, response.text
    assert "Traceback" not in response.text


# ----------------------------------------------------------------------------- #132


def test_case_132_a_crash_after_signing_leaves_no_credential_offer_or_index(
        deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> None:
    deployment.issue()
    before = (rows(deployment, Credential), rows(deployment, Offer), list_usage(deployment),
              bytes(status_values(deployment).data))

    def crash(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("power cut while issuing to José Gregorio")

    monkeypatch.setattr(audit, "record", crash)  # runs after the paper credential is signed, before commit
    key = "retry-after-crash-0001"
    with log_lines() as lines:
        response = post(deployment, body(), key)
    assert_problem(response, 500, "internal_error")
    assert "José" not in response.text and "power cut" not in response.text
    logged = "\n".join(lines)
    assert '"error": "RuntimeError"' in logged  # operators see what failed and where, not the message
    assert "José" not in logged and "power cut" not in logged
    after = (rows(deployment, Credential), rows(deployment, Offer), list_usage(deployment),
             bytes(status_values(deployment).data))
    assert after == before

    monkeypatch.undo()
    retried = post(deployment, body(), key)  # the key was released: the retry issues exactly one
    assert retried.status_code == 201, retried.text
    assert rows(deployment, Credential) == before[0] + 1


def test_case_132_a_crash_while_delivering_delivers_nothing(deployment: Deployment, wallet: Wallet,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    created = deployment.issue()
    offer = wallet.fetch_offer(created["offer"]["offer_uri"])
    access = wallet.token(SENA, wallet.pre_authorized_code(offer), created["offer"]["tx_code"])
    request = wallet.request_body(SKILLS, [wallet.proof(aud=SENA, nonce=wallet.nonce(SENA))])

    def crash(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("crash after signing the wallet credential")

    monkeypatch.setattr(audit, "record", crash)
    assert_problem(wallet.credential_response(SENA, access, request), 500, "internal_error")
    monkeypatch.undo()
    assert describe(deployment, created["id"])["delivered"] is False
    # Nothing was consumed: the same access token, nonce and proof now succeed, once.
    assert wallet.credential_response(SENA, access, request).status_code == 200
    assert describe(deployment, created["id"])["delivered"] is True
    assert wallet.credential_response(SENA, access, request).status_code == 401


# ----------------------------------------------------------------------------- #133–#135


def test_case_133_a_retry_with_the_same_key_gets_the_same_response_and_one_credential(
        deployment: Deployment) -> None:
    first = post(deployment, body(), "client-retry-000000001")
    second = post(deployment, body(), "client-retry-000000001")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert rows(deployment, Credential) == 1 and rows(deployment, Offer) == 1


def test_case_134_same_key_with_another_body_is_422(deployment: Deployment) -> None:
    assert post(deployment, body(), "client-retry-000000002").status_code == 201
    other = post(deployment, body(given_name="Otra Persona"), "client-retry-000000002")
    assert_problem(other, 422, "idempotency_key_reused")
    # Same body from another staff member of the institution: never their response (it holds a tx_code).
    assert_problem(post(deployment, body(), "client-retry-000000002", who="sena:admin"), 422,
                   "idempotency_key_reused")
    assert rows(deployment, Credential) == 1


def test_case_134_a_retry_while_the_first_is_running_is_409(deployment: Deployment) -> None:
    payload = body()
    key = "client-retry-000000003"
    with deployment.deps.session() as session:
        staff = authenticate(session, deployment.deps, deployment.auth()["Authorization"])
        session.add(IdempotencyRecord(institution_id=staff.institution.id or 0, key=key,
                                      api_key_id=staff.principal_id,
                                      request_hash=request_hash(deployment.deps, IssueRequest(**payload).model_dump()),
                                      created_at=deployment.clock.now()))
        session.commit()
    assert_problem(post(deployment, payload, key), 409, "idempotency_in_progress")
    assert rows(deployment, Credential) == 0
    # A request that has been "running" for minutes crashed: its retry takes over and issues once.
    deployment.clock.advance(ABANDONED_AFTER + 1)
    taken_over = post(deployment, payload, key)
    assert taken_over.status_code == 201, taken_over.text
    assert post(deployment, payload, key).json() == taken_over.json()
    assert rows(deployment, Credential) == 1


def test_case_134_a_missing_key_is_400(deployment: Deployment) -> None:
    assert_problem(post(deployment, body(), None), 400, "idempotency_key_missing")
    assert_problem(post(deployment, body(), ""), 400, "idempotency_key_missing")
    assert rows(deployment, Credential) == 0


def test_case_134_a_refused_request_frees_its_key(deployment: Deployment) -> None:
    refused = post(deployment, body(level="dos"), "client-retry-000000004")
    assert_problem(refused, 422, "claims_invalid")
    assert post(deployment, body(), "client-retry-000000004").status_code == 201


@pytest.mark.parametrize("key", ["short", "0123456789abcde", "x" * 101, "has spaces in the key 0001",
                                 "slash/in/the/key/000001", "quote'or'1'='1'--00001", "percent%20encoded%2000001",
                                 "tab\tin-the-key-00000001"])
def test_case_135_a_malformed_key_is_400(deployment: Deployment, key: str) -> None:
    assert_problem(post(deployment, body(), key), 400, "idempotency_key_invalid")
    assert rows(deployment, Credential) == 0


def test_case_135_a_non_ascii_key_is_400(deployment: Deployment) -> None:
    headers = {**deployment.auth(), "Idempotency-Key": "clave-ñandú-0000000001".encode()}
    response = deployment.client.post("/api/v1/credentials", json=body(), headers=headers)
    assert_problem(response, 400, "idempotency_key_invalid")


def test_case_135_keys_are_scoped_to_the_institution(deployment: Deployment) -> None:
    key = "shared-key-between-tenants-01"
    sena = post(deployment, body(), key)
    migracion = post(deployment, body("ppt-status"), key, who="migracion:officer")
    assert sena.status_code == migracion.status_code == 201
    assert sena.json()["id"] != migracion.json()["id"]
    assert post(deployment, body(), key).json() == sena.json()
    assert post(deployment, body("ppt-status"), key, who="migracion:officer").json() == migracion.json()
    assert rows(deployment, Credential) == 2


# ----------------------------------------------------------------------------- #137 (and #79)


def change(deployment: Deployment, credential_id: str, action: str, reason: str = "motivo") -> Any:
    return deployment.client.post(f"/api/v1/credentials/{credential_id}/{action}", json={"reason": reason},
                                  headers=deployment.auth())


def test_case_137_status_changes_are_committed_and_published_before_the_call_returns(
        deployment: Deployment, reconfigure: Any) -> None:
    created = deployment.issue()
    idx = describe(deployment, created["id"])["status_list"]["idx"]
    replica = reconfigure()  # another instance of the service on the same database
    assert status_values(deployment).get(idx) == 0
    steps = [("suspend", 2, "suspended"), ("reinstate", 0, "valid"), ("suspend", 2, "suspended"),
             ("revoke", 1, "revoked")]
    for action, value, name in steps:
        response = change(deployment, created["id"], action, reason=f"{action} reason")
        assert response.status_code == 200, response.text
        assert response.json()["status"] == name and response.json()["status_reason"] == f"{action} reason"
        with deployment.deps.session() as session:  # committed, as any other connection sees it
            stored = session.get(Credential, created["id"])
            assert stored is not None and stored.status == value
        assert status_values(deployment).get(idx) == value
        assert status_values(replica).get(idx) == value


def test_case_137_transitions_that_are_not_allowed_are_409(deployment: Deployment) -> None:
    created = deployment.issue()
    assert_problem(change(deployment, created["id"], "reinstate"), 409, "invalid_transition")  # only from suspended
    assert change(deployment, created["id"], "suspend").status_code == 200
    assert_problem(change(deployment, created["id"], "suspend"), 409, "invalid_transition")
    assert change(deployment, created["id"], "revoke").status_code == 200
    # Revocation is final (#79): no reinstating, no suspending, no second revocation.
    for action in ("reinstate", "suspend", "revoke"):
        assert_problem(change(deployment, created["id"], action), 409, "already_revoked")
    described = describe(deployment, created["id"])
    assert described["status"] == "revoked"
    assert status_values(deployment).get(described["status_list"]["idx"]) == 1
    assert_problem(change(deployment, created["id"], "suspend", reason="   "), 422, "reason_required")
    unknown = deployment.client.post(f"/api/v1/credentials/{created['id']}/unrevoke", json={"reason": "x"},
                                     headers=deployment.auth())
    assert unknown.status_code == 422


# ----------------------------------------------------------------------------- #138


def test_case_138_database_down_is_503_not_500(deployment: Deployment, wallet: Wallet) -> None:
    created = deployment.issue()
    offer = wallet.fetch_offer(created["offer"]["offer_uri"])
    deps = deployment.deps
    working = deps.engine
    deps.engine = create_engine(unreachable_database(deps.settings.database_url))
    try:
        calls = [
            lambda: post(deployment, body(), "database-down-000001"),
            lambda: deployment.client.get(f"/api/v1/credentials/{created['id']}", headers=deployment.auth()),
            lambda: deployment.client.post(f"/api/v1/credentials/{created['id']}/revoke", json={"reason": "x"},
                                           headers=deployment.auth()),
            lambda: deployment.client.get("/api/v1/audit", headers=deployment.auth("sena:admin")),
            lambda: wallet.token_response(SENA, wallet.pre_authorized_code(offer), created["offer"]["tx_code"]),
            lambda: deployment.client.post(f"{SENA}/nonce"),
            lambda: deployment.client.get(offer_url(created["offer"]["offer_uri"])),
            lambda: deployment.client.get(f"{SENA}/status/1"),
            lambda: deployment.client.get("/.well-known/openid-credential-issuer/i/sena"),
            lambda: deployment.client.get("/trust-list"),
        ]
        for call in calls:
            assert_problem(call(), 503, "database_unavailable")
        assert deployment.client.get("/readyz").status_code == 503
        assert deployment.client.get("/healthz").status_code == 200
    finally:
        deps.engine.dispose()
        deps.engine = working
    # Back up: nothing was half-done.
    assert rows(deployment, Credential) == 1
    assert post(deployment, body(), "database-down-000001").status_code == 201


# ----------------------------------------------------------------------------- #139


def test_case_139_full_lists_are_closed_and_indexes_never_reused(deployment: Deployment, reconfigure: Any) -> None:
    small = reconfigure(status_list_size=16, status_list_fill_limit=0.5)
    seen: set[tuple[str, int]] = set()
    for _ in range(20):
        status = describe(small, small.issue()["id"])["status_list"]
        assert 0 <= status["idx"] < 16
        seen.add((status["uri"], status["idx"]))
    assert len(seen) == 20
    numbers = sorted({int(uri.rsplit("/", 1)[1]) for uri, _ in seen})
    assert numbers == [1, 2, 3]
    assert all(uri.startswith(f"{SENA}/status/") for uri, _ in seen)
    assert [used for _, used in list_usage(small)] == [8, 8, 4]
    for number in numbers:
        assert status_values(small, number).size == 16


# ----------------------------------------------------------------------------- #140


def signing_rows(deployment: Deployment) -> list[SigningKey]:
    with deployment.deps.session() as session:
        sena = by_slug(session, "sena")
        return list(session.exec(select(SigningKey).where(SigningKey.institution_id == sena.id)
                                 .order_by(SigningKey.id)))


def test_case_140_an_unreadable_signing_key_is_503_and_no_other_key_is_used(deployment: Deployment,
                                                                            wallet: Wallet) -> None:
    earlier = deployment.issue()  # signed with the first key, which is now retired but still readable
    with deployment.deps.session() as session:
        fresh = add_signing_key(session, deployment.deps, by_slug(session, "sena"))
        fresh.private_sealed = b"\x00" * 80  # the sealed key no longer opens
        session.add(fresh)
        session.commit()
    assert [row.state for row in signing_rows(deployment)] == ["retired", "active"]
    count = rows(deployment, Credential)

    assert_problem(post(deployment, body(), "signing-key-down-0001"), 503, "keys_unavailable")
    assert_problem(deployment.client.get(f"{SENA}/status/1"), 503, "keys_unavailable")
    offer = wallet.fetch_offer(earlier["offer"]["offer_uri"])
    access = wallet.token(SENA, wallet.pre_authorized_code(offer), earlier["offer"]["tx_code"])
    delivered = wallet.credential_response(SENA, access, wallet.request_body(
        SKILLS, [wallet.proof(aud=SENA, nonce=wallet.nonce(SENA))]))
    assert_problem(delivered, 503, "keys_unavailable")
    assert rows(deployment, Credential) == count
    assert describe(deployment, earlier["id"])["delivered"] is False
    assert "credentials" not in json.dumps(delivered.json())


def test_case_140_no_active_key_is_503(deployment: Deployment) -> None:
    with deployment.deps.session() as session:
        for row in session.exec(select(SigningKey)):
            row.state = "retired"
            session.add(row)
        session.commit()
    assert_problem(post(deployment, body(), "no-active-key-000001"), 503, "no_signing_key")
    assert rows(deployment, Credential) == 0


def test_case_140_a_missing_private_key_is_503(deployment: Deployment) -> None:
    with deployment.deps.session() as session:
        for row in session.exec(select(SigningKey)):
            row.private_sealed = None
            session.add(row)
        session.commit()
    assert_problem(post(deployment, body(), "no-private-key-00001"), 503, "no_signing_key")
    assert rows(deployment, Credential) == 0
