"""Verification as the service performs it: the current trust list, cached status lists, the
offline key-binding policy with a replay store, and an outcome log without claims."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from credcore.clock import Clock
from credcore.errors import CredentialError
from credcore.key_binding import OFFLINE_AUDIENCE, KeyBindingPolicy
from credcore.messages import message
from credcore.ports import MemoryNonceStore
from credcore.verify import VerificationPolicy, verification_report
from verifier.config import VerifierSettings
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
    nonces: MemoryNonceStore = field(default_factory=MemoryNonceStore)
    outcomes: deque[Outcome] = field(default_factory=lambda: deque(maxlen=1000))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def policy(self, *, audience: str = OFFLINE_AUDIENCE, nonce: str | None = None,
               require_holder_binding: bool = False) -> VerificationPolicy:
        return VerificationPolicy(
            key_binding=KeyBindingPolicy(audience=audience, nonce=nonce, max_age=self.settings.kb_max_age_seconds,
                                         leeway=self.settings.clock_leeway_seconds),
            require_holder_binding=require_holder_binding,
            leeway=self.settings.clock_leeway_seconds,
        )

    def verify(self, text: str, lang: str, policy: VerificationPolicy | None = None,
               use_replay_store: bool = True) -> dict[str, Any]:
        """The report of PRODUCT.md for any input; credential-level failures are reports, not errors."""
        try:
            snapshot = self.trust.current()
        except CredentialError as exc:
            return self._unavailable(exc, lang)
        report = verification_report(
            text, trust=snapshot.signed.trust_list, types=snapshot.types, clock=self.clock,
            policy=policy or self.policy(), status_source=self.status,
            nonce_store=self.nonces if use_replay_store else None,
        )
        body = report.as_json(lang, snapshot.types)
        self._remember(body)
        return body

    def _unavailable(self, exc: CredentialError, lang: str) -> dict[str, Any]:
        label = "Entidad de confianza" if lang == "es" else "Trusted issuer"
        body = {"valid": False, "verdict": exc.verdict, "credential_type": None, "credential_name": None,
                "issuer": None, "claims": {}, "labels": {}, "holder_binding": "absent", "expires_at": None,
                "checks": [{"name": "issuer_trust", "label": label, "ok": False, "code": exc.code}],
                "error": {"code": exc.code, "message": message(exc.code, lang), "detail": exc.description}}
        self._remember(body)
        return body

    def _remember(self, body: dict[str, Any]) -> None:
        issuer = body.get("issuer") or {}
        with self._lock:
            self.outcomes.append(Outcome(self.clock.now(), body.get("credential_type"), issuer.get("id"),
                                         body["verdict"]))
