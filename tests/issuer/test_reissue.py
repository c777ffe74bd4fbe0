"""Issue 15 #7, a lost or new phone: an officer issues a credential again (same claims, type and
validity) for a new holder key; when the new phone redeems it, the old copy is revoked with the
reason "teléfono reemplazado", and both events are in the hash-chained audit log. Abuse cases are
security cases #166–#170 and #174 (docs/security-cases.md)."""

from __future__ import annotations

import secrets
from typing import Any

from credcore.keys import generate_key
from issuer import audit
from testkit.wallet import PRE_AUTH_GRANT, Wallet, issuer_payload, offer_url, present, verify_online
from tests.issuer.deployment import Deployment


def _reissue(deployment: Deployment, credential_id: str, who: str = "sena:officer", key: str | None = None,
             lang: str = "es") -> Any:
    headers = {**deployment.auth(who), "Idempotency-Key": key or secrets.token_urlsafe(18), "Accept-Language": lang}
    return deployment.client.post(f"/api/v1/credentials/{credential_id}/reissue", headers=headers)


def _status(deployment: Deployment, credential_id: str) -> dict[str, Any]:
    response = deployment.client.get(f"/api/v1/credentials/{credential_id}", headers=deployment.auth())
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _events(deployment: Deployment) -> list[dict[str, Any]]:
    response = deployment.client.get("/api/v1/audit", headers=deployment.auth("sena:auditor"))
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["events"]
    return events


def _new_phone(deployment: Deployment) -> Wallet:
    return Wallet(deployment.client, deployment.clock.now, generate_key())


def test_a_new_phone_gets_the_same_credential_and_the_old_copy_is_revoked(deployment: Deployment) -> None:
    created = deployment.issue("skills-certification")
    old_phone = _new_phone(deployment)
    old_copy = old_phone.redeem(created)
    answer = _reissue(deployment, created["id"])
    assert answer.status_code == 201, answer.text
    again = answer.json()
    assert again["replaces"] == created["id"] and again["id"] != created["id"]
    assert again["type"] == created["type"] and again["valid_until"] == created["valid_until"]
    assert again["offer"]["offer_uri"] != created["offer"]["offer_uri"] and len(again["offer"]["tx_code"]) == 6
    # Until the new phone redeems it, the old copy still works (the person may find the old phone).
    assert _status(deployment, created["id"])["status"] == "valid"
    assert verify_online(deployment.client, deployment.deps, present(old_copy, old_phone.holder,
                                                                     now=deployment.clock.now())).valid
    new_phone = _new_phone(deployment)
    new_copy = new_phone.redeem(again)
    old, new = issuer_payload(old_copy), issuer_payload(new_copy)
    assert new["cnf"]["jwk"]["x"] == new_phone.holder.public.jwk()["x"] != old["cnf"]["jwk"]["x"]
    assert (new["iss"], new["vct"], new["exp"]) == (old["iss"], old["vct"], old["exp"])
    assert new["status"]["status_list"] != old["status"]["status_list"]  # its own status entry
    described = _status(deployment, created["id"])
    assert described["status"] == "revoked" and described["status_reason"] == "teléfono reemplazado"
    assert _status(deployment, again["id"])["status"] == "valid" and _status(deployment, again["id"])["delivered"]
    full_old = deployment.client.get(f"/api/v1/credentials/{created['id']}", headers=deployment.auth()).json()
    full_new = deployment.client.get(f"/api/v1/credentials/{again['id']}", headers=deployment.auth()).json()
    assert full_old["claims"] == full_new["claims"]
    assert not verify_online(deployment.client, deployment.deps,
                             present(old_copy, old_phone.holder, now=deployment.clock.now())).valid
    assert verify_online(deployment.client, deployment.deps,
                         present(new_copy, new_phone.holder, now=deployment.clock.now())).valid
    events = _events(deployment)
    asked = [e for e in events if e["action"] == "credential.reissue"]
    replaced = [e for e in events if e["action"] == "credential.replaced"]
    assert [(e["target"], e["details"]["replacement"], e["outcome"]) for e in asked] == \
        [(created["id"], again["id"], "ok")]
    assert [(e["target"], e["actor"], e["details"]) for e in replaced] == \
        [(created["id"], "wallet", {"replacement": again["id"], "reason": "teléfono reemplazado"})]
    assert asked[0]["seq"] < replaced[0]["seq"]
    with deployment.deps.session() as session:
        assert audit.check_database(session).ok


def test_the_api_retries_a_reissue_once(deployment: Deployment) -> None:
    created = deployment.issue("skills-certification")
    key = secrets.token_urlsafe(18)
    first, second = _reissue(deployment, created["id"], key=key), _reissue(deployment, created["id"], key=key)
    assert first.status_code == second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true" and second.json() == first.json()
    listed = deployment.client.get("/api/v1/credentials", headers=deployment.auth()).json()["items"]
    assert sorted(item["replaces"] or "" for item in listed) == ["", created["id"]]
    missing = deployment.client.post(f"/api/v1/credentials/{created['id']}/reissue", headers=deployment.auth())
    assert missing.status_code == 400 and missing.json()["code"] == "idempotency_key_missing"


# ----------------------------------------------------------------------------- abuse (security cases #166–#170, #174)


def test_166_reissue_across_institutions_is_not_found(deployment: Deployment) -> None:
    created = deployment.issue("skills-certification")
    answer = _reissue(deployment, created["id"], who="migracion:officer")
    assert answer.status_code == 404 and answer.json()["code"] == "credential_not_found"
    assert _reissue(deployment, "no-such-credential-0000").status_code == 404
    assert _status(deployment, created["id"])["status"] == "valid"


def test_167_an_auditor_cannot_reissue(deployment: Deployment) -> None:
    created = deployment.issue("skills-certification")
    answer = _reissue(deployment, created["id"], who="sena:auditor")
    assert answer.status_code == 403 and answer.json()["code"] == "role_forbidden"
    listed = deployment.client.get("/api/v1/credentials", headers=deployment.auth()).json()
    assert listed["count"] == 1


def test_168_a_revoked_suspended_or_replaced_credential_is_not_reissued(deployment: Deployment) -> None:
    revoked = deployment.issue("skills-certification")
    deployment.client.post(f"/api/v1/credentials/{revoked['id']}/revoke", json={"reason": "error"},
                           headers=deployment.auth())
    answer = _reissue(deployment, revoked["id"])
    assert answer.status_code == 409 and answer.json()["code"] == "credential_revoked"
    assert "revocada" in answer.json()["title"]
    assert "revoked" in _reissue(deployment, revoked["id"], lang="en").json()["title"]
    suspended = deployment.issue("skills-certification")
    deployment.client.post(f"/api/v1/credentials/{suspended['id']}/suspend", json={"reason": "revisión"},
                           headers=deployment.auth())
    answer = _reissue(deployment, suspended["id"])
    assert answer.status_code == 409 and answer.json()["code"] == "credential_suspended"
    replaced = deployment.issue("skills-certification")
    again = _reissue(deployment, replaced["id"]).json()
    _new_phone(deployment).redeem(again)
    answer = _reissue(deployment, replaced["id"])
    assert answer.status_code == 409 and answer.json()["code"] == "credential_replaced"
    assert again["id"] in answer.json()["title"]  # the officer is told which one to issue again
    refused = [e for e in _events(deployment) if e["action"] == "credential.reissue" and e["outcome"] == "refused"]
    assert {e["target"] for e in refused} == {revoked["id"], suspended["id"], replaced["id"]}
    assert _reissue(deployment, again["id"]).status_code == 201  # the current one can be


def _denied(deployment: Deployment, created: dict[str, Any]) -> dict[str, Any]:
    """Redeem an offer up to the credential request and return the issuer's refusal."""
    wallet = _new_phone(deployment)
    fetched = deployment.client.get(offer_url(created["offer"]["offer_uri"]))
    if fetched.status_code != 200:
        gone: dict[str, Any] = fetched.json()
        return gone
    offer = fetched.json()
    issuer = offer["credential_issuer"]
    token = wallet.token_response(issuer, offer["grants"][PRE_AUTH_GRANT]["pre-authorized_code"],
                                  created["offer"]["tx_code"])
    if token.status_code != 200:
        body: dict[str, Any] = token.json()
        return body
    proof = wallet.proof(aud=issuer, nonce=wallet.nonce(issuer))
    response = wallet.credential_response(issuer, token.json()["access_token"],
                                          wallet.request_body(created["type"], [proof]))
    assert response.status_code == 400, response.text
    refused: dict[str, Any] = response.json()
    return refused


def test_169_the_old_offer_dies_when_the_credential_is_reissued(deployment: Deployment) -> None:
    created = deployment.issue("skills-certification")  # never redeemed: the phone was lost first
    again = _reissue(deployment, created["id"]).json()
    assert _denied(deployment, created)["error"] in {"invalid_request", "invalid_grant", "credential_request_denied"}
    _new_phone(deployment).redeem(again)
    assert _status(deployment, created["id"])["status"] == "revoked"


def test_169_an_old_offer_whose_token_was_taken_before_the_reissue_is_refused(deployment: Deployment) -> None:
    created = deployment.issue("skills-certification")
    wallet = _new_phone(deployment)
    offer = wallet.fetch_offer(created["offer"]["offer_uri"])
    issuer = offer["credential_issuer"]
    access = wallet.token(issuer, offer["grants"][PRE_AUTH_GRANT]["pre-authorized_code"], created["offer"]["tx_code"])
    assert _reissue(deployment, created["id"]).status_code == 201
    proof = wallet.proof(aud=issuer, nonce=wallet.nonce(issuer))
    response = wallet.credential_response(issuer, access, wallet.request_body(created["type"], [proof]))
    assert response.status_code == 400 and response.json()["error"] == "credential_request_denied"


def test_170_after_two_reissues_only_the_latest_offer_redeems_and_revokes(deployment: Deployment) -> None:
    created = deployment.issue("skills-certification")
    old_phone = _new_phone(deployment)
    old_phone.redeem(created)
    first = _reissue(deployment, created["id"]).json()
    second = _reissue(deployment, created["id"]).json()
    assert first["replaces"] == second["replaces"] == created["id"]
    superseded = _status(deployment, first["id"])
    assert superseded["status"] == "revoked"
    assert superseded["status_reason"] == "reemisión sustituida por una más reciente"
    assert _denied(deployment, first)["error"] in {"invalid_request", "invalid_grant", "credential_request_denied"}
    assert _status(deployment, created["id"])["status"] == "valid"  # a dead offer revokes nothing
    _new_phone(deployment).redeem(second)
    assert _status(deployment, created["id"])["status_reason"] == "teléfono reemplazado"
    # Re-issuing from a replacement no phone has redeemed yet re-issues the original.
    other = deployment.issue("skills-certification")
    pending = _reissue(deployment, other["id"]).json()
    third = _reissue(deployment, pending["id"]).json()
    assert third["replaces"] == other["id"] and _status(deployment, pending["id"])["status"] == "revoked"


def test_the_console_reissues_once_per_form_and_refuses_an_auditor(deployment: Deployment) -> None:
    from tests.issuer.console_support import Browser, csrf_of, make_user

    created = deployment.issue("skills-certification")
    officer = Browser.new(deployment)
    officer.sign_in(make_user(deployment))
    page = officer.get(f"/console/credentials/{created['id']}")
    assert f'href="/console/credentials/{created["id"]}/reissue"' in page.text
    form = officer.get(f"/console/credentials/{created['id']}/reissue")
    assert "teléfono reemplazado" in form.text
    form_id = form.text.split('name="form_id" value="')[1].split('"')[0]
    unconfirmed = officer.post(f"/console/credentials/{created['id']}/reissue", {"form_id": form_id},
                               csrf=csrf_of(form.text))
    assert unconfirmed.status_code == 422 and "Marque la casilla" in unconfirmed.text
    data = {"form_id": form_id, "confirm": "yes"}
    first = officer.post(f"/console/credentials/{created['id']}/reissue", data, csrf=csrf_of(form.text))
    again = officer.post(f"/console/credentials/{created['id']}/reissue", data, csrf=csrf_of(form.text))
    assert first.url.path == again.url.path and first.url.path.endswith("/offer")  # a double click: one
    assert "emitida de nuevo para un teléfono nuevo" in first.text
    replacement = first.url.path.split("/")[3]
    assert _status(deployment, replacement)["replaces"] == created["id"]
    assert len(deployment.client.get("/api/v1/credentials", headers=deployment.auth()).json()["items"]) == 2
    detail = officer.get(f"/console/credentials/{replacement}").text
    assert f'href="/console/credentials/{created["id"]}"' in detail and "Reemplaza a" in detail
    auditor = Browser.new(deployment)
    auditor.sign_in(make_user(deployment, role="auditor"))
    assert "/reissue" not in auditor.get(f"/console/credentials/{created['id']}").text
    assert auditor.get(f"/console/credentials/{created['id']}/reissue").status_code == 403


def test_174_revoking_or_suspending_the_original_takes_its_pending_reissue_along(deployment: Deployment) -> None:
    created = deployment.issue("skills-certification")
    pending = _reissue(deployment, created["id"]).json()
    suspended = deployment.client.post(f"/api/v1/credentials/{created['id']}/suspend", json={"reason": "revisión"},
                                       headers=deployment.auth())
    assert suspended.status_code == 200
    assert _status(deployment, pending["id"])["status"] == "suspended"
    assert _denied(deployment, pending)["error"] in {"invalid_request", "credential_request_denied"}
    deployment.client.post(f"/api/v1/credentials/{created['id']}/reinstate", json={"reason": "aclarado"},
                           headers=deployment.auth())
    assert _status(deployment, pending["id"])["status"] == "valid"
    deployment.client.post(f"/api/v1/credentials/{created['id']}/revoke", json={"reason": "fraude"},
                           headers=deployment.auth())
    assert _status(deployment, pending["id"])["status"] == "revoked"
    assert _denied(deployment, pending)["error"] in {"invalid_request", "credential_request_denied"}
    events = [(e["action"], e["target"], e["details"].get("with")) for e in _events(deployment)
              if e["target"] == pending["id"] and e["action"] != "credential.issue"]
    assert events == [("credential.suspend", pending["id"], created["id"]),
                      ("credential.reinstate", pending["id"], created["id"]),
                      ("credential.revoke", pending["id"], created["id"])]
    # A replacement already redeemed is its own credential: revoking the old one... is done by the redemption.
    other = deployment.issue("skills-certification")
    redeemed = _reissue(deployment, other["id"]).json()
    _new_phone(deployment).redeem(redeemed)
    answer = deployment.client.post(f"/api/v1/credentials/{other['id']}/revoke", json={"reason": "x"},
                                    headers=deployment.auth())
    assert answer.status_code == 409 and _status(deployment, redeemed["id"])["status"] == "valid"


def test_170_concurrent_reissues_and_a_redemption_leave_one_valid_copy(deployment: Deployment) -> None:
    """Re-issuances and a redemption racing for one credential: whatever the order, one phone's copy
    is valid and at most one re-issuance waits, the original is revoked at most once, never a 5xx."""
    from concurrent.futures import ThreadPoolExecutor

    created = deployment.issue("skills-certification")
    first = _reissue(deployment, created["id"]).json()
    phone = _new_phone(deployment)
    offer = phone.fetch_offer(first["offer"]["offer_uri"])
    issuer = offer["credential_issuer"]
    access = phone.token(issuer, offer["grants"][PRE_AUTH_GRANT]["pre-authorized_code"], first["offer"]["tx_code"])
    proof = phone.proof(aud=issuer, nonce=phone.nonce(issuer))

    def redeem() -> int:
        response = phone.credential_response(issuer, access, phone.request_body(created["type"], [proof]))
        return response.status_code

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(redeem), *(pool.submit(lambda: _reissue(deployment, created["id"]).status_code)
                                          for _ in range(3))]
        codes = [future.result() for future in futures]
    assert all(code < 500 for code in codes), codes
    listed = deployment.client.get("/api/v1/credentials?status=valid", headers=deployment.auth()).json()["items"]
    valid = {item["id"]: item for item in listed}
    if codes[0] == 200:  # the new phone got it first: only its copy is valid, later re-issuances refused
        assert set(valid) == {first["id"]} and codes[1:] == [409, 409, 409], (codes, valid)
    else:  # a re-issuance came first: the original (until a phone redeems) and the latest re-issuance
        latest = [item for item in listed if item["replaces"] == created["id"] and not item["delivered"]]
        assert created["id"] in valid and len(valid) == 2 and len(latest) == 1, (codes, valid)
    revocations = [e for e in _events(deployment) if e["action"] == "credential.replaced"]
    assert len(revocations) == (1 if codes[0] == 200 else 0)
    assert (_status(deployment, created["id"])["status"] == "revoked") == (codes[0] == 200)
