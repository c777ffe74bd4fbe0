"""Credential types loaded from ``schemas/types/<id>/``: a JSON Schema (2020-12) for the claims and
SD-JWT VC Type Metadata (standards.md §2) with es/en labels and Puente's ``x-puente`` rules.

New types are added by adding files. The ``vct`` of type ``id`` is ``{vct_base}/vct/{id}``.
At issuance every claim is validated; at verification only disclosed claims are (undisclosed
ones may be missing, so ``required`` is not enforced there).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

import jsonschema

from credcore.errors import DisclosureError, IssuanceError, MalformedError
from credcore.messages import field_message
from credcore.resources import package_dir

DEFAULT_SCHEMAS_DIR = package_dir("schemas")
_FORMAT_CHECKER = jsonschema.Draft202012Validator.FORMAT_CHECKER


@dataclass(frozen=True)
class FieldError:
    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class CredentialType:
    id: str
    vct: str
    schema: dict[str, Any]
    metadata: dict[str, Any]

    @cached_property
    def validator(self) -> jsonschema.Draft202012Validator:
        """Compiled once per type: schemas are immutable once loaded."""
        return jsonschema.Draft202012Validator(self.schema, format_checker=_FORMAT_CHECKER)

    @cached_property
    def disclosed_validator(self) -> jsonschema.Draft202012Validator:
        """The schema without ``required`` anywhere: undisclosed claims may be missing."""
        return jsonschema.Draft202012Validator(_without_required(self.schema), format_checker=_FORMAT_CHECKER)

    @cached_property
    def _property_validators(self) -> dict[str, jsonschema.Draft202012Validator] | None:
        """Per-claim validators when the schema is a closed, flat object (all of Puente's types):
        checking each disclosed value against its own subschema is then the same check as the
        whole schema without ``required``, several times faster."""
        flat_keys = {"$schema", "$id", "title", "description", "type", "properties", "additionalProperties",
                     "required"}
        if set(self.schema) - flat_keys or self.schema.get("additionalProperties") is not False:
            return None
        return {name: jsonschema.Draft202012Validator(sub, format_checker=_FORMAT_CHECKER)
                for name, sub in self.schema.get("properties", {}).items()}

    @cached_property
    def _property_checks(self) -> dict[str, Callable[[Any], bool]] | None:
        """Per-claim checks: a plain Python function for the subschemas made only of the keywords
        :func:`compile_property` knows (all of Puente's), the jsonschema validator otherwise."""
        validators = self._property_validators
        if validators is None:
            return None
        properties = self.schema.get("properties", {})
        return {name: compile_property(properties[name]) or validator.is_valid
                for name, validator in validators.items()}

    def _fast_full_check(self, claims: Any) -> bool:
        """True only if the whole schema accepts ``claims`` (a closed, flat object: every required
        claim present, no other, each value valid); False means "ask jsonschema for the errors"."""
        checks = self._property_checks
        if checks is None or self.schema.get("type") != "object" or not isinstance(claims, dict):
            return False
        required = self.schema.get("required", [])
        return all(name in claims for name in required) and all(
            name in checks and checks[name](value) for name, value in claims.items())

    def _fast_disclosed_check(self, claims: dict[str, Any]) -> bool:
        checks = self._property_checks
        if checks is None:
            return bool(self.disclosed_validator.is_valid(claims))
        return all(name in checks and checks[name](value) for name, value in claims.items())

    @property
    def rules(self) -> dict[str, Any]:
        rules: dict[str, Any] = self.metadata.get("x-puente", {})
        return rules

    @property
    def headline(self) -> str:
        return str(self.rules["headline"])

    @property
    def paper_claims(self) -> list[str]:
        return list(self.rules.get("paper_claims", []))

    @property
    def valid_days(self) -> int:
        return int(self.rules.get("valid_days", 365))

    @property
    def exp_claim(self) -> str | None:
        value = self.rules.get("exp_claim")
        return str(value) if value else None

    @property
    def claim_names(self) -> list[str]:
        return list(self.schema.get("properties", {}))

    def disclosable(self) -> list[str]:
        """Claims issued as disclosures: metadata ``sd`` ``always`` or ``allowed`` (the default)."""
        return list(self._disclosable)

    @cached_property
    def _disclosable(self) -> tuple[str, ...]:
        sd = {tuple(c["path"]): c.get("sd", "allowed") for c in self.metadata.get("claims", [])}
        return tuple(name for name in self.claim_names if sd.get((name,), "allowed") != "never")

    def name(self, lang: str = "es") -> str:
        return _display(self.metadata.get("display", []), lang, "name") or self.id

    def label(self, claim: str, lang: str = "es") -> str:
        labels = self._labels.get(lang)
        if labels is None:  # worked out once per language: every valid report labels its claims
            labels = {}
            for entry in self.metadata.get("claims", []):
                path = entry.get("path")
                if isinstance(path, list) and len(path) == 1 and isinstance(path[0], str) and path[0] not in labels:
                    labels[path[0]] = _display(entry.get("display", []), lang, "label") or path[0]
            if len(self._labels) < 16:
                self._labels[lang] = labels
        return labels.get(claim, claim)

    @cached_property
    def _labels(self) -> dict[str, dict[str, str]]:
        return {}

    def public_metadata(self) -> dict[str, Any]:
        """The Type Metadata document as served at ``/vct/{id}`` (``x-puente`` kept: it is public)."""
        document = copy.deepcopy(self.metadata)
        document["vct"] = self.vct
        return document

    def validate(self, claims: Any, *, today: date, lang: str = "es") -> None:
        """Issuance check: the whole schema, formats, and dates that must not be in the future."""
        valid = self._fast_full_check(claims)
        errors = [] if valid else _schema_errors(self.validator, self.schema, claims, lang, skip_required=False)
        if isinstance(claims, dict):  # every mistake at once: the dates too when other fields are wrong
            wrong = {error.field for error in errors}
            for name in self.rules.get("not_in_future", []):
                value = claims.get(name)
                try:
                    later = name not in wrong and isinstance(value, str) and date.fromisoformat(value) > today
                except ValueError:
                    later = False  # not a date: the schema check reports it
                if later:
                    errors.append(FieldError(name, "future_date", field_message("future_date", lang)))
        if errors:
            raise IssuanceError(
                "claims do not match the credential type",
                code="claims_invalid",
                errors=[e.as_dict() for e in errors],
            )

    def check_dates_not_after(self, claims: dict[str, Any], day: date) -> None:
        """Verification check of disclosed dates the type says cannot be in the future: none may be
        later than ``day``, the day the credential was issued (security.md #61)."""
        for name in self.rules.get("not_in_future", []):
            value = claims.get(name)
            try:
                later = isinstance(value, str) and date.fromisoformat(value) > day
            except ValueError:
                later = False  # not a date at all: the schema check reports that
            if later:
                raise DisclosureError(f"disclosed claim {name!r} is dated after the credential was issued",
                                      code="claims_invalid")

    def validate_disclosed(self, claims: dict[str, Any]) -> None:
        """Verification check of the disclosed claims only."""
        if self._fast_disclosed_check(claims):
            return
        errors = _schema_errors(self.disclosed_validator, self.schema, claims, "en", skip_required=True)
        if errors:
            raise DisclosureError(
                f"disclosed claim {errors[0].field!r} does not match the type: {errors[0].message}",
                code="claims_invalid",
            )


_ANNOTATIONS = frozenset({"title", "description", "examples", "$comment"})
_STRING_KEYWORDS = frozenset({"type", "minLength", "maxLength", "pattern", "format"}) | _ANNOTATIONS
_INTEGER_KEYWORDS = frozenset({"type", "minimum", "maximum"}) | _ANNOTATIONS


def compile_property(schema: dict[str, Any]) -> Callable[[Any], bool] | None:
    """A function giving exactly ``Draft202012Validator(schema).is_valid(value)`` for a string or
    integer subschema of only these keywords, or None (the caller keeps jsonschema). Patterns are
    searched with ``re`` as jsonschema does; ``format`` asks jsonschema's own format checker."""
    kind = schema.get("type")
    if kind == "string" and not set(schema) - _STRING_KEYWORDS:
        low, high = schema.get("minLength", 0), schema.get("maxLength")
        pattern = re.compile(schema["pattern"]).search if "pattern" in schema else None
        fmt = schema.get("format")
        if not isinstance(low, int) or not (high is None or isinstance(high, int)) or not (
                fmt is None or isinstance(fmt, str)):
            return None

        def check_string(value: Any) -> bool:
            return (isinstance(value, str) and low <= len(value) and (high is None or len(value) <= high)
                    and (pattern is None or pattern(value) is not None)
                    and (fmt is None or _FORMAT_CHECKER.conforms(value, fmt)))

        return check_string
    if kind == "integer" and not set(schema) - _INTEGER_KEYWORDS:
        minimum, maximum = schema.get("minimum"), schema.get("maximum")
        if not all(bound is None or (isinstance(bound, int) and not isinstance(bound, bool))
                   for bound in (minimum, maximum)):
            return None

        def check_integer(value: Any) -> bool:
            if isinstance(value, bool) or not (isinstance(value, int) or (
                    isinstance(value, float) and value.is_integer())):
                return False
            return (minimum is None or value >= minimum) and (maximum is None or value <= maximum)

        return check_integer
    return None


def _without_required(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_required(v) for k, v in node.items() if k != "required"}
    if isinstance(node, list):
        return [_without_required(v) for v in node]
    return node


def _display(entries: list[dict[str, Any]], lang: str, key: str) -> str | None:
    for wanted in (lang, "es", "en"):
        for entry in entries:
            if entry.get("locale") == wanted and entry.get(key):
                return str(entry[key])
    return None


def _schema_errors(
    validator: jsonschema.Draft202012Validator, schema: dict[str, Any], claims: Any, lang: str, *, skip_required: bool
) -> list[FieldError]:
    errors: list[FieldError] = []
    for error in sorted(validator.iter_errors(claims), key=lambda e: (list(e.path), e.validator)):
        kind = str(error.validator)
        if kind == "required":
            if skip_required:
                continue
            missing = error.message.split("'")[1] if "'" in error.message else ""
            errors.append(FieldError(missing, kind, field_message(kind, lang)))
        elif kind == "additionalProperties":
            extras = sorted(set(error.instance) - set(schema.get("properties", {})))
            errors.extend(FieldError(name, kind, field_message(kind, lang)) for name in extras)
        else:
            field = "/".join(str(p) for p in error.path)
            errors.append(FieldError(field, kind, field_message(kind, lang)))
    return errors


class TypeRegistry:
    """All credential types of a deployment, by id and by ``vct``."""

    def __init__(self, types: list[CredentialType]) -> None:
        self.by_id = {t.id: t for t in types}
        self.by_vct = {t.vct: t for t in types}

    @classmethod
    def load(cls, vct_base: str, schemas_dir: Path = DEFAULT_SCHEMAS_DIR) -> TypeRegistry:
        types = []
        for folder in sorted((schemas_dir / "types").iterdir()):
            if not (folder / "schema.json").is_file():
                continue
            schema = json.loads((folder / "schema.json").read_text("utf-8"))
            metadata = json.loads((folder / "metadata.json").read_text("utf-8"))
            jsonschema.Draft202012Validator.check_schema(schema)
            types.append(CredentialType(folder.name, f"{vct_base.rstrip('/')}/vct/{folder.name}", schema, metadata))
        return cls(types)

    @classmethod
    def for_vcts(cls, vcts: Iterable[str], schemas_dir: Path = DEFAULT_SCHEMAS_DIR) -> TypeRegistry:
        """Types for the vcts a trust list names (``…/vct/{id}`` with a known ``id``), whatever the
        deployment's base URL: how an offline verifier learns the vcts in use."""
        known = cls.load("", schemas_dir).by_id
        types = []
        for vct in sorted(set(vcts)):
            base, _, type_id = vct.rpartition("/vct/")
            if base and type_id in known:
                found = known[type_id]
                types.append(CredentialType(found.id, vct, found.schema, found.metadata))
        return cls(types)

    def get(self, type_id: str) -> CredentialType:
        try:
            return self.by_id[type_id]
        except KeyError:
            raise IssuanceError(f"unknown credential type {type_id[:60]!r}", code="unknown_type") from None

    def for_vct(self, vct: Any) -> CredentialType:
        if not isinstance(vct, str) or vct not in self.by_vct:
            raise MalformedError("unknown credential type (vct)", code="unknown_type")
        return self.by_vct[vct]
