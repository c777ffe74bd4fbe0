"""A pytest plugin that records every verification the core performs while other tests run, so that
the same cases can be replayed through the scanning page's browser verifier (issue 16 §4).

Loaded with ``-p tests.verifier.case_recorder`` and ``PUENTE_RECORD_CASES=<file>``: each call of
``credcore.verify.verify_presentation`` is written with everything it was given (text, trust list,
types, time, policy, status-list tokens, the replay store's state before the call) and what the core
answered (verdict, code, checks). Calls whose inputs cannot be written as data (a status source that
is not a mapping, a custom nonce store) are counted, not recorded.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from typing import Any

import pytest

from credcore import verify as core_verify
from credcore.credential_types import TypeRegistry
from credcore.errors import CredentialError
from credcore.ports import MappingStatusSource, MemoryNonceStore
from credcore.trust import TrustList, format_time
from credcore.x509_chain import der_b64

MAX_CALLS_PER_TEST = 8


class Recorder:
    def __init__(self, path: str) -> None:
        self.path = path
        self.cases: list[dict[str, Any]] = []
        self.tables: dict[str, Any] = {}
        self.skipped: dict[str, int] = {}
        self.node = ""
        self.calls = 0

    def table(self, value: Any) -> str:
        """Large repeated inputs (trust lists, type bundles) are stored once, by content hash."""
        text = json.dumps(value, sort_keys=True)
        key = hashlib.sha256(text.encode()).hexdigest()[:16]
        self.tables.setdefault(key, value)
        return key

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def inputs(self, text: Any, kwargs: dict[str, Any]) -> dict[str, Any] | None:
        source, nonces = kwargs.get("status_source"), kwargs.get("nonce_store")
        if source is not None and not isinstance(source, MappingStatusSource):
            return self.skip("status source is not a mapping")
        if nonces is not None and not isinstance(nonces, MemoryNonceStore):
            return self.skip("nonce store is not the memory store")
        if source is not None and not all(isinstance(v, str) for v in source._tokens.values()):
            return self.skip("a status token is not text")
        try:
            json.dumps(text)
        except (TypeError, ValueError):
            return self.skip("input is not JSON data")
        return {
            "text": text,
            "trust": self.table(trust_document(kwargs["trust"])),
            "types": self.table(type_bundle(kwargs["types"])),
            "now": kwargs["clock"].now(),
            "policy": dataclasses.asdict(kwargs.get("policy") or core_verify.VerificationPolicy()),
            "status_tokens": None if source is None else dict(source._tokens),
            "nonces": None if nonces is None else dict(nonces._used),
        }

    def write(self) -> None:
        with open(self.path, "w", encoding="utf-8") as out:
            json.dump({"cases": self.cases, "tables": self.tables, "skipped": self.skipped}, out)


def trust_document(trust: TrustList) -> dict[str, Any]:
    """The trust list back as its JSON document (keys with their ``compromised`` flag, CA certificates,
    status policy)."""
    return {
        "issued_at": format_time(trust.issued_at),
        "next_update": format_time(trust.next_update),
        "issuers": [{
            "id": issuer.id,
            "name": issuer.name,
            "keys": [{**key.jwk(), **({"compromised": True} if kid in issuer.compromised else {})}
                     for kid, key in issuer.keys.items()],
            "vcts": sorted(issuer.vcts),
            "valid_from": format_time(issuer.valid_from),
            "valid_until": format_time(issuer.valid_until) if issuer.valid_until is not None else None,
            **({"x509_cas": [der_b64(ca) for ca in issuer.x509_cas]} if issuer.x509_cas else {}),
            **({"status": {vct: "optional" for vct in sorted(issuer.status_optional)}}
               if issuer.status_optional else {}),
        } for issuer in trust.issuers.values()],
    }


def type_bundle(types: TypeRegistry) -> list[dict[str, Any]]:
    """What the verifier serves the page about its types (verifier/api/offline_api.py does the same)."""
    return [{"id": t.id, "vct": t.vct, "schema": t.schema, "metadata": t.metadata} for t in types.by_id.values()]


RECORDER: Recorder | None = None
_original = core_verify.verify_presentation


def _recording(text: Any, **kwargs: Any) -> Any:
    recorder = RECORDER
    if recorder is None or recorder.calls >= MAX_CALLS_PER_TEST:
        return _original(text, **kwargs)
    recorder.calls += 1
    case = recorder.inputs(text, kwargs)
    run = kwargs.pop("run", None) or core_verify._Run()
    try:
        result = _original(text, run=run, **kwargs)
    except CredentialError as exc:
        if case is not None:
            case["expected"] = {"verdict": exc.verdict, "code": exc.code,
                                "checks": [[c.name, c.ok, c.code] for c in run.checks]}
        raise
    else:
        if case is not None:
            case["expected"] = {"verdict": "valid", "code": None,
                                "checks": [[c.name, c.ok, c.code] for c in run.checks]}
        return result
    finally:
        if case is not None and "expected" in case:
            case["id"] = f"{recorder.node}#{recorder.calls}"
            recorder.cases.append(case)


def pytest_configure(config: pytest.Config) -> None:
    global RECORDER
    RECORDER = Recorder(os.environ["PUENTE_RECORD_CASES"])
    core_verify.verify_presentation = _recording


def pytest_runtest_setup(item: pytest.Item) -> None:
    if RECORDER is not None:
        RECORDER.node, RECORDER.calls = item.nodeid, 0


def pytest_sessionfinish(session: pytest.Session) -> None:
    if RECORDER is not None:
        RECORDER.write()
