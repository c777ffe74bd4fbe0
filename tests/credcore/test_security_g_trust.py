"""security.md group G — trust: accreditation, look-alike issuers, rotation, compromise (#82–#91).

Keys come only from the registry-signed trust list, looked up by the exact (``iss``, ``kid``) pair;
the credential type must be one the issuer is accredited for. #86 concerns JWT VC Issuer Metadata,
which the core never uses as a key source: the test pins the trust-list equivalent (an issuer
entry can carry inline keys only, no ``jwks_uri`` or remote key references). #90 is pinned with
the opt-in ``VerificationPolicy.trust_list_grace``: by default the last good list stays in force
(offline verification, PRODUCT.md); refreshing it is the verifier service's job.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from credcore.credential_types import TypeRegistry
from credcore.errors import CredentialError
from credcore.keys import SigningKey, generate_key, private_key_to_jwk
from credcore.trust import TrustList, sign_trust_list, trust_list_document, verify_trust_list
from credcore.verify import VerificationPolicy
from testkit.world import BASE, REFERENCE_DISCLOSED, SCHEMAS, Institution, World
from tests.credcore.hostile import (
    assert_rejected,
    assert_valid,
    certificate,
    forge_jws,
    header_for,
    payload_of,
    present,
    sign_credential,
    texts,
    x5c,
)


def _trust(world: World, *entries: dict[str, Any], next_update: int | None = None) -> TrustList:
    now = world.clock.now()
    issuers = list(entries) or [i.entry() for i in world.institutions]
    nxt = now + 86_400 if next_update is None else next_update
    return TrustList.from_json(trust_list_document(issued_at=min(now, nxt) - 3600, next_update=nxt,
                                                   issuers=issuers))


def _resigned(world: World, by: Institution, **claims: Any) -> str:
    """A genuine SENA credential with claims replaced, signed by ``by``'s key, presented."""
    issued = world.issue()
    payload = payload_of(issued)
    payload.update(claims)
    return present(world, sign_credential(payload, by), texts(issued, REFERENCE_DISCLOSED))


# ----------------------------------------------------------------------------- #82 and #83


@pytest.mark.parametrize(("type_id", "by"), [
    ("ppt-status", "ngo"), ("ppt-status", "sena"), ("qualification-validation", "ngo"),
    ("skills-certification", "migracion"),
])
def test_case_082_genuine_key_but_type_not_accredited(world: World, type_id: str, by: str) -> None:
    issued = world.issue(type_id, by=getattr(world, by))
    assert_rejected(world.verify(world.present(issued, disclose=("given_name",))), "not_accredited_for_type",
                    "not_accredited_for_type")


@pytest.mark.parametrize("vct", [
    "urn:attacker", "urn:attacker:extends:skills-certification", f"{BASE}/vct/skills-certification/",
    f"{BASE}/VCT/skills-certification", f"{BASE}/vct/skills-certification#x", f"{BASE}/vct/skills-certification?v=2",
    f"{BASE}/vct/ppt-status/../skills-certification", None, 7, [f"{BASE}/vct/skills-certification"],
], ids=repr)
def test_case_083_vct_not_exactly_an_accredited_one(world: World, vct: Any) -> None:
    text = _resigned(world, world.sena, vct=vct)
    assert_rejected(world.verify(text), "not_accredited_for_type", "not_accredited_for_type")


def test_case_083_extends_and_circular_extends_confer_nothing(world: World, tmp_path: Path) -> None:
    """Types whose metadata ``extends`` an accredited type (and each other, in a circle) load without
    being followed, and a credential of such a type is not accredited."""
    skills = f"{BASE}/vct/skills-certification"
    for name, parent in (("attacker-a", f"{BASE}/vct/attacker-b"), ("attacker-b", f"{BASE}/vct/attacker-a"),
                         ("attacker-c", skills)):
        folder = tmp_path / "types" / name
        shutil.copytree(SCHEMAS / "types" / "skills-certification", folder)
        metadata = json.loads((folder / "metadata.json").read_text("utf-8"))
        metadata["extends"] = parent
        (folder / "metadata.json").write_text(json.dumps(metadata), "utf-8")
    presentations = [_resigned(world, world.sena, vct=f"{BASE}/vct/{name}")
                     for name in ("attacker-a", "attacker-b", "attacker-c")]
    world.types = TypeRegistry.load(BASE, tmp_path)
    assert {f"{BASE}/vct/attacker-a", f"{BASE}/vct/attacker-c"} <= set(world.types.by_vct)
    for text in presentations:
        assert_rejected(world.verify(text), "not_accredited_for_type", "not_accredited_for_type")


def test_case_083_accredited_vct_unknown_to_the_verifier(world: World) -> None:
    entry = world.sena.entry(vcts=["urn:attacker"])
    trust = _trust(world, entry, world.migracion.entry(), world.ngo.entry())
    assert_rejected(world.verify(_resigned(world, world.sena, vct="urn:attacker"), trust=trust), "malformed",
                    "unknown_type")


# ----------------------------------------------------------------------------- #84 and #85


@pytest.mark.parametrize("iss", ["https://issuer.example/i/evil", "https://attacker.example", None, 7, [None]],
                         ids=repr)
def test_case_084_issuer_not_on_the_trust_list(world: World, iss: Any) -> None:
    """A self-made key and a valid signature by it."""
    evil = Institution("evil", "Evil", [f"{BASE}/vct/skills-certification"])
    issued = world.issue()
    payload = payload_of(issued)
    if iss is None:
        del payload["iss"]
    else:
        payload["iss"] = iss
    text = present(world, sign_credential(payload, evil), texts(issued, REFERENCE_DISCLOSED))
    assert_rejected(world.verify(text), "untrusted_issuer", "issuer_untrusted")


LOOK_ALIKES = [
    "https://issuer.example/i/sen", "https://issuer.example/i/senaa", "https://issuer.example/i/sena/",
    "https://issuer.example/i/sena/x", "issuer.example/i/sena", "//issuer.example/i/sena",
    "https://ISSUER.example/i/sena", "https://issuer.example/i/SENA", "http://issuer.example/i/sena",
    "https://issuer.example/i/\u0455ena", "https://issuer.\u0435xample/i/sena", "https://issuer.example/i/%73ena",
    "https://issuer.example/i/sena ", " https://issuer.example/i/sena", "https://issuer.example/i/sena\u0000",
    "https://issuer.example/i/sena\u200b", "https://issuer.example:443/i/sena", "https://issuer.example/i/./sena",
    "https://user@issuer.example/i/sena",
]


@pytest.mark.parametrize("iss", LOOK_ALIKES)
def test_case_085_look_alike_issuer(world: World, iss: str) -> None:
    assert iss != world.sena.id
    assert_rejected(world.verify(_resigned(world, world.sena, iss=iss)), "untrusted_issuer", "issuer_untrusted")


# ----------------------------------------------------------------------------- #86 and #87


@pytest.mark.parametrize("entry_change", [
    {"jwks_uri": "https://issuer.example/i/sena/jwks.json"},
    {"jwks": {"keys": []}},
    {"issuer": "https://issuer.example/i/other"},
    {"keys": "jku"},
    {"keys": "x5u"},
    {"keys": "private"},
], ids=["jwks_uri", "jwks", "issuer-member", "key-with-jku", "key-with-x5u", "private-key"])
def test_case_086_trust_list_entry_carries_only_inline_public_keys(world: World, entry_change: dict[str, Any]) -> None:
    entry = world.sena.entry()
    change = entry_change.get("keys")
    if change == "jku":
        entry["keys"] = [{**entry["keys"][0], "jku": "https://attacker.example/jwks"}]
    elif change == "x5u":
        entry["keys"] = [{**entry["keys"][0], "x5u": "https://attacker.example/cert.pem"}]
    elif change == "private":
        entry["keys"] = [private_key_to_jwk(world.sena.key)]
    else:
        entry.update(entry_change)
    with pytest.raises(CredentialError) as raised:
        _trust(world, entry)
    assert raised.value.code == "trust_list_invalid"


def test_case_086_issuer_listed_twice(world: World) -> None:
    rogue = dict(world.ngo.entry(), id=world.sena.id)
    with pytest.raises(CredentialError) as raised:
        _trust(world, world.sena.entry(), rogue)
    assert raised.value.code == "trust_list_invalid"


def test_case_087_x5c_cannot_switch_the_trust_mechanism(world: World, no_network: list[Any]) -> None:
    """A chain the attacker built, with a leaf for SENA's identifier: the registry lookup is kept."""
    root_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root = certificate(root_key, "Attacker Root CA", ca=True)
    leaf = certificate(leaf_key, world.sena.id, issuer_key=root_key, issuer="Attacker Root CA")
    signer = SigningKey(leaf_key, "ES256")
    issued = world.issue()
    for kid in (None, signer.kid):
        token = forge_jws(header_for(signer, x5c=x5c(leaf, root), kid=kid), issued.payload, signer)
        report = world.verify(present(world, token, texts(issued, REFERENCE_DISCLOSED)))
        assert_rejected(report, "untrusted_issuer", "key_untrusted")


def test_case_087_trust_list_only_from_the_pinned_registry_key(world: World) -> None:
    registry, attacker = generate_key(), generate_key()
    document = world.trust_document()
    assert verify_trust_list(sign_trust_list(document, registry, iat=world.clock.now()), registry.public)
    forged = sign_trust_list(document, attacker, iat=world.clock.now())
    with pytest.raises(CredentialError) as raised:
        verify_trust_list(forged, registry.public)
    assert raised.value.code == "key_untrusted"
    impostor = forge_jws(header_for(registry, typ="puente-trust-list+jwt"), {**document, "iat": 1}, attacker)
    with pytest.raises(CredentialError) as raised:
        verify_trust_list(impostor, registry.public)
    assert raised.value.code == "signature_invalid"


# ----------------------------------------------------------------------------- #88 and #89


def test_case_088_rotation(world: World) -> None:
    issued = world.issue()
    old = world.sena.key
    new = generate_key()
    both = world.sena.entry(keys=[new.public.jwk(), old.public.jwk()])
    others = [world.migracion.entry(), world.ngo.entry()]
    assert_valid(world.verify(world.present(issued), trust=_trust(world, both, *others)))
    removed = world.sena.entry(keys=[new.public.jwk()])
    assert_rejected(world.verify(world.present(issued), trust=_trust(world, removed, *others)), "untrusted_issuer",
                    "key_untrusted")


@pytest.mark.parametrize("age_days", [0, 365])
def test_case_089_compromised_key(world: World, age_days: int) -> None:
    """Whatever the credential's iat (which a thief can forge), the compromised key is refused."""
    issued = world.issue()
    world.clock.advance(age_days * 86_400)
    entry = world.sena.entry(keys=[{**world.sena.key.public.jwk(), "compromised": True}])
    trust = _trust(world, entry, world.migracion.entry(), world.ngo.entry())
    assert_rejected(world.verify(world.present(issued), trust=trust), "untrusted_issuer", "key_compromised")


# ----------------------------------------------------------------------------- #90 and #91


@pytest.mark.parametrize(("grace", "accepted"), [(None, True), (86_400, True), (0, False), (3600, False)])
def test_case_090_stale_trust_list(world: World, grace: int | None, accepted: bool) -> None:
    now = world.clock.now()
    stale = _trust(world, next_update=now - 2 * 3600)
    report = world.verify(world.present(world.issue()), trust=stale, policy=VerificationPolicy(trust_list_grace=grace))
    if accepted:
        assert_valid(report)
    else:
        assert_rejected(report, "untrusted_issuer", "trust_list_stale")


def test_case_090_grace_boundary(world: World) -> None:
    now = world.clock.now()
    policy = VerificationPolicy(trust_list_grace=3600)
    assert_valid(world.verify(world.present(world.issue()), trust=_trust(world, next_update=now - 3600),
                              policy=policy))
    assert_rejected(world.verify(world.present(world.issue()), trust=_trust(world, next_update=now - 3601),
                                 policy=policy), "untrusted_issuer", "trust_list_stale")


@pytest.mark.parametrize("iss", ["https://issuer.example/i/sena/h/1234", "https://issuer.example/i/sena?h=1234",
                                 "https://issuer.example/i/sena#1234"])
def test_case_091_per_holder_issuer_identifier(world: World, no_network: list[Any], iss: str) -> None:
    assert_rejected(world.verify(_resigned(world, world.sena, iss=iss)), "untrusted_issuer", "issuer_untrusted")

