"""Encryption at rest with the master key: AES-256-GCM for signing keys, claims and tx codes;
HMAC-SHA256 (a derived key) for searchable hashes of document numbers.

The master key is ``PUENTE_MASTER_KEY`` (base64url of 32 bytes). In development, when it is not
set, a key is generated once into ``var/master.key`` with mode 0600. Outside development the
service refuses to start without one.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from credcore.encoding import b64url_decode, b64url_encode
from credcore.errors import CredentialError
from credcore.messages import bilingual
from issuer.config import Settings

NONCE_BYTES = 12
# A sealed value names the master key that sealed it (security.md #163): MAGIC, an 8-byte key id,
# the nonce, the ciphertext. Values sealed before key ids existed are nonce + ciphertext.
MAGIC = b"PK1\x00"
KEY_ID_BYTES = 8


class MasterKeyError(RuntimeError):
    """The master key is missing, malformed, or does not open stored data."""


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=b"puente/" + purpose).derive(master)


def key_id(master: bytes) -> bytes:
    return hmac.new(master, b"puente/key-id", hashlib.sha256).digest()[:KEY_ID_BYTES]


class SecretBox:
    """Seals with the current master key; opens what it or any older key (``old``) sealed. Keyed
    hashes come from ``hash_root`` (the first master key, by default the current one): a hash
    cannot be recomputed without its input, so it keeps its key across rotations."""

    def __init__(self, master: bytes, old: tuple[bytes, ...] = (), hash_root: bytes | None = None) -> None:
        if any(len(key) != 32 for key in (master, *old, *([hash_root] if hash_root else []))):
            raise MasterKeyError("master key must be 32 bytes")
        self.key_id = key_id(master)
        self._aead = AESGCM(_derive(master, b"aead"))
        self._keys = {key_id(key): AESGCM(_derive(key, b"aead")) for key in (*old, master)}
        root = hash_root or master
        self._search = _derive(root, b"search")
        self._codes = _derive(root, b"codes")

    def seal(self, plaintext: bytes, context: str) -> bytes:
        """Encrypt; ``context`` (e.g. "claims:<id>") is authenticated so blobs cannot be swapped."""
        nonce = os.urandom(NONCE_BYTES)
        return MAGIC + self.key_id + nonce + self._aead.encrypt(nonce, plaintext, context.encode())

    def is_current(self, sealed: bytes) -> bool:
        """Sealed with the current master key (a rotation leaves it as it is)."""
        return bytes(sealed[:len(MAGIC) + KEY_ID_BYTES]) == MAGIC + self.key_id

    def open(self, sealed: bytes, context: str) -> bytes:
        sealed = bytes(sealed)
        head = len(MAGIC) + KEY_ID_BYTES
        named = self._keys.get(sealed[len(MAGIC):head]) if sealed.startswith(MAGIC) else None
        tries = [(named, sealed[head:])] if named else [(aead, sealed) for aead in self._keys.values()]
        for aead, body in tries:
            try:
                return aead.decrypt(body[:NONCE_BYTES], body[NONCE_BYTES:], context.encode())
            except (InvalidTag, ValueError):
                continue
        raise MasterKeyError("stored data cannot be opened with this master key")

    def search_hash(self, value: str) -> str:
        """Keyed hash for equality search (document numbers), normalised: case and spaces ignored."""
        normal = "".join(value.split()).upper()
        return hmac.new(self._search, normal.encode(), hashlib.sha256).hexdigest()

    def code_hash(self, value: str) -> str:
        """Keyed hash of short secrets (tx codes, pre-authorized codes, tokens, API keys)."""
        return hmac.new(self._codes, value.encode(), hashlib.sha256).hexdigest()


def load_master_key(settings: Settings) -> bytes:
    if settings.master_key:
        try:
            return b64url_decode(settings.master_key.strip())
        except CredentialError as exc:
            raise MasterKeyError("PUENTE_MASTER_KEY must be base64url of 32 bytes") from exc
    if settings.env != "development":
        raise MasterKeyError(bilingual("operator.master_key_missing"))
    path = Path(settings.var_dir) / "master.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(b64url_encode(os.urandom(32)) + "\n")
    return b64url_decode(path.read_text().strip())


def _decoded(text: str, name: str) -> bytes:
    try:
        return b64url_decode(text.strip())
    except CredentialError as exc:
        raise MasterKeyError(f"{name} must be base64url of 32 bytes") from exc


def make_box(settings: Settings) -> SecretBox:
    old = tuple(_decoded(text, "PUENTE_OLD_MASTER_KEYS") for text in (settings.old_master_keys or "").split(",")
                if text.strip())
    if old and not settings.hash_key:
        raise MasterKeyError(bilingual("operator.hash_key_missing"))
    root = _decoded(settings.hash_key, "PUENTE_HASH_KEY") if settings.hash_key else None
    return SecretBox(load_master_key(settings), old, root)
