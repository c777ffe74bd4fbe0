"""security.md group H — encoding: QR text, Base45, base64url, zlib, sizes, Unicode (#92–#103).

QR cases go through the verifier's input path (``PT1:`` text → presentation); the format itself has
its own vectors in ``schemas/qr-vectors`` (tests/credcore/test_qr.py).

Skipped (no credential-core aspect):
- #101 a QR that decodes to ``javascript:``/``https://``/``openid4vp://`` on the scanning page: the
  page must not navigate; in the core such text is simply not a credential (see #92's test).
- #102 the scanning page served over plain HTTP (camera needs a secure context): deployment.
Partly outside the core: #98's HTTP 413 before parsing is the services' job (the core caps every
input and part itself); #100's escaping and length-capped display is the wallet's and the page's.
"""

from __future__ import annotations

import gzip
import zlib
from typing import Any

import pytest

from credcore import base45, qr
from credcore.disclosure import create_disclosure
from credcore.encoding import dumps_compact, loads_strict
from credcore.errors import CredentialError, IssuanceError, MalformedError, PayloadTooLargeError
from credcore.sdjwt import new_salt
from credcore.verify import VerificationReport
from testkit.world import REFERENCE_DISCLOSED, World, example_claims
from tests.credcore.hostile import (
    assert_rejected,
    assert_valid,
    forge_jws,
    kb_claims,
    payload_of,
    present,
    raw_deflate,
    segment,
    sign_credential,
    texts,
    with_kb,
)

B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _qr(world: World) -> str:
    return qr.encode(world.present(world.issue()))


def _b45(data: bytes) -> str:
    return base45.base45_encode(data)


def _non_canonical(text: str) -> str:
    """The same bytes with a non-zero unused bit in the last character (a second spelling)."""
    assert len(text) % 4 in (2, 3)
    last = B64URL.index(text[-1])
    return text[:-1] + B64URL[last | 1]


# ----------------------------------------------------------------------------- #92–#94


@pytest.mark.parametrize("damage", ["lowercase-char", "zlib-header", "truncated-3", "truncated-half", "byte-mode",
                                    "url-instead", "openid4vp-instead"])
def test_case_092_damaged_or_foreign_qr(world: World, damage: str) -> None:
    code = _qr(world)
    body = code[len(qr.PREFIX):]
    damaged = {
        "lowercase-char": qr.PREFIX + body[:20] + "a" + body[21:],
        "zlib-header": qr.PREFIX + "000" + body[3:],
        "truncated-3": code[:-3],
        "truncated-half": code[: len(code) // 2 - (len(code) // 2 - len(qr.PREFIX)) % 3],
        "byte-mode": qr.PREFIX + "ÄÖÜ" + body,
        "url-instead": "https://evil.example/login",
        "openid4vp-instead": "openid4vp://?client_id=evil&request_uri=https://evil.example/r",
    }[damage]
    assert_rejected(world.verify(damaged), "malformed", "malformed")


@pytest.mark.parametrize("prefix", ["HC1:", "PT2:", "pt1:", "Pt1:", "PT1", "PT:", "", "PT1:PT1:", "PT1;", "HC0:"])
def test_case_093_wrong_unknown_or_missing_prefix(world: World, prefix: str) -> None:
    body = _qr(world)[len(qr.PREFIX):]
    assert_rejected(world.verify(prefix + body), "malformed", "malformed")


@pytest.mark.parametrize("body", ["GGW", "A", "ABCD", "===", "abc", "ZZ", "::", "AB=", "ÄBC", "AB\u0000", "_-~",
                                  ""], ids=repr)
def test_case_094_base45_garbage(world: World, body: str) -> None:
    assert_rejected(world.verify(qr.PREFIX + body), "malformed", "malformed")


def test_case_094_base45_garbage_after_a_valid_payload(world: World) -> None:
    assert_rejected(world.verify(_qr(world) + "GGW"), "malformed", "malformed")


# ----------------------------------------------------------------------------- #95


@pytest.mark.parametrize("char", ["=", "+", "/", " ", "\n", "\r\n", "\t", "é", "\u200b", "%3D"], ids=repr)
@pytest.mark.parametrize("part", ["issuer-header", "issuer-payload", "issuer-signature", "disclosure", "kb-jwt"])
def test_case_095_base64url_with_foreign_characters(world: World, char: str, part: str) -> None:
    parts = world.present(world.issue()).split("~")
    head, body, sig = parts[0].split(".")
    if part == "issuer-header":
        head = head[:10] + char + head[10:]
    elif part == "issuer-payload":
        body = body[:10] + char + body[10:]
    elif part == "issuer-signature":
        sig = sig + char
    elif part == "disclosure":
        parts[1] = parts[1][:5] + char + parts[1][5:]
    else:
        parts[-1] = parts[-1][:-20] + char + parts[-1][-20:]
    parts[0] = f"{head}.{body}.{sig}"
    assert_rejected(world.verify("~".join(parts)), "malformed", "malformed")


@pytest.mark.parametrize(("part", "verdict", "code"), [
    ("issuer-signature", "malformed", "malformed"),
    ("disclosure", "disclosure_invalid", "disclosure_invalid"),
    ("kb-signature", "key_binding_invalid", "kb_invalid"),
])
def test_case_095_non_canonical_base64url(world: World, part: str, verdict: str, code: str) -> None:
    issued = world.issue()
    head, body, sig = issued.parts.issuer_jwt.split(".")
    shown = texts(issued, REFERENCE_DISCLOSED)
    if part == "issuer-signature":
        sig = _non_canonical(sig)
    elif part == "disclosure":
        index = next(i for i, d in enumerate(shown) if len(d) % 4 in (2, 3))
        shown[index] = _non_canonical(shown[index])
    text = present(world, f"{head}.{body}.{sig}", shown)
    if part == "kb-signature":
        presented, kb_jwt = text.rsplit("~", 1)
        kb_head, kb_body, kb_sig = kb_jwt.split(".")
        text = f"{presented}~{kb_head}.{kb_body}.{_non_canonical(kb_sig)}"
    assert_rejected(world.verify(text), verdict, code)


def test_case_095_scanner_whitespace_around_the_text_is_ignored(world: World) -> None:
    """Only leading/trailing whitespace (a scanner's newline) is tolerated, never inside."""
    issued = world.issue()
    assert_valid(world.verify("\n " + world.present(issued) + "\r\n"))
    assert_valid(world.verify(qr.encode(world.present(issued)) + "\n"))


# ----------------------------------------------------------------------------- #96 and #97


@pytest.mark.parametrize("inflated", [64 * 1024, 1024 * 1024, 4 * 1024 * 1024])
def test_case_096_compressed_qr_bomb(world: World, inflated: int) -> None:
    bomb = zlib.compress(b"\x01" + b"\x00" * inflated, 9)
    text = qr.PREFIX + _b45(bomb)
    assert len(text) <= qr.MAX_QR_TEXT
    assert_rejected(world.verify(text), "malformed", "payload_too_large")


@pytest.mark.parametrize("variant", ["packed-uncompressed", "presentation-uncompressed", "raw-deflate", "gzip",
                                     "truncated-stream", "bad-adler32", "preset-dictionary-flag"])
def test_case_097_compression_missing_or_broken(world: World, variant: str) -> None:
    """No fallback to the raw bytes: a payload that is not one intact zlib stream is refused."""
    text = world.present(world.issue())
    structure, entropy = qr.pack(text)
    good = zlib.compress(structure, 9)
    payload = {
        "packed-uncompressed": structure + entropy,
        "presentation-uncompressed": text.encode("ascii"),
        "raw-deflate": raw_deflate(structure) + entropy,
        "gzip": gzip.compress(structure) + entropy,
        "truncated-stream": good[: len(good) // 2],
        "bad-adler32": good[:-1] + bytes([good[-1] ^ 0xFF]) + entropy,
        "preset-dictionary-flag": bytes([0x78, 0xBB]) + good[2:] + entropy,
    }[variant]
    assert_rejected(world.verify(qr.PREFIX + _b45(payload)), "malformed", "malformed")


# ----------------------------------------------------------------------------- #98 and #99


@pytest.mark.parametrize(("size", "kind"), [(10 * 1024 * 1024, "presentation"), (49 * 1024, "presentation"),
                                            (20_000, "qr"), (10 * 1024 * 1024, "qr")])
def test_case_098_oversized_input(world: World, size: int, kind: str) -> None:
    if kind == "qr":
        text = qr.PREFIX + "0" * (size - len(qr.PREFIX))
    else:
        genuine = world.present(world.issue())
        text = genuine + "A" * (size - len(genuine))
    assert_rejected(world.verify(text), "malformed", "payload_too_large")


def test_case_098_oversized_kb_jwt(world: World) -> None:
    issued = world.issue()
    presented = present(world, issued.parts.issuer_jwt, texts(issued, REFERENCE_DISCLOSED), kb=False)
    claims = kb_claims(world, presented, padding="x" * 60_000)
    assert_rejected(world.verify(with_kb(world, presented, claims=claims)), "malformed", "payload_too_large")


@pytest.mark.parametrize("shape", ["trailing-garbage", "trailing-tilde-garbage", "two-presentations",
                                   "two-paper-credentials", "empty-disclosure", "missing-final-tilde",
                                   "issuer-jwt-only", "double-final-tilde", "leading-tilde", "kb-then-tilde"])
def test_case_099_structure_of_the_compact_form(world: World, shape: str) -> None:
    issued = world.issue()
    live = world.present(issued)
    paper = world.issue(paper=True).sd_jwt
    jwt = issued.parts.issuer_jwt
    shown = texts(issued, REFERENCE_DISCLOSED)
    text = {
        "trailing-garbage": live + "garbage",
        "trailing-tilde-garbage": present(world, jwt, shown, kb=False) + "garbage",
        "two-presentations": live + live,
        "two-paper-credentials": paper + paper,
        "empty-disclosure": present(world, jwt, shown[:1], kb=False) + "~" + "~".join(shown[1:]) + "~",
        "missing-final-tilde": present(world, jwt, shown, kb=False)[:-1],
        "issuer-jwt-only": jwt,
        "double-final-tilde": present(world, jwt, shown, kb=False) + "~",
        "leading-tilde": "~" + live,
        "kb-then-tilde": live + "~",
    }[shape]
    report = world.verify(text)
    expected = ("key_binding_invalid", "kb_invalid") if shape == "trailing-garbage" else ("malformed", "malformed")
    assert_rejected(report, *expected)


# ----------------------------------------------------------------------------- #100


UNUSUAL = {
    "given_name": "José\u202eoiregerG",          # RIGHT-TO-LEFT OVERRIDE
    "family_name": "Pérez\u200b\u200dRodríguez\u0000",  # zero-width space/joiner, NUL
    "center": "Centro de Come\u0301rcio y Servicios \U0001f9d1\u200d\U0001f527",  # combining acute, emoji ZWJ
    "competency_title": "\u0645\u0647\u0627\u0631\u0627\u062a \u202bRTL\u202c \ufeffBOM",
}


def test_case_100_unusual_text_is_kept_verbatim(world: World) -> None:
    claims = {**example_claims("skills-certification"), **UNUSUAL}
    issued = world.issue(claims=claims)
    disclose = tuple(UNUSUAL)
    for text in (world.present(issued, disclose=disclose), qr.encode(world.present(issued, disclose=disclose))):
        report = world.verify(text)
        assert_valid(report)
        assert report.as_json()["claims"] == UNUSUAL


def test_case_100_overlong_names_refused_at_issuance(world: World) -> None:
    claims = {**example_claims("skills-certification"), "given_name": "A" * 100_000}
    with pytest.raises(IssuanceError) as raised:
        world.issue(claims=claims)
    assert raised.value.code == "claims_invalid"


def test_case_100_overlong_disclosed_value_refused_at_verification(world: World) -> None:
    issued = world.issue()
    payload = payload_of(issued)
    genuine = next(d for d in issued.disclosures if d.name == "given_name")
    long_name = create_disclosure(new_salt(), "given_name", "\u202e" + "A" * 10_000)
    payload["_sd"] = sorted([d for d in payload["_sd"] if d != genuine.digest()] + [long_name.digest()])
    report = world.verify(present(world, sign_credential(payload, world.sena), [long_name.text]))
    assert_rejected(report, "disclosure_invalid", "claims_invalid")


# ----------------------------------------------------------------------------- #103


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _with_member(document: dict[str, Any], raw_value: bytes) -> bytes:
    return dumps_compact(document)[:-1].encode() + b',"x":' + raw_value + b"}"


RAW_VALUES = {
    "nested-40": (_nested(40), "payload_too_large"),
    "nested-5000": (_nested(5000), "payload_too_large"),
    "nested-objects-5000": (b'{"a":' * 5000 + b"1" + b"}" * 5000, "payload_too_large"),
    "NaN": (b"NaN", "malformed"),
    "Infinity": (b"Infinity", "malformed"),
    "-Infinity": (b"-Infinity", "malformed"),
    "int-5000-digits": (b"9" * 5000, "malformed"),
    "float-overflow": (b"1e400", "malformed"),
    "unterminated": (b"[1,2", "malformed"),
}


@pytest.mark.parametrize("value", list(RAW_VALUES))
@pytest.mark.parametrize("where", ["header", "payload"])
def test_case_103_hostile_json_in_the_issuer_jwt(world: World, where: str, value: str) -> None:
    raw, code = RAW_VALUES[value]
    issued = world.issue()
    header: Any = {"alg": "ES256", "typ": "dc+sd-jwt", "kid": world.sena.key.kid}
    payload: Any = issued.payload
    if where == "header":
        header = _with_member(header, raw)
    else:
        payload = _with_member(payload, raw)
    token = forge_jws(header, payload, world.sena.key)
    report: VerificationReport = world.verify(present(world, token, texts(issued, REFERENCE_DISCLOSED)))
    assert_rejected(report, "malformed", code)


@pytest.mark.parametrize("value", list(RAW_VALUES))
def test_case_103_hostile_json_in_kb_jwt(world: World, value: str) -> None:
    issued = world.issue()
    presented = present(world, issued.parts.issuer_jwt, texts(issued, REFERENCE_DISCLOSED), kb=False)
    claims = _with_member(kb_claims(world, presented), RAW_VALUES[value][0])
    assert_rejected(world.verify(with_kb(world, presented, claims=claims)), "key_binding_invalid", "kb_invalid")


@pytest.mark.parametrize("value", list(RAW_VALUES))
def test_case_103_hostile_json_in_a_disclosure(world: World, value: str) -> None:
    raw, code = RAW_VALUES[value]
    issued = world.issue()
    text = segment(b'["c2FsdHNhbHRzYWx0c2FsdA","x",' + raw + b"]")
    report = world.verify(present(world, issued.parts.issuer_jwt, [*texts(issued, REFERENCE_DISCLOSED), text]))
    assert_rejected(report, "disclosure_invalid", "payload_too_large" if code == "payload_too_large"
                    else "disclosure_invalid")


@pytest.mark.parametrize(("text", "error"), [
    ("[" * 100_000 + "]" * 100_000, PayloadTooLargeError),
    ('{"a":' * 100_000 + "1" + "}" * 100_000, PayloadTooLargeError),
    ('{"exp": NaN}', MalformedError),
    ('{"exp": Infinity}', MalformedError),
    ("1" * 5000, MalformedError),
    ("[1e400]", MalformedError),
    ('{"a": 1, "a": 2}', MalformedError),
    ('"\\ud800"', MalformedError),
], ids=["arrays-100k", "objects-100k", "NaN", "Infinity", "int-5000-digits", "float-overflow", "duplicate",
        "lone-surrogate"])
def test_case_103_strict_json_parser(text: str, error: type[CredentialError]) -> None:
    with pytest.raises(error):
        loads_strict(text.encode())


def test_case_103_huge_integers_are_exact_not_saturated() -> None:
    """Large integers stay exact Python ints (no float rounding, no saturation to a maximum), and a
    float too large for a double is refused rather than read as infinity."""
    assert loads_strict(b"[18446744073709551617]") == [2**64 + 1]
    with pytest.raises(MalformedError):
        loads_strict(b"1e400")
