"""Status lists fetched on demand and cached for their ``ttl`` (clamped to sane bounds, and never
longer than ``status_max_age_seconds``), then refreshed with a conditional request: an unchanged
list answers ``304`` and costs no parsing, no signature check, no inflation.

Only URLs under the credential issuer's trust-list identifier reach here (credcore checks that
before asking), so a credential cannot point the verifier at an arbitrary host. When a refresh
fails, the cached copy is used only while it was confirmed within ``status_max_age_seconds``
(``PUENTE_STATUS_MAX_AGE_SECONDS``, default 60) and its own ``exp`` has not passed; otherwise the
status is unavailable — never "valid". :meth:`StatusCache.checked_at` says when a list was last
confirmed, for the report's ``status_checked_at``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import httpx

from credcore import jws
from credcore.clock import Clock
from credcore.errors import CredentialError, StatusUnavailableError
from verifier.config import VerifierSettings
from verifier.fetch import FetchError, fetch_conditional


@dataclass
class _Entry:
    token: str
    checked_at: int  # last time the issuer confirmed this copy (200 or 304)
    ttl: int
    exp: int | None
    etag: str | None


class StatusCache:
    def __init__(self, settings: VerifierSettings, clock: Clock, client: httpx.Client | None = None,
                 capacity: int = 10_000) -> None:
        self.settings, self.clock, self.client, self.capacity = settings, clock, client, capacity
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        # One refresh of a list at a time: the requests that find it stale together wait for that
        # one answer instead of each asking the issuer (16 at once under load, each paying a TLS
        # context and a connection of its own).
        self._refreshing: dict[str, threading.Lock] = {}
        self.fetches = 0  # full fetches (200)
        self.revalidations = 0  # 304 answers

    def _clamp(self, ttl: object) -> int:
        low, high = self.settings.status_ttl_min_seconds, self.settings.status_ttl_max_seconds
        if not isinstance(ttl, int) or isinstance(ttl, bool):
            return low
        return max(low, min(high, ttl))

    def checked_at(self, uri: str) -> int | None:
        with self._lock:
            entry = self._entries.get(uri)
        return entry.checked_at if entry is not None else None

    def _usable(self, entry: _Entry, now: int) -> bool:
        return now - entry.checked_at <= self.settings.status_max_age_seconds and (entry.exp is None or now < entry.exp)

    def _fresh(self, entry: _Entry | None, now: int) -> bool:
        fresh_for = min(entry.ttl, self.settings.status_max_age_seconds) if entry is not None else 0
        return entry is not None and now < entry.checked_at + fresh_for and (entry.exp is None or now < entry.exp)

    def is_fresh(self, uri: str) -> bool:
        """Whether ``status_list_token(uri)`` would answer from the cache, without the network."""
        with self._lock:
            entry = self._entries.get(uri)
        return self._fresh(entry, self.clock.now())

    def status_list_token(self, uri: str) -> str:
        now = self.clock.now()
        with self._lock:
            entry = self._entries.get(uri)
        if self._fresh(entry, now):
            assert entry is not None
            return entry.token
        with self._lock:
            if len(self._refreshing) >= self.capacity and uri not in self._refreshing:
                self._refreshing.clear()
            refreshing = self._refreshing.setdefault(uri, threading.Lock())
        with refreshing:
            with self._lock:  # refreshed by another request while this one waited?
                entry = self._entries.get(uri)
            now = self.clock.now()
            if self._fresh(entry, now):
                assert entry is not None
                return entry.token
            return self.refresh(uri, entry, now)

    def refresh(self, uri: str, entry: _Entry | None = None, now: int | None = None) -> str:
        """Ask the issuer again (conditionally when a copy is held) and return the current token."""
        now = self.clock.now() if now is None else now
        if entry is None:
            with self._lock:
                entry = self._entries.get(uri)
        try:
            token, etag = fetch_conditional(uri, settings=self.settings, client=self._client(),
                                            accept="application/statuslist+jwt",
                                            etag=entry.etag if entry is not None else None)
            if token is None:
                assert entry is not None
                self.revalidations += 1
                fresh = _Entry(entry.token, now, entry.ttl, entry.exp, etag)
            else:
                self.fetches += 1
                claims = jws.parse(token.strip()).claims()
                exp = claims.get("exp")
                fresh = _Entry(token.strip(), now, self._clamp(claims.get("ttl")),
                               exp if isinstance(exp, int) else None, etag)
        except (FetchError, CredentialError) as exc:
            if entry is not None and self._usable(entry, now):
                return entry.token  # the issuer is unreachable, but this copy was confirmed recently enough
            raise StatusUnavailableError(f"status list could not be fetched: {exc}") from exc
        with self._lock:
            if len(self._entries) >= self.capacity and uri not in self._entries:
                self._entries.clear()
            self._entries[uri] = fresh
        return fresh.token

    def _client(self) -> httpx.Client:
        """The given client, else one of this cache's own, made once: a client per fetch builds a TLS
        context, milliseconds of CPU. It keeps no idle connection (a refresh is rare, and nothing is
        left open when the cache goes away)."""
        if self.client is None:
            with self._lock:
                if self.client is None:
                    self.client = httpx.Client(timeout=self.settings.fetch_timeout_seconds, follow_redirects=False,
                                               limits=httpx.Limits(max_keepalive_connections=0))
        return self.client

    def uris(self) -> list[str]:
        """The lists held now (the scanning page keeps copies of them for offline use)."""
        with self._lock:
            return list(self._entries)
