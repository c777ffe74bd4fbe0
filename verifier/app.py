"""``create_app(settings)``: the verifier service (PRODUCT.md "Verifier HTTP interface")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, Response

from credcore.clock import Clock, SystemClock
from credcore.keys import PublicKey
from credcore.messages import bilingual
from credcore.ports import SharedNonceStore, SharedStoreUnavailable
from servicekit.logs import configure_logging
from servicekit.metrics import Metrics
from servicekit.middleware import OperationsMiddleware
from servicekit.ratelimit import ForwardedClient, RateLimiter, TrustedProxies
from servicekit.shared_store import open_store, require_shared, serving
from verifier import errors
from verifier.api import offline_api, oid4vp_api, verify_api
from verifier.clients import ClientRegistry, PageTokens
from verifier.config import VerifierSettings
from verifier.oid4vp import TransactionStore
from verifier.oid4vp.secure import load_identity
from verifier.service import VerifierService
from verifier.status_cache import StatusCache
from verifier.trust_cache import Refresher, TrustCache, load_registry_key
from verifier.web import page as scanning_page

LIMITED_PREFIXES = ("/api/v1/verify", "/api/v1/presentation-requests", "/api/v1/page-token", "/vp/")


def _limited(method: str, path: str) -> str | None:
    if method == "POST" and path.startswith(LIMITED_PREFIXES):
        return "verify"
    return None


def build_service(settings: VerifierSettings, *, clock: Clock | None = None, registry_key: PublicKey | None = None,
                  client: httpx.Client | None = None) -> VerifierService:
    clock = clock or SystemClock()
    key = registry_key or load_registry_key(settings)
    trust = TrustCache(settings, key, clock, client)
    store = open_store(settings.redis_url, settings.redis_prefix)
    identity = None
    if settings.vp_certificate_file is not None and settings.vp_key_file is not None:
        identity = load_identity(settings.vp_certificate_file, settings.vp_key_file, settings.vp_client_id_prefix)
    return VerifierService(settings, trust, StatusCache(settings, clock, client), clock,
                           nonces=SharedNonceStore(store),
                           transactions=TransactionStore(settings.open_requests_max, store,
                                                         client_quota=settings.open_requests_per_client), store=store,
                           identity=identity)


def create_app(settings: VerifierSettings, *, service: VerifierService | None = None) -> FastAPI:
    configure_logging()
    require_shared(redis_url=settings.redis_url, env=settings.env, workers=settings.workers, service="verifier")
    proxies = TrustedProxies(settings.trusted_proxies)
    service = service or build_service(settings)
    metrics = Metrics("verifier")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        refresher = None
        if settings.background_refresh:
            refresher = Refresher(service.trust, settings.trust_refresh_seconds)
            refresher.start()
        async with serving(service.store):
            yield
        if refresher is not None:
            refresher.stop()

    app = FastAPI(title="Puente verifier", version="0.1.0", lifespan=lifespan,
                  description=bilingual("api.verifier_description"))
    app.state.service = service
    app.state.verifier_clients = ClientRegistry(settings.clients_path)
    app.state.page_tokens = PageTokens(service.store)
    app.state.metrics = metrics
    errors.install(app)

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    def readyz() -> Response:
        checks: dict[str, bool] = {}
        reason = None
        try:
            service.trust.current()
            checks["trust_list"] = True
        except Exception as exc:  # readiness reports why, it does not crash
            checks["trust_list"], reason = False, getattr(exc, "code", type(exc).__name__)
        try:
            service.store.ping()
            checks["shared_store"] = True
        except SharedStoreUnavailable:
            checks["shared_store"], reason = False, reason or "shared_store_unavailable"
        ready = all(checks.values())
        body = {"ready": ready, "checks": checks, "trust_list_age_seconds": service.trust.age(), "reason": reason}
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/metrics", tags=["operations"])
    def metrics_endpoint(request: Request) -> Response:
        return metrics.guarded(request, env=settings.env, token=settings.metrics_token)

    @app.get("/api/v1/hello", tags=["operations"], include_in_schema=False)
    async def hello() -> dict[str, str]:
        """The trivial endpoint the throughput benchmark divides by."""
        return {"hello": "puente"}

    # Routes are matched in order, and FastAPI walks an included router's routes one by one: the
    # operations routes above come first (the hello and probes match at once), then the API, and
    # the scanning page's many asset routes (and /common/) last, so that API and operations
    # requests do not try each of them first.
    app.include_router(verify_api.router)
    app.include_router(oid4vp_api.router)
    app.include_router(offline_api.router)
    app.include_router(scanning_page.router)
    app.add_middleware(OperationsMiddleware, service="verifier", metrics=metrics,
                       limiter=RateLimiter(settings.rate_limit_per_minute, store=service.store), limited=_limited,
                       max_body=settings.max_body_bytes)
    if proxies:  # outermost: everything inside sees the forwarded client
        app.add_middleware(ForwardedClient, proxies=proxies)
    return app
