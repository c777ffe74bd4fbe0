"""What ``GET /api/v1/presentation-requests/{id}`` returns, in the reader's language."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from credcore.messages import message

if TYPE_CHECKING:
    from verifier.oid4vp.transactions import Entry, Result, Transaction

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
