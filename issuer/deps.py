"""The issuer's dependencies, built once by ``create_app`` (or a CLI command) from Settings."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from credcore.clock import Clock, SystemClock
from credcore.credential_types import TypeRegistry
from credcore.ports import SharedStore
from issuer.caches import Caches
from issuer.config import Settings
from issuer.db.engine import make_engine, private_dir
from issuer.secrets_box import SecretBox, make_box
from servicekit.shared_store import MemoryStore, open_store


@dataclass
class Deps:
    settings: Settings
    engine: Engine
    box: SecretBox
    types: TypeRegistry
    clock: Clock = field(default_factory=SystemClock)
    random_bytes: Callable[[int], bytes] = os.urandom
    # What every replica shares (rate limits): Redis when PUENTE_REDIS_URL is set, else memory.
    store: SharedStore = field(default_factory=MemoryStore)
    # What this process keeps between requests (opened signing keys, signed status lists): fresh for
    # every Deps, also one made with dataclasses.replace (another master key opens the keys again).
    caches: Caches = field(default_factory=Caches, init=False, repr=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    def now(self) -> int:
        return self.clock.now()


def build_deps(settings: Settings, *, clock: Clock | None = None) -> Deps:
    private_dir(Path(settings.var_dir))
    return Deps(
        settings=settings,
        engine=make_engine(settings.database_url),
        box=make_box(settings),
        types=TypeRegistry.load(settings.base_url),
        clock=clock or SystemClock(),
        store=open_store(settings.redis_url, settings.redis_prefix),
    )
