"""``create_wallet_app()``: the web wallet (``wallet_web/``) as static files with strict headers.

The wallet is a PWA with no server-side state: everything the holder owns stays in the browser,
encrypted (PRODUCT.md "Web wallet"). This app only serves the files, each with a Content-Security-
Policy that forbids inline script and style and requires Trusted Types (security.md #119: claim
text is untrusted and must never become markup), and ``Cache-Control: no-cache`` so that every load
revalidates (ETag) and a fixed ``sw.js`` reaches every phone on its next visit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from credcore.resources import package_dir
from servicekit.static import file_response
from servicekit.web_common import shared_files

WALLET_DIR = package_dir("wallet_web")

# Only these kinds of file are served (anything else in the folder is a 404), with fixed types
# rather than the platform's mimetypes table.
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".LICENSE": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
}
# Where the wallet may send requests: its own origin and the credential issuers (OpenID4VCI offers,
# metadata, token, nonce, credential, keys and status lists). Issuers are https in production; the
# development and test issuers listen on loopback over plain http.
LOOPBACK_ISSUERS = ("http://127.0.0.1:*", "http://localhost:*")
# js/app.js: "puente-wallet" allows only "/sw.js"; the shared scanner's "puente-scanner" only its worker.
TRUSTED_TYPES_POLICIES = ("puente-wallet", "puente-scanner", "puente-sw")


def content_security_policy(connect_src: Sequence[str]) -> str:
    return "; ".join([
        "default-src 'none'",
        "script-src 'self' 'wasm-unsafe-eval'",  # compiling the QR decoder's WebAssembly, nothing else
        "style-src 'self'",
        "img-src 'self' data: blob:",
        f"connect-src {' '.join(connect_src)}",
        "media-src 'self' blob:",
        "worker-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
        "require-trusted-types-for 'script'",
        f"trusted-types {' '.join(TRUSTED_TYPES_POLICIES)}",
    ])


def security_headers(csp: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Permissions-Policy": "camera=(self), microphone=(), geolocation=(), payment=()",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        "X-Frame-Options": "DENY",
        # Revalidate on every load (cheap with ETag); the service worker keeps the offline copy.
        "Cache-Control": "no-cache",
    }


class _WalletFiles(StaticFiles):
    """StaticFiles (path containment, ETag, 304, HEAD) limited to the wallet's kinds of file."""

    def file_response(self, full_path: Any, stat_result: Any, scope: Scope, status_code: int = 200) -> Response:
        name = Path(full_path).name
        media_type = MEDIA_TYPES.get(Path(name).suffix)
        if media_type is None or name.startswith("."):
            return PlainTextResponse("Not found", status_code=404)
        response = super().file_response(full_path, stat_result, scope, status_code)
        if response.status_code != 304:
            response.headers["content-type"] = media_type
        return response


class _SecurityHeaders:
    """Adds the same headers to every response, errors included."""

    def __init__(self, app: ASGIApp, headers: dict[str, str]) -> None:
        self.app = app
        self.headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k for k, _ in self.headers}
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": kept + self.headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def _shared_routes() -> list[Route]:
    """``/common/…``: the JavaScript the wallet shares with the scanning page (servicekit.web_common)."""

    def serve(file: Path, media_type: str) -> Any:
        async def endpoint(request: Request) -> Response:
            return file_response(request, file, media_type)

        return endpoint

    return [Route(path, serve(file, kind), methods=["GET", "HEAD"]) for path, (file, kind) in shared_files().items()]


async def _healthz(_: Request) -> Response:
    return JSONResponse({"status": "ok"})


def wallet_config(trust_list_url: str | None, registry_jwk: Mapping[str, str] | None) -> dict[str, Any]:
    """What ``/config.json`` tells the wallet: where the signed trust list is and the registry's
    public key to check it with (pinned by this deployment). Empty when not configured: the wallet
    then checks a credential's signature against its issuer's own published keys only."""
    if trust_list_url is None or registry_jwk is None:
        return {}
    if "d" in registry_jwk or not registry_jwk.get("kid"):
        raise ValueError("registry_jwk must be the registry's public JWK with its kid")
    return {"trust_list_url": trust_list_url, "registry_jwk": dict(registry_jwk)}


def create_wallet_app(*, web_dir: Path | None = None, allow_loopback_issuers: bool = True,
                      issuer_origins: Sequence[str] = ("https:",), trust_list_url: str | None = None,
                      registry_jwk: Mapping[str, str] | None = None) -> Starlette:
    """The wallet's static files on ``/`` (``index.html`` for ``/``), ``GET /config.json`` and
    ``GET /healthz``.

    ``issuer_origins`` are the origins (CSP source expressions) the wallet may contact to receive
    credentials: any https issuer by default, or a fixed list. ``allow_loopback_issuers`` adds
    http on 127.0.0.1/localhost for development and tests; turn it off in production.
    ``trust_list_url`` and ``registry_jwk`` (the pinned registry public key) make the wallet check,
    before storing a credential, that its issuer is accredited for its type on the signed trust list.
    """
    directory = web_dir or WALLET_DIR
    if not (directory / "index.html").is_file():
        raise RuntimeError(f"wallet files not found in {directory}")
    connect_src = ["'self'", *issuer_origins, *(LOOPBACK_ISSUERS if allow_loopback_issuers else ())]
    config = wallet_config(trust_list_url, registry_jwk)

    async def config_json(_: Request) -> Response:
        return JSONResponse(config)

    return Starlette(
        routes=[Route("/healthz", _healthz, methods=["GET"]),
                Route("/config.json", config_json, methods=["GET"]),
                *_shared_routes(),
                Mount("/", app=_WalletFiles(directory=directory, html=True), name="wallet")],
        middleware=[Middleware(_SecurityHeaders, headers=security_headers(content_security_policy(connect_src))),
                    Middleware(GZipMiddleware, minimum_size=512)],
    )
