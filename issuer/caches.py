"""What an issuer process keeps in memory between requests, owned by its ``Deps`` (never by a
module): the signing keys opened with the master key, and the signed status lists last served."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from credcore.keys import SigningKey


@dataclass
class ServedStatusList:
    """A signed status list, served again while its version and key are current and it is fresh."""

    version: int
    kid: str
    token: str
    exp: int


@dataclass
class Caches:
    signing_keys: dict[str, SigningKey] = field(default_factory=dict)  # kid -> the opened private key
    status_tokens: dict[tuple[str, int], ServedStatusList] = field(default_factory=dict)  # (list id, number)
    lock: threading.Lock = field(default_factory=threading.Lock)
