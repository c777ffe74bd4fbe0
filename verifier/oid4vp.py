"""OpenID for Verifiable Presentations 1.0 (final, standards.md §5): the cross-device bank and
employer flow.

- DCQL (OpenID4VP §6): the presets ``employment`` and ``bank-kyc`` and validated custom queries,
  ``dc+sd-jwt`` only, ``meta.vct_values`` drawn from the current trust list.
- The request object by reference (``request_uri``, RFC 9101), unsigned (``alg: none``) because the
  client identifier prefix is ``redirect_uri`` (§5.9.3: such requests cannot be signed); the client
  identifier is ``redirect_uri:<response URI>``, so a wallet knows where the answer goes.
- ``direct_post`` answers (§8.2) checked as §5 of standards.md lists: shape of ``vp_token``, each
  presentation verified with key binding to our full ``client_id`` and this transaction's nonce
  (security.md #43, #44), and the DCQL query satisfied (claims, ``claim_sets``, ``credential_sets``).
- Single-use transactions held in memory (security.md #49): the request object is served once, one
  answer is accepted, and the result goes only to the frontend holding the result token (#50).
  Claims live only until that frontend has read them once, or until expiry (PRODUCT: "the verifier
  keeps no claims").
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import re
import secrets
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote

from credcore.credential_types import TypeRegistry
from credcore.encoding import b64url_encode, dumps_compact, loads_strict
from credcore.errors import CredentialError, MalformedError
from credcore.messages import message
from credcore.sdjwt import MAX_PRESENTATION_LENGTH
from credcore.verify import Check, VerificationReport

if TYPE_CHECKING:
    from verifier.service import VerifierService

FORMAT = "dc+sd-jwt"
REQUEST_OBJECT_TYP = "oauth-authz-req+jwt"
REQUEST_OBJECT_MEDIA_TYPE = "application/oauth-authz-req+jwt"
CLIENT_ID_PREFIX = "redirect_uri:"
STATIC_DISCOVERY_AUDIENCE = "https://self-issued.me/v2"  # §5.8: aud of a request object, static discovery
ALGORITHMS = ["ES256", "EdDSA"]
VP_FORMATS_SUPPORTED = {FORMAT: {"sd-jwt_alg_values": ALGORITHMS, "kb-jwt_alg_values": ALGORITHMS}}

# Error codes of §8.5 a wallet may answer with; anything else is recorded as "wallet_error".
WALLET_ERRORS = frozenset({"access_denied", "invalid_request", "invalid_client", "invalid_scope",
                           "vp_formats_not_supported", "invalid_request_uri_method", "invalid_transaction_data",
                           "wallet_unavailable"})
# A presentation bound to another nonce or audience rejects the whole response (standards.md §5).
WHOLE_RESPONSE_CODES = frozenset({"replayed", "kb_audience"})

_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_COMPACT = re.compile(r"[A-Za-z0-9_.~-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

MAX_QUERY_CHARS = 16 * 1024
MAX_CREDENTIAL_QUERIES = 8
MAX_CLAIMS = 32
MAX_CLAIM_SETS = 16
MAX_CREDENTIAL_SETS = 8
MAX_OPTIONS = 16
MAX_VCT_VALUES = 16
MAX_VALUES = 16
MAX_VALUE_CHARS = 256
MAX_PRESENTATIONS = 8  # per query with "multiple": true
MAX_FORM_FIELDS = 8
MAX_ERROR_DESCRIPTION = 300
TOKEN_BYTES = 24  # nonce, state and result token: 192 bits of CSPRNG output, base64url
ID_BYTES = 18  # transaction id: 144 bits


# ----------------------------------------------------------------------------- DCQL (§6)


class DcqlError(ValueError):
    """A query this verifier will not send: ``where`` names the member, ``reason`` says why."""

    def __init__(self, where: str, reason: str) -> None:
        self.where, self.reason = where, reason
        super().__init__(f"{where}: {reason}")


class PresetUnavailable(Exception):
    """No issuer on the current trust list issues the preset's credential type."""


@dataclass(frozen=True)
class Preset:
    query_id: str
    type_id: str
    claims: tuple[str, ...]


PRESETS = {
    "employment": Preset("employment", "skills-certification",
                         ("given_name", "family_name", "competency_title", "competency_code")),
    "bank-kyc": Preset("kyc", "ppt-status", ("given_name", "family_name", "document_number", "birthdate")),
}


def _show(value: Any) -> str:
    """A short, printable rendering of untrusted input for an error message."""
    text = dumps_compact(value) if not isinstance(value, str) else repr(value)
    return _CONTROL.sub("?", text[:60] + ("…" if len(text) > 60 else ""))


def vcts_of_type(types: TypeRegistry, type_id: str) -> list[str]:
    """Every vct of the trust list whose type is ``type_id`` (one per issuing deployment)."""
    return sorted(vct for vct, ctype in types.by_vct.items() if ctype.id == type_id)


def preset_query(name: str, types: TypeRegistry) -> dict[str, Any]:
    preset = PRESETS.get(name)
    if preset is None:
        raise DcqlError("preset", f"unknown preset {_show(name)}; one of {', '.join(sorted(PRESETS))}")
    vcts = vcts_of_type(types, preset.type_id)
    if not vcts:
        raise PresetUnavailable(f"no trusted issuer issues {preset.type_id}")
    return {"credentials": [{
        "id": preset.query_id, "format": FORMAT, "meta": {"vct_values": vcts},
        "require_cryptographic_holder_binding": True,
        "claims": [{"path": [name]} for name in preset.claims],
    }]}


def query_from_body(body: Any, types: TypeRegistry) -> dict[str, Any]:
    """``{"preset": name}`` or ``{"dcql_query": {…}}`` → the DCQL query to send."""
    if not isinstance(body, dict) or len(body) != 1 or not set(body) <= {"preset", "dcql_query"}:
        raise DcqlError("body", 'send exactly one of {"preset": "employment" | "bank-kyc"} or {"dcql_query": {…}}')
    if "preset" in body:
        if not isinstance(body["preset"], str):
            raise DcqlError("preset", "must be a string")
        return preset_query(body["preset"], types)
    return validate_dcql(body["dcql_query"], types)


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
    if not isinstance(cid, str) or not _ID.fullmatch(cid):
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
                            f"{_show(vct)} is not a credential type issued by an issuer on this verifier's trust list")
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
            if not isinstance(claim["id"], str) or not _ID.fullmatch(claim["id"]):
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
        raise DcqlError(where, f"{_show(path)} is not a claim of the requested credential type(s)")
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
                raise DcqlError(f"{where}[{i}]", f"{_show(ident)} is not the id of a {what} in this query")
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


# ----------------------------------------------------------------------------- transactions


class StoreFull(Exception):
    """Too many open presentation requests: try again later."""


class ResponseRejected(Exception):
    """A ``direct_post`` answer refused before processing (400 ``invalid_request``); the
    transaction is left as it was."""

    def __init__(self, description: str) -> None:
        self.description = description
        super().__init__(description)


@dataclass
class Entry:
    """One presentation of an answer: its report, rendered when read, in the reader's language."""

    report: VerificationReport
    types: TypeRegistry | None
    matched: bool
    released: dict[str, Any]


@dataclass
class Result:
    valid: bool
    verdict: str
    error_code: str | None = None
    error_detail: str | None = None
    entries: dict[str, list[Entry]] = field(default_factory=dict)

    def wipe(self) -> bool:
        """Forget every claim; True if there was anything to forget."""
        had = False
        for entries in self.entries.values():
            for entry in entries:
                had = had or bool(entry.released) or bool(entry.report.credential and entry.report.credential.claims)
                entry.released = {}
                if entry.report.credential is not None:
                    entry.report.credential.claims = {}
        return had


@dataclass
class Transaction:
    id: str
    nonce: str
    state: str
    token_digest: bytes
    query: dict[str, Any]
    client_id: str
    response_uri: str
    request_uri: str
    created_at: int
    ttl: int
    expires_at: int  # the wallet answers before this; once answered, the frontend reads before it
    forget_at: int  # the transaction is dropped at this time
    status: str = "pending"  # pending | done | failed
    request_fetched: bool = False
    answering: bool = False
    result: Result | None = None
    claims_deleted: bool = False

    @property
    def queries(self) -> dict[str, dict[str, Any]]:
        return {cq["id"]: cq for cq in self.query["credentials"]}

    def qr_text(self) -> str:
        """The cross-device link (§5 "Cross-device QR flow" in standards.md)."""
        return f"openid4vp://?client_id={quote(self.client_id, safe='')}&request_uri={quote(self.request_uri, safe='')}"

    def owned_by(self, token: str) -> bool:
        return hmac.compare_digest(self.token_digest, _digest(token))


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


class TransactionStore:
    """Open transactions in this process's memory: bounded, expiring, safe across threads. The
    expensive part of an answer (verification) runs outside the lock; the ``answering`` flag keeps
    a second answer out meanwhile."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._open: dict[str, Transaction] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._open)

    def add(self, tx: Transaction, now: int) -> None:
        with self._lock:
            for other in list(self._open.values()):
                self._age(other, now)
            if len(self._open) >= self.capacity:
                raise StoreFull("too many open presentation requests")
            self._open[tx.id] = tx

    def _age(self, tx: Transaction, now: int) -> Transaction | None:
        """Apply expiry to one transaction (lock held): a pending one fails, claims are wiped,
        and past ``forget_at`` it is gone."""
        if now > tx.forget_at:
            self._open.pop(tx.id, None)
            if tx.result is not None:
                tx.result.wipe()
            return None
        if now > tx.expires_at:
            if tx.status == "pending" and not tx.answering:
                tx.status = "failed"
                tx.result = Result(False, "request_expired", "request_expired")
            if tx.result is not None and tx.result.wipe():
                tx.claims_deleted = True
        return tx

    def _find(self, tx_id: str, now: int) -> Transaction | None:
        if not isinstance(tx_id, str) or not _ID.fullmatch(tx_id):
            return None
        tx = self._open.get(tx_id)
        return self._age(tx, now) if tx is not None else None

    def get(self, tx_id: str, now: int) -> Transaction | None:
        with self._lock:
            return self._find(tx_id, now)

    def take_request(self, tx_id: str, now: int) -> Transaction | None:
        """The transaction whose request object is being fetched, once: a second fetch finds none."""
        with self._lock:
            tx = self._find(tx_id, now)
            if tx is None or tx.status != "pending" or tx.request_fetched:
                return None
            tx.request_fetched = True
            return tx

    def begin_answer(self, tx_id: str, state: str | None, now: int) -> Transaction:
        with self._lock:
            tx = self._find(tx_id, now)
            if tx is None:
                raise ResponseRejected("unknown or expired request")
            if tx.result is not None and tx.result.verdict == "request_expired":
                raise ResponseRejected("the request has expired")
            if tx.status != "pending" or tx.answering:
                raise ResponseRejected("this request was already answered")
            if not isinstance(state, str) or not hmac.compare_digest(state.encode(), tx.state.encode()):
                raise ResponseRejected("state does not match the request")
            tx.answering = True
            return tx

    def abandon_answer(self, tx: Transaction) -> None:
        """A refused answer leaves the transaction as it was."""
        with self._lock:
            tx.answering = False

    def finish_answer(self, tx: Transaction, result: Result, now: int) -> None:
        with self._lock:
            tx.result = result
            tx.status = "done" if result.valid else "failed"
            tx.answering = False
            tx.expires_at = now + tx.ttl  # the frontend has this long to read the result
            tx.forget_at = tx.expires_at + tx.ttl

    def read_result(self, tx_id: str, token: str, lang: str, now: int) -> dict[str, Any] | None:
        """The result for the frontend that started the request; its claims are deleted once read."""
        with self._lock:
            tx = self._find(tx_id, now)
            if tx is None or not tx.owned_by(token):
                return None
            body = render(tx, lang)
            if tx.result is not None and tx.result.wipe():
                tx.claims_deleted = True
            return body


# ----------------------------------------------------------------------------- the request (§5)


def create_transaction(service: VerifierService, query: dict[str, Any]) -> tuple[Transaction, str]:
    """A fresh transaction (id, nonce, state, result token) for ``query``; returns it and the
    result token, which is never stored in clear."""
    now = service.clock.now()
    ttl = service.settings.presentation_request_ttl_seconds
    tx_id = secrets.token_urlsafe(ID_BYTES)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    base = service.settings.base_url
    response_uri = f"{base}/vp/{tx_id}/response"
    tx = Transaction(
        id=tx_id, nonce=secrets.token_urlsafe(TOKEN_BYTES), state=secrets.token_urlsafe(TOKEN_BYTES),
        token_digest=_digest(token), query=query, client_id=CLIENT_ID_PREFIX + response_uri,
        response_uri=response_uri, request_uri=f"{base}/vp/{tx_id}/request", created_at=now, ttl=ttl,
        expires_at=now + ttl, forget_at=now + 2 * ttl,
    )
    service.transactions.add(tx, now)
    return tx, token


def _b64_json(value: Any) -> str:
    return b64url_encode(dumps_compact(value).encode("utf-8"))


def request_object(tx: Transaction) -> str:
    """The unsecured request object (RFC 9101 with ``alg: none``, as the ``redirect_uri`` prefix
    requires); it carries every parameter, so the wallet needs nothing from the QR but its
    ``client_id`` to compare."""
    header = {"alg": "none", "typ": REQUEST_OBJECT_TYP}
    payload = {
        "aud": STATIC_DISCOVERY_AUDIENCE,
        "client_id": tx.client_id,
        "response_type": "vp_token",
        "response_mode": "direct_post",
        "response_uri": tx.response_uri,
        "nonce": tx.nonce,
        "state": tx.state,
        "dcql_query": tx.query,
        "client_metadata": {"vp_formats_supported": VP_FORMATS_SUPPORTED},
        "iat": tx.created_at,
        "exp": tx.expires_at,
    }
    return f"{_b64_json(header)}.{_b64_json(payload)}."


# ----------------------------------------------------------------------------- the answer (§8.2)


def parse_form(body: bytes) -> dict[str, str]:
    """``application/x-www-form-urlencoded`` with every parameter at most once (RFC 6749 §3.1)."""
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body),
                          max_num_fields=MAX_FORM_FIELDS, errors="strict")
    except ValueError:  # also UnicodeDecodeError
        raise ResponseRejected("the body is not a UTF-8 form (application/x-www-form-urlencoded)") from None
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        raise ResponseRejected("a parameter is repeated")
    return dict(pairs)


def receive_answer(service: VerifierService, tx_id: str, form: Mapping[str, str]) -> Result:
    """Process a wallet's answer: a ``vp_token`` or an error. Raises :class:`ResponseRejected` for
    an answer that cannot be processed (the transaction stays as it was); any processed answer,
    however it turns out, completes the transaction."""
    if ("vp_token" in form) == ("error" in form):
        raise ResponseRejected("send either vp_token or error")
    tx = service.transactions.begin_answer(tx_id, form.get("state"), service.clock.now())
    try:
        result = wallet_error(form) if "error" in form else verify_vp_token(service, tx, form["vp_token"])
    except ResponseRejected:
        service.transactions.abandon_answer(tx)
        raise
    except Exception:
        service.transactions.finish_answer(tx, Result(False, "internal_error", "internal_error"),
                                           service.clock.now())
        raise
    service.transactions.finish_answer(tx, result, service.clock.now())
    return result


def wallet_error(form: Mapping[str, str]) -> Result:
    """A wallet's refusal, recorded with its reason (untrusted text: bounded, no control characters)."""
    code = form["error"] if form["error"] in WALLET_ERRORS else "wallet_error"
    description = _CONTROL.sub(" ", form.get("error_description", ""))[:MAX_ERROR_DESCRIPTION].strip()
    return Result(False, "wallet_error", code, description or None)


def vp_token_shape(raw: str, queries: Mapping[str, Mapping[str, Any]]) -> dict[str, list[str]]:
    """The ``vp_token`` JSON object: keys are credential query ids, values arrays of presentations,
    exactly one unless the query allows ``multiple`` (§8.1)."""
    try:
        token = loads_strict(raw)
    except CredentialError:
        raise ResponseRejected("vp_token is not JSON") from None
    if not isinstance(token, dict) or not token:
        raise ResponseRejected("vp_token must be a non-empty JSON object")
    for cid, presentations in token.items():
        if cid not in queries:
            raise ResponseRejected("vp_token has a key that is not a credential query id of the request")
        limit = MAX_PRESENTATIONS if queries[cid].get("multiple", False) else 1
        if not isinstance(presentations, list) or not 1 <= len(presentations) <= limit:
            raise ResponseRejected("each vp_token value must be an array of exactly one presentation "
                                   "(or several when the query allows multiple)")
        for text in presentations:
            if not isinstance(text, str) or not text or len(text) > MAX_PRESENTATION_LENGTH:
                raise ResponseRejected("each presentation must be a compact SD-JWT string")
    return token


def _malformed_report() -> VerificationReport:
    error = MalformedError("a presentation must be a compact SD-JWT+KB", code="malformed")
    return VerificationReport(False, error.verdict, [Check("format", False, error.code)], None, error)


def _verify_one(service: VerifierService, tx: Transaction, cq: Mapping[str, Any],
                text: str) -> tuple[VerificationReport, TypeRegistry | None]:
    if not _COMPACT.fullmatch(text):  # a compact SD-JWT only: no offline QR text here
        return _malformed_report(), None
    policy = service.policy(audience=tx.client_id, nonce=tx.nonce,
                            require_holder_binding=cq.get("require_cryptographic_holder_binding", True))
    # No replay store: the nonce is this transaction's own and the transaction takes one answer.
    return service.verify_report(text, policy, use_replay_store=False)


def verify_vp_token(service: VerifierService, tx: Transaction, raw: str) -> Result:
    queries = tx.queries
    token = vp_token_shape(raw, queries)
    verified: dict[str, list[tuple[VerificationReport, TypeRegistry | None]]] = {
        cid: [_verify_one(service, tx, queries[cid], text) for text in texts] for cid, texts in token.items()
    }
    presented = {cid: [_presented(report) for report, _ in pairs] for cid, pairs in verified.items()}
    evaluation = evaluate(tx.query, presented)
    entries = {
        cid: [Entry(report, types, paths is not None,
                    release(report.credential.claims, paths) if paths is not None and report.credential else {})
              for (report, types), paths in zip(pairs, evaluation.selected[cid], strict=True)]
        for cid, pairs in verified.items()
    }
    result = _decide(evaluation, entries)
    if not result.valid:
        result.wipe()  # a rejected answer yields no claims, not even those of its valid parts
    return result


def _presented(report: VerificationReport) -> Presented:
    cred = report.credential
    return Presented(report.valid, cred.vct if cred else None, cred.claims if cred and report.valid else {})


def _decide(evaluation: Evaluation, entries: dict[str, list[Entry]]) -> Result:
    reports = [(cid, entry.report) for cid, found in entries.items() for entry in found]
    for _, report in reports:
        if report.error is not None and report.error.code in WHOLE_RESPONSE_CODES:
            return Result(False, report.verdict, report.error.code, report.error.description, entries)
    if evaluation.satisfied:
        return Result(True, "valid", None, None, entries)
    for cid, report in reports:  # a failed presentation explains an unsatisfied query best
        if report.error is not None and not evaluation.query_ok.get(cid, False):
            return Result(False, report.verdict, report.error.code, report.error.description, entries)
    return Result(False, "dcql_unsatisfied", "dcql_unsatisfied",
                  "the presentations do not give what the query asks (type or claims)", entries)


# ----------------------------------------------------------------------------- the result


_MESSAGES: dict[str, tuple[str, str]] = {
    "valid": ("Se verificaron los datos pedidos.", "The requested data were verified."),
    "dcql_unsatisfied": ("Lo presentado no es lo que se pidió: falta un dato o el tipo de credencial no corresponde.",
                         "What was presented is not what was asked for: a claim is missing or the credential "
                         "type does not match."),
    "request_expired": ("La solicitud venció sin respuesta. Cree una nueva.",
                        "The request expired without an answer. Create a new one."),
    "access_denied": ("La persona no aceptó compartir sus datos, o su billetera no tiene la credencial pedida.",
                      "The person declined to share their data, or their wallet does not hold the requested "
                      "credential."),
    "vp_formats_not_supported": ("La billetera no admite el formato de credencial pedido.",
                                 "The wallet does not support the requested credential format."),
    "wallet_unavailable": ("La billetera no está disponible.", "The wallet is not available."),
    "wallet_error": ("La billetera no pudo responder la solicitud.", "The wallet could not answer the request."),
    "internal_error": ("Error interno del verificador.", "Internal verifier error."),
}


def result_message(result: Result, lang: str) -> str:
    code = result.error_code or result.verdict
    if code in _MESSAGES:
        es, en = _MESSAGES[code]
    elif result.verdict == "wallet_error":
        es, en = _MESSAGES["wallet_error"]
    else:
        return message(code, lang)
    return en if lang == "en" else es


def _entry_json(entry: Entry, lang: str) -> dict[str, Any]:
    body = entry.report.as_json(lang, entry.types)
    body["claims"] = copy.deepcopy(entry.released)
    body["labels"] = {name: label for name, label in body["labels"].items() if name in entry.released}
    body["dcql_satisfied"] = entry.matched
    return body


def render(tx: Transaction, lang: str) -> dict[str, Any]:
    """What ``GET /api/v1/presentation-requests/{id}`` returns."""
    body: dict[str, Any] = {"id": tx.id, "status": tx.status, "expires_at": tx.expires_at,
                            "request_fetched": tx.request_fetched, "claims_deleted": tx.claims_deleted,
                            "result": None}
    result = tx.result
    if result is None or tx.status == "pending":
        return body
    queries = tx.queries
    credentials: dict[str, Any] = {}
    for cid, entries in result.entries.items():
        rendered = [_entry_json(entry, lang) for entry in entries]
        credentials[cid] = rendered if queries[cid].get("multiple", False) else rendered[0]
    body["result"] = {
        "valid": result.valid,
        "verdict": result.verdict,
        "credentials": credentials,
        "error": None if result.valid else {"code": result.error_code, "message": result_message(result, lang),
                                            "detail": result.error_detail},
    }
    return body
