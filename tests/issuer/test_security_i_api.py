"""security.md group I (API auth/authz, #104–#118) against the issuer's HTTP API, one test per case.

Not here:
- #111 (password spray / enumeration on staff login), #112 (MFA, multi-person approval) and #113
  (cross-site forms, cookie attributes) concern the staff console and its sessions; the API takes
  only bearer API keys, no cookies and no passwords. They are covered by the staff-console issue.
- #114 (CSV batch uploads) is covered with the batch endpoints by their own tests.
- API keys do not expire; a revoked key is the "expired credential" of #104 and #110.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlmodel import select

from credcore.sdjwt import parse_compact
from issuer.db.models import ApiKey, Credential
from issuer.errors import Forbidden
from issuer.staff import authenticate, create_api_key, revoke_api_key
from testkit.wallet import Wallet, offer_url
from testkit.world import example_claims
from tests.issuer.deployment import BASE, Deployment
from tests.issuer.support import log_lines

SKILLS = "skills-certification"
SENA = f"{BASE}/i/sena"


def count_credentials(deployment: Deployment) -> int:
    with deployment.deps.session() as session:
        return len(session.exec(select(Credential.id)).all())


def issue_request(deployment: Deployment, headers: dict[str, str], body: dict[str, Any] | None = None,
                  path: str = "/api/v1/credentials") -> Any:
    body = body if body is not None else {"type": SKILLS, "claims": example_claims(SKILLS)}
    return deployment.client.post(path, json=body, headers={"Idempotency-Key": "k" * 24, **headers})


def problem_code(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    code: str = response.json()["code"]
    return code


def key_prefix(key_text: str) -> str:
    return key_text.split("_")[1]


def test_case_104_no_malformed_or_revoked_key_is_401(deployment: Deployment) -> None:
    created = deployment.issue()
    revoked_text = deployment.keys["sena:admin"]
    with deployment.deps.session() as session:
        admin = authenticate(session, deployment.deps, f"Bearer {revoked_text}")
        revoke_api_key(session, deployment.deps, admin, key_prefix(revoked_text))
        session.commit()
    officer = deployment.keys["sena:officer"]
    bad_headers: list[dict[str, str]] = [
        {}, {"Authorization": ""}, {"Authorization": "Bearer"}, {"Authorization": "Bearer "},
        {"Authorization": f"Basic {officer}"}, {"Authorization": officer}, {"Authorization": f"Token {officer}"},
        {"Authorization": "Bearer pk_00000000_notarealkey"}, {"Authorization": f"Bearer {officer}x"},
        {"Authorization": f"Bearer {officer[:-1]}"}, {"Authorization": "Bearer " + "pk_" + "a" * 400},
        {"Authorization": f"Bearer {revoked_text}"},
    ]
    requests = [
        ("post", "/api/v1/credentials", {"type": SKILLS, "claims": example_claims(SKILLS)}),
        ("post", f"/api/v1/credentials/{created['id']}/revoke", {"reason": "r"}),
        ("post", f"/api/v1/credentials/{created['id']}/suspend", {"reason": "r"}),
        ("get", f"/api/v1/credentials/{created['id']}", None),
        ("get", "/api/v1/credentials", None),
        ("get", f"/api/v1/credentials/{created['id']}/offer.png", None),
        ("get", "/api/v1/audit", None),
    ]
    for headers in bad_headers:
        for method, path, body in requests:
            response = deployment.client.request(method, path, json=body,
                                                 headers={"Idempotency-Key": "k" * 24, **headers})
            assert problem_code(response, 401) in ("missing_api_key", "invalid_api_key"), (headers, path)
            assert response.headers["www-authenticate"] == "Bearer"
    assert count_credentials(deployment) == 1
    got = deployment.client.get(f"/api/v1/credentials/{created['id']}", headers=deployment.auth())
    assert got.json()["status"] == "valid"


def staff_routes(deployment: Deployment, credential_id: str) -> list[tuple[str, str]]:
    """Every staff operation the service publishes in its OpenAPI document (batches included once
    they are mounted), as (method, path) with the path parameters filled in."""
    values = {"credential_id": credential_id, "action": "revoke"}
    paths = deployment.client.get("/openapi.json").json()["paths"]
    found = []
    for template, operations in paths.items():
        if template.startswith("/api/v1/"):
            path = re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "some-id"), template)
            found.extend((method.upper(), path) for method in operations)
    assert ("POST", "/api/v1/credentials") in found
    return found


def test_case_104_every_staff_route_needs_a_key(deployment: Deployment) -> None:
    created = deployment.issue()
    for method, path in staff_routes(deployment, created["id"]):
        response = deployment.client.request(method, path, json={}, headers={"Idempotency-Key": "k" * 24})
        assert response.status_code == 401, (method, path, response.text)


def test_case_105_auditors_change_nothing_on_any_route(deployment: Deployment) -> None:
    created = deployment.issue()
    for method, path in staff_routes(deployment, created["id"]):
        if method != "GET":
            response = deployment.client.request(method, path, json={"reason": "r"},
                                                 headers={**deployment.auth("sena:auditor"),
                                                          "Idempotency-Key": "k" * 24})
            assert problem_code(response, 403) == "role_forbidden", (method, path)


def test_case_105_each_role_can_do_only_its_part(deployment: Deployment) -> None:
    created = deployment.issue()
    path = f"/api/v1/credentials/{created['id']}"
    auditor = deployment.auth("sena:auditor")
    assert problem_code(issue_request(deployment, auditor), 403) == "role_forbidden"
    for action in ("revoke", "suspend", "reinstate"):
        response = deployment.client.post(f"{path}/{action}", json={"reason": "r"}, headers=auditor)
        assert problem_code(response, 403) == "role_forbidden"
    assert problem_code(deployment.client.get(f"{path}/offer.png", headers=auditor), 403) == "role_forbidden"
    # Auditors read records and the audit log, never claim values.
    seen = deployment.client.get(path, headers=auditor)
    assert seen.status_code == 200 and "claims" not in seen.json()
    assert deployment.client.get("/api/v1/audit", headers=auditor).status_code == 200
    assert count_credentials(deployment) == 1

    officer = deployment.auth("sena:officer")
    assert problem_code(deployment.client.get("/api/v1/audit", headers=officer), 403) == "role_forbidden"
    assert deployment.client.get(path, headers=officer).json()["claims"]["given_name"] == "José Gregorio"
    with deployment.deps.session() as session:  # key management is for admins (CLI and console)
        staff = authenticate(session, deployment.deps, f"Bearer {deployment.keys['sena:officer']}")
        with pytest.raises(Forbidden):
            revoke_api_key(session, deployment.deps, staff, key_prefix(deployment.keys["sena:auditor"]))

    admin = deployment.auth("sena:admin")
    assert issue_request(deployment, admin).status_code == 201
    assert deployment.client.post(f"{path}/suspend", json={"reason": "r"}, headers=admin).status_code == 200
    assert deployment.client.post(f"{path}/reinstate", json={"reason": "r"}, headers=officer).status_code == 200
    assert deployment.client.post(f"{path}/revoke", json={"reason": "r"}, headers=officer).status_code == 200


def test_case_106_another_institutions_credential_is_404(deployment: Deployment) -> None:
    created = deployment.issue("qualification-validation")
    path = f"/api/v1/credentials/{created['id']}"
    missing = deployment.client.get("/api/v1/credentials/does-not-exist", headers=deployment.auth())
    for role in ("admin", "officer", "auditor"):
        other = deployment.auth(f"migracion:{role}")
        response = deployment.client.get(path, headers=other)
        assert problem_code(response, 404) == "credential_not_found"
        assert response.json() == missing.json()  # indistinguishable from a credential that does not exist
        if role != "auditor":
            for action in ("revoke", "suspend", "reinstate"):
                changed = deployment.client.post(f"{path}/{action}", json={"reason": "x"}, headers=other)
                assert problem_code(changed, 404) == "credential_not_found"
            assert deployment.client.get(f"{path}/offer.png", headers=other).status_code == 404
        listed = deployment.client.get("/api/v1/credentials", headers=other).json()
        assert created["id"] not in {item["id"] for item in listed["items"]}
        by_document = deployment.client.get("/api/v1/credentials?document_number=V-18456732", headers=other).json()
        assert by_document["items"] == []
    events = deployment.client.get("/api/v1/audit", headers=deployment.auth("migracion:auditor")).json()["events"]
    assert created["id"] not in json.dumps(events)
    own = deployment.client.get(path, headers=deployment.auth()).json()
    assert own["status"] == "valid"
    by_document = deployment.client.get("/api/v1/credentials?document_number=v-18456732", headers=deployment.auth())
    assert [item["id"] for item in by_document.json()["items"]] == [created["id"]]


def test_case_107_a_type_the_institution_is_not_accredited_for_is_403(deployment: Deployment) -> None:
    for who in ("sena:officer", "sena:admin"):
        body = {"type": "ppt-status", "claims": example_claims("ppt-status")}
        response = issue_request(deployment, deployment.auth(who), body)
        assert problem_code(response, 403) == "not_accredited_for_type"
    as_other = issue_request(deployment, deployment.auth(), {"type": SKILLS, "claims": example_claims(SKILLS),
                                                             "issuer": f"{BASE}/i/migracion"})
    assert problem_code(as_other, 422) == "request_invalid"
    assert count_credentials(deployment) == 0
    # Migración may issue it.
    assert issue_request(deployment, deployment.auth("migracion:officer"),
                         {"type": "ppt-status", "claims": example_claims("ppt-status")}).status_code == 201


@pytest.mark.parametrize("extra", [
    {"issuer": f"{BASE}/i/migracion"}, {"issuer_id": 2}, {"iss": "https://evil.example"}, {"status_idx": 7},
    {"status_list": 1}, {"kid": "attacker-kid"}, {"role": "admin"}, {"status": "revoked"}, {"id": "chosen-id"},
    {"institution_id": 2}, {"cnf": {"jwk": {"kty": "EC"}}}, {"tx_code": "000000"},
])
def test_case_108_mass_assignment_is_422_and_issues_nothing(deployment: Deployment, extra: dict[str, Any]) -> None:
    body = {"type": SKILLS, "claims": example_claims(SKILLS), **extra}
    response = issue_request(deployment, deployment.auth(), body)
    assert problem_code(response, 422) == "request_invalid"
    assert [error["field"] for error in response.json()["errors"]] == list(extra)
    assert count_credentials(deployment) == 0


@pytest.mark.parametrize(("lang", "message"), [("es", "Este dato no pertenece a este tipo de credencial."),
                                                ("en", "This field does not belong to this credential type.")])
def test_case_108_registered_claims_inside_claims_are_422_in_the_request_language(
        deployment: Deployment, lang: str, message: str) -> None:
    claims = {**example_claims(SKILLS), "iss": f"{BASE}/i/migracion", "status": {"idx": 1}, "cnf": {}, "vct": "x"}
    response = issue_request(deployment, {**deployment.auth(), "Accept-Language": lang},
                             {"type": SKILLS, "claims": claims})
    assert problem_code(response, 422) == "claims_invalid"
    errors = response.json()["errors"]
    assert {error["field"] for error in errors} == {"iss", "status", "cnf", "vct"}
    assert {error["message"] for error in errors} == {message}
    assert count_credentials(deployment) == 0


def test_case_108_status_change_takes_only_a_reason(deployment: Deployment) -> None:
    created = deployment.issue()
    path = f"/api/v1/credentials/{created['id']}"
    for body in ({"reason": "r", "status": 0}, {"reason": "r", "status_idx": 3}, {"reason": "r", "actor": "x"},
                 {}, {"reason": ""}, {"reason": "x" * 501}):
        response = deployment.client.post(f"{path}/suspend", json=body, headers=deployment.auth())
        assert problem_code(response, 422) == "request_invalid"
    assert deployment.client.get(path, headers=deployment.auth()).json()["status"] == "valid"


def test_case_109_api_key_in_the_query_string_is_refused(deployment: Deployment) -> None:
    key = deployment.keys["sena:officer"]
    created = deployment.issue()
    for name in ("api_key", "access_token"):
        for headers in ({}, deployment.auth()):
            listed = deployment.client.get(f"/api/v1/credentials?{name}={key}", headers=headers)
            assert problem_code(listed, 400) == "api_key_in_query"
            assert key not in listed.text
            issued = deployment.client.post(f"/api/v1/credentials?{name}={key}",
                                            json={"type": SKILLS, "claims": example_claims(SKILLS)},
                                            headers={"Idempotency-Key": "q" * 20, **headers})
            assert problem_code(issued, 400) == "api_key_in_query"
            revoked = deployment.client.post(f"/api/v1/credentials/{created['id']}/revoke?{name}={key}",
                                             json={"reason": "r"}, headers=headers)
            assert problem_code(revoked, 400) == "api_key_in_query"
    assert count_credentials(deployment) == 1
    wrong = deployment.client.get("/api/v1/credentials", headers={"Authorization": f"Bearer {key}0"})
    assert problem_code(wrong, 401) == "invalid_api_key" and key not in wrong.text


def test_case_109_api_keys_and_secrets_never_reach_the_logs(deployment: Deployment, wallet: Wallet) -> None:
    keys = deployment.keys
    with log_lines() as lines:
        created = deployment.issue()
        deployment.client.get(f"/api/v1/credentials/{created['id']}", headers=deployment.auth())
        deployment.client.get(f"/api/v1/credentials?api_key={keys['sena:admin']}")
        deployment.client.get("/api/v1/credentials", headers={"Authorization": f"Bearer {keys['migracion:admin']}0"})
        issue_request(deployment, deployment.auth("sena:auditor"))
        offer = wallet.fetch_offer(created["offer"]["offer_uri"])
        code = wallet.pre_authorized_code(offer)
        wallet.token_response(SENA, code, "999999" if created["offer"]["tx_code"] != "999999" else "999998")
        access = wallet.token(SENA, code, created["offer"]["tx_code"])
        nonce = wallet.nonce(SENA)
        proof = wallet.proof(aud=SENA, nonce=nonce)
        credential = wallet.credential_response(SENA, access, wallet.request_body(SKILLS, [proof])).json()
    secrets_seen = [*keys.values(), created["offer"]["tx_code"], code, access, nonce, proof,
                    offer_url(created["offer"]["offer_uri"]).rsplit("/", 1)[1]]
    sd_jwt = credential["credentials"][0]["credential"]
    assert lines, "the access log was not captured"
    text = "\n".join(lines)
    for secret in secrets_seen:
        assert secret not in text
    assert parse_compact(sd_jwt).issuer_jwt not in text


def test_case_110_a_revoked_key_stops_working_at_once(deployment: Deployment) -> None:
    with deployment.deps.session() as session:
        sena = authenticate(session, deployment.deps, deployment.auth("sena:admin")["Authorization"]).institution
        text, row = create_api_key(session, deployment.deps, sena, role="officer", name="temporary")
        session.commit()
        stored = session.get(ApiKey, row.id)
        assert stored is not None and text not in json.dumps(stored.model_dump(), default=str)  # stored hashed
    headers = {"Authorization": f"Bearer {text}"}
    assert issue_request(deployment, headers).status_code == 201
    with deployment.deps.session() as session:
        admin = authenticate(session, deployment.deps, deployment.auth("sena:admin")["Authorization"])
        revoke_api_key(session, deployment.deps, admin, key_prefix(text))
        session.commit()
    assert problem_code(deployment.client.get("/api/v1/credentials", headers=headers), 401) == "invalid_api_key"
    response = deployment.client.post("/api/v1/credentials", json={"type": SKILLS, "claims": example_claims(SKILLS)},
                                      headers={**headers, "Idempotency-Key": "z" * 20})
    assert problem_code(response, 401) == "invalid_api_key"
    assert count_credentials(deployment) == 1
    # Other keys of the institution keep working.
    assert deployment.client.get("/api/v1/credentials", headers=deployment.auth()).status_code == 200


def test_case_115_forwarded_headers_neither_dodge_the_rate_limit_nor_impersonate(
        deployment: Deployment, reconfigure: Any) -> None:
    limited = reconfigure(rate_limit_per_minute=3)
    statuses = []
    for n in range(7):  # 7 > 2 × 3: a 429 even if a minute boundary falls inside the loop
        headers = {"X-Forwarded-For": f"203.0.113.{n}", "X-Real-IP": f"198.51.100.{n}",
                   "Forwarded": f"for=192.0.2.{n}"}
        response = limited.client.post(f"{SENA}/token", headers=headers,
                                       data={"grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code",
                                             "pre-authorized_code": "guess", "tx_code": f"{n:06d}"})
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert problem_code(response, 429) == "rate_limited"
            assert 1 <= int(response.headers["retry-after"]) <= 60
    assert 429 in statuses and set(statuses) <= {400, 429}

    created = deployment.issue("ppt-status", who="migracion:officer")
    for header in ("X-User-ID", "X-Institution", "X-Forwarded-User", "X-Role"):
        anonymous = deployment.client.get("/api/v1/credentials", headers={header: "migracion:admin"})
        assert anonymous.status_code == 401
        scoped = deployment.client.get(f"/api/v1/credentials/{created['id']}",
                                       headers={**deployment.auth("sena:auditor"), header: "migracion"})
        assert scoped.status_code == 404


def test_case_116_cors_has_a_fixed_allowlist(deployment: Deployment) -> None:
    wallet_origin = deployment.deps.settings.wallet_origin
    for path in ("/api/v1/credentials", "/i/sena/token", "/trust-list"):
        preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
        allowed = deployment.client.options(path, headers={"Origin": wallet_origin, **preflight})
        assert allowed.headers.get("access-control-allow-origin") == wallet_origin
        assert allowed.headers.get("access-control-allow-credentials") != "true"
        for origin in ("https://evil.example", "null", wallet_origin + ".evil.example", "HTTP://127.0.0.1:8003"):
            refused = deployment.client.options(path, headers={"Origin": origin, **preflight})
            assert "access-control-allow-origin" not in refused.headers
            reflected = deployment.client.get(path, headers={"Origin": origin, **deployment.auth()})
            assert "access-control-allow-origin" not in reflected.headers
            assert reflected.headers.get("access-control-allow-credentials") is None


def test_case_117_no_credential_disclosure_or_claim_value_in_logs(deployment: Deployment, wallet: Wallet) -> None:
    claims = example_claims("qualification-validation")
    with log_lines() as lines:
        created = deployment.issue("qualification-validation", claims=claims)
        deployment.client.get(f"/api/v1/credentials/{created['id']}", headers=deployment.auth())
        deployment.client.get(f"/api/v1/credentials?document_number={claims['document_number']}",
                              headers=deployment.auth())
        bad = {**claims, "document_number": "lower-case-" + claims["given_name"]}
        issue_request(deployment, deployment.auth(), {"type": "qualification-validation", "claims": bad})
        sd_jwt = wallet.redeem(created)
        deployment.client.post(f"/api/v1/credentials/{created['id']}/revoke",
                               json={"reason": f"fraude de {claims['family_name']}"}, headers=deployment.auth())
    text = "\n".join(lines)
    assert lines
    for value in claims.values():
        assert str(value) not in text
    parsed = parse_compact(sd_jwt)
    assert parsed.issuer_jwt not in text and all(d not in text for d in parsed.disclosures)
    assert "fraude" not in text


def test_case_118_access_tokens_live_at_most_five_minutes(deployment: Deployment, wallet: Wallet,
                                                          reconfigure: Any) -> None:
    for target in (deployment, reconfigure(access_token_ttl_seconds=3600)):
        flow_wallet = Wallet(target.client, target.clock.now)
        created = target.issue()
        offer = flow_wallet.fetch_offer(created["offer"]["offer_uri"])
        response = flow_wallet.token_response(SENA, flow_wallet.pre_authorized_code(offer), created["offer"]["tx_code"])
        assert response.status_code == 200 and response.json()["expires_in"] <= 300
        target.clock.advance(301)
        body = flow_wallet.request_body(SKILLS, [flow_wallet.proof(aud=SENA, nonce=flow_wallet.nonce(SENA))])
        late = flow_wallet.credential_response(SENA, response.json()["access_token"], body)
        assert late.status_code == 401 and late.json()["error"] == "invalid_token"
