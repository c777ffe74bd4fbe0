"""What ``GET /api/v1/presentation-requests/{id}`` returns, in the reader's language."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from credcore import messages

if TYPE_CHECKING:
    from verifier.oid4vp.transactions import Entry, Result, Transaction

RESULT_WORDING = "result"  # the catalog's variant of a code's message for a presentation result


def result_message(result: Result, lang: str) -> str:
    """A presentation's outcome in words: its code's message in the catalog (credcore/codes.py
    registers every code a result can carry), in the wording for a presentation result where the
    code has one (``code.<code>.result``: an ``internal_error`` here is the verifier's own, an
    ``invalid_request`` is the wallet refusing our request)."""
    code = result.error_code or result.verdict
    wording = f"code.{code}.{RESULT_WORDING}"
    if wording in messages.entries(lang):
        return messages.text(wording, lang)
    return messages.message(code, lang)


def _entry_json(entry: Entry, lang: str) -> dict[str, Any]:
    body = entry.report.as_json(lang, entry.types)
    body["claims"] = copy.deepcopy(entry.released)
    body["labels"] = {name: label for name, label in body["labels"].items() if name in entry.released}
    body["dcql_satisfied"] = entry.matched
    return body


def render_status(tx: Transaction) -> dict[str, Any]:
    """What ``GET /api/v1/presentation-requests/{id}`` returns, its ``result`` still None."""
    return {"id": tx.id, "status": tx.status, "expires_at": tx.expires_at, "request_fetched": tx.request_fetched,
            "claims_deleted": tx.claims_deleted, "result": None}


def render_result(result: Result, queries: dict[str, dict[str, Any]], lang: str) -> dict[str, Any]:
    """The ``result`` member: verdict, the presented credentials (released claims only), error."""
    credentials: dict[str, Any] = {}
    for cid, entries in result.entries.items():
        rendered = [_entry_json(entry, lang) for entry in entries]
        credentials[cid] = rendered if queries[cid].get("multiple", False) else rendered[0]
    return {
        "valid": result.valid,
        "verdict": result.verdict,
        "credentials": credentials,
        "error": None if result.valid else {"code": result.error_code, "message": result_message(result, lang),
                                            "detail": result.error_detail},
    }
