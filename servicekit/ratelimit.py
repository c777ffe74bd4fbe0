"""Per-client fixed-window rate limits, counted in the shared store (every replica sees the same
counts)."""

from __future__ import annotations

import time

from credcore.ports import SharedStore, SharedStoreUnavailable
from servicekit.logs import LOG
from servicekit.shared_store import MemoryStore


class RateLimiter:
    """A fixed-window counter per (client address, bucket), in the shared store so every replica
    counts the same requests (``INCR`` with the window's expiry in Redis). The address is the TCP
    peer: headers such as X-Forwarded-For are ignored unless a proxy we run sets them (security.md
    #115). If the shared store cannot be reached, requests are let through (logged): the limits
    protect endpoints whose own single-use checks live in the database, not in Redis."""

    def __init__(self, per_minute: int, budgets: dict[str, int] | None = None,
                 store: SharedStore | None = None) -> None:
        self.per_minute = per_minute
        self.budgets = budgets or {}  # a tighter budget for some buckets
        self.store: SharedStore = store if store is not None else MemoryStore()

    def _window(self, client: str, bucket: str, now: float | None) -> tuple[int, str, int, float] | None:
        """(limit, counter key, window end, now), or None when limits are off."""
        if self.per_minute <= 0:
            return None
        limit = min(self.budgets.get(bucket, self.per_minute) or self.per_minute, self.per_minute)
        now = time.time() if now is None else now
        window = int(now // 60)
        return limit, f"rl:{bucket}:{window}:{client[:64]}", (window + 1) * 60, now

    @staticmethod
    def _verdict(count: int, limit: int, end: int, now: float) -> int | None:
        return max(1, int(end - now)) if count > limit else None

    def hit(self, client: str, bucket: str, now: float | None = None) -> int | None:
        """None if allowed, else the seconds to wait."""
        window = self._window(client, bucket, now)
        if window is None:
            return None
        limit, key, end, now = window
        try:
            count = self.store.incr(key, end, int(now))
        except SharedStoreUnavailable:
            LOG.warning("rate limit not counted: the shared store is unavailable")
            return None
        return self._verdict(count, limit, end, now)

    async def hit_async(self, client: str, bucket: str, now: float | None = None) -> int | None:
        """:meth:`hit` for an event loop: it serves other requests while Redis answers."""
        window = self._window(client, bucket, now)
        if window is None:
            return None
        limit, key, end, now = window
        try:
            count = await self.store.incr_async(key, end, int(now))
        except SharedStoreUnavailable:
            LOG.warning("rate limit not counted: the shared store is unavailable")
            return None
        return self._verdict(count, limit, end, now)
