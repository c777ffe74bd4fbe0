"""security.md group F — status and revocation with the Token Status List (#65–#81).

Status values are checked on 1-, 2-, 4- and 8-bit lists; every defect of a status list token is
``status_unavailable`` (code ``status_invalid`` unless finer): a status that cannot be established
is never "valid". #80 is issuer-side: the core's part is the list shape (large lists, 2 bits).

Skipped (no credential-core aspect):
- #76 historical lookups (``?time=``): the core never asks for a past status; a fetcher that adds
  ``time`` must check the token's ``iat``/``exp`` itself.
- #79 un-revoking: revocation finality is the issuer service's rule (``reinstate`` only lifts a
  suspension); the core's StatusList is a plain bit array.

Partly outside the core: #71 clamping ``ttl`` is the fetcher's cache policy (the core parses ``ttl``
exactly and refuses a malformed one); #77 time and size bounds of the fetch belong to the fetcher
(the core only hands it URIs under the issuer's own identifier).
"""

from __future__ import annotations

import gzip
import os
import random
import ssl
import zlib
from typing import Any

import pytest

from credcore import status_list as sl
from credcore.encoding import b64url_encode
from credcore.errors import CredentialError, MalformedError, SignatureError, StatusUnavailableError
from credcore.issue import issue_credential
from credcore.keys import generate_key
from credcore.ports import MappingStatusSource
from credcore.status_list import StatusList, build_status_list_token, verify_status_list_token
from credcore.verify import VerificationPolicy, VerificationReport
from testkit.world import REFERENCE_DISCLOSED, World, example_claims
from tests.credcore.hostile import (
    assert_rejected,
    assert_valid,
    forge_jws,
    header_for,
    payload_of,
    present,
    segment,
    sign_credential,
    status_claims,
    status_token,
    texts,
)

IDX = 4242


def _list(bits: int, value: int, *, idx: int = IDX, size: int = 8192) -> StatusList:
    status_list = StatusList(size, bits)
    status_list.set(idx, value)
    return status_list


def _served(world: World, token: Any) -> MappingStatusSource:
    return MappingStatusSource({world.sena.status_uri(): token})


def _verify_with_token(world: World, token: Any, text: str | None = None) -> VerificationReport:
    """Verify a genuine presentation (or ``text``) while SENA's list 1 is served as ``token``."""
    return world.verify(text or world.present(world.issue()), status_source=_served(world, token))


def _verify_with_list(world: World, status_list: StatusList) -> VerificationReport:
    now = world.clock.now()
    token = build_status_list_token(status_list, uri=world.sena.status_uri(), issuer=world.sena.id,
                                    key=world.sena.key, iat=now, ttl=300, exp=now + 3600)
    return _verify_with_token(world, token)


def _with_status_claim(world: World, status: Any) -> str:
    """SENA's genuine credential with its ``status`` claim replaced (None removes it), presented."""
    issued = world.issue()
    payload = payload_of(issued)
    if status is None:
        del payload["status"]
    else:
        payload["status"] = status
    return present(world, sign_credential(payload, world.sena), texts(issued, REFERENCE_DISCLOSED))


# ----------------------------------------------------------------------------- #65–#67


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_case_065_revoked(world: World, bits: int) -> None:
    assert_rejected(_verify_with_list(world, _list(bits, 1)), "revoked", "revoked")


def test_case_065_revoked_in_the_issuers_own_list(world: World) -> None:
    issued = world.issue()
    world.status_list(world.sena).set(IDX, sl.INVALID)
    assert_rejected(world.verify(world.present(issued)), "revoked", "revoked")


@pytest.mark.parametrize("bits", [2, 4, 8])
def test_case_066_suspended(world: World, bits: int) -> None:
    assert_rejected(_verify_with_list(world, _list(bits, 2)), "suspended", "suspended")


@pytest.mark.parametrize(("bits", "value"), [
    (2, 3), (4, 3), (4, 0x0C), (4, 0x0D), (4, 0x0E), (4, 0x0F), (4, 0x04), (4, 0x0B),
    (8, 0x03), (8, 0x0C), (8, 0x0F), (8, 0x10), (8, 0x80), (8, 0xFF),
])
def test_case_067_unregistered_or_application_specific_value(world: World, bits: int, value: int) -> None:
    assert_rejected(_verify_with_list(world, _list(bits, value)), "status_unavailable", "status_invalid")


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_case_067_neighbours_do_not_leak(world: World, bits: int) -> None:
    """Every other entry is set to the list's maximum; ours stays VALID and is read as such."""
    status_list = StatusList(8192, bits)
    for index in (IDX - 1, IDX + 1, 0, 8191):
        status_list.set(index, (1 << bits) - 1)
    assert_valid(_verify_with_list(world, status_list))


# ----------------------------------------------------------------------------- #68


def test_case_068_idx_beyond_the_list(world: World) -> None:
    assert_rejected(_verify_with_list(world, StatusList(4096, 2)), "status_unavailable", "status_invalid")


@pytest.mark.parametrize("idx", [131_072, 2**53, -1, 1.5, 4242.0, "4242", True, None, [4242]], ids=repr)
def test_case_068_idx_not_a_valid_index(world: World, idx: Any) -> None:
    text = _with_status_claim(world, {"status_list": {"idx": idx, "uri": world.sena.status_uri()}})
    assert_rejected(world.verify(text), "status_unavailable", "status_invalid")


@pytest.mark.parametrize("status", [
    "revoked", {}, {"status_list": "x"}, {"status_list": {"idx": IDX}}, {"status_list": {"idx": IDX, "uri": 7}},
    {"status_list": {"idx": IDX, "uri": ""}}, [], None,
], ids=["string", "empty", "list-string", "no-uri", "uri-number", "uri-empty", "array", "null"])
def test_case_068_status_claim_malformed(world: World, status: Any) -> None:
    issued = world.issue()
    payload = payload_of(issued)
    payload["status"] = status
    text = present(world, sign_credential(payload, world.sena), texts(issued, REFERENCE_DISCLOSED))
    assert_rejected(world.verify(text), "status_unavailable", "status_invalid")


# ----------------------------------------------------------------------------- #69–#71


@pytest.mark.parametrize("sub", ["list-2", "trailing-slash", "absent", "other-issuer", "number"])
def test_case_069_sub_differs_from_the_credential_uri(world: World, sub: str) -> None:
    value = {"list-2": world.sena.status_uri(2), "trailing-slash": world.sena.status_uri() + "/", "absent": None,
             "other-issuer": world.ngo.status_uri(), "number": 1}[sub]
    claims = status_claims(world, world.sena, StatusList())
    if value is None:
        del claims["sub"]
    else:
        claims["sub"] = value
    token = forge_jws(header_for(world.sena, typ="statuslist+jwt"), claims, world.sena.key)
    assert_rejected(_verify_with_token(world, token), "status_unavailable", "status_invalid")


@pytest.mark.parametrize("typ", [None, "JWT", "dc+sd-jwt", "statuslist+JWT", "application/statuslist+jwt",
                                 "statuslist+cwt"], ids=str)
def test_case_070_status_token_wrong_typ(world: World, typ: Any) -> None:
    header = header_for(world.sena, typ="statuslist+jwt")
    if typ is None:
        del header["typ"]
    else:
        header["typ"] = typ
    token = status_token(world, world.sena, header=header)
    assert_rejected(_verify_with_token(world, token), "status_unavailable", "status_invalid")


def test_case_070_status_token_bad_signature(world: World) -> None:
    """A revocation hidden by swapping the list after signing."""
    revoked = _list(2, 1, size=131_072)
    genuine = status_token(world, world.sena, revoked)
    head, _, signature = genuine.split(".")
    forged_body = segment(status_claims(world, world.sena, StatusList()))
    assert_rejected(_verify_with_token(world, f"{head}.{forged_body}.{signature}"), "status_unavailable",
                    "status_invalid")


@pytest.mark.parametrize("signer", ["ngo", "ngo-key-with-sena-kid", "attacker", "holder"])
def test_case_070_status_token_signed_by_a_key_not_of_the_issuer(world: World, signer: str) -> None:
    key = {"ngo": world.ngo.key, "ngo-key-with-sena-kid": world.ngo.key, "attacker": generate_key(),
           "holder": world.holder}[signer]
    header = header_for(world.sena if signer == "ngo-key-with-sena-kid" else key, typ="statuslist+jwt")
    token = status_token(world, world.sena, header=header, key=key)
    assert_rejected(_verify_with_token(world, token), "status_unavailable", "status_invalid")


@pytest.mark.parametrize("exp_offset", [-86_400, -1, 0])
def test_case_071_status_token_expired(world: World, exp_offset: int) -> None:
    token = status_token(world, world.sena, exp=world.clock.now() + exp_offset)
    assert_rejected(_verify_with_token(world, token), "status_unavailable", "status_expired")


def test_case_071_status_token_about_to_expire_is_used(world: World) -> None:
    assert_valid(_verify_with_token(world, status_token(world, world.sena, exp=world.clock.now() + 1)))


@pytest.mark.parametrize("ttl", [0, 10**12])
def test_case_071_absurd_ttl_is_reported_exactly_for_the_fetcher_to_clamp(world: World, ttl: int) -> None:
    token = status_token(world, world.sena, ttl=ttl)
    parsed = verify_status_list_token(token, uri=world.sena.status_uri(),
                                      resolve_key=world.trust().resolver(world.sena.id, now=world.clock.now()),
                                      now=world.clock.now())
    assert parsed.ttl == ttl
    assert_valid(_verify_with_token(world, token))


@pytest.mark.parametrize(("claim", "value"), [
    ("ttl", -1), ("ttl", "300"), ("ttl", 1.5), ("ttl", 2**53), ("exp", "tomorrow"), ("exp", -5), ("iat", None),
    ("iat", "now"), ("iat", True),
], ids=repr)
def test_case_071_malformed_time_claims(world: World, claim: str, value: Any) -> None:
    claims = status_claims(world, world.sena, StatusList())
    if value is None:
        del claims[claim]
    else:
        claims[claim] = value
    token = forge_jws(header_for(world.sena, typ="statuslist+jwt"), claims, world.sena.key)
    assert_rejected(_verify_with_token(world, token), "status_unavailable", "status_invalid")


# ----------------------------------------------------------------------------- #72–#74


@pytest.mark.parametrize("bits", [0, 3, 5, 16, -1, "2", 2.0, 1.0, True, None, [2]], ids=repr)
def test_case_072_bits_not_1_2_4_or_8(world: World, bits: Any) -> None:
    status_list = StatusList(131_072, 2)
    body: dict[str, Any] = {"lst": status_list.encode()}
    if bits is not None:
        body["bits"] = bits
    token = status_token(world, world.sena, status_list=body)
    assert_rejected(_verify_with_token(world, token), "status_unavailable", "status_invalid")


@pytest.mark.parametrize("bits", [0, 3, 16, 2.0, True])
def test_case_072_status_list_refuses_bits(bits: Any) -> None:
    with pytest.raises(CredentialError) as raised:
        StatusList(64, bits)
    assert raised.value.code == "status_invalid"
    with pytest.raises(CredentialError):
        StatusList.decode(StatusList(64, 8).encode(), bits)


def _lst(data: bytes) -> str:
    return b64url_encode(data)


BOMB_SIZE = 8 * 1024 * 1024  # twice the 4 MiB cap


def test_case_073_zlib_bomb(world: World) -> None:
    bomb = zlib.compress(b"\x00" * BOMB_SIZE, 9)
    assert len(bomb) < 16 * 1024
    token = status_token(world, world.sena, status_list={"bits": 2, "lst": _lst(bomb)})
    assert_rejected(_verify_with_token(world, token), "status_unavailable", "payload_too_large")


def test_case_073_inflation_cap_comes_from_the_policy(world: World) -> None:
    """A list of the usual size is over a small configured cap."""
    policy = VerificationPolicy(max_status_inflated=1024)
    report = world.verify(world.present(world.issue()), status_source=world.status_source(), policy=policy)
    assert_rejected(report, "status_unavailable", "payload_too_large")


@pytest.mark.parametrize("variant", ["raw-deflate", "gzip", "random", "truncated", "trailing-bytes", "empty",
                                     "stored-uncompressed", "two-streams"])
def test_case_073_lst_not_a_zlib_stream(world: World, variant: str) -> None:
    raw = bytes(StatusList(8192, 2).data)
    good = zlib.compress(raw, 9)
    data = {
        "raw-deflate": zlib.compress(raw, 9)[2:-4],
        "gzip": gzip.compress(raw),
        "random": os.urandom(64),
        "truncated": good[:-3],
        "trailing-bytes": good + b"\x00garbage",
        "empty": b"",
        "stored-uncompressed": raw,
        "two-streams": good + good,
    }[variant]
    token = status_token(world, world.sena, status_list={"bits": 2, "lst": _lst(data)})
    assert_rejected(_verify_with_token(world, token), "status_unavailable", "status_invalid")


@pytest.mark.parametrize("lst", [None, 7, "eNrbuRgAAhcBXQ==", "eNrbuRgAAhcBXQ\n", "eNrb+RgAAhcBXQ"], ids=repr)
def test_case_073_lst_not_base64url_text(world: World, lst: Any) -> None:
    body: dict[str, Any] = {"bits": 1}
    if lst is not None:
        body["lst"] = lst
    token = status_token(world, world.sena, status_list=body)
    assert_rejected(_verify_with_token(world, token), "status_unavailable", "status_invalid")


def test_case_074_bit_order_lsb_first() -> None:
    one = StatusList(16, 1)
    one.set(0, 1)
    one.set(15, 1)
    assert bytes(one.data) == b"\x01\x80"
    two = StatusList(4, 2)
    two.set(1, 2)
    assert bytes(two.data) == b"\x08"
    four = StatusList(2, 4)
    four.set(1, 0x0C)
    assert bytes(four.data) == b"\xc0"
    spec = StatusList.decode("eNrbuRgAAhcBXQ", 1)  # TSL §4.1: 1,0,0,1,1,1,0,1,1,1,0,0,0,1,0,1
    assert [spec.get(i) for i in range(16)] == [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]
    # The full Appendix C vectors (bits 1/2/4/8) run in test_vectors.py.


# ----------------------------------------------------------------------------- #75


class _Raising:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def status_list_token(self, uri: str) -> str:
        raise self.exc


@pytest.mark.parametrize("exc", [
    StatusUnavailableError("offline"), ConnectionError("refused"), TimeoutError("timed out"),
    OSError("network unreachable"), ssl.SSLError("certificate verify failed"), RuntimeError("redirect loop"),
    RecursionError("redirects"), ValueError("bad content type"), KeyError("uri"), MemoryError(),
    MalformedError("body is HTML"), SignatureError("proxy said no"),
], ids=lambda e: type(e).__name__)
def test_case_075_status_source_raises(world: World, exc: Exception) -> None:
    report = world.verify(world.present(world.issue()), status_source=_Raising(exc))
    assert_rejected(report, "status_unavailable", "status_unavailable")


@pytest.mark.parametrize("body", [None, b"eyJ", "", "<html>502 Bad Gateway</html>", 503, "a.b.c"], ids=repr)
def test_case_075_status_source_returns_garbage(world: World, body: Any) -> None:
    assert_rejected(_verify_with_token(world, body), "status_unavailable", "status_invalid")


def test_case_075_no_status_source_offline(world: World) -> None:
    report = world.verify(world.present(world.issue()), status_source=None)
    assert_rejected(report, "status_unavailable", "status_unavailable")


# ----------------------------------------------------------------------------- #77, #78, #80, #81


class _Recording:
    def __init__(self, world: World) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.world = world

    def status_list_token(self, *args: Any, **kwargs: Any) -> str:
        self.calls.append((*args, *kwargs.items()))
        return self.world.status_token(self.world.sena)


SSRF_URIS = [
    "http://10.0.0.5/status/1",
    "http://169.254.169.254/latest/meta-data/",
    "file:///etc/passwd",
    "http://issuer.example/i/sena/status/1",
    "https://issuer.example/i/sena.evil.example/status/1",
    "https://issuer.example/i/sena@evil.example/status/1",
    "https://issuer.example/i/senax/status/1",
    "https://issuer.example/i/sena",
    "https://issuer.example/i/sena/../ngo/status/1",
    "https://issuer.example/i/sena/status/%2e%2e/%2e%2e/ngo/status/1",
    "https://issuer.example/i/sena/status/1\r\nHost: evil.example",
    "https://issuer.example/i/sena/status/1 http://evil.example/",
    "https://issuer.example/i/sena/status/1#@evil.example",
    "https://issuer.example/i/sena\\@evil.example/status/1",
]


@pytest.mark.parametrize("uri", SSRF_URIS)
def test_case_077_status_uri_outside_the_issuer(world: World, no_network: list[Any], uri: str) -> None:
    source = _Recording(world)
    text = _with_status_claim(world, {"status_list": {"idx": IDX, "uri": uri}})
    report = world.verify(text, status_source=source)
    assert_rejected(report, "status_unavailable", "status_invalid")
    assert source.calls == []


def test_case_078_credential_without_status(world: World) -> None:
    text = _with_status_claim(world, None)
    assert_rejected(world.verify(text), "status_unavailable", "status_missing")
    assert_valid(world.verify(_with_status_claim(world, None), policy=VerificationPolicy(require_status=False)))


def test_case_078_issued_without_status(world: World) -> None:
    issued = issue_credential(ctype=world.types.get("skills-certification"),
                              claims=example_claims("skills-certification"), issuer=world.sena.id,
                              key=world.sena.key, clock=world.clock, holder_jwk=world.holder.public.jwk())
    assert "status" not in issued.payload
    assert_rejected(world.verify(world.present(issued)), "status_unavailable", "status_missing")


def test_case_080_lists_are_large_and_small_on_the_wire() -> None:
    """Herd privacy (TSL §12.2, PRODUCT.md): 131,072 entries of 2 bits, a few kilobytes when sparse."""
    empty = StatusList()
    assert (empty.size, empty.bits) == (131_072, 2)
    assert len(empty.encode()) < 200
    busy = StatusList()
    rng = random.Random(80)
    for index in rng.sample(range(busy.size), busy.size // 100):
        busy.set(index, rng.choice((sl.INVALID, sl.SUSPENDED)))
    assert len(busy.encode()) < 8 * 1024


def test_case_081_status_fetch_carries_only_the_list_uri(world: World) -> None:
    source = _Recording(world)
    assert_valid(world.verify(world.present(world.issue()), status_source=source))
    assert source.calls == [(world.sena.status_uri(),)]


def test_case_071_token_without_exp_is_believed_for_a_day_only() -> None:
    """A status token with no ``exp`` would otherwise vouch forever (an old copy could hide a later
    revocation from an offline verifier): one older than a day is ``status_expired``."""
    from credcore import jws as jws_module
    from credcore.status_list import StatusList
    from testkit.world import World

    world = World()
    issued = world.issue(idx=5)
    lst = StatusList().encode()

    def token(iat: int) -> str:
        payload = {"sub": world.sena.status_uri(), "iss": world.sena.id, "iat": iat, "ttl": 300,
                   "status_list": {"bits": 2, "lst": lst}}
        return jws_module.sign(payload, world.sena.key, {"typ": "statuslist+jwt"})

    from credcore.ports import MappingStatusSource

    fresh = world.verify(world.present(issued),
                         status_source=MappingStatusSource({world.sena.status_uri(): token(world.clock.now() - 3600)}))
    assert fresh.verdict == "valid"
    old = world.verify(world.present(issued),
                       status_source=MappingStatusSource({world.sena.status_uri(): token(world.clock.now() - 90_000)}))
    assert old.verdict == "status_unavailable" and old.error is not None and old.error.code == "status_expired"
