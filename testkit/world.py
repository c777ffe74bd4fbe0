"""Shared builders for tests: a deployment with keys, a trust list, status lists and presentations."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import credcore.holder
from credcore.clock import FixedClock
from credcore.credential_types import TypeRegistry
from credcore.issue import IssuedCredential, issue_credential
from credcore.key_binding import OFFLINE_AUDIENCE
from credcore.keys import SigningKey, generate_key
from credcore.ports import MappingStatusSource, MemoryNonceStore
from credcore.status_list import StatusList, build_status_list_token
from credcore.trust import TrustList, format_time, trust_list_document
from credcore.verify import VerificationPolicy, VerificationReport, verification_report

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"
BASE = "https://issuer.example"
NOW = 1_795_000_000  # 2026-11-18T10:13:20Z
REFERENCE_DISCLOSED = ("given_name", "family_name", "competency_code", "competency_title")


def example_claims(type_id: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCHEMAS / "types" / type_id / "examples" / "valid.json").read_text("utf-8"))
    return data


@dataclass
class Institution:
    slug: str
    name: str
    vcts: list[str]
    key: SigningKey = field(default_factory=generate_key)

    @property
    def id(self) -> str:
        return f"{BASE}/i/{self.slug}"

    def status_uri(self, n: int = 1) -> str:
        return f"{self.id}/status/{n}"

    def entry(self, **overrides: Any) -> dict[str, Any]:
        entry = {
            "id": self.id,
            "name": self.name,
            "keys": [self.key.public.jwk()],
            "vcts": self.vcts,
            "valid_from": "2026-01-01T00:00:00Z",
            "valid_until": None,
        }
        entry.update(overrides)
        return entry


class World:
    """A small deployment: SENA (skills), Migración (ppt), an NGO (skills only), one holder."""

    def __init__(self, now: int = NOW) -> None:
        self.clock = FixedClock(now)
        self.types = TypeRegistry.load(BASE)
        skills = self.types.get("skills-certification").vct
        self.sena = Institution("sena", "SENA", [skills, self.types.get("qualification-validation").vct])
        self.migracion = Institution("migracion", "Migración Colombia", [self.types.get("ppt-status").vct])
        self.ngo = Institution("ngo", "Comparte por una Vida", [skills])
        self.holder = generate_key()
        self.status_lists: dict[str, StatusList] = {}
        self.nonces = MemoryNonceStore()

    @property
    def institutions(self) -> list[Institution]:
        return [self.sena, self.migracion, self.ngo]

    def trust_document(self) -> dict[str, Any]:
        now = self.clock.now()
        return trust_list_document(issued_at=now - 3600, next_update=now + 86_400,
                                   issuers=[i.entry() for i in self.institutions])

    def trust(self) -> TrustList:
        return TrustList.from_json(self.trust_document())

    def issue(self, type_id: str = "skills-certification", *, by: Institution | None = None,
              claims: dict[str, Any] | None = None, idx: int = 4242, paper: bool = False,
              **kwargs: Any) -> IssuedCredential:
        by = by or (self.migracion if type_id == "ppt-status" else self.sena)
        kwargs.setdefault("holder_jwk", None if paper else self.holder.public.jwk())
        return issue_credential(
            ctype=self.types.get(type_id), claims=claims or example_claims(type_id), issuer=by.id,
            key=by.key, clock=self.clock, status=(by.status_uri(), idx), paper=paper, **kwargs,
        )

    def present(self, issued: IssuedCredential | str, disclose: tuple[str, ...] = REFERENCE_DISCLOSED, *,
                holder: SigningKey | None = None, aud: str = OFFLINE_AUDIENCE, nonce: str | None = None,
                iat: int | None = None, kb: bool = True) -> str:
        text = issued if isinstance(issued, str) else issued.sd_jwt
        return credcore.holder.present(text, (holder or self.holder) if kb else None, disclose_claims=disclose,
                                       aud=aud, nonce=nonce or None, iat=self.clock.now() if iat is None else iat)

    def status_list(self, by: Institution, n: int = 1) -> StatusList:
        return self.status_lists.setdefault(by.status_uri(n), StatusList())

    def status_token(self, by: Institution, n: int = 1, *, key: SigningKey | None = None, **claims: Any) -> str:
        now = self.clock.now()
        return build_status_list_token(self.status_list(by, n), uri=by.status_uri(n), issuer=by.id,
                                       key=key or by.key, iat=claims.get("iat", now), ttl=claims.get("ttl", 300),
                                       exp=claims.get("exp", now + 3600))

    def status_source(self) -> MappingStatusSource:
        return MappingStatusSource({uri: self.status_token(i, int(uri.rsplit("/", 1)[1]))
                                    for i in self.institutions for uri in self.status_lists
                                    if uri.startswith(i.id + "/")} |
                                   {i.status_uri(): self.status_token(i) for i in self.institutions})

    def verify(self, text: str, *, trust: TrustList | None = None, policy: VerificationPolicy | None = None,
               status_source: Any = "default") -> VerificationReport:
        return verification_report(
            text, trust=trust or self.trust(), types=self.types, clock=self.clock,
            policy=policy or VerificationPolicy(),
            status_source=self.status_source() if status_source == "default" else status_source,
            nonce_store=self.nonces,
        )


def iso(seconds: int) -> str:
    return format_time(seconds)
