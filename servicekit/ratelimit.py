"""Per-client fixed-window rate limits, counted in the shared store (every replica sees the same
counts); and who the client is behind a trusted reverse proxy (:class:`ForwardedClient`)."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from credcore.messages import bilingual
from credcore.ports import SharedStore, SharedStoreUnavailable
from servicekit.logs import LOG
from servicekit.shared_store import MemoryStore


class RateLimiter:
    """A fixed-window counter per (client address, bucket), in the shared store so every replica
    counts the same requests (``INCR`` with the window's expiry in Redis). The address is the
    client's as :class:`ForwardedClient` leaves it in the scope: the TCP peer, or behind one of
    ``PUENTE_TRUSTED_PROXIES`` the address that proxy forwarded; a client's own X-Forwarded-For
    counts for nothing (security.md #115, security-cases.md #166). If the shared store cannot be
    reached, requests are let through (logged): the limits protect endpoints whose own single-use
    checks live in the database, not in Redis."""

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


Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    """The reverse proxies whose X-Forwarded-For is believed (``PUENTE_TRUSTED_PROXIES``: addresses
    or CIDR networks, separated by commas or spaces; none by default)."""

    def __init__(self, entries: str | Iterable[str] = "") -> None:
        items = entries.replace(",", " ").split() if isinstance(entries, str) else list(entries)
        networks: list[Network] = []
        for item in items:
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise RuntimeError(f"PUENTE_TRUSTED_PROXIES: «{item}» {bilingual('operator.not_a_network')}") from None
        self.networks = tuple(networks)

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusts(self, address: Address | None) -> bool:
        return address is not None and any(address in network for network in self.networks)

    def client(self, peer: str, forwarded_for: list[bytes]) -> str:
        """The client's address: ``peer`` unless it is a trusted proxy, else the right-most entry of
        X-Forwarded-For that is not a trusted proxy (entries left of it are whatever the client
        sent). A proxy that forwards nothing usable leaves its own address."""
        if not self.trusts(_address(peer)):
            return peer
        entries = [entry.strip() for header in forwarded_for
                   for entry in header.decode("latin-1").split(",")]
        chosen = None
        for entry in reversed(entries):
            address = _address(entry)
            if address is None:
                return chosen or peer  # garbage here: nothing further left can be believed
            chosen = str(address)
            if not self.trusts(address):
                break
        return chosen or peer


def _address(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped if mapped is not None else address


class ForwardedClient:
    """Outermost middleware: behind a trusted proxy, ``scope["client"]`` becomes the address the
    proxy forwarded, for everything after it (rate limits, quotas, sign-in lockouts, the metrics
    guard, logs). From any other peer the headers are left alone and mean nothing."""

    def __init__(self, app: ASGIApp, *, proxies: TrustedProxies) -> None:
        self.app, self.proxies = app, proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("client"):
            host, port = scope["client"]
            forwarded = [value for name, value in scope.get("headers") or [] if name == b"x-forwarded-for"]
            client = self.proxies.client(host, forwarded) if forwarded else host
            if client != host:
                scope = {**scope, "client": (client, port)}
        await self.app(scope, receive, send)
