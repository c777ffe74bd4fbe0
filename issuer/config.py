"""Issuer settings from ``PUENTE_*`` environment variables (pydantic-settings).

Nothing is read at import time: ``Settings()`` is built by the composition root (the CLI or a
test) and passed to ``create_app(settings)``. Development defaults apply only when
``PUENTE_ENV=development``; in production the master key must be given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PUENTE_", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    database_url: str = "sqlite:///var/puente.db"
    # Shared state of every replica (rate limits): Redis when set, else this process's memory.
    redis_url: str | None = None
    redis_prefix: str = "puente:issuer:"
    workers: int = 1  # processes serving this app (set by ``puente serve --workers``)
    # Reverse proxies (addresses or CIDR networks, comma-separated) whose X-Forwarded-For names the
    # client, as deploy/haproxy.cfg sets it; from any other peer the header is ignored. None by default.
    trusted_proxies: str = ""
    var_dir: Path = Path("var")
    public_issuer_url: str = "http://127.0.0.1:8001"
    wallet_origin: str = "http://127.0.0.1:8003"
    # base64url of 32 random bytes; in development a generated var/master.key (mode 0600) is used.
    master_key: str | None = None
    # Master-key rotation (security.md #163): earlier master keys, comma-separated, still open what
    # they sealed until `puente keys rotate-master` has re-sealed everything; keyed hashes (API keys,
    # codes, document numbers) keep the original master key as PUENTE_HASH_KEY.
    old_master_keys: str | None = None
    hash_key: str | None = None
    signing_alg: Literal["ES256", "EdDSA"] = "ES256"
    offer_ttl_seconds: int = 30 * 86_400  # the offer (and its PDF) can be redeemed for 30 days
    pre_authorized_code_ttl_seconds: int = 600
    access_token_ttl_seconds: int = 300
    c_nonce_ttl_seconds: int = 300
    tx_code_max_attempts: int = 5
    proof_max_age_seconds: int = 300
    # OpenID4VCI batch issuance: up to this many copies per redemption, one per holder key proven,
    # each with its own salts and decoys (unlinkable presentations), all sharing one status entry.
    credential_batch_size: int = 10
    status_list_size: int = 131_072
    status_list_fill_limit: float = 0.75  # open a new list before random probing gets slow
    # Revocation freshness: verifiers refetch a list when its ttl ends (conditionally: 304 when
    # unchanged); HTTP caches may keep it status_list_cache_seconds more. The longest a revocation
    # takes to reach every verifier is their sum (revocation_delay_seconds), 60 s by default.
    status_list_ttl_seconds: int = 60
    status_list_cache_seconds: int = 0
    status_list_validity_seconds: int = 86_400
    trust_list_validity_seconds: int = 86_400
    batch_max_bytes: int = 20 * 1024 * 1024
    batch_max_rows: int = 100_000
    batch_chunk_rows: int = 500
    batch_lease_seconds: int = 30  # a worker that dies (kill -9) holds its batch this long
    max_body_bytes: int = 1024 * 1024
    rate_limit_per_minute: int = 120  # per client address on token, nonce, offers and credential
    nonce_rate_limit_per_minute: int = 30  # per client address on the nonce endpoint (a wallet needs one)
    max_live_nonces: int = 10_000  # unexpired c_nonces per institution; past it the endpoint answers 503
    worker_enabled: bool = True
    # One person's one-by-one revocations per hour before a second person must act (security.md #161).
    revocations_per_hour: int = 20
    # Outside development /metrics answers only a loopback client or "Authorization: Bearer <token>".
    metrics_token: str | None = None

    @property
    def revocation_delay_seconds(self) -> int:
        return self.status_list_ttl_seconds + min(self.status_list_cache_seconds, self.status_list_ttl_seconds)

    @property
    def base_url(self) -> str:
        return self.public_issuer_url.rstrip("/")

    def issuer_id(self, slug: str) -> str:
        return f"{self.base_url}/i/{slug}"
