"""OpenID for Verifiable Presentations 1.0 (final, standards.md §5): the cross-device bank and
employer flow.

- ``request``: the presets ``employment`` and ``bank-kyc`` and validated custom DCQL queries
  (credcore/dcql.py), a fresh transaction, the request object by reference.
- ``answer``: ``direct_post`` answers, each presentation verified with key binding to our
  ``client_id`` and the transaction's nonce, and the DCQL query satisfied.
- ``transactions``: single-use transactions (security.md #49, #50).
- ``render``: the result as the frontend reads it (rendered when answered, in both languages).
"""

from __future__ import annotations

from credcore.dcql import (
    FORMAT,
    DcqlError,
    Evaluation,
    Presented,
    evaluate,
    release,
    selected_paths,
    validate_dcql,
)
from verifier.oid4vp.answer import (
    WALLET_ERRORS,
    parse_form,
    receive_answer,
    verify_vp_token,
    vp_token_shape,
    wallet_error,
)
from verifier.oid4vp.render import render_result, render_status, result_message
from verifier.oid4vp.request import (
    CLIENT_ID_PREFIX,
    PRESETS,
    REQUEST_OBJECT_MEDIA_TYPE,
    REQUEST_OBJECT_TYP,
    VP_FORMATS_SUPPORTED,
    Preset,
    PresetUnavailable,
    create_transaction,
    preset_query,
    query_from_body,
    request_object,
    vcts_of_type,
)
from verifier.oid4vp.transactions import (
    Entry,
    QuotaExceeded,
    ResponseRejected,
    Result,
    StoreFull,
    Transaction,
    TransactionStore,
)

__all__ = [
    "CLIENT_ID_PREFIX",
    "FORMAT",
    "PRESETS",
    "REQUEST_OBJECT_MEDIA_TYPE",
    "REQUEST_OBJECT_TYP",
    "VP_FORMATS_SUPPORTED",
    "WALLET_ERRORS",
    "DcqlError",
    "Entry",
    "Evaluation",
    "Presented",
    "Preset",
    "PresetUnavailable",
    "QuotaExceeded",
    "ResponseRejected",
    "Result",
    "StoreFull",
    "Transaction",
    "TransactionStore",
    "create_transaction",
    "evaluate",
    "parse_form",
    "preset_query",
    "query_from_body",
    "receive_answer",
    "release",
    "render_result",
    "render_status",
    "request_object",
    "result_message",
    "selected_paths",
    "validate_dcql",
    "vcts_of_type",
    "verify_vp_token",
    "vp_token_shape",
    "wallet_error",
]
