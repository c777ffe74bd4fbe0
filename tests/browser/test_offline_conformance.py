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
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI

from credcore import qr
from credcore.keys import SigningKey, generate_key
from credcore.ports import MemoryNonceStore
from credcore.trust import TrustList, trust_list_document
from credcore.verify import VerificationPolicy, verification_report
from credcore.x509_chain import der_b64
from testkit.servers import ServerThread, free_port
from testkit.world import REFERENCE_DISCLOSED, ROOT, SCHEMAS, World
from tests.browser.chromium import Chromium
from tests.credcore.hostile import forge_jws, header_for, payload_of, present, texts
from tests.verifier.case_recorder import trust_document, type_bundle
from tests.x509_support import make_ca, make_leaf
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


def _case(world: World, text: Any, tables: dict[str, Any], case_id: str, *, trust: TrustList | None = None,
          **policy: Any) -> dict[str, Any]:
    """A generated case, verified by the core now with the recorder's shape of inputs."""
    nonces = MemoryNonceStore()
    used = dict(nonces._used)
    source = world.status_source()
    run_policy = VerificationPolicy(**policy)
    trust = trust or world.trust()
    report = verification_report(text, trust=trust, types=world.types, clock=world.clock, policy=run_policy,
                                 status_source=source, nonce_store=nonces)
    trust_key, types_key = f"trust-{case_id}", "types-generated"
    tables[trust_key] = trust_document(trust)
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


def _x5c_cases(tables: dict[str, Any]) -> list[dict[str, Any]]:
    """SENA accredited through an X.509 CA (issue 14 #1, issue 16 leftover): chains that validate,
    directly or through an intermediate, and every way tests/credcore/test_outside_issuers.py makes
    one fail; the browser (web_common/x509.js) must give the core's verdict and code for each."""
    world = World()
    root = make_ca("SENA Root CA")
    intermediate = make_ca("SENA Issuing CA", root)
    direct = make_ca("SENA CA")
    now = world.clock.now()

    def trust_for(ca: Any) -> TrustList:
        entry = world.sena.entry(keys=[], x509_cas=[ca.b64])
        others = [i.entry() for i in world.institutions if i is not world.sena]
        return TrustList.from_json(trust_list_document(issued_at=now - 60, next_update=now + 86_400,
                                                       issuers=[entry, *others]))

    def signed(header: dict[str, Any], key: Any) -> str:
        issued = world.issue()
        payload = payload_of(issued)
        payload.pop("status")
        return present(world, forge_jws(header, payload, key), texts(issued, REFERENCE_DISCLOSED))

    signer, leaf = make_leaf(intermediate, uri=world.sena.id)
    direct_signer, direct_leaf = make_leaf(direct, uri=world.sena.id)
    stranger, stranger_leaf = make_leaf(make_ca("SENA CA"), uri=world.sena.id)  # same name, other key
    other_iss, other_iss_leaf = make_leaf(direct, uri=world.ngo.id)
    dns_only, dns_leaf = make_leaf(direct, dns="issuer.example")
    start = datetime.fromtimestamp(now, UTC) - timedelta(days=30)
    old, old_leaf = make_leaf(direct, uri=world.sena.id, days=10, not_before=start)
    ca_signer = SigningKey(direct.key, "ES256")
    cases = [
        ("intermediate", root, [der_b64(leaf), intermediate.b64], signer, signer.key),
        ("intermediate-missing", root, [der_b64(leaf)], signer, signer.key),
        ("direct", direct, [der_b64(direct_leaf)], direct_signer, direct_signer.key),
        ("other-ca", direct, [der_b64(stranger_leaf)], stranger, stranger.key),
        ("san-other-issuer", direct, [der_b64(other_iss_leaf)], other_iss, other_iss.key),
        ("san-dns-only", direct, [der_b64(dns_leaf)], dns_only, dns_only.key),
        ("expired-leaf", direct, [der_b64(old_leaf)], old, old.key),
        ("ca-as-leaf", direct, [direct.b64], ca_signer, ca_signer.key),
        ("wrong-signer", direct, [der_b64(direct_leaf)], direct_signer, generate_key().key),
        ("garbage", direct, ["not base64 DER!"], direct_signer, direct_signer.key),
        ("too-long", root, [der_b64(leaf)] + [intermediate.b64] * 5, signer, signer.key),
    ]
    out = []
    for name, ca, chain, by, key in cases:
        out.append(_case(world, signed(header_for(by, kid=None, x5c=chain), key), tables, f"x5c-{name}",
                         trust=trust_for(ca), require_status=False))
    # a kid next to the chain changes nothing
    header = {**header_for(signer, kid=None, x5c=[der_b64(leaf), intermediate.b64]), "kid": "whatever"}
    out.append(_case(world, signed(header, signer.key), tables, "x5c-kid-too", trust=trust_for(root),
                     require_status=False))
    return out


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


def test_browser_verifier_agrees_on_x5c_chains(chromium: Chromium, page_server: str) -> None:
    tables: dict[str, Any] = {}
    cases = _x5c_cases(tables)
    assert {(c["expected"]["verdict"], c["expected"]["code"]) for c in cases} >= {
        ("valid", None), ("untrusted_issuer", "x5c_untrusted"), ("untrusted_issuer", "x5c_iss_mismatch"),
        ("signature_invalid", "signature_invalid"), ("malformed", "x5c_invalid")}
    disagreements = _run(chromium, page_server, cases, tables)
    assert not disagreements, "\n".join(disagreements)


def _p384_authority() -> Any:
    """A CA outside the browser's X.509 profile: a P-384 key signing with ECDSA-SHA384 (the core,
    with cryptography's full verifier, accepts it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    from tests.x509_support import START, Authority, _name

    key = ec.generate_private_key(ec.SECP384R1())
    cert = (x509.CertificateBuilder().subject_name(_name("SENA P-384 CA")).issuer_name(_name("SENA P-384 CA"))
            .public_key(key.public_key()).serial_number(x509.random_serial_number()).not_valid_before(START)
            .not_valid_after(START + timedelta(days=3650))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA384()))
    return Authority(key, cert)  # type: ignore[arg-type]


def test_a_chain_outside_the_browsers_profile_cannot_be_checked_offline(chromium: Chromium, page_server: str) -> None:
    """Honest, not a guess: the core validates a P-384 CA's chain; the page says it cannot check it."""
    world = World()
    ca = _p384_authority()
    signer, leaf = make_leaf(ca, uri=world.sena.id)
    now = world.clock.now()
    entry = world.sena.entry(keys=[], x509_cas=[ca.b64])
    trust = TrustList.from_json(trust_list_document(
        issued_at=now - 60, next_update=now + 86_400,
        issuers=[entry, *(i.entry() for i in world.institutions if i is not world.sena)]))
    issued = world.issue()
    payload = payload_of(issued)
    payload.pop("status")
    text = present(world, forge_jws(header_for(signer, kid=None, x5c=[der_b64(leaf)]), payload, signer.key),
                   texts(issued, REFERENCE_DISCLOSED))
    tables: dict[str, Any] = {}
    case = _case(world, text, tables, "x5c-p384", trust=trust, require_status=False)
    assert case["expected"]["verdict"] == "valid"
    page_obj, log = chromium.page(f"{page_server}/")
    [got] = page_obj.evaluate(RUN_CASES, [[case], tables])
    assert got == {"crash": "Error: certificate signature algorithm"}, got  # CannotCheck's reason, not a verdict
    cannot = page_obj.evaluate("""async ([text, document, now]) => {
      const { CannotCheck } = await import('/common/verify/errors.js');
      const { keyFor, trustListFromDocument } = await import('/common/verify/trust.js');
      const { parseJws } = await import('/common/verify/jose.js');
      const trust = await trustListFromDocument(JSON.stringify(document));
      const header = parseJws(text.split('~')[0]).header;
      try { await keyFor(trust, 'https://issuer.example/i/sena', header, now); return 'a key'; }
      catch (error) { return error instanceof CannotCheck ? 'CannotCheck' : String(error); }
    }""", [text, tables[case["trust"]], case["now"]])
    assert cannot == "CannotCheck"
    assert not log.errors, log.errors


def test_browser_verifier_agrees_on_generated_presentations_and_the_qr_vectors(
        chromium: Chromium, page_server: str) -> None:
    tables: dict[str, Any] = {}
    cases = _generated(tables)
    assert {c["expected"]["verdict"] for c in cases} >= {"valid", "revoked", "malformed", "key_binding_invalid"}
    disagreements = _run(chromium, page_server, cases, tables)
    assert not disagreements, "\n".join(disagreements)
