"""security.md group E — temporal checks (#55–#64) on the injected FixedClock, with the leeway
boundaries at ±1 s. Default policy: 60 s leeway on ``exp``, ``nbf`` and ``iat``; KB-JWTs are
accepted for 300 s (+ leeway). Every case of the group has a core aspect; none is skipped.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from credcore.disclosure import create_disclosure
from credcore.encoding import dumps_compact
from credcore.errors import IssuanceError
from credcore.issue import IssuedCredential
from credcore.sdjwt import new_salt
from credcore.trust import TrustList, trust_list_document
from credcore.verify import VerificationPolicy, VerificationReport
from testkit.world import REFERENCE_DISCLOSED, World, example_claims, iso
from tests.credcore.hostile import (
    assert_rejected,
    assert_valid,
    payload_of,
    present,
    sign_credential,
    texts,
)

LEEWAY = 60


def _verify_at(world: World, issued: IssuedCredential, at: int, **kwargs: Any) -> VerificationReport:
    """Set the verifier's clock to ``at`` and verify a presentation made just now."""
    world.clock.at = at
    return world.verify(world.present(issued), **kwargs)


def _signed_with(world: World, **claims: Any) -> str:
    """SENA's genuine credential with registered claims replaced (None removes one), presented."""
    issued = world.issue()
    payload = payload_of(issued)
    for name, value in claims.items():
        if value is None:
            payload.pop(name, None)
        else:
            payload[name] = value
    return present(world, sign_credential(payload, world.sena), texts(issued, REFERENCE_DISCLOSED))


# ----------------------------------------------------------------------------- #55


@pytest.mark.parametrize("after_exp", [LEEWAY + 1, 86_400, 365 * 86_400])
def test_case_055_expired(world: World, after_exp: int) -> None:
    issued = world.issue(valid_until=world.clock.now() + 1000)
    assert_rejected(_verify_at(world, issued, issued.exp + after_exp), "expired", "expired")


def test_case_055_last_accepted_second(world: World) -> None:
    issued = world.issue(valid_until=world.clock.now() + 1000)
    assert_valid(_verify_at(world, issued, issued.exp + LEEWAY))


# ----------------------------------------------------------------------------- #56 and #57


def test_case_056_nbf_in_the_future(world: World) -> None:
    now = world.clock.now()
    assert_rejected(world.verify(_signed_with(world, nbf=now + LEEWAY + 1)), "not_yet_valid", "not_yet_valid")
    assert_valid(world.verify(_signed_with(world, nbf=now + LEEWAY)))


def test_case_056_validation_clock_before_iat(world: World) -> None:
    issued = world.issue()
    assert_rejected(_verify_at(world, issued, issued.iat - LEEWAY - 1), "not_yet_valid", "iat_invalid")


@pytest.mark.parametrize("ahead", [LEEWAY + 1, 86_400, 10 * 365 * 86_400])
def test_case_057_iat_in_the_future(world: World, ahead: int) -> None:
    text = _signed_with(world, iat=world.clock.now() + ahead)
    assert_rejected(world.verify(text), "not_yet_valid", "iat_invalid")


def test_case_057_iat_within_leeway(world: World) -> None:
    assert_valid(world.verify(_signed_with(world, iat=world.clock.now() + LEEWAY)))


# ----------------------------------------------------------------------------- #58 and #59


@pytest.mark.parametrize(("claim", "code"), [("exp", "exp_missing"), ("iat", "malformed")])
def test_case_058_required_validity_claim_missing(world: World, claim: str, code: str) -> None:
    assert_rejected(world.verify(_signed_with(world, **{claim: None})), "malformed", code)


def test_case_058_exp_null_is_missing(world: World) -> None:
    issued = world.issue()
    payload = payload_of(issued)
    payload["exp"] = None
    text = present(world, sign_credential(payload, world.sena), texts(issued, REFERENCE_DISCLOSED))
    assert_rejected(world.verify(text), "malformed", "exp_missing")


BAD_DATES: list[Any] = ["1895000000", "2030-01-01T00:00:00Z", 1_895_000_000.0, 1.5, 1e300, -1, 2**63, 2**64,
                        10**400, True, [1_895_000_000], {"t": 1}]


@pytest.mark.parametrize("value", BAD_DATES, ids=repr)
@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
def test_case_059_numeric_date_not_an_integer_in_range(world: World, claim: str, value: Any) -> None:
    assert_rejected(world.verify(_signed_with(world, **{claim: value})), "malformed", "malformed")


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1" + "0" * 5000])
@pytest.mark.parametrize("claim", ["exp", "nbf"])
def test_case_059_non_json_or_oversized_numbers(world: World, claim: str, literal: str) -> None:
    issued = world.issue()
    body = dumps_compact({k: v for k, v in issued.payload.items() if k != claim})
    raw = (body[:-1] + f',"{claim}":{literal}}}').encode()
    text = present(world, sign_credential(raw, world.sena), texts(issued, REFERENCE_DISCLOSED))
    assert_rejected(world.verify(text), "malformed", "malformed")


# ----------------------------------------------------------------------------- #60


@pytest.mark.parametrize(("skew", "accepted"), [(240, True), (300, True), (301, False)])
def test_case_060_verifier_clock_fast_with_configured_leeway(world: World, skew: int, accepted: bool) -> None:
    issued = world.issue(valid_until=world.clock.now() + 1000)
    report = _verify_at(world, issued, issued.exp + skew, policy=VerificationPolicy(leeway=300))
    if accepted:
        assert_valid(report)
    else:
        assert_rejected(report, "expired", "expired")


@pytest.mark.parametrize(("skew", "accepted"), [(240, True), (300, True), (301, False)])
def test_case_060_verifier_clock_slow_with_configured_leeway(world: World, skew: int, accepted: bool) -> None:
    issued = world.issue()
    report = _verify_at(world, issued, issued.iat - skew, policy=VerificationPolicy(leeway=300))
    if accepted:
        assert_valid(report)
    else:
        assert_rejected(report, "not_yet_valid", "iat_invalid")


@pytest.mark.parametrize(("offset", "accepted"), [(LEEWAY - 1, True), (LEEWAY, True), (LEEWAY + 1, False)])
def test_case_060_exp_leeway_boundary_one_second(world: World, offset: int, accepted: bool) -> None:
    issued = world.issue(valid_until=world.clock.now() + 1000)
    report = _verify_at(world, issued, issued.exp + offset)
    if accepted:
        assert_valid(report)
    else:
        assert_rejected(report, "expired", "expired")


@pytest.mark.parametrize(("offset", "accepted"), [(LEEWAY - 1, True), (LEEWAY, True), (LEEWAY + 1, False)])
def test_case_060_iat_leeway_boundary_one_second(world: World, offset: int, accepted: bool) -> None:
    issued = world.issue()
    report = _verify_at(world, issued, issued.iat - offset)
    if accepted:
        assert_valid(report)
    else:
        assert_rejected(report, "not_yet_valid", "iat_invalid")


@pytest.mark.parametrize(("days", "code"), [(-3, "kb_expired"), (3, "iat_invalid")])
def test_case_060_phone_clock_wrong_by_days(world: World, days: int, code: str) -> None:
    """The wallet's KB-JWT carries the phone's time; days off is outside the KB window."""
    text = world.present(world.issue(), iat=world.clock.now() + days * 86_400)
    assert_rejected(world.verify(text), "key_binding_invalid", code)


# ----------------------------------------------------------------------------- #61


def test_case_061_issuer_refuses_business_dates_in_the_future(world: World) -> None:
    claims = {**example_claims("skills-certification"), "date": "2027-01-01"}
    with pytest.raises(IssuanceError) as raised:
        world.issue(claims=claims)
    assert {"field": "date", "code": "future_date"} in [
        {"field": e["field"], "code": e["code"]} for e in raised.value.errors
    ]


def _with_date(world: World, day: str) -> str:
    """A credential whose certification ``date`` the issuer signed as ``day`` (bypassing the recipe)."""
    issued = world.issue()
    payload = payload_of(issued)
    genuine = next(d for d in issued.disclosures if d.name == "date")
    forged = create_disclosure(new_salt(), "date", day)
    payload["_sd"] = sorted([d for d in payload["_sd"] if d != genuine.digest()] + [forged.digest()])
    return present(world, sign_credential(payload, world.sena), [*texts(issued, REFERENCE_DISCLOSED), forged.text])


def test_case_061_business_date_after_issuance(world: World) -> None:
    issued_on = datetime.fromtimestamp(world.clock.now(), UTC).date()
    later = date(issued_on.year + 1, 1, 1).isoformat()
    assert_rejected(world.verify(_with_date(world, later)), "disclosure_invalid", "claims_invalid")


def test_case_061_business_date_on_the_day_of_issuance(world: World) -> None:
    today = datetime.fromtimestamp(world.clock.now(), UTC).date().isoformat()
    assert_valid(world.verify(_with_date(world, today)))


# ----------------------------------------------------------------------------- #62


def _trust_with_sena(world: World, **entry: Any) -> TrustList:
    now = world.clock.now()
    issuers = [world.sena.entry(**entry), world.migracion.entry(), world.ngo.entry()]
    return TrustList.from_json(trust_list_document(issued_at=now - 3600, next_update=now + 86_400, issuers=issuers))


def test_case_062_verified_after_the_issuer_accreditation_ended(world: World) -> None:
    """Policy (as DCC TXR-4203): a credential is only as good as its issuer's accreditation now."""
    issued = world.issue()
    world.clock.advance(200)
    trust = _trust_with_sena(world, valid_until=iso(issued.iat + 100))
    report = world.verify(world.present(issued), trust=trust)
    assert_rejected(report, "untrusted_issuer", "issuer_not_in_force")


def test_case_062_accreditation_not_started(world: World) -> None:
    issued = world.issue()
    trust = _trust_with_sena(world, valid_from=iso(world.clock.now() + 86_400))
    assert_rejected(world.verify(world.present(issued), trust=trust), "untrusted_issuer", "issuer_not_in_force")


def test_case_062_accreditation_edges(world: World) -> None:
    issued = world.issue()
    now = world.clock.now()
    assert_valid(world.verify(world.present(issued), trust=_trust_with_sena(world, valid_until=iso(now))))
    assert_valid(world.verify(world.present(issued), trust=_trust_with_sena(world, valid_from=iso(now))))


# ----------------------------------------------------------------------------- #63


def test_case_063_display_date_later_than_exp(world: World) -> None:
    """The permit's ``expiry_date`` says 2031, but ``exp`` is what counts."""
    issued = world.issue("ppt-status", valid_until=world.clock.now() + 1000)
    assert example_claims("ppt-status")["expiry_date"] > "2030"
    assert_rejected(_verify_at(world, issued, issued.exp + LEEWAY + 1), "expired", "expired")


def test_case_063_display_date_earlier_than_exp(world: World) -> None:
    today = datetime.fromtimestamp(world.clock.now(), UTC).date().isoformat()
    claims = {**example_claims("ppt-status"), "expiry_date": today}
    issued = world.issue("ppt-status", claims=claims, valid_until=world.clock.now() + 30 * 86_400)
    report = _verify_at(world, issued, world.clock.now() + 10 * 86_400)
    assert_valid(report)
    assert report.as_json()["expires_at"] == issued.exp


# ----------------------------------------------------------------------------- #64


PPT_EXPIRY = "2031-05-30"
END_OF_DAY_IN_COLOMBIA = int(datetime.fromisoformat("2031-05-30T23:59:59-05:00").timestamp())


def test_case_064_exp_is_the_end_of_the_expiry_day_in_colombia(world: World) -> None:
    issued = world.issue("ppt-status")
    assert example_claims("ppt-status")["expiry_date"] == PPT_EXPIRY
    assert issued.exp == END_OF_DAY_IN_COLOMBIA


@pytest.mark.parametrize(("clock", "accepted"), [
    ("2031-05-30T23:59:59-05:00", True),
    ("2031-05-31T06:59:59+02:00", True),   # exp itself, seen from UTC+2
    ("2031-05-31T07:00:59+02:00", True),   # exp + leeway
    ("2031-05-31T07:01:00+02:00", False),  # exp + leeway + 1 s
    ("2031-05-31T05:01:00Z", False),
    ("2031-05-31T00:01:00-05:00", False),
])
def test_case_064_boundary_with_offsets(world: World, clock: str, accepted: bool) -> None:
    issued = world.issue("ppt-status")
    at = int(datetime.fromisoformat(clock).timestamp())
    report = _verify_at(world, issued, at)
    if accepted:
        assert_valid(report)
    else:
        assert_rejected(report, "expired", "expired")
