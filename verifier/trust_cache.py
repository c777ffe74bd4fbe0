"""The trust list as the verifier holds it: pinned registry key, the last good signed copy on disk,
a scheduled refresh, and offline use of that copy up to a maximum age.

A list that fails verification (tampered, signed by another key, expired shape) never replaces
the good one. Past the maximum age, verification fails with ``trust_list_stale``: it does not
quietly go on trusting a list the registry may have changed since.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from credcore.clock import Clock
from credcore.credential_types import TypeRegistry
from credcore.errors import CredentialError, UntrustedIssuerError
from credcore.keys import PublicKey, public_key_from_jwk
from credcore.trust import SignedTrustList, TrustList, verify_trust_list
from servicekit.logs import LOG
from verifier.config import VerifierSettings
from verifier.fetch import FetchError, fetch_text


class RegistryKeyMissing(RuntimeError):
    """No registry key is configured: the verifier cannot trust anything."""


def load_registry_key(settings: VerifierSettings) -> PublicKey:
    text = settings.registry_public_jwk
    if not text and settings.registry_public_jwk_file and Path(settings.registry_public_jwk_file).is_file():
        text = Path(settings.registry_public_jwk_file).read_text("utf-8")
    if not text:
        raise RegistryKeyMissing("PUENTE_REGISTRY_PUBLIC_JWK (or _FILE) is required to pin the registry key")
    try:
        return public_key_from_jwk(json.loads(text))
    except (ValueError, CredentialError) as exc:
        raise RegistryKeyMissing(f"the registry key is not a valid public JWK: {exc}") from exc


@dataclass(frozen=True)
class Snapshot:
    signed: SignedTrustList
    types: TypeRegistry
    token: str


class TrustCache:
    def __init__(self, settings: VerifierSettings, registry_key: PublicKey, clock: Clock,
                 client: httpx.Client | None = None) -> None:
        self.settings, self.registry_key, self.clock = settings, registry_key, clock
        self.client = client
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()
        self.last_error: str | None = None
        self._load_from_disk()

    def _accept(self, token: str) -> Snapshot:
        signed = verify_trust_list(token, self.registry_key)
        types = TypeRegistry.for_vcts(v for issuer in signed.trust_list.issuers.values() for v in issuer.vcts)
        return Snapshot(signed, types, token)

    def _load_from_disk(self) -> None:
        path = self.settings.trust_cache_file
        if not path.is_file():
            return
        try:
            self._snapshot = self._accept(path.read_text("utf-8").strip())
        except CredentialError as exc:
            self.last_error = f"cached trust list rejected: {exc.code}"
            LOG.warning("cached trust list rejected", extra={"service": "verifier"})

    def refresh(self) -> bool:
        """Fetch, verify and keep the list; False (keeping the last good copy) on any failure."""
        try:
            token = fetch_text(self.settings.trust_list_url, settings=self.settings, client=self.client,
                               accept="application/jwt").strip()
            snapshot = self._accept(token)
        except (FetchError, CredentialError) as exc:
            self.last_error = f"{type(exc).__name__}: {getattr(exc, 'code', '') or exc}"
            LOG.warning("trust list refresh failed", extra={"service": "verifier"})
            return False
        current = self._snapshot
        if current is not None and snapshot.signed.iat < current.signed.iat:
            self.last_error = "refused an older trust list than the one held (rollback)"
            return False
        with self._lock:
            self._snapshot = snapshot
            self.last_error = None
        self._save(token)
        return True

    def _save(self, token: str) -> None:
        path = self.settings.trust_cache_file
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(token + "\n", "utf-8")
        os.replace(temporary, path)  # atomic: a crash never leaves half a list

    def current(self) -> Snapshot:
        """The list to verify with now, or a clear reason why there is none."""
        snapshot = self._snapshot
        if snapshot is None:
            raise UntrustedIssuerError("no trust list has been obtained yet", code="trust_list_unavailable")
        if self.clock.now() - snapshot.signed.iat > self.settings.trust_max_age_seconds:
            raise UntrustedIssuerError("the trust list is older than the allowed maximum", code="trust_list_stale")
        return snapshot

    @property
    def held(self) -> Snapshot | None:
        """The last good list, however old (the scanning page judges its age itself)."""
        return self._snapshot

    @property
    def trust_list(self) -> TrustList | None:
        return self._snapshot.signed.trust_list if self._snapshot else None

    def age(self) -> int | None:
        return self.clock.now() - self._snapshot.signed.iat if self._snapshot else None


class Refresher:
    """Refreshes the trust list on a schedule in a daemon thread."""

    def __init__(self, cache: TrustCache, interval: int) -> None:
        self.cache, self.interval = cache, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="trust-refresh", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def waits(self) -> Iterator[float]:
        """Seconds before each next refresh: while no list is held (a first start, before the issuer
        answers), 0.5 s doubling up to 10 s; once one is held, the configured interval."""
        missing = 0.5
        while True:
            if self.cache.trust_list is not None:
                missing = 0.5
                yield float(self.interval)
            else:
                yield min(missing, float(self.interval), 10.0)
                missing *= 2

    def _run(self) -> None:
        waits = self.waits()
        while not self._stop.is_set():
            self.cache.refresh()
            self._stop.wait(next(waits))
