"""Credential types from schemas/: every example file is a test; metadata and schema agree; the
Puente rules (future dates, default validity, expiry claim) hold; new types need only files."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from credcore.credential_types import TypeRegistry
from credcore.errors import DisclosureError, IssuanceError
from credcore.issue import end_of_day_in_colombia, expiry_for
from testkit.world import SCHEMAS

TYPES = sorted(p.name for p in (SCHEMAS / "types").iterdir() if p.is_dir())
EXAMPLES = sorted((SCHEMAS / "types").glob("*/examples/*.json"))
TODAY = date(2026, 11, 24)
REGISTRY = TypeRegistry.load("https://issuer.example")


@pytest.mark.parametrize("path", EXAMPLES, ids=[f"{p.parent.parent.name}/{p.name}" for p in EXAMPLES])
def test_example_file(path: Path) -> None:
    ctype = REGISTRY.get(path.parent.parent.name)
    claims = json.loads(path.read_text("utf-8"))
    if path.name == "valid.json":
        ctype.validate(claims, today=TODAY)
    else:
        assert path.name.startswith("invalid-")
        with pytest.raises(IssuanceError) as caught:
            ctype.validate(claims, today=TODAY)
        assert caught.value.errors and all({"field", "code", "message"} <= set(e) for e in caught.value.errors)


@pytest.mark.parametrize("type_id", TYPES)
def test_metadata_matches_schema_and_has_both_languages(type_id: str) -> None:
    ctype = REGISTRY.get(type_id)
    assert [c["path"][0] for c in ctype.metadata["claims"]] == ctype.claim_names
    for claim in ctype.claim_names:
        assert ctype.label(claim, "es") != ctype.label(claim, "en") or claim in ("level",)
    assert ctype.name("es") and ctype.name("en") and ctype.name("es") != ctype.name("en")
    assert ctype.headline in ctype.claim_names
    assert set(ctype.paper_claims) <= set(ctype.claim_names)
    assert ctype.vct == f"https://issuer.example/vct/{type_id}"


def test_field_errors_come_in_the_requested_language() -> None:
    ctype = REGISTRY.get("ppt-status")
    for lang, expected in (("es", "Falta este dato obligatorio."), ("en", "This required field is missing.")):
        with pytest.raises(IssuanceError) as caught:
            ctype.validate({"given_name": "Ana"}, today=TODAY, lang=lang)
        assert {"field": "family_name", "code": "required", "message": expected} in caught.value.errors


def test_dates_in_the_future_are_refused_at_issuance() -> None:
    ctype = REGISTRY.get("skills-certification")
    claims = json.loads((SCHEMAS / "types/skills-certification/examples/valid.json").read_text("utf-8"))
    with pytest.raises(IssuanceError) as caught:
        ctype.validate({**claims, "date": "2026-11-25"}, today=TODAY)
    assert caught.value.errors[0]["field"] == "date" and caught.value.errors[0]["code"] == "future_date"
    ctype.validate({**claims, "date": "2026-11-24"}, today=TODAY)


def test_disclosed_claims_may_omit_required_ones_but_not_break_the_schema() -> None:
    ctype = REGISTRY.get("skills-certification")
    ctype.validate_disclosed({"given_name": "Ana"})
    with pytest.raises(DisclosureError):
        ctype.validate_disclosed({"hours": -3})
    with pytest.raises(DisclosureError):
        ctype.validate_disclosed({"favourite_colour": "azul"})


def test_expiry_rules() -> None:
    ppt = REGISTRY.get("ppt-status")
    claims = json.loads((SCHEMAS / "types/ppt-status/examples/valid.json").read_text("utf-8"))
    assert expiry_for(ppt, claims, 1_795_000_000, None) == end_of_day_in_colombia(date.fromisoformat(
        claims["expiry_date"]))
    skills = REGISTRY.get("skills-certification")
    assert expiry_for(skills, {}, 1_000, None) == 1_000 + skills.valid_days * 86_400
    assert expiry_for(skills, {}, 1_000, 5_000) == 5_000
    with pytest.raises(IssuanceError):
        expiry_for(skills, {}, 1_000, 999)


def test_end_of_day_is_in_colombia_time() -> None:
    # 2031-05-30 23:59:59 at UTC-5 is 2031-05-31 04:59:59 UTC
    assert end_of_day_in_colombia(date(2031, 5, 30)) == 1_937_969_999


def test_a_new_type_is_only_files(tmp_path: Path) -> None:
    shutil.copytree(SCHEMAS / "types", tmp_path / "types")
    target = tmp_path / "types" / "driving-course"
    shutil.copytree(SCHEMAS / "types" / "skills-certification", target)
    registry = TypeRegistry.load("https://issuer.example", tmp_path)
    assert registry.get("driving-course").vct == "https://issuer.example/vct/driving-course"
    assert registry.for_vct("https://issuer.example/vct/driving-course").id == "driving-course"
