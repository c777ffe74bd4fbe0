"""Staff passwords: argon2id hashes, the rules a new password must meet (ASVS 6.2), and a dummy
hash so an unknown name costs one verification like a known one (security.md #111)."""

from __future__ import annotations

import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from issuer.errors import field_error

PASSWORD_MIN, PASSWORD_MAX = 12, 128
COMMON_PASSWORDS = frozenset({
    "123456789012", "contraseña123", "contrasena123", "password1234", "passwordpassword", "qwertyuiopas",
    "colombia1234", "venezuela123", "puentepuente", "administrador", "000000000000", "111111111111",
})

_HASHER = PasswordHasher()  # argon2id with argon2-cffi's RFC 9106 low-memory profile


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _HASHER.hash(secrets.token_urlsafe(16))


def normalize_username(name: str) -> str:
    return (name or "").strip().lower()[:100]


def password_problems(password: str, username: str = "") -> list[dict[str, str]]:
    """Field errors for a new password (ASVS 6.2: length 12–128, any characters, not common)."""
    if len(password) < PASSWORD_MIN:
        return [field_error("password", "too_short", "field.password_too_short", min=PASSWORD_MIN)]
    if len(password) > PASSWORD_MAX:
        return [field_error("password", "too_long", "field.password_too_long", max=PASSWORD_MAX)]
    if password.lower() in COMMON_PASSWORDS or (username and username.lower() in password.lower()):
        return [field_error("password", "too_common", "field.password_too_common")]
    return []


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def password_ok(stored: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False
