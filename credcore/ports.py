"""Protocols the services implement so the core never does I/O itself."""

from __future__ import annotations

import base64
import hashlib
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


class ReplayStore(NonceStore, Protocol):
    """A :class:`NonceStore` an event loop can also await (a service's replay store)."""

    async def consume_async(self, key: str, expires_at: int, now: int) -> bool: ...


class SharedStoreUnavailable(Exception):
    """The shared store (Redis) cannot be reached: nothing that needs it may be decided."""


class SharedStore(Protocol):
    """The state several processes of a service must agree on (single-use values, one-time reads,
    counters, bounded sets), with expiry. Every operation is atomic. Times are Unix seconds from the
    caller's clock: an entry is gone once ``now`` passes its ``expires_at`` (an adapter may also
    expire it by its own clock, never earlier). Adapters raise :class:`SharedStoreUnavailable`
    when they cannot answer."""

    def put_once(self, key: str, value: bytes, expires_at: int, now: int) -> bool:
        """Store ``value`` unless ``key`` holds one; False if it did (``SET NX EX``)."""
        ...

    def put(self, key: str, value: bytes, expires_at: int, now: int) -> None:
        """Store ``value``, replacing any."""
        ...

    def get(self, key: str, now: int) -> bytes | None: ...

    def take(self, key: str, now: int) -> bytes | None:
        """The value, removed in the same step: two callers never both get it."""
        ...

    def delete(self, key: str) -> None: ...

    def incr(self, key: str, expires_at: int, now: int) -> int:
        """Add one to a counter created at zero with this expiry; the new count."""
        ...

    def acquire(self, key: str, member: str, expires_at: int, now: int, capacity: int) -> bool:
        """Add ``member`` to a set of at most ``capacity`` live members (each expires on its own);
        False when the set is full."""
        ...

    def release(self, key: str, member: str) -> None: ...

    def ping(self) -> None:
        """Raise :class:`SharedStoreUnavailable` unless the store answers."""
        ...

    # The two operations on the path of every request (a replay check, a rate-limit count), for
    # an event loop: an adapter with a network round trip lets the loop serve other requests
    # meanwhile (and may send the commands of concurrent requests together); the others answer
    # at once.

    async def put_once_async(self, key: str, value: bytes, expires_at: int, now: int) -> bool: ...

    async def incr_async(self, key: str, expires_at: int, now: int) -> int: ...


class SharedNonceStore:
    """The key-binding replay store on a :class:`SharedStore`: a nonce used at one replica is used
    at all of them. Keys are hashed, so an entry costs the same whatever the nonce's length."""

    def __init__(self, store: SharedStore, namespace: str = "kb") -> None:
        self.store, self.namespace = store, namespace

    def _name(self, key: str) -> str:
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
        return f"{self.namespace}:{base64.urlsafe_b64encode(digest[:18]).decode()}"

    def consume(self, key: str, expires_at: int, now: int) -> bool:
        return self.store.put_once(self._name(key), b"1", expires_at, now)

    async def consume_async(self, key: str, expires_at: int, now: int) -> bool:
        return await self.store.put_once_async(self._name(key), b"1", expires_at, now)


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

    async def consume_async(self, key: str, expires_at: int, now: int) -> bool:
        return self.consume(key, expires_at, now)


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
