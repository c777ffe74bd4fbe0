"""The answer side of OpenID4VP: ``direct_post`` answers (§8.2) checked as §5 of standards.md
lists: shape of ``vp_token``, each presentation verified with key binding to our full
``client_id`` and this transaction's nonce (security.md #43, #44), and the DCQL query satisfied
(claims, ``claim_sets``, ``credential_sets``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from credcore.credential_types import TypeRegistry
from credcore.dcql import CONTROL, Evaluation, Presented, evaluate, release
from credcore.encoding import dumps_compact, loads_strict
from credcore.errors import CredentialError, MalformedError
from credcore.sdjwt import MAX_PRESENTATION_LENGTH
from credcore.verify import Check, VerificationReport
from verifier.oid4vp.secure import decrypt_response
from verifier.oid4vp.transactions import Entry, ResponseRejected, Result, Transaction

if TYPE_CHECKING:
    from verifier.service import VerifierService

# Error codes of §8.5 a wallet may answer with; anything else is recorded as "wallet_error". Each is
# registered in credcore/codes.py with its message (tests/test_codes.py reads this set).
WALLET_ERRORS = frozenset({"access_denied", "invalid_request", "invalid_client", "invalid_scope",
                           "vp_formats_not_supported", "invalid_request_uri_method", "invalid_transaction_data",
                           "wallet_unavailable"})
# A presentation bound to another nonce or audience rejects the whole response (standards.md §5).
WHOLE_RESPONSE_CODES = frozenset({"replayed", "kb_audience"})

_COMPACT = re.compile(r"[A-Za-z0-9_.~-]+")

MAX_PRESENTATIONS = 8  # per query with "multiple": true
MAX_FORM_FIELDS = 8
MAX_ERROR_DESCRIPTION = 300


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


def open_encrypted(service: VerifierService, tx_id: str, form: Mapping[str, str]) -> Mapping[str, str]:
    """For a ``direct_post.jwt`` request, the parameters inside the ``response`` JWE (a plain answer
    is refused: the request asked for encryption); other requests take no ``response``."""
    tx = service.transactions.get(tx_id, service.clock.now())
    if tx is None or tx.response_mode != "direct_post.jwt" or tx.enc_jwk is None:
        if "response" in form:
            raise ResponseRejected("this request does not take an encrypted response")
        return form
    if set(form) != {"response"}:
        raise ResponseRejected("this request takes only an encrypted answer (direct_post.jwt: response)")
    opened: dict[str, str] = {}
    for name, value in decrypt_response(form["response"], tx.enc_jwk).items():
        if name == "vp_token" and isinstance(value, dict):
            opened[name] = dumps_compact(value)
        elif isinstance(value, str) and name in ("vp_token", "state", "error", "error_description"):
            opened[name] = value
        else:
            raise ResponseRejected("the encrypted response carries an unexpected parameter")
    return opened


def receive_answer(service: VerifierService, tx_id: str, form: Mapping[str, str]) -> Result:
    """Process a wallet's answer: a ``vp_token`` or an error (in the clear, or inside a
    ``direct_post.jwt`` JWE). Raises :class:`ResponseRejected` for an answer that cannot be
    processed (the transaction stays as it was); any processed answer, however it turns out,
    completes the transaction."""
    form = open_encrypted(service, tx_id, form)
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
    error = form["error"]
    description = CONTROL.sub(" ", form.get("error_description", ""))[:MAX_ERROR_DESCRIPTION].strip()
    return Result(False, "wallet_error", error if error in WALLET_ERRORS else "wallet_error", description or None)


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
