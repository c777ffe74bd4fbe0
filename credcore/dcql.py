"""DCQL, the Digital Credentials Query Language of OpenID4VP 1.0 §6: validation of a query this
verifier will send (``dc+sd-jwt`` only, ``meta.vct_values`` drawn from the trust list, unknown
members dropped, every list bounded) and whether verified presentations satisfy it (§6.4).

Pure: no I/O, no framework; the verifier's OpenID4VP flow (verifier/oid4vp/) uses it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from credcore.credential_types import TypeRegistry
from credcore.encoding import dumps_compact

FORMAT = "dc+sd-jwt"

ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")

MAX_QUERY_CHARS = 4 * 1024  # docs/security-cases.md #159: big queries filled the open-request store
MAX_CREDENTIAL_QUERIES = 8
MAX_CLAIMS = 32
MAX_CLAIM_SETS = 16
MAX_CREDENTIAL_SETS = 8
MAX_OPTIONS = 16
MAX_VCT_VALUES = 16
MAX_VALUES = 16
MAX_VALUE_CHARS = 256


class DcqlError(ValueError):
    """A query this verifier will not send: ``where`` names the member, ``reason`` says why."""

    def __init__(self, where: str, reason: str) -> None:
        self.where, self.reason = where, reason
        super().__init__(f"{where}: {reason}")


def show(value: Any) -> str:
    """A short, printable rendering of untrusted input for an error message."""
    text = dumps_compact(value) if not isinstance(value, str) else repr(value)
    return CONTROL.sub("?", text[:60] + ("…" if len(text) > 60 else ""))



def validate_dcql(query: Any, types: TypeRegistry) -> dict[str, Any]:
    """The query reduced to the members this verifier understands (DCQL says to ignore unknown
    members, so they are dropped, not forwarded), or :class:`DcqlError` for the first problem."""
    if not isinstance(query, dict):
        raise DcqlError("dcql_query", "must be a JSON object")
    if len(dumps_compact(query)) > MAX_QUERY_CHARS:
        raise DcqlError("dcql_query", f"longer than {MAX_QUERY_CHARS} characters")
    credentials = query.get("credentials")
    if not isinstance(credentials, list) or not credentials:
        raise DcqlError("credentials", "required: a non-empty array of credential queries")
    if len(credentials) > MAX_CREDENTIAL_QUERIES:
        raise DcqlError("credentials", f"at most {MAX_CREDENTIAL_QUERIES} credential queries")
    normalised = [_credential_query(cq, f"credentials[{i}]", types) for i, cq in enumerate(credentials)]
    ids = [cq["id"] for cq in normalised]
    if len(set(ids)) != len(ids):
        raise DcqlError("credentials", "the same credential query id is used twice")
    out: dict[str, Any] = {"credentials": normalised}
    if "credential_sets" in query:
        out["credential_sets"] = _credential_sets(query["credential_sets"], set(ids))
    return out


def _credential_query(cq: Any, where: str, types: TypeRegistry) -> dict[str, Any]:
    if not isinstance(cq, dict):
        raise DcqlError(where, "must be an object")
    cid = cq.get("id")
    if not isinstance(cid, str) or not ID.fullmatch(cid):
        raise DcqlError(f"{where}.id", "required: 1 to 64 characters from A-Z a-z 0-9 _ -")
    if cq.get("format") != FORMAT:
        raise DcqlError(f"{where}.format", f'required: only "{FORMAT}" (SD-JWT VC) is supported')
    if "trusted_authorities" in cq:
        raise DcqlError(f"{where}.trusted_authorities",
                        "not supported: this verifier decides which issuers it trusts from its trust list")
    vcts = _vct_values(cq.get("meta"), f"{where}.meta", types)
    out: dict[str, Any] = {"id": cid, "format": FORMAT, "meta": {"vct_values": vcts}}
    for flag in ("multiple", "require_cryptographic_holder_binding"):
        if flag in cq:
            if not isinstance(cq[flag], bool):
                raise DcqlError(f"{where}.{flag}", "must be true or false")
            out[flag] = cq[flag]
    if "claims" in cq:
        out["claims"] = _claims(cq["claims"], f"{where}.claims", [types.by_vct[v] for v in vcts])
    if "claim_sets" in cq:
        if "claims" not in out:
            raise DcqlError(f"{where}.claim_sets", "only allowed together with claims")
        if any("id" not in claim for claim in out["claims"]):
            raise DcqlError(f"{where}.claims", "every claim needs an id when claim_sets is present")
        out["claim_sets"] = _claim_sets(cq["claim_sets"], f"{where}.claim_sets", {c["id"] for c in out["claims"]})
    return out


def _vct_values(meta: Any, where: str, types: TypeRegistry) -> list[str]:
    if not isinstance(meta, dict):
        raise DcqlError(where, "required: an object with vct_values")
    vcts = meta.get("vct_values")
    if not isinstance(vcts, list) or not vcts or len(vcts) > MAX_VCT_VALUES:
        raise DcqlError(f"{where}.vct_values", f"required: a non-empty array of at most {MAX_VCT_VALUES} vcts")
    for i, vct in enumerate(vcts):
        if not isinstance(vct, str) or vct not in types.by_vct:
            raise DcqlError(f"{where}.vct_values[{i}]",
                            f"{show(vct)} is not a credential type issued by an issuer on this verifier's trust list")
    if len(set(vcts)) != len(vcts):
        raise DcqlError(f"{where}.vct_values", "a vct is listed twice")
    return list(vcts)


def _claims(claims: Any, where: str, ctypes: Sequence[Any]) -> list[dict[str, Any]]:
    if not isinstance(claims, list) or not claims or len(claims) > MAX_CLAIMS:
        raise DcqlError(where, f"must be a non-empty array of at most {MAX_CLAIMS} claims queries")
    known = {name for ctype in ctypes for name in ctype.claim_names}
    out: list[dict[str, Any]] = []
    ids: set[str] = set()
    paths: set[tuple[str, ...]] = set()
    for i, claim in enumerate(claims):
        here = f"{where}[{i}]"
        if not isinstance(claim, dict):
            raise DcqlError(here, "must be an object")
        entry: dict[str, Any] = {}
        if "id" in claim:
            if not isinstance(claim["id"], str) or not ID.fullmatch(claim["id"]):
                raise DcqlError(f"{here}.id", "1 to 64 characters from A-Z a-z 0-9 _ -")
            if claim["id"] in ids:
                raise DcqlError(f"{here}.id", "the same claim id is used twice")
            ids.add(claim["id"])
            entry["id"] = claim["id"]
        entry["path"] = _path(claim.get("path"), f"{here}.path", known)
        if tuple(entry["path"]) in paths:
            raise DcqlError(f"{here}.path", "the same claim is requested twice")
        paths.add(tuple(entry["path"]))
        if "values" in claim:
            entry["values"] = _values(claim["values"], f"{here}.values")
        out.append(entry)
    return out


def _path(path: Any, where: str, known: set[str]) -> list[str]:
    if not isinstance(path, list) or not path:
        raise DcqlError(where, "required: a non-empty claims path pointer")
    if not all(isinstance(part, str) for part in path):
        raise DcqlError(where, "only claim names (strings) are supported: Puente's credential types have no arrays")
    if len(path) != 1 or path[0] not in known:
        raise DcqlError(where, f"{show(path)} is not a claim of the requested credential type(s)")
    return list(path)


def _values(values: Any, where: str) -> list[Any]:
    """Value filters are passed on to the wallet; a verifier never relies on them (§6.4.1)."""
    if not isinstance(values, list) or not values or len(values) > MAX_VALUES:
        raise DcqlError(where, f"must be a non-empty array of at most {MAX_VALUES} values")
    for value in values:
        if not isinstance(value, str | int | bool) or (isinstance(value, str) and len(value) > MAX_VALUE_CHARS):
            raise DcqlError(where, f"values are strings (at most {MAX_VALUE_CHARS} characters), integers or booleans")
    return list(values)


def _id_lists(lists: Any, where: str, known: set[str], limit: int, what: str) -> list[list[str]]:
    if not isinstance(lists, list) or not lists or len(lists) > limit:
        raise DcqlError(where, f"must be a non-empty array of at most {limit} arrays of {what} ids")
    out = []
    for i, ids in enumerate(lists):
        if not isinstance(ids, list) or not ids or len(ids) > MAX_CLAIMS:
            raise DcqlError(f"{where}[{i}]", f"must be a non-empty array of {what} ids")
        for ident in ids:
            if not isinstance(ident, str) or ident not in known:
                raise DcqlError(f"{where}[{i}]", f"{show(ident)} is not the id of a {what} in this query")
        if len(set(ids)) != len(ids):
            raise DcqlError(f"{where}[{i}]", "an id is listed twice")
        out.append(list(ids))
    return out


def _claim_sets(claim_sets: Any, where: str, ids: set[str]) -> list[list[str]]:
    return _id_lists(claim_sets, where, ids, MAX_CLAIM_SETS, "claim")


def _credential_sets(sets: Any, ids: set[str]) -> list[dict[str, Any]]:
    if not isinstance(sets, list) or not sets or len(sets) > MAX_CREDENTIAL_SETS:
        raise DcqlError("credential_sets", f"must be a non-empty array of at most {MAX_CREDENTIAL_SETS} sets")
    out = []
    for i, entry in enumerate(sets):
        where = f"credential_sets[{i}]"
        if not isinstance(entry, dict):
            raise DcqlError(where, "must be an object")
        normalised: dict[str, Any] = {
            "options": _id_lists(entry.get("options"), f"{where}.options", ids, MAX_OPTIONS, "credential query"),
        }
        if "required" in entry:
            if not isinstance(entry["required"], bool):
                raise DcqlError(f"{where}.required", "must be true or false")
            normalised["required"] = entry["required"]
        out.append(normalised)
    return out


# ----------------------------------------------------------------------------- DCQL satisfaction (§6.4)


@dataclass(frozen=True)
class Presented:
    """What matching needs of one verified presentation: did it verify, its vct, its claims."""

    valid: bool
    vct: str | None
    claims: Mapping[str, Any]


@dataclass(frozen=True)
class Evaluation:
    satisfied: bool
    query_ok: dict[str, bool]  # per credential query: some valid presentation matches it
    selected: dict[str, list[list[list[str]] | None]]  # per query, per presentation: the claim paths it satisfies


def _lookup(claims: Mapping[str, Any], path: Sequence[str]) -> bool:
    node: Any = claims
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return False
        node = node[key]
    return True


def selected_paths(cq: Mapping[str, Any], presented: Presented) -> list[list[str]] | None:
    """The claim paths of ``cq`` this presentation satisfies, or None when it does not match: all
    of ``claims`` without ``claim_sets``, else the first satisfiable claim set; no ``claims``
    means no selectively disclosable claim was asked for."""
    if not presented.valid or presented.vct not in cq["meta"]["vct_values"]:
        return None
    claims = cq.get("claims")
    if claims is None:
        return []
    present = [c for c in claims if _lookup(presented.claims, c["path"])]
    if "claim_sets" not in cq:
        return [c["path"] for c in claims] if len(present) == len(claims) else None
    by_id = {c["id"]: c["path"] for c in present}
    for option in cq["claim_sets"]:
        if all(ident in by_id for ident in option):
            return [by_id[ident] for ident in option]
    return None


def evaluate(query: Mapping[str, Any], presented: Mapping[str, Sequence[Presented]]) -> Evaluation:
    """Whether the presentations (already verified) satisfy the query: every credential query
    without ``credential_sets``, else one option of every required credential set."""
    selected = {cq["id"]: [selected_paths(cq, p) for p in presented.get(cq["id"], ())]
                for cq in query["credentials"]}
    ok = {cid: any(paths is not None for paths in found) for cid, found in selected.items()}
    sets = query.get("credential_sets")
    if sets is None:
        satisfied = all(ok.values())
    else:
        satisfied = all(any(all(ok[ident] for ident in option) for option in entry["options"])
                        for entry in sets if entry.get("required", True))
    return Evaluation(satisfied, ok, selected)


def release(claims: Mapping[str, Any], paths: Sequence[Sequence[str]]) -> dict[str, Any]:
    """Only the requested claims: what a wallet disclosed beyond the query is not passed on."""
    out: dict[str, Any] = {}
    for path in paths:
        source: Any = claims
        target = out
        for key in path[:-1]:
            source = source[key]
            target = target.setdefault(key, {})
        target[path[-1]] = copy.deepcopy(source[path[-1]])
    return out
