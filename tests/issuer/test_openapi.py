"""The issuer's OpenAPI document shows what each JSON route answers (issue 10: response models)."""

from __future__ import annotations

from typing import Any

from tests.issuer.deployment import Deployment


def _schema(op: dict[str, Any], status: str) -> Any:
    return op["responses"][status]["content"]["application/json"]["schema"]


def test_every_json_route_documents_its_answer(deployment: Deployment) -> None:
    paths = deployment.client.get("/openapi.json").json()["paths"]
    expected = {
        ("/api/v1/credentials", "post", "201"): "CredentialIssued",
        ("/api/v1/credentials", "get", "200"): "CredentialPage",
        ("/api/v1/credentials/{credential_id}", "get", "200"): "CredentialRecord",
        ("/api/v1/credentials/{credential_id}/{action}", "post", "200"): "CredentialRecord",
        ("/api/v1/credentials/{credential_id}/reissue", "post", "201"): "CredentialReissued",
        ("/api/v1/audit", "get", "200"): "AuditLog",
        ("/api/v1/batches", "post", "202"): "BatchAccepted",
        ("/api/v1/batches/{batch_id}", "get", "200"): "BatchProgress",
        ("/.well-known/openid-credential-issuer/i/{slug}", "get", "200"): "IssuerMetadata",
        ("/.well-known/oauth-authorization-server/i/{slug}", "get", "200"): "AuthorizationServerMetadata",
        ("/.well-known/jwt-vc-issuer/i/{slug}", "get", "200"): "JwtVcIssuerMetadata",
        ("/i/{slug}/offers/{offer_id}", "get", "200"): "CredentialOffer",
        ("/i/{slug}/token", "post", "200"): "TokenAnswer",
        ("/i/{slug}/nonce", "post", "200"): "NonceAnswer",
        ("/i/{slug}/credential", "post", "200"): "CredentialAnswer",
    }
    for (path, method, status), model in expected.items():
        assert _schema(paths[path][method], status) == {"$ref": f"#/components/schemas/{model}"}, path


def test_answers_keep_their_members(deployment: Deployment) -> None:
    """The models document the answer; they neither cut a member nor add one the route did not send."""
    created = deployment.issue()
    assert set(created) == {"id", "type", "status", "valid_until", "offer", "links"}
    officer = deployment.client.get(f"/api/v1/credentials/{created['id']}", headers=deployment.auth())
    assert "claims" in officer.json() and officer.json()["links"]["self"] == f"/api/v1/credentials/{created['id']}"
    auditor = deployment.client.get(f"/api/v1/credentials/{created['id']}", headers=deployment.auth("sena:auditor"))
    assert auditor.status_code == 200 and "claims" not in auditor.json()
    listed = deployment.client.get("/api/v1/credentials", headers=deployment.auth()).json()
    assert listed["count"] == 1 and "claims" not in listed["items"][0] and "links" not in listed["items"][0]
