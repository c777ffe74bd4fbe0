"""security.md group C — SD-JWT disclosure attacks (#25–#40), one test per case.

Payloads that break the rules on the issuer's side (duplicate digests, wrong arity, reserved
names) are signed with the genuine issuer key, so the signature and trust checks pass and the
disclosure rules alone must reject them. #31 is tested on both sides: the verifier refuses
hidden critical claims, and the issuance recipe never produces them.

Skipped (no credential-core aspect):
- #39 disclosure names such as ``__proto__`` reaching wallet JavaScript: a wallet (JS) concern;
  in the core, claim names are plain dictionary keys.
- #40 the wallet refusing an SD-JWT+KB received from an issuer: holder-side receipt is wallet code;
  the core has no "receive from issuer" recipe.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from credcore.disclosure import create_disclosure, hash_b64
from credcore.encoding import dumps_compact
from credcore.errors import IssuanceError
from credcore.issue import IssuedCredential
from credcore.sdjwt import conceal_claims, new_salt, process_disclosures
from credcore.verify import CRITICAL_CLAIMS, VerificationReport
from testkit.world import REFERENCE_DISCLOSED, World, example_claims
from tests.credcore.hostile import (
    assert_rejected,
    assert_valid,
    disclosure,
    payload_of,
    present,
    sign_credential,
    texts,
)


def _verify_payload(world: World, payload: Any, disclosures: list[str]) -> VerificationReport:
    """Sign ``payload`` with SENA's genuine key and present ``disclosures`` with a genuine KB-JWT."""
    return world.verify(present(world, sign_credential(payload, world.sena), disclosures))


def _reference(issued: IssuedCredential) -> list[str]:
    return texts(issued, REFERENCE_DISCLOSED)


def _text_of(issued: IssuedCredential, name: str) -> str:
    return texts(issued, [name])[0]


# ----------------------------------------------------------------------------- #25–#27


@pytest.mark.parametrize("invented", [
    ["c2FsdHNhbHRzYWx0c2FsdA", "is_over_18", True],
    ["c2FsdHNhbHRzYWx0c2FsdA", "document_number", "4827301"],
    ["c2FsdHNhbHRzYWx0c2FsdA", "VE"],
], ids=["new-claim", "claim-of-the-type", "array-element"])
def test_case_025_holder_invented_disclosure(world: World, invented: list[Any]) -> None:
    issued = world.issue()
    report = world.verify(present(world, issued.parts.issuer_jwt, [*_reference(issued), disclosure(invented)]))
    assert_rejected(report, "disclosure_invalid", "disclosure_unreferenced")


@pytest.mark.parametrize("edit", ["value", "respelled-json"])
def test_case_026_disclosure_value_edited(world: World, edit: str) -> None:
    issued = world.issue()
    genuine = next(d for d in issued.disclosures if d.name == "given_name")
    if edit == "value":
        forged = create_disclosure(genuine.salt, "given_name", "Otra Persona").text
    else:  # the same triple in another JSON spelling: no canonicalization, so another digest
        forged = disclosure(json.dumps([genuine.salt, "given_name", genuine.value]).encode())
    assert forged != genuine.text
    others = [t for t in _reference(issued) if t != genuine.text]
    report = world.verify(present(world, issued.parts.issuer_jwt, [forged, *others]))
    assert_rejected(report, "disclosure_invalid", "disclosure_unreferenced")


def test_case_027_same_disclosure_twice(world: World) -> None:
    issued = world.issue()
    reference = _reference(issued)
    report = world.verify(present(world, issued.parts.issuer_jwt, [*reference, reference[0]]))
    assert_rejected(report, "disclosure_invalid", "disclosure_duplicate")


# ----------------------------------------------------------------------------- #28


@pytest.mark.parametrize("where", ["twice-in-_sd", "_sd-and-array", "_sd-and-nested-_sd", "decoy-twice"])
def test_case_028_same_digest_twice_in_payload(world: World, where: str) -> None:
    issued = world.issue()
    payload = payload_of(issued)
    disclosures = _reference(issued)
    given = next(d for d in issued.disclosures if d.name == "given_name").digest()
    if where == "twice-in-_sd":
        payload["_sd"].append(given)
    elif where == "_sd-and-array":  # an array-element disclosure, referenced from both places
        element = create_disclosure(new_salt(), None, "VE")
        payload["nationalities"] = [{"...": element.digest()}]
        payload["_sd"].append(element.digest())
        disclosures.append(element.text)
    elif where == "_sd-and-nested-_sd":
        payload["extra"] = {"_sd": [given]}
    else:
        decoy = next(d for d in payload["_sd"] if d not in {x.digest() for x in issued.disclosures})
        payload["_sd"].append(decoy)
    assert_rejected(_verify_payload(world, payload, disclosures), "disclosure_invalid", "digest_duplicate")


def test_case_028_digest_repeated_through_a_disclosure(world: World) -> None:
    """A disclosed object's ``_sd`` repeats a top-level digest (placing one value at two paths)."""
    issued = world.issue()
    payload = payload_of(issued)
    given = next(d for d in issued.disclosures if d.name == "given_name").digest()
    wrapper = create_disclosure(new_salt(), "aud_holder", {"_sd": [given]})
    payload["_sd"].append(wrapper.digest())
    report = _verify_payload(world, payload, [*_reference(issued), wrapper.text])
    assert_rejected(report, "disclosure_invalid", "digest_duplicate")


# ----------------------------------------------------------------------------- #29–#31


@pytest.mark.parametrize("name", ["_sd", "..."])
def test_case_029_reserved_claim_name(world: World, name: str) -> None:
    issued = world.issue()
    payload = payload_of(issued)
    reserved = disclosure([new_salt(), name, ["x"]])
    payload["_sd"].append(hash_b64(reserved))
    report = _verify_payload(world, payload, [*_reference(issued), reserved])
    assert_rejected(report, "disclosure_invalid", "disclosure_reserved_name")


@pytest.mark.parametrize("name", ["iss", "vct", "cnf", "status", "iat", "exp", "given_name"])
def test_case_030_disclosed_name_already_in_clear(world: World, name: str) -> None:
    issued = world.issue()
    payload = payload_of(issued)
    disclosures = _reference(issued)
    if name == "given_name":  # a clear given_name next to the genuine concealed one
        payload["given_name"] = "Nombre En Claro"
    else:
        shadow = create_disclosure(new_salt(), name, "https://attacker.example" if name == "iss" else 1)
        payload["_sd"].append(shadow.digest())
        disclosures.append(shadow.text)
    assert_rejected(_verify_payload(world, payload, disclosures), "disclosure_invalid", "disclosure_collision")


CRITICAL_HIDDEN = [
    ("iss", "untrusted_issuer", "issuer_untrusted"),
    ("vct", "not_accredited_for_type", "not_accredited_for_type"),
    ("exp", "malformed", "exp_missing"),
    ("iat", "malformed", "malformed"),
    ("nbf", "disclosure_invalid", "critical_claim_disclosable"),
    ("cnf", "disclosure_invalid", "critical_claim_disclosable"),
    ("status", "disclosure_invalid", "critical_claim_disclosable"),
    ("vct#integrity", "disclosure_invalid", "critical_claim_disclosable"),
]


@pytest.mark.parametrize(("claim", "verdict", "code"), CRITICAL_HIDDEN)
def test_case_031_critical_claim_only_in_a_disclosure(world: World, claim: str, verdict: str, code: str) -> None:
    """Each hidden critical claim is refused, at the first step that needs it."""
    issued = world.issue()
    payload = payload_of(issued)
    value = payload.pop(claim, {"nbf": world.clock.now() - 10, "vct#integrity": "sha256-AAAA"}.get(claim))
    hidden = create_disclosure(new_salt(), claim, value)
    payload["_sd"].append(hidden.digest())
    report = _verify_payload(world, payload, [*_reference(issued), hidden.text])
    assert_rejected(report, verdict, code)


@pytest.mark.parametrize(("parent", "child"), [("status", "status_list"), ("cnf", "jwk")])
def test_case_031_critical_sub_claim_in_a_disclosure(world: World, parent: str, child: str) -> None:
    issued = world.issue()
    payload = payload_of(issued)
    hidden = create_disclosure(new_salt(), child, payload[parent].pop(child))
    payload[parent]["_sd"] = [hidden.digest()]
    report = _verify_payload(world, payload, [*_reference(issued), hidden.text])
    assert_rejected(report, "disclosure_invalid", "critical_claim_disclosable")


@pytest.mark.parametrize("type_id", ["skills-certification", "ppt-status", "qualification-validation"])
def test_case_031_issuer_never_makes_critical_claims_disclosable(world: World, type_id: str) -> None:
    issued = world.issue(type_id)
    assert {"iss", "vct", "iat", "exp", "cnf", "status"} <= set(issued.payload)
    assert not {d.name for d in issued.disclosures} & CRITICAL_CLAIMS
    assert not set(world.types.get(type_id).disclosable()) & CRITICAL_CLAIMS
    paper = world.issue(type_id, paper=True)
    assert paper.disclosures == () and "_sd" not in paper.payload


@pytest.mark.parametrize("claim", ["iss", "exp", "cnf", "status", "vct", "_sd"])
def test_case_031_issuer_refuses_claims_that_would_override_critical_ones(world: World, claim: str) -> None:
    claims = {**example_claims("skills-certification"), claim: "https://attacker.example"}
    with pytest.raises(IssuanceError) as raised:
        world.issue(claims=claims)
    assert raised.value.code == "claims_invalid"


# ----------------------------------------------------------------------------- #32–#35


@pytest.mark.parametrize("where", ["object-digest-to-2-elements", "array-digest-to-3-elements"])
def test_case_032_disclosure_arity_for_its_place(world: World, where: str) -> None:
    issued = world.issue()
    payload = payload_of(issued)
    if where == "object-digest-to-2-elements":
        wrong = create_disclosure(new_salt(), None, "VE")
        payload["_sd"].append(wrong.digest())
    else:
        wrong = create_disclosure(new_salt(), "nationality", "VE")
        payload["nationalities"] = [{"...": wrong.digest()}]
    report = _verify_payload(world, payload, [*_reference(issued), wrong.text])
    assert_rejected(report, "disclosure_invalid", "disclosure_arity")


@pytest.mark.parametrize("text", [
    disclosure({"salt": "c2FsdA", "name": "given_name", "value": "x"}),
    disclosure("just a string"),
    disclosure(["c2FsdHNhbHRzYWx0c2FsdA"]),
    disclosure(["c2FsdHNhbHRzYWx0c2FsdA", "given_name", "x", "extra"]),
    disclosure([]),
    disclosure([123, "given_name", "x"]),
    disclosure([None, "VE"]),
    disclosure(["c2FsdHNhbHRzYWx0c2FsdA", 7, "x"]),
    disclosure(["c2FsdHNhbHRzYWx0c2FsdA", None, "x"]),
    "AAAAA",
    "WyJhIiwiYiIsImMiXR",
    disclosure(b"not json at all"),
], ids=["object", "string", "1-element", "4-elements", "empty", "number-salt", "null-salt", "number-name",
        "null-name", "base64url-length", "base64url-non-canonical", "not-json"])
def test_case_032_disclosure_shape(world: World, text: str) -> None:
    issued = world.issue()
    report = world.verify(present(world, issued.parts.issuer_jwt, [*_reference(issued), text]))
    assert_rejected(report, "disclosure_invalid", "disclosure_invalid")


@pytest.mark.parametrize("placeholder", [
    {"...": "DIGEST", "x": 1},
    {"...": 123},
    {"...": None},
    {"...": ["DIGEST"]},
], ids=["extra-key", "number", "null", "array"])
def test_case_033_array_placeholder_shape(world: World, placeholder: dict[str, Any]) -> None:
    issued = world.issue()
    payload = payload_of(issued)
    element = create_disclosure(new_salt(), None, "VE")
    payload["nationalities"] = [json.loads(json.dumps(placeholder).replace("DIGEST", element.digest()))]
    report = _verify_payload(world, payload, [*_reference(issued), element.text])
    assert_rejected(report, "disclosure_invalid", "disclosure_invalid")


def test_case_033_placeholder_key_outside_an_array(world: World) -> None:
    issued = world.issue()
    payload = payload_of(issued)
    payload["address"] = {"...": payload["_sd"][0]}
    assert_rejected(_verify_payload(world, payload, _reference(issued)), "malformed", "sd_structure_invalid")


@pytest.mark.parametrize("value", ["x", [1], None, {"a": "b"}, [["d"]], [True]], ids=str)
@pytest.mark.parametrize("level", ["top", "nested"])
def test_case_034_sd_not_an_array_of_strings(world: World, value: Any, level: str) -> None:
    issued = world.issue()
    payload = payload_of(issued)
    if level == "top":
        payload["_sd"] = value
        disclosures: list[str] = []
    else:
        payload["address"] = {"_sd": value}
        disclosures = _reference(issued)
    assert_rejected(_verify_payload(world, payload, disclosures), "malformed", "sd_structure_invalid")


@pytest.mark.parametrize("sd_alg", ["md5", "sha-1", "sha-256-32", "sha-256-128", "SHA-256", "sha256", "",
                                    "sha3-256", 256, None, ["sha-256"], {"alg": "sha-256"}], ids=str)
def test_case_035_sd_alg_not_allowed(world: World, sd_alg: Any) -> None:
    issued = world.issue()
    payload = payload_of(issued)
    payload["_sd_alg"] = sd_alg
    assert_rejected(_verify_payload(world, payload, _reference(issued)), "signature_invalid", "sd_alg_not_allowed")


def test_case_035_sd_alg_below_top_level(world: World) -> None:
    issued = world.issue()
    payload = payload_of(issued)
    payload["address"] = {"_sd_alg": "sha-256", "city": "Cúcuta"}
    assert_rejected(_verify_payload(world, payload, _reference(issued)), "malformed", "sd_structure_invalid")


# ----------------------------------------------------------------------------- #36 positive control


def test_case_036_decoys_ignored_and_undisclosed_claims_absent(world: World) -> None:
    issued = world.issue(decoys=5)
    payload = payload_of(issued)
    payload["_sd_alg"] = "sha-256"
    disclosed = _reference(issued)
    report = _verify_payload(world, payload, disclosed)
    assert_valid(report)
    claims = report.as_json("en")["claims"]
    assert set(claims) == set(REFERENCE_DISCLOSED)
    assert "_sd" not in json.dumps(claims) and "_sd_alg" not in claims
    processed = process_disclosures(payload, disclosed)
    assert processed.undisclosed_digests == len(payload["_sd"]) - len(disclosed)
    assert processed.undisclosed_digests >= 5
    assert "_sd" not in processed.claims and "_sd_alg" not in processed.claims
    assert not {"document_number", "level", "hours", "center", "date"} & set(processed.claims)


def test_case_036_nothing_disclosed_is_still_valid(world: World) -> None:
    issued = world.issue()
    report = world.verify(present(world, issued.parts.issuer_jwt, []))
    assert_valid(report)
    assert report.as_json()["claims"] == {}


# ----------------------------------------------------------------------------- #37


def _recursive(world: World) -> tuple[dict[str, Any], dict[str, str], IssuedCredential]:
    """SENA's payload plus an ``address`` object concealed with concealed members."""
    issued = world.issue()
    concealed, made = conceal_claims({"address": {"street": "Calle 10 # 4-21", "city": "Cúcuta"}},
                                     [("address",), ("address", "street"), ("address", "city")])
    payload = payload_of(issued)
    payload["_sd"] = sorted(payload["_sd"] + concealed["_sd"])
    return payload, {str(d.name): d.text for d in made}, issued


def test_case_037_child_disclosure_without_its_parent(world: World) -> None:
    payload, made, issued = _recursive(world)
    report = _verify_payload(world, payload, [*_reference(issued), made["street"]])
    assert_rejected(report, "disclosure_invalid", "disclosure_unreferenced")
    # With its parent the child is referenced: the structure itself is sound.
    processed = process_disclosures(payload, [made["address"], made["street"]])
    assert processed.claims["address"] == {"street": "Calle 10 # 4-21"}


# ----------------------------------------------------------------------------- #38


def test_case_038_too_many_disclosures(world: World) -> None:
    issued = world.issue()
    many = [create_disclosure(new_salt(), f"c{i}", i).text for i in range(129)]
    report = world.verify(present(world, issued.parts.issuer_jwt, many, kb=False))
    assert_rejected(report, "malformed", "payload_too_large")


def test_case_038_ten_thousand_disclosures(world: World) -> None:
    issued = world.issue()
    many = [create_disclosure(new_salt(), f"c{i}", i).text for i in range(10_000)]
    report = world.verify(present(world, issued.parts.issuer_jwt, many, kb=False))
    assert_rejected(report, "malformed", "payload_too_large")


@pytest.mark.parametrize("depth", [40, 10_000])
def test_case_038_deep_recursion_in_the_payload(world: World, depth: int) -> None:
    issued = world.issue()
    body = dumps_compact(issued.payload)
    deep = body[:-1] + ',"deep":' + "[" * depth + "]" * depth + "}"
    report = _verify_payload(world, deep.encode(), _reference(issued))
    assert_rejected(report, "malformed", "payload_too_large")


def test_case_038_deep_recursion_through_disclosures(world: World) -> None:
    issued = world.issue()
    payload = payload_of(issued)
    chain = [create_disclosure(new_salt(), "level0", 1)]
    for level in range(1, 40):
        chain.append(create_disclosure(new_salt(), f"level{level}", {"_sd": [chain[-1].digest()]}))
    payload["_sd"].append(chain[-1].digest())
    report = _verify_payload(world, payload, [*_reference(issued), *(d.text for d in chain)])
    assert_rejected(report, "malformed", "payload_too_large")


def test_case_038_deeply_nested_disclosure_value(world: World) -> None:
    issued = world.issue()
    deep = create_disclosure(new_salt(), "deep", json.loads("[" * 40 + "]" * 40))
    report = world.verify(present(world, issued.parts.issuer_jwt, [*_reference(issued), deep.text]))
    assert_rejected(report, "disclosure_invalid", "payload_too_large")


def test_case_038_oversized_disclosure(world: World) -> None:
    issued = world.issue()
    big = create_disclosure(new_salt(), "given_name", "A" * 13_000)
    assert len(big.text) > 16 * 1024
    report = world.verify(present(world, issued.parts.issuer_jwt, [big.text], kb=False))
    assert_rejected(report, "disclosure_invalid", "payload_too_large")
