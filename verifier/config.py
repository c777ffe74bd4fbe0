"""Verifier settings from ``PUENTE_*`` environment variables (built by the composition root)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


class VerifierSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PUENTE_", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    var_dir: Path = Path("var")
    public_verifier_url: str = "http://127.0.0.1:8002"
    # The registry's public key (a JWK as JSON), pinned; or a file holding it.
    registry_public_jwk: str | None = None
    registry_public_jwk_file: Path | None = None
    trust_list_url: str = "http://127.0.0.1:8001/trust-list"
    trust_refresh_seconds: int = 300
    trust_max_age_seconds: int = 7 * 86_400  # verify offline from the last good copy this long
    fetch_timeout_seconds: float = 3.0
    fetch_max_bytes: int = 2 * 1024 * 1024
    status_ttl_min_seconds: int = 30
    status_ttl_max_seconds: int = 86_400
    # How old a status may be for a "valid" verdict: lists are refreshed at least this often, and a
    # copy older than this (issuer unreachable) makes the status unavailable, never valid.
    status_max_age_seconds: int = 60
    kb_max_age_seconds: int = 300
    clock_leeway_seconds: int = 60
    max_body_bytes: int = 64 * 1024
    rate_limit_per_minute: int = 600
    presentation_request_ttl_seconds: int = 600
    # OpenID4VP identity (HAIP): a certificate chain (PEM, leaf first) and its P-256 key. With them
    # requests are signed (client id x509_hash or x509_san_dns) and answers come encrypted
    # (direct_post.jwt); without them the client id is redirect_uri:<response uri>, unsigned.
    vp_certificate_file: Path | None = None
    vp_key_file: Path | None = None
    vp_client_id_prefix: Literal["x509_hash", "x509_san_dns"] = "x509_hash"
    vp_response_mode: Literal["direct_post", "direct_post.jwt"] = "direct_post.jwt"
    # The verifier's name as wallets show it, in Spanish and English (client_metadata.client_name).
    vp_name_es: str = "Verificador Puente"
    vp_name_en: str = "Puente verifier"
    # redirect_uri requests: every parameter in the QR itself when it fits, else by reference.
    vp_request_by_value: bool = False
    background_refresh: bool = True
    # Shared state of every replica (nonces, OpenID4VP requests, rate limits, quotas): Redis when
    # set, else this process's memory (one process only: see servicekit.shared_store.require_shared).
    redis_url: str | None = None
    redis_prefix: str = "puente:verifier:"
    workers: int = 1  # processes serving this app (set by ``puente serve --workers``)
    # Reverse proxies (addresses or CIDR networks, comma-separated) whose X-Forwarded-For names the
    # client, as deploy/haproxy.cfg sets it; from any other peer the header is ignored. None by default.
    trusted_proxies: str = ""
    open_requests_max: int = 10_000
    open_requests_per_client: int = 50  # one client filling its quota never stops another
    # Who may create presentation requests: verifier clients (API keys from `puente
    # verifier-client create`, kept as digests in this file) and the scanning page (page tokens).
    # Required in production; None = required only when PUENTE_ENV=production.
    verifier_clients_file: Path | None = None
    require_client_credentials: bool | None = None
    # Outside development /metrics answers only a loopback client or "Authorization: Bearer <token>".
    metrics_token: str | None = None

    @property
    def base_url(self) -> str:
        return self.public_verifier_url.rstrip("/")

    @property
    def clients_path(self) -> Path:
        return Path(self.verifier_clients_file or Path(self.var_dir) / "verifier-clients.json")

    @property
    def clients_required(self) -> bool:
        return self.env == "production" if self.require_client_credentials is None else self.require_client_credentials

    @property
    def trust_cache_file(self) -> Path:
        return Path(self.var_dir) / "verifier-trust-list.jwt"
