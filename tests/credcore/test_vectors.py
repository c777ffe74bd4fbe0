"""Spec vectors as data files, one generated test per file (ids = file names).

- ``tests/vectors/status_list/*.json``: Token Status List examples and Appendix C lists (bits 1/2/4/8):
  ``bits``, ``size``, ``statuses`` {index: value} (every other entry is 0), ``lst``, ``recompress_matches``.
- ``tests/vectors/sd_jwt/disclosure-*.json``: RFC 9901 disclosures: ``salt``, ``claim_name`` (absent for an
  array element), ``value``, ``disclosure``, ``digest``.
- ``tests/vectors/sd_jwt/payload-*.json``: issuer payloads with ``disclosures`` and, when given, the
  ``processed`` payload and the ``decoy_digests``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from credcore.disclosure import create_disclosure, hash_b64, parse_disclosure
from credcore.encoding import b64url_encode, dumps_compact
from credcore.sdjwt import Path as ClaimPath
from credcore.sdjwt import process_disclosures
from credcore.status_list import StatusList

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
STATUS_LISTS = sorted((VECTORS / "status_list").glob("*.json"))
DISCLOSURES = sorted((VECTORS / "sd_jwt").glob("disclosure-*.json"))
PAYLOADS = sorted((VECTORS / "sd_jwt").glob("payload-*.json"))
MISSING = object()


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


def test_every_vector_directory_has_files() -> None:
    assert len(STATUS_LISTS) >= 6 and len(DISCLOSURES) >= 20 and len(PAYLOADS) >= 4


# ----------------------------------------------------------------------------- status lists


@pytest.mark.parametrize("path", STATUS_LISTS, ids=lambda p: p.name)
def test_status_list_vector(path: Path) -> None:
    vector = _load(path)
    bits, size = vector["bits"], vector["size"]
    statuses = {int(index): value for index, value in vector["statuses"].items()}
    assert statuses and all(value != 0 for value in statuses.values())

    decoded = StatusList.decode(vector["lst"], bits)
    assert (decoded.size, decoded.bits) == (size, bits)
    assert {index: decoded.get(index) for index in statuses} == statuses
    touched = {index * bits // 8 for index in statuses}
    assert not any(byte for position, byte in enumerate(decoded.data) if position not in touched)

    built = StatusList(size, bits)
    for index, value in statuses.items():
        built.set(index, value)
    assert built.data == decoded.data  # every entry, including the zero ones sharing a byte
    if vector["recompress_matches"]:
        assert built.encode() == vector["lst"]


# ----------------------------------------------------------------------------- disclosures


@pytest.mark.parametrize("path", DISCLOSURES, ids=lambda p: p.name)
def test_disclosure_vector(path: Path) -> None:
    vector = _load(path)
    name = vector.get("claim_name")

    parsed = parse_disclosure(vector["disclosure"])
    assert (parsed.salt, parsed.name, parsed.value) == (vector["salt"], name, vector["value"])
    assert parsed.text == vector["disclosure"]
    assert parsed.digest() == vector["digest"]

    # Our own spelling of the same triple: compact JSON, hashed over its own text (never the spec's).
    created = create_disclosure(vector["salt"], name, vector["value"])
    triple = [vector["salt"], vector["value"]] if name is None else [vector["salt"], name, vector["value"]]
    assert created.text == b64url_encode(dumps_compact(triple).encode("utf-8"))
    assert created.digest() == hash_b64(created.text)
    reparsed = parse_disclosure(created.text)
    assert (reparsed.salt, reparsed.name, reparsed.value) == (vector["salt"], name, vector["value"])
    assert (created.digest() == vector["digest"]) == (created.text == vector["disclosure"])


# ----------------------------------------------------------------------------- payloads


def _lookup(claims: Any, path: ClaimPath) -> Any:
    node = claims
    for step in path:
        in_object = isinstance(node, dict) and isinstance(step, str) and step in node
        in_array = isinstance(node, list) and isinstance(step, int) and step < len(node)
        if not (in_object or in_array):
            return MISSING
        node = node[step]
    return node


def _digests(node: Any) -> list[str]:
    """Every digest in ``_sd`` arrays and ``{"...": d}`` array elements, however deep."""
    if isinstance(node, dict):
        own = [d for d in node.get("_sd", []) if isinstance(d, str)]
        if set(node) == {"..."}:
            own.append(node["..."])
        return own + [d for key, child in node.items() if key != "_sd" for d in _digests(child)]
    if isinstance(node, list):
        return [d for child in node for d in _digests(child)]
    return []


@pytest.mark.parametrize("path", PAYLOADS, ids=lambda p: p.name)
def test_payload_vector(path: Path) -> None:
    vector = _load(path)
    payload, disclosures = vector["payload"], vector["disclosures"]

    full = process_disclosures(payload, disclosures)
    if "processed" in vector:
        assert full.claims == vector["processed"]
    assert "_sd_alg" not in full.claims and "_sd" not in json.dumps(full.claims)
    assert set(full.paths) == set(disclosures)

    digests = _digests(payload) + [d for text in disclosures for d in _digests(parse_disclosure(text).value)]
    assert full.undisclosed_digests == len(digests) - len(disclosures)
    shown = {parse_disclosure(text).digest() for text in disclosures}
    assert not shown & set(vector.get("decoy_digests", []))

    for text in disclosures:  # leave out one disclosure (with anything nested inside it)
        left_out = full.paths[text]
        kept = [d for d in disclosures if full.paths[d][: len(left_out)] != left_out]
        subset = process_disclosures(payload, kept)
        if isinstance(left_out[-1], str):
            assert _lookup(subset.claims, left_out) is MISSING
        else:
            array = _lookup(full.claims, left_out[:-1])
            gone = sum(1 for d in disclosures if d not in kept and full.paths[d][:-1] == left_out[:-1])
            assert len(_lookup(subset.claims, left_out[:-1])) == len(array) - gone
        assert all(_lookup(subset.claims, full.paths[d]) is not MISSING for d in kept
                   if isinstance(full.paths[d][-1], str))

    nothing = process_disclosures(payload, [])
    assert all(_lookup(nothing.claims, p) is MISSING for p in full.paths.values() if isinstance(p[-1], str))
