"""Console accounts: staff users with argon2id password hashes, TOTP second factor (required for
admins), server-side sessions, and sign-in throttling with growing delays.

Nothing here knows about HTTP: ``issuer.console`` turns these results into pages and cookies.

Sign-in failures are counted per user *name*, whether or not such a user exists, and an unknown
name costs one argon2 verification like a known one: neither the message, the lockout nor the
timing tells an attacker which names exist (security.md #111).

One module each: ``users``, ``passwords``, ``throttle``, ``sessions``, ``totp``.
"""

from issuer.accounts.passwords import (
    PASSWORD_MAX,
    PASSWORD_MIN,
    hash_password,
    normalize_username,
    password_problems,
)
from issuer.accounts.sessions import Current, SignedIn, current, end_sessions, sign_in, sign_out, staff_of
from issuer.accounts.throttle import InvalidCode, SignInRefused
from issuer.accounts.totp import provisioning_uri, second_factor, totp_secret
from issuer.accounts.users import change_password, create_user, disable_user, reset_access, user_scoped, users_of

__all__ = [
    "PASSWORD_MAX", "PASSWORD_MIN", "Current", "InvalidCode", "SignInRefused", "SignedIn", "change_password",
    "create_user", "current", "disable_user", "end_sessions", "hash_password", "normalize_username",
    "password_problems", "provisioning_uri", "reset_access", "second_factor", "sign_in", "sign_out", "staff_of",
    "totp_secret", "user_scoped", "users_of",
]
