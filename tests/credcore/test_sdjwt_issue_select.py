"""Issuance-side SD-JWT behaviour: nested and array-element disclosures, decoys, fresh salts,
selection with parents, KB-JWT round trip, and keys (JWK, RFC 7638 kid checked against jwcrypto)."""

from __future__ import annotations

import json
import os

import pytest
from jwcrypto.jwk import JWK

from credcore import jws
from credcore.disclosure import parse_disclosure
from credcore.errors import CredentialError, KeyBindingError, MalformedError
from credcore.key_binding import KeyBindingPolicy, create_kb_jwt, verify_kb_jwt
from credcore.keys import (
    generate_key,
    load_private_pem,
    private_key_from_jwk,
    private_key_to_jwk,
    private_key_to_pem,
    public_key_from_jwk,
)
from credcore.ports import MemoryNonceStore
from credcore.sdjwt import SdJwt, conceal_claims, process_disclosures, select_disclosures

CLAIMS = {
    "given_name": "María",
    "address": {"street": "Calle 10 # 4-20", "city": "Cúcuta", "country": "CO"},
    "languages": ["es", "en", "pt"],
    "level": 3,
}
PATHS = [("given_name",), ("address",), ("address", "street"), ("address", "city"), ("languages", None)]


def _conceal(decoys: int = 0) -> tuple[dict, list[str]]:
    payload, disclosures = conceal_claims(CLAIMS, PATHS, decoys=decoys)
    return payload, [d.text for d in disclosures]


def test_nested_and_array_element_disclosures_round_trip() -> None:
    payload, disclosures = _conceal()
    assert set(payload) == {"_sd", "languages", "level"}
    assert all(set(item) == {"..."} for item in payload["languages"])
    assert process_disclosures(payload, disclosures).claims == CLAIMS
    address = next(parse_disclosure(d) for d in disclosures if parse_disclosure(d).name == "address")
    assert set(address.value) == {"_sd", "country"}  # recursive: street and city concealed inside


def test_decoys_are_added_to_every_sd_array_and_sorted() -> None:
    payload, disclosures = _conceal(decoys=3)
    assert len(payload["_sd"]) == 2 + 3  # given_name, address + 3 decoys
    assert payload["_sd"] == sorted(payload["_sd"])
    processed = process_disclosures(payload, disclosures)
    assert processed.claims == CLAIMS and processed.undisclosed_digests == 3 + 3  # top level and address


def test_every_salt_is_fresh_and_128_bits() -> None:
    salts = []
    for _ in range(20):
        _, disclosures = _conceal()
        salts += [parse_disclosure(d).salt for d in disclosures]
    assert len(set(salts)) == len(salts)
    assert all(len(salt) == 22 for salt in salts)  # 16 bytes, base64url


def test_randomness_is_injected() -> None:
    fixed = iter(bytes([i]) * 16 for i in range(100))
    payload_a, discl_a = conceal_claims(CLAIMS, PATHS, random_bytes=lambda n: next(fixed)[:n])
    fixed = iter(bytes([i]) * 16 for i in range(100))
    payload_b, discl_b = conceal_claims(CLAIMS, PATHS, random_bytes=lambda n: next(fixed)[:n])
    assert payload_a == payload_b and [d.text for d in discl_a] == [d.text for d in discl_b]


def test_selecting_a_child_brings_its_parent() -> None:
    payload, disclosures = _conceal()
    chosen = select_disclosures(payload, disclosures, [("address", "city")])
    names = {parse_disclosure(d).name for d in chosen}
    assert names == {"address", "city"}
    assert process_disclosures(payload, chosen).claims == {"address": {"city": "Cúcuta", "country": "CO"},
                                                           "languages": [], "level": 3}


def test_selecting_a_parent_brings_its_children_and_array_elements_select_individually() -> None:
    payload, disclosures = _conceal()
    whole = process_disclosures(payload, select_disclosures(payload, disclosures, [("address",)])).claims
    assert whole["address"] == CLAIMS["address"]
    one = process_disclosures(payload, select_disclosures(payload, disclosures, [("languages", 1)])).claims
    assert one["languages"] == ["en"]


def test_kb_jwt_round_trip_and_sd_hash_binding() -> None:
    holder = generate_key()
    presented = SdJwt("a.b.c", ("d1",)).without_kb()
    token = create_kb_jwt(presented, holder, aud="https://verifier.example", nonce="n-1", iat=1000)
    assert jws.parse(token).header == {"alg": "ES256", "typ": "kb+jwt"}
    policy = KeyBindingPolicy(audience="https://verifier.example", nonce="n-1")
    claims = verify_kb_jwt(token, presented, holder.public, policy=policy, now=1010, nonce_store=None)
    assert claims["nonce"] == "n-1"
    with pytest.raises(KeyBindingError) as caught:
        verify_kb_jwt(token, presented + "extra~", holder.public, policy=policy, now=1010, nonce_store=None)
    assert caught.value.code == "kb_sd_hash"
    store = MemoryNonceStore()
    offline = KeyBindingPolicy(audience="https://verifier.example")
    verify_kb_jwt(token, presented, holder.public, policy=offline, now=1010, nonce_store=store)
    with pytest.raises(KeyBindingError) as replay:
        verify_kb_jwt(token, presented, holder.public, policy=offline, now=1011, nonce_store=store)
    assert replay.value.code == "replayed"


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_kid_is_the_rfc7638_thumbprint_per_jwcrypto(alg: str) -> None:
    key = generate_key(alg)
    independent = JWK.from_json(json.dumps(key.public.jwk())).thumbprint()
    assert key.kid == independent
    assert key.public.jwk()["alg"] == alg


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_key_import_export_round_trips(alg: str) -> None:
    key = generate_key(alg)
    assert public_key_from_jwk(key.public.jwk()).kid == key.kid
    assert private_key_from_jwk(private_key_to_jwk(key)).kid == key.kid
    assert load_private_pem(private_key_to_pem(key)).kid == key.kid
    password = os.urandom(16)
    assert load_private_pem(private_key_to_pem(key, password), password).kid == key.kid


def test_each_key_has_exactly_one_algorithm() -> None:
    ec_key, ed_key = generate_key("ES256"), generate_key("EdDSA")
    with pytest.raises(MalformedError):
        public_key_from_jwk({**ec_key.public.jwk(), "alg": "EdDSA"})
    with pytest.raises(MalformedError):
        public_key_from_jwk({**ed_key.public.jwk(), "alg": "ES256"})
    with pytest.raises(MalformedError):
        public_key_from_jwk({**ec_key.public.jwk(), "kid": ed_key.kid})
    with pytest.raises(CredentialError):
        public_key_from_jwk(private_key_to_jwk(ec_key))
