"""Issue 14, items 1 and 2: institutions running other software — ordinary and long kids matched by
(iss, kid), tokens without kid, X.509 CA accreditation with x5c chains, and optional status."""

from __future__ import annotations

from typing import Any

import pytest

from credcore.keys import generate_key
from credcore.messages import message
from credcore.trust import TrustList, trust_list_document
from credcore.verify import VerificationPolicy
from testkit.world import REFERENCE_DISCLOSED, World
from tests.credcore.hostile import assert_rejected, assert_valid, forge_jws, header_for, payload_of, present, texts
from tests.x509_support import make_ca, make_leaf

DID_JWK_KID = ("did:jwk:eyJjcnYiOiJQLTI1NiIsImt0eSI6IkVDIiwieCI6ImFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6MDEyMzQ1Njc4"
               "OSIsInkiOiJBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWjAxMjM0NTY3ODkifQ#0")


def _trust(world: World, *entries: dict[str, Any]) -> TrustList:
    now = world.clock.now()
    others = [i.entry() for i in world.institutions if i.id not in {e["id"] for e in entries}]
    return TrustList.from_json(trust_list_document(issued_at=now - 60, next_update=now + 86_400,
                                                   issuers=[*entries, *others]))


NO_STATUS = VerificationPolicy(require_status=False)


def _signed(world: World, header: dict[str, Any], key: Any, *, payload: dict[str, Any] | None = None,
            status: bool = False) -> str:
    """A SENA credential signed as ``header`` says; without status unless asked (the status lists of
    the fixture are signed under SENA's thumbprint kid)."""
    issued = world.issue()
    body = payload or payload_of(issued)
    if not status:
        body.pop("status")
    return present(world, forge_jws(header, body, key), texts(issued, REFERENCE_DISCLOSED))


def _check(world: World, header: dict[str, Any], key: Any, *, trust: TrustList | None = None) -> Any:
    return world.verify(_signed(world, header, key), trust=trust or world.trust(), policy=NO_STATUS)


@pytest.mark.parametrize("kid", ["key-1", DID_JWK_KID, "k" * 1024, "urn:uuid:5d1b4c7e-1a6f-4f0a-9a56-3e0b8b0a2f11"])
def test_any_printable_kid_is_matched_exactly(world: World, kid: str) -> None:
    assert len(DID_JWK_KID) > 128
    entry = world.sena.entry(keys=[{**world.sena.key.public.jwk(), "kid": kid}])
    trust = _trust(world, entry)
    assert_valid(_check(world, header_for(world.sena, kid=kid), world.sena.key.key, trust=trust))
    for other in (kid.upper() if kid != kid.upper() else kid.lower(), kid[:-1], kid[:-1] + " ", world.sena.key.kid):
        report = _check(world, header_for(world.sena, kid=other), world.sena.key.key, trust=trust)
        assert_rejected(report, "untrusted_issuer", "key_untrusted")


def test_same_kid_at_two_issuers_is_two_keys(world: World) -> None:
    """(iss, kid) is the key's name: the NGO's "key-1" never verifies SENA's credentials."""
    trust = _trust(world, world.sena.entry(keys=[{**world.sena.key.public.jwk(), "kid": "key-1"}]),
                   world.ngo.entry(keys=[{**world.ngo.key.public.jwk(), "kid": "key-1"}]))
    assert_valid(_check(world, header_for(world.sena, kid="key-1"), world.sena.key.key, trust=trust))
    forged = _signed(world, header_for(world.ngo, kid="key-1"), world.ngo.key.key)
    assert_rejected(world.verify(forged, trust=trust), "signature_invalid", "signature_invalid")


def test_kid_listed_twice_for_one_issuer_is_an_invalid_list(world: World) -> None:
    other = generate_key()
    with pytest.raises(Exception) as raised:
        _trust(world, world.sena.entry(keys=[{**world.sena.key.public.jwk(), "kid": "k"},
                                             {**other.public.jwk(), "kid": "k"}]))
    assert getattr(raised.value, "code", None) == "trust_list_invalid"


def test_missing_kid_only_with_exactly_one_usable_key(world: World) -> None:
    no_kid = header_for(world.sena, kid=None)
    assert_valid(_check(world, no_kid, world.sena.key.key))
    second = generate_key()
    two = _trust(world, world.sena.entry(keys=[world.sena.key.public.jwk(), second.public.jwk()]))
    assert_rejected(_check(world, no_kid, world.sena.key.key, trust=two), "untrusted_issuer",
                    "kid_required")
    # a compromised key is not usable: the one left is the key, and a signature by the other fails
    retired = _trust(world, world.sena.entry(keys=[{**second.public.jwk(), "compromised": True},
                                                   world.sena.key.public.jwk()]))
    assert_valid(_check(world, no_kid, world.sena.key.key, trust=retired))
    assert_rejected(_check(world, no_kid, second.key, trust=retired), "signature_invalid",
                    "signature_invalid")


# ----------------------------------------------------------------------------- X.509 CA accreditation


def _ca_entry(world: World, ca_b64: str, *, keys: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return world.sena.entry(keys=keys or [], x509_cas=[ca_b64])


def test_x5c_chain_to_the_institutions_ca_verifies(world: World) -> None:
    root = make_ca("SENA Root CA")
    intermediate = make_ca("SENA Issuing CA", root)
    signer, leaf = make_leaf(intermediate, uri=world.sena.id)
    trust = _trust(world, _ca_entry(world, root.b64))
    from credcore.x509_chain import der_b64

    header = header_for(signer, kid=None, x5c=[der_b64(leaf), intermediate.b64])
    assert_valid(_check(world, header, signer.key, trust=trust))
    # a kid next to the chain changes nothing; the chain without its intermediate does not validate
    assert_valid(_check(world, {**header, "kid": "whatever"}, signer.key, trust=trust))
    report = _check(world, {**header, "x5c": [der_b64(leaf)]}, signer.key, trust=trust)
    assert_rejected(report, "untrusted_issuer", "x5c_untrusted")


@pytest.mark.parametrize("case", ["other-ca", "san-other-issuer", "san-dns-only", "expired-leaf", "ca-as-leaf",
                                  "wrong-signer", "garbage"])
def test_x5c_chains_that_must_fail(world: World, case: str) -> None:
    from datetime import UTC, datetime, timedelta

    from credcore.x509_chain import der_b64

    ca = make_ca("SENA CA")
    trust = _trust(world, _ca_entry(world, ca.b64))
    expected = ("untrusted_issuer", "x5c_untrusted")
    signer, leaf = make_leaf(ca, uri=world.sena.id)
    chain = [der_b64(leaf)]
    key = signer.key
    if case == "other-ca":
        signer, leaf = make_leaf(make_ca("SENA CA"), uri=world.sena.id)  # same name, other key
        chain, key = [der_b64(leaf)], signer.key
    elif case == "san-other-issuer":
        signer, leaf = make_leaf(ca, uri=world.ngo.id)
        chain, key, expected = [der_b64(leaf)], signer.key, ("untrusted_issuer", "x5c_iss_mismatch")
    elif case == "san-dns-only":
        signer, leaf = make_leaf(ca, dns="issuer.example")
        chain, key, expected = [der_b64(leaf)], signer.key, ("untrusted_issuer", "x5c_iss_mismatch")
    elif case == "expired-leaf":
        start = datetime.fromtimestamp(world.clock.now(), UTC) - timedelta(days=30)
        signer, leaf = make_leaf(ca, uri=world.sena.id, days=10, not_before=start)
        chain, key = [der_b64(leaf)], signer.key
    elif case == "ca-as-leaf":
        chain, key = [ca.b64], ca.key
    elif case == "wrong-signer":
        key, expected = generate_key().key, ("signature_invalid", "signature_invalid")
    else:
        chain, expected = ["not base64 DER!"], ("malformed", "x5c_invalid")
    report = _check(world, header_for(signer, kid=None, x5c=chain), key, trust=trust)
    assert_rejected(report, *expected)


# ----------------------------------------------------------------------------- status required / optional


def test_status_is_required_by_default_with_a_right_message(world: World) -> None:
    report = world.verify(_signed(world, header_for(world.sena), world.sena.key.key))
    assert_rejected(report, "status_unavailable", "status_missing")
    body = report.as_json("en")
    assert body["error"]["message"] != message("malformed", "en")
    assert "status" not in body["error"]["message"].lower() or "in force" in body["error"]["message"]
    assert "en vigor" not in message("status_missing", "es") and "vigente" in message("status_missing", "es")


def test_optional_status_per_institution_and_type(world: World) -> None:
    skills = world.types.get("skills-certification").vct
    trust = _trust(world, world.sena.entry(status={skills: "optional"}))
    report = world.verify(_signed(world, header_for(world.sena), world.sena.key.key), trust=trust)
    assert_valid(report)
    last = report.as_json()["checks"][-1]
    assert (last["name"], last["ok"], last["code"]) == ("status", True, "not_applicable")
    # the other type of the same institution still needs one, and so does the NGO for the same type
    qual = world.issue("qualification-validation")
    body = payload_of(qual)
    body.pop("status")
    text = present(world, forge_jws(header_for(world.sena), body, world.sena.key.key), texts(qual, ["given_name"]))
    assert_rejected(world.verify(text, trust=trust), "status_unavailable", "status_missing")
    ngo = world.issue(by=world.ngo)
    body = payload_of(ngo)
    body.pop("status")
    text = present(world, forge_jws(header_for(world.ngo), body, world.ngo.key.key), texts(ngo, REFERENCE_DISCLOSED))
    assert_rejected(world.verify(text, trust=trust), "status_unavailable", "status_missing")


def test_optional_status_still_checks_a_status_that_is_there(world: World) -> None:
    skills = world.types.get("skills-certification").vct
    trust = _trust(world, world.sena.entry(status={skills: "optional"}))
    issued = world.issue(idx=77)
    world.status_list(world.sena).set(77, 1)
    report = world.verify(world.present(issued), trust=trust)
    assert_rejected(report, "revoked", "revoked")


def test_status_policy_only_for_accredited_types(world: World) -> None:
    ppt = world.types.get("ppt-status").vct
    with pytest.raises(Exception) as raised:
        _trust(world, world.sena.entry(status={ppt: "optional"}))
    assert getattr(raised.value, "code", None) == "trust_list_invalid"


def test_paper_policy_without_status_reports_not_applicable(world: World) -> None:
    report = world.verify(_signed(world, header_for(world.sena), world.sena.key.key),
                          policy=VerificationPolicy(require_status=False))
    assert_valid(report)
    assert report.checks[-1].code == "not_applicable"
