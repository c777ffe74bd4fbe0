"""Who may create presentation requests (docs/security-cases.md #164, issue 11 #4).

- **Verifier clients**: the frontend of an employer or a bank, holding an API key made by
  ``puente verifier-client create``. Keys are kept only as SHA-256 digests (they are 256-bit random
  values) in a JSON file every replica reads (``PUENTE_VERIFIER_CLIENTS_FILE``, default
  ``var/verifier-clients.json``; re-read when it changes), so a revocation reaches every replica
  without a restart.
- **Page tokens**: the scanning page asks ``POST /api/v1/page-token`` and gets a token valid for
  10 minutes, bound to a cookie set with it (HttpOnly, SameSite=Strict): the token alone, copied
  elsewhere, does nothing. Signed with a secret kept in the shared store, so any replica checks it.

Each client and each page has its own quota of open requests (verifier/oid4vp/transactions.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from credcore.messages import bilingual
from credcore.ports import SharedStore

KEY_PREFIX = "pvc_"
PAGE_TOKEN_SECONDS = 600
PAGE_COOKIE = "puente_page"


class ClientError(ValueError):
    """A CLI request that cannot be done (unknown client, bad name)."""


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class VerifierClient:
    id: str
    name: str
    key_sha256: str
    created_at: int
    revoked_at: int | None = None


class ClientRegistry:
    """The clients file: read (and cached by modification time) by the services, written by the CLI."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._seen: tuple[float, int] | None = None
        self._by_digest: dict[str, VerifierClient] = {}

    def load(self) -> list[VerifierClient]:
        if not self.path.exists():
            return []
        data = json.loads(self.path.read_text("utf-8"))
        return [VerifierClient(**entry) for entry in data.get("clients", [])]

    def _save(self, clients: list[VerifierClient]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = self.path.with_suffix(".tmp")
        body = json.dumps({"clients": [vars(c) for c in clients]}, indent=2, ensure_ascii=False)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(body)
        os.replace(temporary, self.path)

    def create(self, name: str, now: int) -> tuple[VerifierClient, str]:
        name = name.strip()
        if not name or len(name) > 100:
            raise ClientError(bilingual("operator.client_name_length"))
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        client = VerifierClient("vc_" + secrets.token_hex(6), name, _digest(key), now)
        self._save([*self.load(), client])
        return client, key

    def revoke(self, client_id: str, now: int) -> VerifierClient:
        clients = self.load()
        for client in clients:
            if client.id == client_id:
                if client.revoked_at is None:
                    client.revoked_at = now
                    self._save(clients)
                return client
        raise ClientError(f"{bilingual('operator.client_unknown')}: {client_id}")

    def authenticate(self, key: str) -> VerifierClient | None:
        """The active client holding ``key``, or None."""
        if not key.startswith(KEY_PREFIX) or len(key) > 100:
            return None
        with self._lock:
            try:
                stat = self.path.stat()
                seen: tuple[float, int] | None = (stat.st_mtime, stat.st_size)
            except FileNotFoundError:
                seen = None
            if seen != self._seen:
                self._by_digest = {c.key_sha256: c for c in self.load()} if seen else {}
                self._seen = seen
            client = self._by_digest.get(_digest(key))
        return client if client is not None and client.revoked_at is None else None


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class PageTokens:
    """Short-lived tokens for the scanning page, bound to a cookie, checkable at every replica."""

    def __init__(self, store: SharedStore) -> None:
        self.store = store

    def _secret(self, now: int) -> bytes:
        far = now + 10 * 365 * 86_400
        self.store.put_once("page-secret", secrets.token_bytes(32), far, now)
        secret = self.store.get("page-secret", now)
        assert secret is not None
        return secret

    def issue(self, now: int) -> tuple[str, str, int]:
        """(token, cookie value, expiry)."""
        page = secrets.token_urlsafe(18)
        expires = now + PAGE_TOKEN_SECONDS
        mac = hmac.new(self._secret(now), f"{page}.{expires}".encode(), hashlib.sha256).digest()
        return f"pt.{expires}.{_b64(mac)}", page, expires

    def check(self, token: str, cookie: str | None, now: int) -> str | None:
        """The page id the token was issued to, when the token is intact, unexpired and comes with
        its own cookie; else None."""
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != "pt" or not parts[1].isdigit() or not cookie or len(cookie) > 64:
            return None
        expires = int(parts[1][:12])
        if now > expires:
            return None
        mac = hmac.new(self._secret(now), f"{cookie}.{expires}".encode(), hashlib.sha256).digest()
        return cookie if hmac.compare_digest(_b64(mac), parts[2]) else None


def client_rows(registry: ClientRegistry) -> list[dict[str, Any]]:
    return [{"id": c.id, "name": c.name, "created_at": c.created_at, "revoked_at": c.revoked_at}
            for c in registry.load()]
