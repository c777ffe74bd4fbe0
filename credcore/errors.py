"""Errors of the credential core.

Every failure is a :class:`CredentialError` with a stable short ``code`` (what integrators act
on) and a ``verdict`` (one of the verifier verdicts of PRODUCT.md). The subclasses below fix the
verdict; the code may be finer (``alg_not_allowed`` is a kind of ``signature_invalid``). Every code
is listed, with its verdict, in :mod:`credcore.codes`; its words are in the catalog.
"""

from __future__ import annotations


class CredentialError(Exception):
    """Base of every credential-level failure."""

    verdict = "malformed"
    default_code = "malformed"

    def __init__(self, description: str = "", *, code: str | None = None) -> None:
        self.code = code or self.default_code
        self.description = description or self.code
        super().__init__(f"{self.code}: {self.description}")


class MalformedError(CredentialError):
    """The input is not a well-formed presentation, token, QR text or document."""

    verdict = "malformed"
    default_code = "malformed"


class PayloadTooLargeError(MalformedError):
    """The input, or what it inflates to, exceeds a size or count limit."""

    default_code = "payload_too_large"


class SignatureError(CredentialError):
    """A signature does not verify, or uses an algorithm outside the allow-list."""

    verdict = "signature_invalid"
    default_code = "signature_invalid"


class UntrustedIssuerError(CredentialError):
    """The issuer or its key is not on the trust list (or the key is compromised)."""

    verdict = "untrusted_issuer"
    default_code = "issuer_untrusted"


class NotAccreditedError(CredentialError):
    """A trusted issuer signed a credential type it is not accredited for."""

    verdict = "not_accredited_for_type"
    default_code = "not_accredited_for_type"


class ExpiredError(CredentialError):
    """The credential (or its issuer's accreditation) is past its validity."""

    verdict = "expired"
    default_code = "expired"


class NotYetValidError(CredentialError):
    """The credential is not valid yet (``nbf`` or ``iat`` in the future)."""

    verdict = "not_yet_valid"
    default_code = "not_yet_valid"


class RevokedError(CredentialError):
    """The status list says the credential is revoked."""

    verdict = "revoked"
    default_code = "revoked"


class SuspendedError(CredentialError):
    """The status list says the credential is suspended."""

    verdict = "suspended"
    default_code = "suspended"


class DisclosureError(CredentialError):
    """A disclosure breaks the SD-JWT processing rules, or a disclosed claim is invalid."""

    verdict = "disclosure_invalid"
    default_code = "disclosure_invalid"


class KeyBindingError(CredentialError):
    """The key-binding JWT is missing, invalid, stale or replayed."""

    verdict = "key_binding_invalid"
    default_code = "kb_invalid"


class StatusUnavailableError(CredentialError):
    """The credential's status could not be established (never treated as valid)."""

    verdict = "status_unavailable"
    default_code = "status_unavailable"


class IssuanceError(CredentialError):
    """Issuance was refused (claims invalid for the type, type unknown, bad parameters)."""

    verdict = "malformed"
    default_code = "claims_invalid"

    def __init__(
        self,
        description: str = "",
        *,
        code: str | None = None,
        errors: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(description, code=code)
        self.errors = errors or []


VERDICTS = (
    "valid",
    "malformed",
    "signature_invalid",
    "untrusted_issuer",
    "not_accredited_for_type",
    "expired",
    "not_yet_valid",
    "revoked",
    "suspended",
    "disclosure_invalid",
    "key_binding_invalid",
    "status_unavailable",
)
