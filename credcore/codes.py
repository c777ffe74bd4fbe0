"""The one registry of error codes (issue 10 #3): every code a client, a report or a page can see.

Each entry is a stable short ``code`` (never renamed: integrators act on it), the verifier verdict(s) a
credential failure with that code carries, the HTTP status(es) a problem or OAuth error with it answers
with, and its message key in the catalog (``code.<code>`` in ``web_common/i18n/{es,en}.json``).
tests/test_codes.py walks the source: every code raised anywhere must be here, with the verdict or the
status it is raised with, and every code here must have a Spanish and an English message.

An OpenID4VP presentation request ends in a result (verifier/oid4vp/): a presented credential's
failure carries that credential's code and verdict, and the exchange itself has codes of its own,
reported with one of :data:`RESULT_VERDICTS` (the query was not satisfied, the request expired, the
wallet answered with an error of OpenID4VP 1.0 §8.5, the verifier failed).

A code has one verdict. The few with two say why (the same limit or field is checked in two places
whose verdicts differ); ``alg_not_allowed`` is no longer one of them: an unsupported key is
``key_unsupported`` (``malformed``) and an unsupported ``_sd_alg`` is ``sd_alg_not_allowed``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Code:
    code: str
    verdicts: tuple[str, ...] = ()  # the verifier verdicts it is reported with (credential failures)
    statuses: tuple[int, ...] = ()  # the HTTP statuses it is answered with (problems, OAuth errors)
    oauth: bool = False  # an OAuth 2.0 / OpenID4VCI / OpenID4VP ``error`` value (its spelling is the spec's)
    why: str = ""  # why it has more than one verdict
    results: tuple[str, ...] = ()  # the presentation result verdicts it is reported with (RESULT_VERDICTS)

    @property
    def key(self) -> str:
        """Its message in the catalog (``code.<code>``; a wording for one place is ``code.<code>.<variant>``)."""
        return f"code.{self.code}"


def _c(code: str, verdicts: tuple[str, ...] = (), *, statuses: tuple[int, ...] = (), oauth: bool = False,
       why: str = "", results: tuple[str, ...] = ()) -> Code:
    return Code(code, verdicts, statuses, oauth, why, results)


RESULT_VERDICTS = ("dcql_unsatisfied", "request_expired", "wallet_error", "internal_error")
"""The verdicts of an OpenID4VP presentation result besides a presented credential's own."""


STATUS_LIST_READ_ALONE = ("a status list token read alone is malformed; while verifying a credential it makes "
                          "the status unavailable")

_CREDENTIAL = [
    # Verdicts shown as the report's reason when no finer code applies, and the checks that passed.
    _c("valid", ("valid",)),
    _c("not_applicable", ("valid",)),
    _c("untrusted_issuer", ("untrusted_issuer",)),
    _c("key_binding_invalid", ("key_binding_invalid",)),
    _c("alg_not_allowed", ("signature_invalid",)),
    _c("sd_alg_not_allowed", ("signature_invalid",)),
    _c("key_unsupported", ("malformed",)),
    _c("claims_invalid", ("disclosure_invalid",), statuses=(422,)),
    _c("cnf_invalid", ("key_binding_invalid",)),
    _c("crit_unsupported", ("malformed",)),
    _c("critical_claim_disclosable", ("disclosure_invalid",)),
    _c("digest_duplicate", ("disclosure_invalid",)),
    _c("disclosure_arity", ("disclosure_invalid",)),
    _c("disclosure_collision", ("disclosure_invalid",)),
    _c("disclosure_duplicate", ("disclosure_invalid",)),
    _c("disclosure_invalid", ("disclosure_invalid",)),
    _c("disclosure_reserved_name", ("disclosure_invalid",)),
    _c("disclosure_unreferenced", ("disclosure_invalid",)),
    _c("duplicate_member", ("malformed",)),
    _c("expired", ("expired",)),
    _c("iat_invalid", ("not_yet_valid", "key_binding_invalid"),
       why="the credential's iat (not_yet_valid) or the KB-JWT's iat (key_binding_invalid) is in the future"),
    _c("issuer_not_in_force", ("untrusted_issuer",)),
    _c("issuer_untrusted", ("untrusted_issuer",)),
    _c("jwk_invalid", ("malformed",)),
    _c("jwk_private", ("malformed",)),
    _c("kb_audience", ("key_binding_invalid",)),
    _c("kb_expired", ("key_binding_invalid",)),
    _c("kb_invalid", ("key_binding_invalid",)),
    _c("kb_missing", ("key_binding_invalid",)),
    _c("kb_sd_hash", ("key_binding_invalid",)),
    _c("kb_unexpected", ("key_binding_invalid",)),
    _c("key_compromised", ("untrusted_issuer",)),
    _c("key_invalid", ("malformed",)),
    _c("key_untrusted", ("untrusted_issuer",)),
    _c("kid_invalid", ("malformed",)),
    _c("kid_required", ("untrusted_issuer",)),
    _c("malformed", ("malformed",)),
    _c("not_accredited_for_type", ("not_accredited_for_type",), statuses=(403,)),
    _c("not_yet_valid", ("not_yet_valid",)),
    _c("payload_too_large", ("malformed", "disclosure_invalid"), statuses=(413,),
       why="a size limit is reported by the part that hit it: the input (malformed) or one disclosure "
           "(disclosure_invalid); an API body over its limit is 413"),
    _c("replayed", ("key_binding_invalid",)),
    _c("revoked", ("revoked",)),
    _c("sd_structure_invalid", ("malformed",)),
    _c("signature_invalid", ("signature_invalid",)),
    _c("status_expired", ("status_unavailable", "malformed"), why=STATUS_LIST_READ_ALONE),
    _c("status_invalid", ("status_unavailable", "malformed"), why=STATUS_LIST_READ_ALONE),
    _c("status_missing", ("status_unavailable",)),
    _c("status_unavailable", ("status_unavailable",)),
    _c("suspended", ("suspended",)),
    _c("trust_list_invalid", ("malformed",)),
    _c("trust_list_stale", ("untrusted_issuer",)),
    _c("trust_list_unavailable", ("untrusted_issuer",)),
    _c("type_invalid", ("malformed",)),
    _c("unknown_type", ("malformed",), statuses=(404, 422)),
    _c("x5c_invalid", ("malformed",)),
    _c("x5c_iss_mismatch", ("untrusted_issuer",)),
    _c("x5c_untrusted", ("untrusted_issuer",)),
]

_SERVICE = [
    _c("already_revoked", statuses=(409,)),
    _c("api_key_in_query", statuses=(400,)),
    _c("bad_request", statuses=(400,)),
    _c("batch_not_done", statuses=(409,)),
    _c("batch_not_found", statuses=(404,)),
    _c("batch_part_not_found", statuses=(404,)),
    _c("ca_invalid", statuses=(422,)),
    _c("cannot_disable_self", statuses=(403,)),
    _c("cannot_reset_self", statuses=(403,)),
    _c("client_credential_invalid", statuses=(401,)),
    _c("client_credential_required", statuses=(401,)),
    _c("client_quota_exceeded", statuses=(429,)),
    _c("conflict", statuses=(409,)),
    _c("credential_not_found", statuses=(404,)),
    _c("credential_replaced", statuses=(409,)),
    _c("credential_revoked", statuses=(409,)),
    _c("credential_expired", statuses=(409,)),
    _c("credential_suspended", statuses=(409,)),
    _c("csrf_invalid", statuses=(403,)),
    _c("csv_empty", statuses=(422,)),
    _c("csv_header_invalid", statuses=(422,)),
    _c("csv_malformed", statuses=(422,)),
    _c("csv_not_text", statuses=(422,)),
    _c("csv_not_utf8", statuses=(422,)),
    _c("csv_unknown_columns", statuses=(422,)),
    _c("current_password_wrong", statuses=(422,)),
    _c("database_unavailable", statuses=(503,)),
    _c("date_invalid", statuses=(422,)),
    _c("dcql_invalid", statuses=(422,)),
    _c("external_institution_keys", statuses=(409,)),
    _c("file_missing", statuses=(422,)),
    _c("forbidden", statuses=(403,)),
    _c("form_invalid", statuses=(422,)),
    _c("idempotency_in_progress", statuses=(409,)),
    _c("idempotency_key_invalid", statuses=(400,)),
    _c("idempotency_key_missing", statuses=(400,)),
    _c("idempotency_key_reused", statuses=(422,)),
    _c("institution_exists", statuses=(409,)),
    _c("internal_error", statuses=(500,), results=("internal_error",)),
    _c("invalid_api_key", statuses=(401,)),
    _c("invalid_contact", statuses=(422,)),
    _c("invalid_issuer_id", statuses=(422,)),
    _c("invalid_slug", statuses=(422,)),
    _c("invalid_transition", statuses=(409,)),
    _c("json_too_deep", statuses=(400,)),
    _c("jwks_duplicate_key", statuses=(422,)),
    _c("jwks_invalid", statuses=(422,)),
    _c("key_already_accredited", statuses=(409,)),
    _c("keys_unavailable", statuses=(503,)),
    _c("metrics_token_required", statuses=(401,)),
    _c("missing_api_key", statuses=(401,)),
    _c("no_signing_key", statuses=(503,)),
    _c("not_found", statuses=(404,)),
    _c("nothing_to_revoke", statuses=(409,)),
    _c("nul_character", statuses=(400,)),
    _c("offer_not_found", statuses=(404,)),
    _c("password_invalid", statuses=(422,)),
    _c("password_mismatch", statuses=(422,)),
    _c("rate_limited", statuses=(429,)),
    _c("reason_required", statuses=(422,)),
    _c("request_invalid", statuses=(422,)),
    _c("request_not_found", statuses=(404,)),
    _c("request_not_pending", statuses=(409,)),
    _c("request_pending", statuses=(409,)),
    _c("role_forbidden", statuses=(403,)),
    _c("second_person_required", statuses=(403,)),
    _c("shared_store_unavailable", statuses=(503,)),
    _c("sign_in_failed", statuses=(401,)),
    _c("sign_in_locked", statuses=(401,)),
    _c("too_many_requests_open", statuses=(503,)),
    _c("too_many_rows", statuses=(413,)),
    _c("totp_invalid", statuses=(401,)),
    _c("type_missing", statuses=(422,)),
    _c("type_not_trusted", statuses=(503,)),
    _c("unauthorized", statuses=(401,)),
    _c("unavailable", statuses=(503,)),
    _c("unknown_api_key", statuses=(404,)),
    _c("unknown_institution", statuses=(404,)),
    _c("unknown_key", statuses=(404,)),
    _c("unknown_role", statuses=(422,)),
    _c("unknown_status", statuses=(422,)),
    _c("unknown_status_list", statuses=(404,)),
    _c("unsupported_media_type", statuses=(415,)),
    _c("user_disabled", statuses=(409,)),
    _c("user_invalid", statuses=(422,)),
    _c("user_not_found", statuses=(404,)),
    _c("username_taken", statuses=(409,)),
    _c("valid_until_invalid", statuses=(422,)),
    _c("validation_failed", statuses=(422,)),
]

_OAUTH = [
    _c("credential_request_denied", statuses=(400,), oauth=True),
    _c("invalid_credential_request", statuses=(400,), oauth=True),
    _c("invalid_grant", statuses=(400,), oauth=True),
    _c("invalid_nonce", statuses=(400,), oauth=True),
    _c("invalid_proof", statuses=(400,), oauth=True),
    _c("invalid_request", statuses=(400, 404), oauth=True, results=("wallet_error",)),
    _c("invalid_token", statuses=(401,), oauth=True),
    _c("temporarily_unavailable", statuses=(503,), oauth=True),
    _c("unknown_credential_configuration", statuses=(400,), oauth=True),
    _c("unsupported_grant_type", statuses=(400,), oauth=True),
]

_PRESENTATION = [
    # What the exchange itself says (verifier/oid4vp/); invalid_request and internal_error are above.
    _c("dcql_unsatisfied", results=("dcql_unsatisfied",)),
    _c("request_expired", results=("request_expired",)),
    _c("wallet_error", results=("wallet_error",)),  # a wallet error code that §8.5 does not list
    # The wallet's own errors (OpenID4VP 1.0 §8.5), recorded as it sent them.
    _c("access_denied", oauth=True, results=("wallet_error",)),
    _c("invalid_client", oauth=True, results=("wallet_error",)),
    _c("invalid_request_uri_method", oauth=True, results=("wallet_error",)),
    _c("invalid_scope", oauth=True, results=("wallet_error",)),
    _c("invalid_transaction_data", oauth=True, results=("wallet_error",)),
    _c("vp_formats_not_supported", oauth=True, results=("wallet_error",)),
    _c("wallet_unavailable", oauth=True, results=("wallet_error",)),
]

CODES: dict[str, Code] = {entry.code: entry for entry in (*_CREDENTIAL, *_SERVICE, *_OAUTH, *_PRESENTATION)}
