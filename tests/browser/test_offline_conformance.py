"""One set of cases, two verifiers (issue 16 §4): every verification the core's security tests perform
(recorded while they run, tests/verifier/case_recorder.py), the repository's invalid QR vectors and
generated presentations go through credcore and through the scanning page's browser verifier
(web_common/verify/) in Chromium. Verdict, code and every check must match; a disagreement fails
naming the case."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

import pytest
from fastapi import FastAPI

from credcore import qr
from credcore.keys import generate_key
from credcore.ports import MemoryNonceStore
from credcore.verify import VerificationPolicy, verification_report
from tests.browser.conftest import Chromium
from tests.support import ROOT, SCHEMAS, World
from tests.verifier.case_recorder import trust_document, type_bundle
from tests.verifier.conftest import ServerThread, free_port
from verifier.web import page

pytestmark = pytest.mark.browser
SECURITY_TESTS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests" / "credcore").glob("test_security_*.py"))
BATCH = 40

RUN_CASES = """async ([cases, tables]) => {
  const { verifyPresentation } = await import('/common/verify/verify.js');
  const { trustListFromDocument } = await import('/common/verify/trust.js');
  const { typeRegistry } = await import('/common/verify/claims.js');
  const { parseStrict } = await import('/common/json_strict.js');
  self.__trusts ??= new Map();
  self.__types ??= new Map();
  const out = [];
  for (const c of cases) {
    try {
      if (!self.__trusts.has(c.trust)) {
        self.__trusts.set(c.trust, await trustListFromDocument(parseStrict(JSON.stringify(tables[c.trust]))));
      }
      if (!self.__types.has(c.types)) self.__types.set(c.types, typeRegistry(tables[c.types]));
      const used = new Map(Object.entries(c.nonces || {}));
      const nonces = c.nonces === null ? null : { consume: async (key, expires, now) => {
        const seen = used.get(key);
        if (seen !== undefined && seen >= now) return false;
        used.set(key, expires);
        return true;
      } };
      const tokens = c.status_tokens;
      const p = c.policy;
      const policy = {
        keyBinding: { audience: p.key_binding.audience, nonce: p.key_binding.nonce,
                      maxAge: p.key_binding.max_age, leeway: p.key_binding.leeway },
        requireHolderBinding: p.require_holder_binding, requireStatus: p.require_status, leeway: p.leeway,
        acceptLegacyTyp: p.accept_legacy_typ, maxStatusInflated: p.max_status_inflated,
        trustListGrace: p.trust_list_grace,
      };
      const result = await verifyPresentation(c.text, {
        trust: self.__trusts.get(c.trust), types: self.__types.get(c.types), now: c.now, policy,
        statusTokens: tokens === null ? null : async (uri) => (Object.hasOwn(tokens, uri) ? tokens[uri] : null),
        nonces,
      });
      out.push({ verdict: result.verdict, code: result.error ? result.error.code : null,
                 checks: result.checks.map((k) => [k.name, k.ok, k.code]) });
    } catch (error) {
      out.push({ crash: `${error && error.name}: ${error && error.message}` });
    }
  }
  return out;
}"""


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The core's security tests, run once with the recorder: every verification they make, as data."""
    path = tmp_path_factory.mktemp("cases") / "cases.json"
    env = {**os.environ, "PUENTE_RECORD_CASES": str(path)}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "tests.verifier.case_recorder",
                           "-p", "no:cacheprovider", *SECURITY_TESTS], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


@pytest.fixture(scope="module")
def page_server() -> Iterator[str]:
    app = FastAPI()
    app.include_router(page.router)
    port = free_port()
    with ServerThread(app, port):
        yield f"http://127.0.0.1:{port}"


def _case(world: World, text: Any, tables: dict[str, Any], case_id: str, **policy: Any) -> dict[str, Any]:
    """A generated case, verified by the core now with the recorder's shape of inputs."""
    nonces = MemoryNonceStore()
    used = dict(nonces._used)
    source = world.status_source()
    run_policy = VerificationPolicy(**policy)
    report = verification_report(text, trust=world.trust(), types=world.types, clock=world.clock, policy=run_policy,
                                 status_source=source, nonce_store=nonces)
    trust_key, types_key = f"trust-{case_id}", "types-generated"
    tables[trust_key] = trust_document(world.trust())
    tables[types_key] = type_bundle(world.types)
    return {"id": case_id, "text": text, "trust": trust_key, "types": types_key, "now": world.clock.now(),
            "policy": asdict(run_policy), "status_tokens": dict(source._tokens), "nonces": used,
            "expected": {"verdict": report.verdict, "code": report.error.code if report.error else None,
                         "checks": [[c.name, c.ok, c.code] for c in report.checks]}}


def _generated(tables: dict[str, Any]) -> list[dict[str, Any]]:
    """Valid and revoked presentations of every type and both algorithms, live QR and paper, and the
    repository's invalid QR vectors (schemas/qr-vectors/invalid-*)."""
    world = World()
    cases = []
    for type_id in ("skills-certification", "ppt-status", "qualification-validation"):
        issued = world.issue(type_id)
        disclose = tuple(world.types.get(type_id).disclosable())[:3]
        cases.append(_case(world, qr.encode(world.present(issued, disclose)), tables, f"live-{type_id}"))
        cases.append(_case(world, qr.encode(world.issue(type_id, paper=True).sd_jwt), tables, f"paper-{type_id}"))
    eddsa = World()
    eddsa.sena.key = generate_key("EdDSA")
    eddsa.holder = generate_key("EdDSA")
    cases.append(_case(eddsa, qr.encode(eddsa.present(eddsa.issue())), tables, "live-eddsa"))
    revoked = world.issue(idx=77)
    world.status_list(world.sena).set(77, 1)
    cases.append(_case(world, qr.encode(world.present(revoked)), tables, "live-revoked"))
    cases.append(_case(world, world.present(world.issue(), kb=False), tables, "kb-stripped",
                       require_holder_binding=True))
    for path in sorted((SCHEMAS / "qr-vectors").glob("invalid-*.json")):
        cases.append(_case(world, json.loads(path.read_text("utf-8"))["qr"], tables, f"qr-vector-{path.stem}"))
    return cases


def _run(chromium: Chromium, url: str, cases: list[dict[str, Any]], tables: dict[str, Any]) -> list[str]:
    page_obj, log = chromium.page(f"{url}/")
    disagreements = []
    for start in range(0, len(cases), BATCH):
        batch = cases[start : start + BATCH]
        needed = {key: tables[key] for case in batch for key in (case["trust"], case["types"])}
        results = page_obj.evaluate(RUN_CASES, [batch, needed])
        for case, got in zip(batch, results, strict=True):
            if got != case["expected"]:
                disagreements.append(f"{case['id']}: core {case['expected']} / browser {got}")
    assert not log.errors, log.errors
    return disagreements


def test_browser_verifier_agrees_with_the_core_on_every_recorded_security_case(
        chromium: Chromium, page_server: str, recorded: dict[str, Any]) -> None:
    cases = recorded["cases"]
    assert len(cases) >= 600, recorded["skipped"]  # the security suites verify this many times
    verdicts = {case["expected"]["verdict"] for case in cases}
    assert verdicts >= {"valid", "malformed", "signature_invalid", "untrusted_issuer", "not_accredited_for_type",
                        "expired", "not_yet_valid", "revoked", "suspended", "disclosure_invalid",
                        "key_binding_invalid", "status_unavailable"}
    disagreements = _run(chromium, page_server, cases, recorded["tables"])
    assert not disagreements, f"{len(disagreements)} of {len(cases)} cases disagree:\n" + "\n".join(disagreements[:40])


def test_browser_verifier_agrees_on_generated_presentations_and_the_qr_vectors(
        chromium: Chromium, page_server: str) -> None:
    tables: dict[str, Any] = {}
    cases = _generated(tables)
    assert {c["expected"]["verdict"] for c in cases} >= {"valid", "revoked", "malformed", "key_binding_invalid"}
    disagreements = _run(chromium, page_server, cases, tables)
    assert not disagreements, "\n".join(disagreements)
