"""The compiled per-claim checks (``compile_property``) accept and refuse exactly what jsonschema
does, for every property of every shipped type and for made-up subschemas."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credcore.credential_types import _FORMAT_CHECKER, TypeRegistry, compile_property

TYPES = TypeRegistry.load("https://issuer.example")
PROPERTIES = [(ctype.id, name, sub) for ctype in TYPES.by_id.values()
              for name, sub in ctype.schema["properties"].items()]

VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-20_000, 20_000), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=220), st.dates().map(lambda d: d.isoformat()),
    st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", fullmatch=True), st.from_regex(r"[A-Z0-9-]{2,24}", fullmatch=True),
    st.from_regex(r"[0-9]{4,14}", fullmatch=True), st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def _same(schema: dict[str, Any], value: Any) -> None:
    compiled = compile_property(schema)
    assert compiled is not None
    expected = jsonschema.Draft202012Validator(schema, format_checker=_FORMAT_CHECKER).is_valid(value)
    assert compiled(value) is expected, (schema, value)


@pytest.mark.parametrize(("type_id", "name", "schema"), PROPERTIES, ids=[f"{t}.{n}" for t, n, _ in PROPERTIES])
def test_every_shipped_property_compiles(type_id: str, name: str, schema: dict[str, Any]) -> None:
    assert compile_property(schema) is not None, f"{type_id}.{name} would fall back to jsonschema"


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(PROPERTIES), VALUES)
def test_shipped_properties_agree_with_jsonschema(prop: tuple[str, str, dict[str, Any]], value: Any) -> None:
    _same(prop[2], value)


@pytest.mark.parametrize("value", [None, True, False, 0, 1, 8, 9, 3.0, 3.5, -1, "3", "", "x" * 101, "2026-02-30",
                                   "2026-02-28", "20260228", " 2026-02-28", "2026-02-28\n", "A1B2", "a1b2", "ÁB12"])
@pytest.mark.parametrize("schema", [
    {"type": "integer", "minimum": 1, "maximum": 8},
    {"type": "integer"},
    {"type": "string", "minLength": 1, "maxLength": 100},
    {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "maxLength": 10},
    {"type": "string", "pattern": "[A-Z0-9]{4}"},
    {"type": "string", "format": "date"},
])
def test_edge_values_agree_with_jsonschema(schema: dict[str, Any], value: Any) -> None:
    _same(schema, value)


@pytest.mark.parametrize("schema", [
    {"type": "string", "enum": ["a"]}, {"type": ["string", "null"]}, {"type": "number"}, {"minLength": 1},
    {"type": "integer", "multipleOf": 2}, {"type": "integer", "minimum": 1.5}, {"type": "string", "const": "a"},
])
def test_other_keywords_stay_with_jsonschema(schema: dict[str, Any]) -> None:
    assert compile_property(schema) is None
