"""``create_app(settings)``: the issuer service (PRODUCT.md "Issuer HTTP interface")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy import text
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, Response

from credcore.clock import Clock
from credcore.messages import bilingual
from issuer import console
from issuer.api import batch_api, public_api, staff_api
from issuer.api.common import (
    master_key_error_response,
    oauth_error_response,
    service_error_response,
    validation_error_response,
)
from issuer.config import Settings
from issuer.deps import Deps, build_deps
from issuer.errors import ServiceError
from issuer.oid4vci import OAuthError
from issuer.secrets_box import MasterKeyError
from servicekit.logs import LOG, configure_logging
from servicekit.metrics import Metrics
from servicekit.middleware import OperationsMiddleware
from servicekit.ratelimit import ForwardedClient, RateLimiter, TrustedProxies
from servicekit.shared_store import require_shared, serving

RATE_LIMITED = ("/token", "/nonce", "/credential", "/offers/")
SIGN_IN_PATHS = ("/console/login", "/console/login/code")


def _limited(method: str, path: str) -> str | None:
    """Unauthenticated endpoints that can be abused get a per-client budget: OpenID4VCI, and the
    console's sign-in forms (password spraying across many names, security.md #111)."""
    if method == "POST" and path.startswith("/i/") and path.endswith("/nonce"):
        return "nonce"  # anonymous and writes a row: its own, tighter budget (security.md #148)
    if path.startswith("/i/") and any(marker in path for marker in RATE_LIMITED):
        return "oid4vci"
    if method == "POST" and path in SIGN_IN_PATHS:
        return "sign_in"
    return None


def _budgets(settings: Settings) -> dict[str, int]:
    """Tighter budgets for some buckets; none when rate limits are off (tests, benchmarks)."""
    return {"nonce": settings.nonce_rate_limit_per_minute} if settings.rate_limit_per_minute > 0 else {}


def create_app(settings: Settings, *, deps: Deps | None = None, clock: Clock | None = None) -> FastAPI:
    configure_logging()
    require_shared(redis_url=settings.redis_url, env=settings.env, workers=settings.workers, service="issuer")
    proxies = TrustedProxies(settings.trusted_proxies)
    deps = deps or build_deps(settings, clock=clock)
    metrics = Metrics("issuer")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = None
        if settings.worker_enabled:
            from issuer.batch_worker import BatchWorker

            worker = BatchWorker(deps, metrics, lease_seconds=settings.batch_lease_seconds)
            worker.start()
        async with serving(deps.store):
            yield
        if worker is not None:
            worker.stop()

    app = FastAPI(title="Puente issuer", version="0.1.0", lifespan=lifespan,
                  description=bilingual("api.issuer_description"))
    app.state.deps = deps
    app.state.metrics = metrics
    app.include_router(staff_api.router)
    app.include_router(public_api.router)
    app.include_router(batch_api.router)
    app.include_router(console.router())
    app.add_exception_handler(ServiceError, service_error_response)
    app.add_exception_handler(OAuthError, oauth_error_response)
    app.add_exception_handler(MasterKeyError, master_key_error_response)
    app.add_exception_handler(RequestValidationError, validation_error_response)

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    def readyz() -> Response:
        checks: dict[str, bool] = {}
        try:
            with deps.session() as session:
                session.execute(text("SELECT 1"))
                checks["database"] = True
                from issuer.institutions import registry_key

                registry_key(session, deps)
                checks["keys"] = True
                from issuer.institutions import trust_document

                trust_document(session, deps)
                checks["trust_list"] = True
        except Exception:  # readiness reports the failed check, it does not crash
            LOG.warning("readiness check failed", exc_info=True)
        ready = all(checks.get(name) for name in ("database", "keys", "trust_list"))
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    @app.get("/metrics", tags=["operations"])
    def metrics_endpoint(request: Request) -> Response:
        return metrics.guarded(request, env=settings.env, token=settings.metrics_token)

    app.add_middleware(CORSMiddleware, allow_origins=[settings.wallet_origin], allow_methods=["GET", "POST"],
                       allow_headers=["Authorization", "Content-Type", "DPoP"], max_age=600)
    app.add_middleware(OperationsMiddleware, service="issuer", metrics=metrics,
                       limiter=RateLimiter(settings.rate_limit_per_minute, _budgets(settings), deps.store),
                       limited=_limited, back_link="/console/login",
                       max_body=settings.max_body_bytes,
                       body_limits={("POST", "/api/v1/batches"):
                                    settings.batch_max_bytes + batch_api.MULTIPART_OVERHEAD,
                                    ("POST", "/console/batches"):
                                    settings.batch_max_bytes + batch_api.MULTIPART_OVERHEAD})
    if proxies:  # outermost: everything inside sees the forwarded client
        app.add_middleware(ForwardedClient, proxies=proxies)
    return app
