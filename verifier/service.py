"""Verification as the service performs it: the current trust list, cached status lists, the
offline key-binding policy with a replay store, and an outcome log without claims; plus the open
OpenID4VP transactions (verifier/oid4vp/). Replay store and transactions live in the shared store
(servicekit/shared_store.py: memory for one process, Redis for replicas)."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool

from credcore import jws, qr, status_list
from credcore.clock import Clock
from credcore.credential_types import TypeRegistry
from credcore.errors import CredentialError
from credcore.key_binding import OFFLINE_AUDIENCE, KeyBindingPolicy
from credcore.ports import MemoryNonceStore, NonceStore, ReplayStore, SharedStore
from credcore.sdjwt import parse_compact
from credcore.verify import Check, VerificationPolicy, VerificationReport, VerifierMemory, verification_report
from servicekit.shared_store import MemoryStore
from verifier.config import VerifierSettings
from verifier.oid4vp import TransactionStore
from verifier.oid4vp.secure import VerifierIdentity
from verifier.status_cache import StatusCache
from verifier.trust_cache import TrustCache


@dataclass
class Outcome:
    """What the verifier keeps of a verification: no claims, no credential, no holder data."""

    at: int
    credential_type: str | None
    issuer: str | None
    verdict: str


@dataclass
class VerifierService:
    settings: VerifierSettings
    trust: TrustCache
    status: StatusCache
    clock: Clock
    nonces: ReplayStore = field(default_factory=MemoryNonceStore)
    outcomes: deque[Outcome] = field(default_factory=lambda: deque(maxlen=1000))
    transactions: TransactionStore = field(default_factory=TransactionStore)
    store: SharedStore = field(default_factory=MemoryStore)
    identity: VerifierIdentity | None = None  # signs OpenID4VP requests (x509_hash / x509_san_dns)
    # Holder keys imported and status lists verified, remembered between verifications (credcore).
    memory: VerifierMemory = field(default_factory=VerifierMemory)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def policy(self, *, audience: str = OFFLINE_AUDIENCE, nonce: str | None = None,
               require_holder_binding: bool = False) -> VerificationPolicy:
        return VerificationPolicy(
            key_binding=KeyBindingPolicy(audience=audience, nonce=nonce, max_age=self.settings.kb_max_age_seconds,
                                         leeway=self.settings.clock_leeway_seconds),
            require_holder_binding=require_holder_binding,
            leeway=self.settings.clock_leeway_seconds,
        )

    def plan(self, text: str) -> tuple[str, bool]:
        """What to verify and whether verifying it may wait on the network: (the compact SD-JWT a
        QR text decodes to, or ``text`` itself; True when its status list is not fresh in the cache).
        The HTTP layer verifies in the event loop when nothing can wait (CPU only, no thread hand-off)
        and in a worker thread otherwise. Any defect is left to ``verify`` to report, on ``text``."""
        try:
            compact = text.strip()
            if compact.startswith(qr.PREFIX):
                compact = qr.decode(compact, self.memory.qr_points)
            if compact != compact.strip():
                return text, False
            reference = status_list.reference(jws.parse(parse_compact(compact).issuer_jwt).claims())
        except Exception:  # any defect fails verify's format step, before any network: verify reports it
            return text, False
        if reference is None:
            return compact, False
        return compact, not self.status.is_fresh(reference[0])

    def verify(self, text: str, lang: str, policy: VerificationPolicy | None = None,
               use_replay_store: bool = True) -> dict[str, Any]:
        """The report of PRODUCT.md for any input; credential-level failures are reports, not errors."""
        report, types = self.verify_report(text, policy, use_replay_store=use_replay_store)
        return self._body(report, types, lang)

    async def verify_async(self, text: str, lang: str, *, offload: bool = False) -> dict[str, Any]:
        """:meth:`verify` in an event loop, with the replay check awaited rather than waited for:
        the checks run with a store that notes the KB-JWT nonce and lets it pass; then the nonce is
        taken in the shared store (the loop serves other requests meanwhile). If it was used
        before, the checks run again with a store that refuses it, so the report is exactly the one
        :meth:`verify` gives. ``offload`` runs the checks in a worker thread (a status list to fetch)."""
        noted = _NotedNonce()

        def first() -> tuple[VerificationReport, TypeRegistry | None]:
            return self._report(text, None, noted)

        report, types = await run_in_threadpool(first) if offload else first()
        if noted.taken is not None:
            key, expires_at, now = noted.taken
            if not await self.nonces.consume_async(key, expires_at, now):
                report, types = self._report(text, None, _UsedNonce())
        self._remember(report)
        return self._body(report, types, lang)

    def _body(self, report: VerificationReport, types: TypeRegistry | None, lang: str) -> dict[str, Any]:
        body = report.as_json(lang, types)
        reference = report.credential.status if report.credential is not None else None
        # When the issuer last confirmed the status this verdict used (None: the credential has none).
        body["status_checked_at"] = self.status.checked_at(reference[0]) if reference else None
        return body

    def verify_report(self, text: str, policy: VerificationPolicy | None = None, *,
                      use_replay_store: bool = True) -> tuple[VerificationReport, TypeRegistry | None]:
        """The report (rendered later, in the reader's language) and the types to render it with;
        its outcome is logged without claims."""
        report, types = self._report(text, policy, self.nonces if use_replay_store else None)
        self._remember(report)
        return report, types

    def _report(self, text: str, policy: VerificationPolicy | None,
                nonces: NonceStore | None) -> tuple[VerificationReport, TypeRegistry | None]:
        try:
            snapshot = self.trust.current()
        except CredentialError as exc:
            return VerificationReport(False, exc.verdict, [Check("issuer_trust", False, exc.code)], None, exc), None
        report = verification_report(
            text, trust=snapshot.signed.trust_list, types=snapshot.types, clock=self.clock,
            policy=policy or self.policy(), status_source=self.status, nonce_store=nonces, memory=self.memory,
        )
        return report, snapshot.types

    def _remember(self, report: VerificationReport) -> None:
        cred = report.credential
        type_id = cred.type_id if cred else report.partial.get("type_id")
        issuer = cred.issuer_id if cred else (report.partial.get("issuer") or {}).get("id")
        with self._lock:
            self.outcomes.append(Outcome(self.clock.now(), type_id, issuer, report.verdict))


class _NotedNonce:
    """A replay store that notes the one nonce a verification would take and lets it pass; the
    caller takes it for real afterwards (:meth:`VerifierService.verify_async`)."""

    def __init__(self) -> None:
        self.taken: tuple[str, int, int] | None = None

    def consume(self, key: str, expires_at: int, now: int) -> bool:
        self.taken = (key, expires_at, now)
        return True


class _UsedNonce:
    """A replay store for which every nonce was used before."""

    def consume(self, key: str, expires_at: int, now: int) -> bool:
        return False
