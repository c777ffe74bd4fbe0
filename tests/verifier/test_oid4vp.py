"""OpenID4VP 1.0 cross-device flow (issue 4): a bank or employer starts a request, a wallet fetches
the request object through the QR's ``request_uri`` and answers by ``direct_post``; the frontend
that started it reads the result once. Credentials come from a live issuer on loopback and are
redeemed by the test wallet over OpenID4VCI."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from credcore.clock import FixedClock
from credcore.credential_types import TypeRegistry
from credcore.key_binding import OFFLINE_AUDIENCE
from issuer import credentials as creds
from issuer.db.models import Credential
from testkit.live import Live
from testkit.world import example_claims
from tests.verifier.support import KYC_CLAIMS, create, held_credential, present_to, start
from verifier import oid4vp
from verifier.app import build_service, create_app
from verifier.service import VerifierService

EMPLOYMENT_CLAIMS = ("given_name", "family_name", "competency_title", "competency_code")


# ----------------------------------------------------------------------------- helpers


@pytest.fixture
def service(live: Live) -> VerifierService:
    return live.verifier_service()


@pytest.fixture
def client(service: VerifierService) -> Iterator[TestClient]:
    with TestClient(create_app(service.settings, service=service)) as test_client:
        yield test_client


# ----------------------------------------------------------------------------- the full flows


def test_bank_kyc_full_flow(live: Live, client: TestClient, service: VerifierService) -> None:
    flow = start(client, {"preset": "bank-kyc"})
    request = flow.request
    base = service.settings.base_url
    tx_id = flow.created["id"]
    assert request["response_uri"] == f"{base}/vp/{tx_id}/response"
    assert request["client_id"] == f"redirect_uri:{request['response_uri']}"
    assert {k: request[k] for k in ("response_type", "response_mode", "aud")} == {
        "response_type": "vp_token", "response_mode": "direct_post", "aud": "https://self-issued.me/v2"}
    assert "redirect_uri" not in request  # direct_post: response_uri only
    assert request["client_metadata"] == {"vp_formats_supported": {"dc+sd-jwt": {
        "sd-jwt_alg_values": ["ES256", "EdDSA"], "kb-jwt_alg_values": ["ES256", "EdDSA"]}},
        "client_name": "Puente verifier", "client_name#es": "Verificador Puente", "client_name#en": "Puente verifier"}
    assert request["dcql_query"] == {"credentials": [{
        "id": "kyc", "format": "dc+sd-jwt", "meta": {"vct_values": [f"{live.issuer_url}/vct/ppt-status"]},
        "require_cryptographic_holder_binding": True, "claims": [{"path": [name]} for name in KYC_CLAIMS]}]}
    # Fresh, long, URL-safe secrets; the result token is never in what the wallet sees.
    for name in ("nonce", "state"):
        assert len(request[name]) >= 22 and request[name].replace("-", "").replace("_", "").isalnum()
    assert len(tx_id) >= 22 and len(flow.token) >= 22
    assert flow.token not in json.dumps(request) and flow.token not in flow.created["qr"]
    assert request["nonce"] != request["state"] != flow.token

    pending = flow.result()
    assert pending["status"] == "pending" and pending["result"] is None and pending["request_fetched"] is True

    sd_jwt, holder = held_credential(live)
    response = flow.answer({"kyc": [flow.presentation(sd_jwt, holder, KYC_CLAIMS)]})
    assert response.status_code == 200 and response.json() == {}
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["access-control-allow-origin"] == "*"  # a browser wallet may answer

    body = flow.result(lang="en")
    assert body["status"] == "done" and body["claims_deleted"] is False
    result = body["result"]
    assert result["valid"] is True and result["verdict"] == "valid" and result["error"] is None
    report = result["credentials"]["kyc"]
    expected = example_claims("ppt-status")
    assert report["claims"] == {name: expected[name] for name in KYC_CLAIMS}
    assert report["holder_binding"] == "verified" and report["credential_type"] == "ppt-status"
    assert report["issuer"]["name"] == "Migración Colombia" and report["dcql_satisfied"] is True
    assert report["labels"]["birthdate"] and all(check["ok"] for check in report["checks"])

    # Read once: the verifier keeps no claims afterwards.
    again = flow.result()
    assert again["status"] == "done" and again["claims_deleted"] is True
    assert again["result"]["valid"] is True and again["result"]["credentials"]["kyc"]["claims"] == {}
    assert expected["document_number"] not in json.dumps(again)
    assert [o.verdict for o in service.outcomes] == ["valid"]


def test_employment_preset(live: Live, client: TestClient) -> None:
    flow = start(client, {"preset": "employment"})
    assert flow.request["dcql_query"]["credentials"][0]["id"] == "employment"
    assert flow.request["dcql_query"]["credentials"][0]["meta"]["vct_values"] == [
        f"{live.issuer_url}/vct/skills-certification"]
    sd_jwt, holder = held_credential(live, "skills-certification", "sena:officer")
    assert flow.answer({"employment": [flow.presentation(sd_jwt, holder, EMPLOYMENT_CLAIMS)]}).status_code == 200
    result = flow.result()["result"]
    assert result["valid"] is True
    assert set(result["credentials"]["employment"]["claims"]) == set(EMPLOYMENT_CLAIMS)


def test_custom_dcql_claim_sets_and_optional_credential_set(live: Live, client: TestClient) -> None:
    """The first satisfiable claim set decides what is released; an optional credential set may be left out."""
    query = {
        "credentials": [
            {"id": "ppt", "format": "dc+sd-jwt", "meta": {"vct_values": [f"{live.issuer_url}/vct/ppt-status"]},
             "claims": [{"id": "doc", "path": ["document_number"]}, {"id": "birth", "path": ["birthdate"]},
                        {"id": "name", "path": ["given_name"]}],
             "claim_sets": [["doc", "birth"], ["name"]], "x-unknown": "dropped"},
            {"id": "skill", "format": "dc+sd-jwt",
             "meta": {"vct_values": [f"{live.issuer_url}/vct/skills-certification"]},
             "claims": [{"path": ["competency_title"]}]},
        ],
        "credential_sets": [{"options": [["ppt"]]}, {"options": [["skill"]], "required": False}],
    }
    flow = start(client, {"dcql_query": query})
    assert "x-unknown" not in json.dumps(flow.request["dcql_query"])
    sd_jwt, holder = held_credential(live)
    assert flow.answer({"ppt": [flow.presentation(sd_jwt, holder, ("given_name", "document_number"))]}
                       ).status_code == 200
    result = flow.result()["result"]
    assert result["valid"] is True and set(result["credentials"]) == {"ppt"}
    # ["doc", "birth"] is not satisfiable without birthdate; ["name"] is: only given_name is passed on.
    assert set(result["credentials"]["ppt"]["claims"]) == {"given_name"}


# ----------------------------------------------------------------------------- refusals


def test_wrong_nonce_rejects_the_response(live: Live, client: TestClient) -> None:
    flow = start(client, {"preset": "bank-kyc"})
    sd_jwt, holder = held_credential(live)
    stale = present_to(sd_jwt, holder, aud=flow.request["client_id"], nonce="a-nonce-of-another-request",
                       disclose=KYC_CLAIMS)
    assert flow.answer({"kyc": [stale]}).status_code == 200
    body = flow.result()
    result = body["result"]
    assert body["status"] == "failed" and result["valid"] is False
    assert result["verdict"] == "key_binding_invalid" and result["error"]["code"] == "replayed"
    assert result["credentials"]["kyc"]["claims"] == {}


@pytest.mark.parametrize("aud", [OFFLINE_AUDIENCE, "redirect_uri:https://other-verifier.example/cb", "PLACEHOLDER"])
def test_wrong_audience(live: Live, client: TestClient, aud: str) -> None:
    flow = start(client, {"preset": "bank-kyc"})
    if aud == "PLACEHOLDER":  # the response URI without its client identifier prefix is another audience
        aud = flow.request["response_uri"]
    sd_jwt, holder = held_credential(live)
    answer = present_to(sd_jwt, holder, aud=aud, nonce=flow.request["nonce"], disclose=KYC_CLAIMS)
    assert flow.answer({"kyc": [answer]}).status_code == 200
    result = flow.result()["result"]
    assert result["valid"] is False and result["error"]["code"] == "kb_audience"


def test_replayed_response_is_refused_and_result_unchanged(live: Live, client: TestClient) -> None:
    flow = start(client, {"preset": "bank-kyc"})
    sd_jwt, holder = held_credential(live)
    vp_token = {"kyc": [flow.presentation(sd_jwt, holder, KYC_CLAIMS)]}
    assert flow.answer(vp_token).status_code == 200
    replay = flow.answer(vp_token)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_request"
    # A different, refusing answer cannot overwrite it either.
    refusal = flow.post({"error": "access_denied", "state": flow.request["state"]})
    assert refusal.status_code == 400
    result = flow.result()
    assert result["status"] == "done" and result["result"]["valid"] is True
    assert set(result["result"]["credentials"]["kyc"]["claims"]) == set(KYC_CLAIMS)


def test_missing_claim_is_dcql_unsatisfied(live: Live, client: TestClient) -> None:
    flow = start(client, {"preset": "bank-kyc"})
    sd_jwt, holder = held_credential(live)
    partial = flow.presentation(sd_jwt, holder, ("given_name", "family_name", "document_number"))
    assert flow.answer({"kyc": [partial]}).status_code == 200
    body = flow.result(lang="en")
    result = body["result"]
    assert body["status"] == "failed" and result["verdict"] == "dcql_unsatisfied"
    assert result["error"]["code"] == "dcql_unsatisfied" and "missing" in result["error"]["message"]
    report = result["credentials"]["kyc"]
    assert report["valid"] is True and report["dcql_satisfied"] is False and report["claims"] == {}


def test_wrong_type_is_dcql_unsatisfied(live: Live, client: TestClient) -> None:
    flow = start(client, {"preset": "bank-kyc"})
    sd_jwt, holder = held_credential(live, "skills-certification", "sena:officer")
    answer = flow.presentation(sd_jwt, holder, ("given_name", "family_name", "document_number"))
    assert flow.answer({"kyc": [answer]}).status_code == 200
    result = flow.result()["result"]
    assert result["verdict"] == "dcql_unsatisfied" and result["credentials"]["kyc"]["credential_type"] == (
        "skills-certification")
    assert result["credentials"]["kyc"]["claims"] == {}


def test_missing_credential_is_dcql_unsatisfied(live: Live, client: TestClient) -> None:
    query = {"credentials": [
        {"id": "ppt", "format": "dc+sd-jwt", "meta": {"vct_values": [f"{live.issuer_url}/vct/ppt-status"]}},
        {"id": "skill", "format": "dc+sd-jwt", "meta": {"vct_values": [f"{live.issuer_url}/vct/skills-certification"]}},
    ]}
    flow = start(client, {"dcql_query": query})
    sd_jwt, holder = held_credential(live)
    assert flow.answer({"ppt": [flow.presentation(sd_jwt, holder, ())]}).status_code == 200
    result = flow.result()["result"]
    assert result["verdict"] == "dcql_unsatisfied" and result["credentials"]["ppt"]["dcql_satisfied"] is True


def test_state_mismatch_is_refused_and_the_request_stays_open(live: Live, client: TestClient) -> None:
    flow = start(client, {"preset": "bank-kyc"})
    sd_jwt, holder = held_credential(live)
    vp_token = {"kyc": [flow.presentation(sd_jwt, holder, KYC_CLAIMS)]}
    wrong = flow.answer(vp_token, state="not-the-state")
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_request"
    no_state = flow.post({"vp_token": json.dumps(vp_token)})
    assert no_state.status_code == 400
    assert flow.result()["status"] == "pending"
    assert flow.answer(vp_token).status_code == 200
    assert flow.result()["result"]["valid"] is True


def test_expired_transaction(live: Live) -> None:
    service = live.verifier_service()
    clock = FixedClock(int(time.time()))
    service.clock = clock
    ttl = service.settings.presentation_request_ttl_seconds
    with TestClient(create_app(service.settings, service=service)) as client:
        late = create(client, {"preset": "bank-kyc"})
        flow = start(client, {"preset": "bank-kyc"})
        sd_jwt, holder = held_credential(live)
        vp_token = {"kyc": [flow.presentation(sd_jwt, holder, KYC_CLAIMS)]}
        clock.advance(ttl + 1)
        assert client.get(urlsplit(late["request_uri"]).path).status_code == 404
        assert client.get(late["qr_png"]).status_code == 404
        refused = flow.answer(vp_token)
        assert refused.status_code == 400 and "expired" in refused.json()["error_description"]
        body = flow.result()
        assert body["status"] == "failed" and body["result"]["error"]["code"] == "request_expired"
        clock.advance(ttl + 1)
        assert flow.result_response().status_code == 404  # forgotten altogether


def test_unread_result_loses_its_claims_at_expiry(live: Live) -> None:
    service = live.verifier_service()
    clock = FixedClock(int(time.time()))
    service.clock = clock
    ttl = service.settings.presentation_request_ttl_seconds
    with TestClient(create_app(service.settings, service=service)) as client:
        flow = start(client, {"preset": "bank-kyc"})
        sd_jwt, holder = held_credential(live)
        clock.advance(ttl - 5)  # the wallet answers just in time; the frontend then has a full ttl to read
        answer = flow.presentation(sd_jwt, holder, KYC_CLAIMS, iat=clock.now())
        assert flow.answer({"kyc": [answer]}).status_code == 200
        clock.advance(ttl - 5)
        assert set(flow.result()["result"]["credentials"]["kyc"]["claims"]) == set(KYC_CLAIMS)

        flow = start(client, {"preset": "bank-kyc"})
        answer = flow.presentation(sd_jwt, holder, KYC_CLAIMS, iat=clock.now())
        assert flow.answer({"kyc": [answer]}).status_code == 200
        clock.advance(ttl + 1)
        body = flow.result()
        assert body["status"] == "done" and body["claims_deleted"] is True
        assert body["result"]["credentials"]["kyc"]["claims"] == {}
        assert service.transactions.get(flow.created["id"], clock.now()) is not None


@pytest.mark.parametrize("token", ["", "wrong-token-0123456789abcdef", "NOT_BEARER"])
def test_result_needs_the_result_token(live: Live, client: TestClient, token: str) -> None:
    flow = start(client, {"preset": "bank-kyc"})
    sd_jwt, holder = held_credential(live)
    assert flow.answer({"kyc": [flow.presentation(sd_jwt, holder, KYC_CLAIMS)]}).status_code == 200
    if token == "NOT_BEARER":
        response = client.get(f"/api/v1/presentation-requests/{flow.created['id']}",
                              headers={"Authorization": f"Basic {flow.token}"})
    else:
        response = flow.result_response(token=token)
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert "given_name" not in response.text
    # The rightful frontend still gets the claims: a failed attempt neither reads nor deletes them.
    assert set(flow.result()["result"]["credentials"]["kyc"]["claims"]) == set(KYC_CLAIMS)
    unknown = client.get("/api/v1/presentation-requests/unknown-id",
                         headers={"Authorization": f"Bearer {flow.token}"})
    assert unknown.status_code == 404


def test_paper_credential_refused_for_bank_kyc(live: Live, client: TestClient) -> None:
    created = live.issue("ppt-status", "migracion:officer")
    with live.issuer_deps.session() as session:
        record = session.get(Credential, created["id"])
        assert record is not None
        paper = creds.paper_of(live.issuer_deps, record)
    flow = start(client, {"preset": "bank-kyc"})
    assert flow.answer({"kyc": [paper]}).status_code == 200
    result = flow.result()["result"]
    assert result["valid"] is False and result["verdict"] == "key_binding_invalid"
    assert result["error"]["code"] == "kb_missing" and result["credentials"]["kyc"]["holder_binding"] == "absent"


def test_offline_qr_text_is_not_a_presentation(live: Live, client: TestClient) -> None:
    from credcore import qr

    flow = start(client, {"preset": "bank-kyc"})
    sd_jwt, holder = held_credential(live)
    assert flow.answer({"kyc": [qr.encode(flow.presentation(sd_jwt, holder, KYC_CLAIMS))]}).status_code == 200
    assert flow.result()["result"]["verdict"] == "malformed"


def test_wallet_error_response_is_recorded(live: Live, client: TestClient) -> None:
    flow = start(client, {"preset": "bank-kyc"})
    no_state = flow.post({"error": "access_denied"})
    assert no_state.status_code == 400
    response = flow.post({"error": "access_denied", "error_description": "user said no\n<script>",
                          "state": flow.request["state"]})
    assert response.status_code == 200 and response.json() == {}
    body = flow.result(lang="en")
    assert body["status"] == "failed"
    error = body["result"]["error"]
    assert body["result"]["verdict"] == "wallet_error" and error["code"] == "access_denied"
    assert "declined" in error["message"] and error["detail"] == "user said no <script>"
    assert body["result"]["credentials"] == {}


def test_unknown_wallet_error_code(client: TestClient) -> None:
    flow = start(client, {"preset": "bank-kyc"})
    assert flow.post({"error": "something_else", "state": flow.request["state"]}).status_code == 200
    assert flow.result()["result"]["error"]["code"] == "wallet_error"


def test_malformed_answers_leave_the_request_open(live: Live, client: TestClient) -> None:
    flow = start(client, {"preset": "bank-kyc"})
    sd_jwt, holder = held_credential(live)
    good = flow.presentation(sd_jwt, holder, KYC_CLAIMS)
    state = flow.request["state"]
    path = urlsplit(flow.request["response_uri"]).path
    bad_forms: list[dict[str, str]] = [
        {"vp_token": "not json", "state": state},
        {"vp_token": json.dumps([good]), "state": state},
        {"vp_token": json.dumps({}), "state": state},
        {"vp_token": json.dumps({"other": [good]}), "state": state},
        {"vp_token": json.dumps({"kyc": good}), "state": state},
        {"vp_token": json.dumps({"kyc": []}), "state": state},
        {"vp_token": json.dumps({"kyc": [good, good]}), "state": state},
        {"vp_token": json.dumps({"kyc": [42]}), "state": state},
        {"vp_token": json.dumps({"kyc": [good]}), "error": "access_denied", "state": state},
        {"state": state},
    ]
    for form in bad_forms:
        response = flow.post(form)
        assert response.status_code == 400, form
        assert response.json()["error"] == "invalid_request"
    as_json = client.post(path, json={"vp_token": {"kyc": [good]}, "state": state})
    assert as_json.status_code == 400
    repeated = client.post(path, content=f"state={state}&state={state}&vp_token=%7B%7D",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert repeated.status_code == 400
    assert client.post("/vp/no-such-request/response", data={"vp_token": "{}", "state": state}).status_code == 400
    assert flow.result()["status"] == "pending"
    assert flow.answer({"kyc": [good]}).status_code == 200
    assert flow.result()["result"]["valid"] is True


def test_request_object_is_served_once(client: TestClient) -> None:
    flow = start(client, {"preset": "employment"})
    again = client.get(urlsplit(flow.created["request_uri"]).path)
    assert again.status_code == 404 and again.json()["error"] == "invalid_request"
    assert client.get("/vp/unknown/request").status_code == 404


def test_qr_png_decodes_to_the_link(client: TestClient) -> None:
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    created = create(client, {"preset": "bank-kyc"})
    assert created["qr_png"] == f"/api/v1/presentation-requests/{created['id']}/qr.png"
    png = client.get(created["qr_png"])
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    assert [result.text for result in decoded] == [created["qr"]]
    assert created["qr"] == (f"openid4vp://?client_id={created['client_id'].replace(':', '%3A').replace('/', '%2F')}"
                             f"&request_uri={created['request_uri'].replace(':', '%3A').replace('/', '%2F')}")


@pytest.mark.parametrize(("body", "field"), [
    ({"preset": "mortgage"}, "preset"),
    ({"preset": ["bank-kyc"]}, "preset"),
    ({"preset": "bank-kyc", "dcql_query": {}}, "body"),
    ({}, "body"),
    ({"dcql_query": {"credentials": []}}, "credentials"),
    ({"dcql_query": {"credentials": [{"id": "a b", "format": "dc+sd-jwt"}]}}, "credentials[0].id"),
    ({"dcql_query": {"credentials": [{"id": "a", "format": "mso_mdoc", "meta": {}}]}}, "credentials[0].format"),
    ({"dcql_query": {"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": {}}]}},
     "credentials[0].meta.vct_values"),
    ({"dcql_query": {"credentials": [{"id": "a", "format": "dc+sd-jwt",
                                      "meta": {"vct_values": ["https://elsewhere.example/vct/ppt-status"]}}]}},
     "credentials[0].meta.vct_values[0]"),
])
def test_invalid_requests_are_422(client: TestClient, body: dict[str, Any], field: str) -> None:
    response = client.post("/api/v1/presentation-requests", json=body, headers={"Accept-Language": "en"})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "dcql_invalid" and problem["field"] == field and problem["detail"].startswith(field)
    assert response.headers["content-type"] == "application/problem+json"


def test_no_trust_list_is_503(live: Live, tmp_path: Path) -> None:
    service = build_service(live.verifier_settings(var_dir=tmp_path))  # never refreshed: no list yet
    with TestClient(create_app(service.settings, service=service)) as client:
        response = client.post("/api/v1/presentation-requests", json={"preset": "bank-kyc"})
    assert response.status_code == 503 and response.json()["code"] == "trust_list_unavailable"


def test_not_json_is_422(client: TestClient) -> None:
    response = client.post("/api/v1/presentation-requests", content=b"preset=bank-kyc")
    assert response.status_code == 422 and response.json()["code"] == "request_invalid"


# ----------------------------------------------------------------------------- DCQL unit tests


BASE = "https://issuer.example"
PPT = f"{BASE}/vct/ppt-status"
SKILLS = f"{BASE}/vct/skills-certification"


@pytest.fixture(scope="module")
def types() -> TypeRegistry:
    return TypeRegistry.load(BASE)


def _cq(cid: str = "q", vct: str = PPT, **extra: Any) -> dict[str, Any]:
    return {"id": cid, "format": "dc+sd-jwt", "meta": {"vct_values": [vct]}, **extra}


def test_presets_list_every_vct_of_the_type(types: TypeRegistry) -> None:
    two = TypeRegistry([*types.by_vct.values(), *TypeRegistry.load("https://other.example").by_vct.values()])
    query = oid4vp.preset_query("bank-kyc", two)
    assert query["credentials"][0]["meta"]["vct_values"] == sorted([PPT, "https://other.example/vct/ppt-status"])
    assert [c["path"] for c in query["credentials"][0]["claims"]] == [[name] for name in KYC_CLAIMS]
    with pytest.raises(oid4vp.PresetUnavailable):
        oid4vp.preset_query("employment", TypeRegistry([types.by_vct[PPT]]))


@pytest.mark.parametrize(("query", "where", "reason"), [
    ("not an object", "dcql_query", "object"),
    ({"credentials": [_cq(), _cq()]}, "credentials", "twice"),
    ({"credentials": [_cq() for _ in range(9)]}, "credentials", "at most"),
    ({"credentials": [_cq(trusted_authorities=[{"type": "aki", "values": ["x"]}])]},
     "credentials[0].trusted_authorities", "trust list"),
    ({"credentials": [_cq(multiple="yes")]}, "credentials[0].multiple", "true or false"),
    ({"credentials": [{**_cq(), "meta": {"vct_values": [PPT, PPT]}}]}, "credentials[0].meta.vct_values", "twice"),
    ({"credentials": [_cq(claims=[])]}, "credentials[0].claims", "non-empty"),
    ({"credentials": [_cq(claims=[{"path": ["given_name", 0]}])]}, "credentials[0].claims[0].path", "strings"),
    ({"credentials": [_cq(claims=[{"path": [None]}])]}, "credentials[0].claims[0].path", "strings"),
    ({"credentials": [_cq(claims=[{"path": ["competency_code"]}])]}, "credentials[0].claims[0].path",
     "not a claim"),
    ({"credentials": [_cq(claims=[{"path": ["given_name"]}, {"path": ["given_name"]}])]},
     "credentials[0].claims[1].path", "twice"),
    ({"credentials": [_cq(claims=[{"path": ["given_name"], "values": [1.5]}])]},
     "credentials[0].claims[0].values", "strings"),
    ({"credentials": [_cq(claim_sets=[["a"]])]}, "credentials[0].claim_sets", "together with claims"),
    ({"credentials": [_cq(claims=[{"path": ["given_name"]}], claim_sets=[["a"]])]}, "credentials[0].claims",
     "needs an id"),
    ({"credentials": [_cq(claims=[{"id": "a", "path": ["given_name"]}], claim_sets=[["b"]])]},
     "credentials[0].claim_sets[0]", "not the id"),
    ({"credentials": [_cq(claims=[{"id": "a", "path": ["given_name"]}], claim_sets=[[]])]},
     "credentials[0].claim_sets[0]", "non-empty"),
    ({"credentials": [_cq()], "credential_sets": [{"options": [["other"]]}]}, "credential_sets[0].options[0]",
     "not the id"),
    ({"credentials": [_cq()], "credential_sets": [{"options": [["q"]], "required": "no"}]},
     "credential_sets[0].required", "true or false"),
    ({"credentials": [_cq()], "credential_sets": []}, "credential_sets", "non-empty"),
    ({"credentials": [_cq(claims=[{"path": ["given_name"], "values": ["x" * 20_000]}])]}, "dcql_query",
     "longer"),
])
def test_dcql_validation(types: TypeRegistry, query: Any, where: str, reason: str) -> None:
    with pytest.raises(oid4vp.DcqlError) as caught:
        oid4vp.validate_dcql(query, types)
    assert caught.value.where == where and reason in caught.value.reason


def test_dcql_validation_keeps_what_it_understands(types: TypeRegistry) -> None:
    query = {"credentials": [_cq(multiple=True, require_cryptographic_holder_binding=False, extra={"x": 1},
                                 claims=[{"id": "n", "path": ["given_name"], "values": ["Ana"], "other": 1}],
                                 claim_sets=[["n"]])],
             "credential_sets": [{"options": [["q"]], "purpose": "ignored"}], "unknown": True}
    assert oid4vp.validate_dcql(query, types) == {
        "credentials": [{"id": "q", "format": "dc+sd-jwt", "meta": {"vct_values": [PPT]}, "multiple": True,
                         "require_cryptographic_holder_binding": False,
                         "claims": [{"id": "n", "path": ["given_name"], "values": ["Ana"]}], "claim_sets": [["n"]]}],
        "credential_sets": [{"options": [["q"]]}]}


def _presented(vct: str = PPT, valid: bool = True, **claims: Any) -> oid4vp.Presented:
    return oid4vp.Presented(valid, vct, claims)


def test_dcql_satisfaction() -> None:
    cq = _cq(claims=[{"id": "doc", "path": ["document_number"]}, {"id": "birth", "path": ["birthdate"]},
                     {"id": "name", "path": ["given_name"]}], claim_sets=[["doc", "birth"], ["name"], ["doc"]])
    query = {"credentials": [cq]}
    both = _presented(document_number="1", birthdate="2000-01-01", given_name="A")
    assert oid4vp.selected_paths(cq, both) == [["document_number"], ["birthdate"]]
    assert oid4vp.selected_paths(cq, _presented(document_number="1")) == [["document_number"]]
    assert oid4vp.selected_paths(cq, _presented(family_name="B")) is None
    assert oid4vp.selected_paths(cq, _presented(vct=SKILLS, given_name="A")) is None
    assert oid4vp.selected_paths(cq, _presented(valid=False, given_name="A")) is None
    assert oid4vp.evaluate(query, {"q": [both]}).satisfied
    assert not oid4vp.evaluate(query, {}).satisfied
    # A failing presentation is discarded; another one for the same query may still satisfy it.
    assert oid4vp.evaluate(query, {"q": [_presented(valid=False), both]}).satisfied

    all_claims = _cq(claims=[{"path": ["given_name"]}, {"path": ["family_name"]}])
    assert oid4vp.selected_paths(all_claims, _presented(given_name="A")) is None
    assert oid4vp.selected_paths(all_claims, _presented(given_name="A", family_name="B")) == [
        ["given_name"], ["family_name"]]
    assert oid4vp.selected_paths(_cq(), _presented(given_name="A")) == []  # no claims asked for


def test_credential_sets_satisfaction() -> None:
    query = {"credentials": [_cq("a"), _cq("b", SKILLS), _cq("c")],
             "credential_sets": [{"options": [["a"], ["b", "c"]]}, {"options": [["c"]], "required": False}]}
    ppt, skills = _presented(), _presented(vct=SKILLS)
    assert oid4vp.evaluate(query, {"a": [ppt]}).satisfied
    assert oid4vp.evaluate(query, {"b": [skills], "c": [ppt]}).satisfied
    assert not oid4vp.evaluate(query, {"b": [skills]}).satisfied
    assert not oid4vp.evaluate(query, {"c": [ppt]}).satisfied
    without_sets = {"credentials": query["credentials"]}
    assert not oid4vp.evaluate(without_sets, {"a": [ppt], "b": [skills]}).satisfied
    assert oid4vp.evaluate(without_sets, {"a": [ppt], "b": [skills], "c": [ppt]}).satisfied


def test_release_copies_only_the_selected_paths() -> None:
    claims = {"given_name": "A", "family_name": "B", "address": {"city": "C", "street": "D"}}
    assert oid4vp.release(claims, [["given_name"], ["address", "city"]]) == {"given_name": "A",
                                                                           "address": {"city": "C"}}


def test_vp_token_shape() -> None:
    queries = {"one": _cq("one"), "many": _cq("many", multiple=True)}
    assert oid4vp.vp_token_shape(json.dumps({"many": ["a", "b"]}), queries) == {"many": ["a", "b"]}
    bad_tokens: list[Any] = [{"one": ["a", "b"]}, {"many": ["a"] * 9}, {"one": [""]}, {"one": "a"}, {"zzz": ["a"]}, []]
    for bad in bad_tokens:
        with pytest.raises(oid4vp.ResponseRejected):
            oid4vp.vp_token_shape(json.dumps(bad), queries)
    with pytest.raises(oid4vp.ResponseRejected):
        oid4vp.vp_token_shape('{"one": ["a"], "one": ["b"]}', queries)  # duplicate member names


def test_form_parsing() -> None:
    assert oid4vp.parse_form(b"state=s&vp_token=%7B%7D") == {"state": "s", "vp_token": "{}"}
    assert oid4vp.parse_form(b"") == {}
    for bad in (b"state=a&state=b", b"\xff=1", b"a=%ff", b"&".join([b"a%d=1" % i for i in range(20)])):
        with pytest.raises(oid4vp.ResponseRejected):
            oid4vp.parse_form(bad)


def test_store_is_bounded() -> None:
    store = oid4vp.TransactionStore(capacity=1)

    def tx(tx_id: str, now: int) -> oid4vp.Transaction:
        return oid4vp.Transaction(tx_id, "n", "s", b"", {"credentials": []}, "c", "r", "q", now, 10, now + 10, now + 20)

    store.add(tx("first", 0), 0)
    with pytest.raises(oid4vp.StoreFull):
        store.add(tx("second", 0), 0)
    store.add(tx("third", 21), 21)  # the first one was forgotten by then
    assert store.get("first", 21) is None and store.get("third", 21) is not None
