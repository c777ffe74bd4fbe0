"""The verifier's OpenAPI document shows what each route answers (issue 10: response models)."""

from __future__ import annotations

import types
from typing import Any

from servicekit.shared_store import MemoryStore
from verifier.app import create_app
from verifier.config import VerifierSettings


def _schema(op: dict, status: str) -> dict:
    return op["responses"][status]["content"]["application/json"]["schema"]


def test_every_json_route_documents_its_answer_and_its_problems() -> None:
    service: Any = types.SimpleNamespace(store=MemoryStore())
    doc = create_app(VerifierSettings(background_refresh=False), service=service).openapi()
    paths = doc["paths"]
    assert _schema(paths["/api/v1/verify"]["post"], "200") == {"$ref": "#/components/schemas/Report"}
    create = paths["/api/v1/presentation-requests"]["post"]
    assert _schema(create, "201") == {"$ref": "#/components/schemas/PresentationRequestCreated"}
    assert _schema(create, "503") == {"$ref": "#/components/schemas/Problem"}
    result = paths["/api/v1/presentation-requests/{request_id}"]["get"]
    assert _schema(result, "200") == {"$ref": "#/components/schemas/PresentationStatus"}
    assert _schema(paths["/vp/{request_id}/response"]["post"], "400") == {"$ref": "#/components/schemas/WalletError"}
    report = doc["components"]["schemas"]["Report"]
    assert {"valid", "verdict", "claims", "checks", "error"} <= set(report["properties"])


def test_the_offline_documents_show_their_shape() -> None:
    service: Any = types.SimpleNamespace(store=MemoryStore())
    paths = create_app(VerifierSettings(background_refresh=False), service=service).openapi()["paths"]
    offline = paths["/api/v1/offline/config"]["get"]
    assert _schema(offline, "200") == {"$ref": "#/components/schemas/OfflineConfig"}
    assert _schema(paths["/api/v1/offline/status-lists"]["get"], "200") == {
        "$ref": "#/components/schemas/StatusListAddresses"}
