"""Protocols the services implement so the core never does I/O itself."""

from __future__ import annotations

import threading
from typing import Protocol


class StatusListSource(Protocol):
    def status_list_token(self, uri: str) -> str:
        """The ``statuslist+jwt`` token served at ``uri``.

        Raise :class:`credcore.errors.StatusUnavailableError` when it cannot be had (network down,
        not cached, URL not allowed for the issuer)."""
        ...


class NonceStore(Protocol):
    def consume(self, key: str, expires_at: int, now: int) -> bool:
        """Record ``key`` as used until ``expires_at``; False if it was already used."""
        ...


class MemoryNonceStore:
    """A process-local replay store; entries are forgotten once they expire."""

    def __init__(self, capacity: int = 1_000_000) -> None:
        self._used: dict[str, int] = {}
        self._lock = threading.Lock()
        self._capacity = capacity

    def consume(self, key: str, expires_at: int, now: int) -> bool:
        with self._lock:
            if len(self._used) >= self._capacity:
                self._used = {k: exp for k, exp in self._used.items() if exp >= now}
            seen = self._used.get(key)
            if seen is not None and seen >= now:
                return False
            self._used[key] = expires_at
            return True


class MappingStatusSource:
    """Status-list tokens from memory (files given to ``puente verify``, tests), keyed by ``sub``."""

    def __init__(self, tokens: dict[str, str]) -> None:
        self._tokens = dict(tokens)

    def status_list_token(self, uri: str) -> str:
        from credcore.errors import StatusUnavailableError

        try:
            return self._tokens[uri]
        except KeyError:
            raise StatusUnavailableError("no status list available for this credential") from None
