"""Status lists fetched on demand and cached for their ``ttl`` (clamped to sane bounds).

Only URLs under the credential issuer's trust-list identifier reach here (credcore checks that
before asking), so a credential cannot point the verifier at an arbitrary host. When a refetch
fails, a cached token is used only while its own ``exp`` has not passed; otherwise the status is
unavailable — never "valid".
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import httpx

from credcore import jws
from credcore.clock import Clock
from credcore.errors import CredentialError, StatusUnavailableError
from verifier.config import VerifierSettings
from verifier.fetch import FetchError, fetch_text


@dataclass
class _Entry:
    token: str
    fetched_at: int
    ttl: int
    exp: int | None


class StatusCache:
    def __init__(self, settings: VerifierSettings, clock: Clock, client: httpx.Client | None = None,
                 capacity: int = 10_000) -> None:
        self.settings, self.clock, self.client, self.capacity = settings, clock, client, capacity
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self.fetches = 0

    def _clamp(self, ttl: object) -> int:
        low, high = self.settings.status_ttl_min_seconds, self.settings.status_ttl_max_seconds
        if not isinstance(ttl, int) or isinstance(ttl, bool):
            return low
        return max(low, min(high, ttl))

    def status_list_token(self, uri: str) -> str:
        now = self.clock.now()
        with self._lock:
            entry = self._entries.get(uri)
        if entry is not None and now < entry.fetched_at + entry.ttl and (entry.exp is None or now < entry.exp):
            return entry.token
        try:
            token = fetch_text(uri, settings=self.settings, client=self.client, accept="application/statuslist+jwt")
            self.fetches += 1
            claims = jws.parse(token.strip()).claims()
        except (FetchError, CredentialError) as exc:
            if entry is not None and entry.exp is not None and now < entry.exp:
                return entry.token  # the issuer is unreachable, but this copy still vouches for itself
            raise StatusUnavailableError(f"status list could not be fetched: {exc}") from exc
        exp = claims.get("exp")
        fresh = _Entry(token.strip(), now, self._clamp(claims.get("ttl")), exp if isinstance(exp, int) else None)
        with self._lock:
            if len(self._entries) >= self.capacity:
                self._entries.clear()
            self._entries[uri] = fresh
        return fresh.token
