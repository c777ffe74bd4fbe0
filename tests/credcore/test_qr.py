"""The offline QR format PT1 (schemas/qr-format.md): vectors, strictness, round trips, real images."""

from __future__ import annotations

import contextlib
import io
import json
import re
import zlib
from pathlib import Path

import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from credcore import base45, qr
from credcore.errors import CredentialError, MalformedError, PayloadTooLargeError
from servicekit import qr_image
from testkit.world import SCHEMAS, World

VECTORS = SCHEMAS / "qr-vectors"
VALID = sorted(VECTORS.glob("valid-*.json"))
INVALID = sorted(VECTORS.glob("invalid-*.json"))


@pytest.mark.parametrize("path", VALID, ids=[p.name for p in VALID])
def test_valid_vector_decodes_exactly(path: Path) -> None:
    vector = json.loads(path.read_text("utf-8"))
    assert qr.decode(vector["qr"]) == vector["presentation"]
    assert qr.decode(qr.encode(vector["presentation"])) == vector["presentation"]
    assert qr_image.qr_version(vector["qr"], "M") == vector["qr_version_M"]


@pytest.mark.parametrize("path", INVALID, ids=[p.name for p in INVALID])
def test_invalid_vector_is_rejected_with_its_code(path: Path) -> None:
    vector = json.loads(path.read_text("utf-8"))
    with pytest.raises(CredentialError) as caught:
        qr.decode(vector["qr"])
    assert caught.value.code == vector["code"]


def test_spec_fragment_tables_are_the_one_data_file() -> None:
    """One data file holds the tables (issue 10 §6): the spec names it and pins its hash, and the code
    reads it (no copy of a table anywhere else)."""
    spec = (SCHEMAS / "qr-format.md").read_text("utf-8")
    tables = json.loads((SCHEMAS / "qr-format-tables.json").read_text("utf-8"))
    assert qr.TABLES_FILE == SCHEMAS / "qr-format-tables.json" and "qr-format-tables.json" in spec
    assert (len(tables["fragments"]), len(tables["high_fragments"]), len(tables["extended_fragments"])) == (23, 11, 64)
    assert tuple(tables["fragments"]) == qr.FRAGMENTS and tuple(tables["high_fragments"]) == qr.HIGH_FRAGMENTS
    assert tuple(tables["extended_fragments"]) == qr.EXTENDED_FRAGMENTS
    assert qr.FORMAT_TABLES_SHA256 in spec
    assert "```fragments" not in spec and not re.search(r"^0x1F 0x00 ", spec, re.M)


@pytest.mark.parametrize(
    ("raw", "text"),
    [(b"AB", "BB8"), (b"Hello!!", "%69 VD92EX0"), (b"base-45", "UJCLQE7W581"), (b"ietf!", "QED8WEX0")],
)
def test_base45_rfc9285_examples(raw: bytes, text: str) -> None:
    assert base45.base45_encode(raw) == text
    assert base45.base45_decode(text) == raw


@pytest.mark.parametrize("text", ["A", "GGW", "ZZZZ", "abc", "AB=", "::::"])
def test_base45_rejects_bad_input(text: str) -> None:
    with pytest.raises(MalformedError):
        base45.base45_decode(text)


def test_live_reference_uses_alphanumeric_mode_within_budget() -> None:
    world = World()
    code = qr.encode(world.present(world.issue()))
    assert code.startswith("PT1:") and set(code[4:]) <= set(base45.BASE45)
    assert qr_image.qr_version(code, "M") <= 22


def test_paper_companion_fits_version_13_at_q() -> None:
    world = World()
    assert qr_image.qr_version(qr.encode(world.issue("ppt-status", paper=True).sd_jwt), "Q") <= 13


def test_packing_derives_digests_sd_hash_and_y() -> None:
    world = World()
    text = world.present(world.issue())
    structure, entropy = qr.pack(text)
    assert structure[0] == qr.KIND_SD_JWT
    assert bytes([qr.REF_SD_HASH]) in structure
    assert bytes([qr.P256_Y]) in structure
    assert structure.count(bytes([qr.REF_DIGEST])) >= 4
    # 2 signatures + kid + x + 5 undisclosed digests (4 claims + 1 decoy) + 4 salts + nonce
    assert len(entropy) == 64 * 2 + 32 + 32 + 5 * 32 + 4 * 16 + 16


def test_trailing_entropy_and_corruption_are_malformed() -> None:
    world = World()
    code = qr.encode(world.present(world.issue()))
    raw = base45.base45_decode(code[4:])
    with pytest.raises(MalformedError):
        qr.decode("PT1:" + base45.base45_encode(raw + b"\x01\x02"))
    structure, entropy = qr.inflate_prefix(raw, qr.MAX_PACKED)
    with pytest.raises(MalformedError):
        qr.decode("PT1:" + base45.base45_encode(structure + entropy))


def test_inflation_is_capped() -> None:
    bomb = zlib.compress(bytes([qr.KIND_RAW]) + b"A" * (qr.MAX_PACKED + 1), 9)
    with pytest.raises(PayloadTooLargeError):
        qr.decode("PT1:" + base45.base45_encode(bomb))


def _decode_png(png: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1
    return results[0].text


def _rasterize_svg(svg: bytes, scale: int = 8) -> Image.Image:
    """Draw the module squares of qrcode's SvgPathImage (M x,y H x2 V y2 H x z) with Pillow."""
    text = svg.decode("utf-8")
    size = float(re.search(r'viewBox="0 0 ([0-9.]+)', text).group(1))  # type: ignore[union-attr]
    image = Image.new("L", (round(size * scale), round(size * scale)), 255)
    draw = ImageDraw.Draw(image)
    number = r"([0-9.]+)"
    for x, y, x2, y2 in re.findall(rf"M{number},{number}H{number}V{number}H[0-9.]+z", text):
        box = [round(float(v) * scale) for v in (x, y, x2, y2)]
        draw.rectangle([box[0], box[1], box[2] - 1, box[3] - 1], fill=0)
    return image


@pytest.mark.parametrize("kind", ["live", "paper"])
def test_rendered_png_and_svg_decode_with_zxing(kind: str) -> None:
    world = World()
    if kind == "live":
        text, level = world.present(world.issue()), "M"
    else:
        text, level = world.issue("ppt-status", paper=True).sd_jwt, "Q"
    code = qr.encode(text)
    scanned = _decode_png(qr_image.render_png(code, level))
    assert scanned == code and qr.decode(scanned) == text
    svg_image = _rasterize_svg(qr_image.render_svg(code, level))
    results = zxingcpp.read_barcodes(svg_image)
    assert [r.text for r in results] == [code]


# ----------------------------------------------------------------------------- properties

_B64 = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=60)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**62) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)


@st.composite
def sd_jwt_like(draw: st.DrawFn) -> str:
    """Presentations of SD-JWT shape with arbitrary JSON, digests and signatures."""
    from credcore.encoding import b64url_encode, dumps_compact

    def part(value: object) -> str:
        return b64url_encode(dumps_compact(value).encode())

    disclosures = [part([draw(_B64), draw(st.text(max_size=15)), draw(_JSON)]) for _ in range(draw(st.integers(0, 5)))]
    payload = draw(st.dictionaries(st.text(max_size=10), _JSON, max_size=5))
    payload["_sd"] = [draw(st.sampled_from([b64url_encode(bytes(32)), "x" * 43, draw(_B64)])) for _ in range(3)]
    signature = b64url_encode(draw(st.binary(min_size=0, max_size=80)) or b"\x00")
    head = part({"alg": "ES256", "typ": "dc+sd-jwt", "kid": draw(_B64)})
    text = f"{head}.{part(payload)}.{signature}~" + "".join(d + "~" for d in disclosures)
    if draw(st.booleans()):
        kb_payload = {"iat": draw(st.integers(0, 2**33)), "x": draw(_JSON)}
        text += f"{part({'alg': 'ES256', 'typ': 'kb+jwt'})}.{part(kb_payload)}.{signature}"
    return text


@settings(max_examples=150, deadline=None)
@given(sd_jwt_like())
def test_round_trip_of_sd_jwt_shaped_presentations(text: str) -> None:
    assert qr.decode(qr.encode(text)) == text


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_round_trip_of_any_text(text: str) -> None:
    assert qr.decode(qr.encode(text)) == text


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400) | st.text(alphabet=base45.BASE45, max_size=400).map(lambda t: "PT1:" + t))
def test_decoding_arbitrary_text_raises_only_credential_errors(text: str) -> None:
    with contextlib.suppress(CredentialError):
        qr.decode(text)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_decoding_arbitrary_bytes_never_inflates_past_the_cap(data: bytes) -> None:
    for candidate in (data, zlib.compress(data, 9)):
        try:
            structure = qr.decode("PT1:" + base45.base45_encode(candidate))
        except CredentialError:
            continue
        assert len(structure.encode("utf-8", "surrogatepass")) <= qr.MAX_PACKED


def test_p256_points_are_worked_out_once_and_bounded() -> None:
    """PT1's point decompression is remembered by the P256Points that owns it, never more than its
    limit, and an x with no point on the curve is remembered as None."""
    from cryptography.hazmat.primitives.asymmetric import ec

    keys = [ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers() for _ in range(3)]
    points = qr.P256Points(limit=2)
    for numbers in keys:
        x, y = numbers.x.to_bytes(32, "big"), numbers.y.to_bytes(32, "big")
        assert points.y(x, numbers.y & 1) == y
        assert points.y(x, 1 - (numbers.y & 1)) != y
        assert len(points) <= 2
    not_on_curve = (7).to_bytes(32, "big")  # x³ - 3x + b is not a square mod p for x = 7
    fresh = qr.P256Points()
    assert fresh.y(not_on_curve, 0) is None and len(fresh) == 1 and fresh.y(not_on_curve, 0) is None


def test_a_decoder_keeps_what_it_worked_out_only_in_the_points_it_is_given() -> None:
    world = World()
    code = qr.encode(world.present(world.issue()))
    points = qr.P256Points()
    assert qr.decode(code, points) == qr.decode(code) and len(points) == 1
    again = qr.encode(world.present(world.issue()))  # the same holder key, another credential
    assert qr.decode(again, points) == qr.decode(again) and len(points) == 1
