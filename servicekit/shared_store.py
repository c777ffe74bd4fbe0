"""The two adapters of :class:`credcore.ports.SharedStore`.

- :class:`MemoryStore`: this process only; the default when ``PUENTE_REDIS_URL`` is unset, so
  ``make run`` needs no other server. Correct for one process, wrong for two (see
  :func:`require_shared`).
- :class:`RedisStore`: Redis through redis-py, atomic operations only: ``SET NX EX`` for
  single-use values, ``GETDEL`` for one-time reads, a Lua script for counters (``INCR`` and its
  ``EXPIRE`` in one step) and for bounded sets (a sorted set scored by expiry). Expiry is Redis's
  own TTL, never a sweep. Any Redis failure is :class:`SharedStoreUnavailable`; the connection pool
  reconnects by itself once Redis is back.

  The two commands on the path of every request (a replay check's ``SET NX EX``, a rate-limit
  count) also come as coroutines. While a service is serving (:func:`serving`, from its lifespan)
  they go through redis-py's asyncio client on the service's own event loop, and every command
  issued while a batch is on the wire leaves with the next batch: one write and one read for all
  the requests in flight (pipelining), and the loop verifies other requests meanwhile instead of
  waiting for each answer. Outside that loop they fall back to the blocking client.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from credcore.messages import LANGUAGES, text
from credcore.ports import SharedStore, SharedStoreUnavailable

MAX_ENTRIES = 1_000_000


class MemoryStore:
    """A bounded, thread-safe :class:`SharedStore` in this process's memory."""

    def __init__(self, capacity: int = MAX_ENTRIES) -> None:
        self._values: dict[str, tuple[bytes, int]] = {}
        self._sets: dict[str, dict[str, int]] = {}
        self._lock = threading.Lock()
        self._capacity = capacity

    def _live(self, key: str, now: int) -> bytes | None:
        entry = self._values.get(key)
        if entry is None:
            return None
        if entry[1] < now:
            del self._values[key]
            return None
        return entry[0]

    def _store(self, key: str, value: bytes, expires_at: int, now: int) -> None:
        if len(self._values) >= self._capacity and key not in self._values:
            self._values = {k: v for k, v in self._values.items() if v[1] >= now}
            if len(self._values) >= self._capacity:
                raise SharedStoreUnavailable("the in-memory store is full")
        self._values[key] = (value, expires_at)

    def put_once(self, key: str, value: bytes, expires_at: int, now: int) -> bool:
        with self._lock:
            if self._live(key, now) is not None:
                return False
            self._store(key, value, expires_at, now)
            return True

    def put(self, key: str, value: bytes, expires_at: int, now: int) -> None:
        with self._lock:
            self._store(key, value, expires_at, now)

    def get(self, key: str, now: int) -> bytes | None:
        with self._lock:
            return self._live(key, now)

    def take(self, key: str, now: int) -> bytes | None:
        with self._lock:
            value = self._live(key, now)
            self._values.pop(key, None)
            return value

    def delete(self, key: str) -> None:
        with self._lock:
            self._values.pop(key, None)

    def incr(self, key: str, expires_at: int, now: int) -> int:
        with self._lock:
            current = self._live(key, now)
            count = int(current) + 1 if current is not None else 1
            keep = self._values[key][1] if current is not None else expires_at
            self._store(key, str(count).encode(), keep, now)
            return count

    def acquire(self, key: str, member: str, expires_at: int, now: int, capacity: int) -> bool:
        with self._lock:
            members = {m: exp for m, exp in self._sets.get(key, {}).items() if exp >= now}
            if member not in members and len(members) >= capacity:
                self._sets[key] = members
                return False
            members[member] = expires_at
            self._sets[key] = members
            return True

    def release(self, key: str, member: str) -> None:
        with self._lock:
            self._sets.get(key, {}).pop(member, None)

    def ping(self) -> None:
        return None

    async def put_once_async(self, key: str, value: bytes, expires_at: int, now: int) -> bool:
        return self.put_once(key, value, expires_at, now)

    async def incr_async(self, key: str, expires_at: int, now: int) -> int:
        return self.incr(key, expires_at, now)


# KEYS[1] counter; ARGV[1] ttl. The expiry is set with the first increment, in the same step.
_INCR = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""

# KEYS[1] sorted set (member → expiry); ARGV: member, expires_at, now, capacity, ttl of the set.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
if redis.call('TTL', KEYS[1]) < tonumber(ARGV[5]) then redis.call('EXPIRE', KEYS[1], ARGV[5]) end
return 1
"""


def _ttl(expires_at: int, now: int) -> int:
    return max(1, expires_at - now + 1)


class _Pipeline:
    """Commands from one event loop, sent in batches on one asyncio connection: whatever is issued
    while a batch is on the wire goes with the next one (auto-pipelining). Each command is atomic
    on its own, as when sent alone; a batch is not a transaction."""

    def __init__(self, client: Any, errors: tuple[type[BaseException], ...]) -> None:
        self.client, self.errors = client, errors
        self.loop = asyncio.get_running_loop()
        self.queue: list[tuple[tuple[Any, ...], asyncio.Future[Any]]] = []
        self.sender: asyncio.Task[None] | None = None

    async def call(self, *command: Any) -> Any:
        future: asyncio.Future[Any] = self.loop.create_future()
        self.queue.append((command, future))
        if self.sender is None:  # the first command of a batch waits one turn of the loop for company
            self.sender = self.loop.create_task(self._send())
        return await future

    async def _send(self) -> None:
        try:
            while self.queue:
                batch, self.queue = self.queue, []
                try:
                    pipe = self.client.pipeline(transaction=False)
                    for command, _ in batch:
                        pipe.execute_command(*command)
                    results = await pipe.execute(raise_on_error=False)
                except self.errors as exc:
                    results = [exc] * len(batch)
                for (_, future), result in zip(batch, results, strict=True):
                    if future.done():  # its request was cancelled
                        continue
                    if isinstance(result, BaseException):
                        failure = SharedStoreUnavailable(f"Redis: {type(result).__name__}")
                        failure.__cause__ = result
                        future.set_exception(failure)
                    else:
                        future.set_result(result)
        finally:
            self.sender = None

    async def close(self) -> None:
        if self.sender is not None:
            await asyncio.gather(self.sender, return_exceptions=True)
        await self.client.aclose()


class RedisStore:
    """A :class:`SharedStore` on Redis; every key is under ``prefix``."""

    def __init__(self, url: str, prefix: str = "puente:", *, timeout: float = 1.0) -> None:
        import redis

        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self.prefix = prefix
        self.client: Any = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout,
                                                health_check_interval=30)
        self._incr = self.client.register_script(_INCR)
        self._acquire = self.client.register_script(_ACQUIRE)
        self._url, self._timeout = url, timeout
        self._pipelines: dict[asyncio.AbstractEventLoop, _Pipeline] = {}  # per serving loop

    async def start_async(self) -> None:
        """Serve the coroutines on the running loop (a service's lifespan start)."""
        import redis.asyncio

        client = redis.asyncio.Redis.from_url(self._url, socket_timeout=self._timeout,
                                              socket_connect_timeout=self._timeout, health_check_interval=30)
        self._pipelines[asyncio.get_running_loop()] = _Pipeline(client, self._errors)

    async def stop_async(self) -> None:
        pipeline = self._pipelines.pop(asyncio.get_running_loop(), None)
        if pipeline is not None:
            await pipeline.close()

    def _on_loop(self) -> _Pipeline | None:
        return self._pipelines.get(asyncio.get_running_loop())

    def _k(self, key: str) -> str:
        return self.prefix + key

    def _call(self, action: Any) -> Any:
        try:
            return action()
        except self._errors as exc:
            raise SharedStoreUnavailable(f"Redis: {type(exc).__name__}") from exc

    def put_once(self, key: str, value: bytes, expires_at: int, now: int) -> bool:
        return bool(self._call(lambda: self.client.set(self._k(key), value, nx=True, ex=_ttl(expires_at, now))))

    def put(self, key: str, value: bytes, expires_at: int, now: int) -> None:
        self._call(lambda: self.client.set(self._k(key), value, ex=_ttl(expires_at, now)))

    def get(self, key: str, now: int) -> bytes | None:
        value: bytes | None = self._call(lambda: self.client.get(self._k(key)))
        return value

    def take(self, key: str, now: int) -> bytes | None:
        value: bytes | None = self._call(lambda: self.client.getdel(self._k(key)))
        return value

    def delete(self, key: str) -> None:
        self._call(lambda: self.client.delete(self._k(key)))

    def incr(self, key: str, expires_at: int, now: int) -> int:
        return int(self._call(lambda: self._incr(keys=[self._k(key)], args=[_ttl(expires_at, now)])))

    def acquire(self, key: str, member: str, expires_at: int, now: int, capacity: int) -> bool:
        args: list[str | int] = [member, expires_at, now, capacity, _ttl(expires_at, now)]
        return bool(self._call(lambda: self._acquire(keys=[self._k(key)], args=args)))

    def release(self, key: str, member: str) -> None:
        self._call(lambda: self.client.zrem(self._k(key), member))

    def ping(self) -> None:
        self._call(self.client.ping)

    async def put_once_async(self, key: str, value: bytes, expires_at: int, now: int) -> bool:
        pipeline = self._on_loop()
        if pipeline is None:
            return self.put_once(key, value, expires_at, now)
        return bool(await pipeline.call("SET", self._k(key), value, "NX", "EX", _ttl(expires_at, now)))

    async def incr_async(self, key: str, expires_at: int, now: int) -> int:
        pipeline = self._on_loop()
        if pipeline is None:
            return self.incr(key, expires_at, now)
        # EVAL of the same script as incr: Redis keeps it compiled under its SHA1 after the first.
        return int(await pipeline.call("EVAL", _INCR, 1, self._k(key), _ttl(expires_at, now)))


def open_store(redis_url: str | None, prefix: str = "puente:") -> SharedStore:
    """Redis when a URL is given, else this process's memory."""
    return RedisStore(redis_url, prefix) if redis_url else MemoryStore()


@asynccontextmanager
async def serving(store: SharedStore) -> AsyncIterator[None]:
    """For a service's lifespan: the store's coroutines use this event loop while it serves."""
    if not isinstance(store, RedisStore):
        yield
        return
    await store.start_async()
    try:
        yield
    finally:
        await store.stop_async()


class SharedStoreRequired(RuntimeError):
    """Refusal to start: several processes (or production) and no shared store."""


def require_shared(*, redis_url: str | None, env: str, workers: int, service: str) -> None:
    """Fail closed: more than one worker, or production, needs ``PUENTE_REDIS_URL``."""
    if redis_url:
        return
    if workers > 1 or env == "production":
        raise SharedStoreRequired("\n".join(
            text("operator.shared_store_required", lang, service=service,
                 why=text("operator.workers", lang, workers=workers) if workers > 1 else "PUENTE_ENV=production")
            for lang in LANGUAGES))
