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
from issuer.config import Settings

NONCE_BYTES = 12


class MasterKeyError(RuntimeError):
    """The master key is missing, malformed, or does not open stored data."""


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=b"puente/" + purpose).derive(master)


class SecretBox:
    def __init__(self, master: bytes) -> None:
        if len(master) != 32:
            raise MasterKeyError("master key must be 32 bytes")
        self._aead = AESGCM(_derive(master, b"aead"))
        self._search = _derive(master, b"search")
        self._codes = _derive(master, b"codes")

    def seal(self, plaintext: bytes, context: str) -> bytes:
        """Encrypt; ``context`` (e.g. "claims:<id>") is authenticated so blobs cannot be swapped."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, context.encode())

    def open(self, sealed: bytes, context: str) -> bytes:
        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context.encode())
        except (InvalidTag, ValueError) as exc:
            raise MasterKeyError("stored data cannot be opened with this master key") from exc

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
        raise MasterKeyError(
            "PUENTE_MASTER_KEY no está configurada / is not set: the service refuses to start outside development"
        )
    path = Path(settings.var_dir) / "master.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(b64url_encode(os.urandom(32)) + "\n")
    return b64url_decode(path.read_text().strip())


def make_box(settings: Settings) -> SecretBox:
    return SecretBox(load_master_key(settings))
