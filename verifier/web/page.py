"""Serves the scanning page and its assets from an allow-list, each with a strict
Content-Security-Policy (security.md #119: claim text is untrusted; #101: QR content is data).

Explicit routes rather than a static mount, so that nothing else in this folder (Python, READMEs)
is ever served, and every response carries the same security headers.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
from collections.abc import Callable
from pathlib import Path

from fastapi import APIRouter, Request
from starlette.responses import Response

from credcore.resources import package_dir
from servicekit.static import file_response, holds
from servicekit.web_common import shared_files

WEB_DIR = package_dir("verifier.web")

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; media-src 'self' blob:; worker-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    # Revalidate on every load (ETag/Last-Modified make it cheap) so a fix reaches every phone.
    "Cache-Control": "no-cache",
}

# URL path → (file under WEB_DIR, media type)
ASSETS: dict[str, tuple[str, str]] = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/i18n.js": ("i18n.js", "text/javascript; charset=utf-8"),
    "/offline.js": ("offline.js", "text/javascript; charset=utf-8"),
    "/online.js": ("online.js", "text/javascript; charset=utf-8"),
    "/store.js": ("store.js", "text/javascript; charset=utf-8"),
    "/sw.js": ("sw.js", "text/javascript; charset=utf-8"),
    "/manifest.webmanifest": ("manifest.webmanifest", "application/manifest+json"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
    "/icon.svg": ("icon.svg", "image/svg+xml"),
    "/scan.svg": ("scan.svg", "image/svg+xml"),
    "/image.svg": ("image.svg", "image/svg+xml"),
}

router = APIRouter(include_in_schema=False)


def _route(file: Path, media_type: str) -> Callable[[Request], Response]:
    def serve(request: Request) -> Response:
        return file_response(request, file, media_type, SECURITY_HEADERS)

    return serve


for _path, (_name, _media_type) in ASSETS.items():
    router.add_api_route(_path, _route(WEB_DIR / _name, _media_type), methods=["GET", "HEAD"],
                         name=f"scanning_page:{_name}")


GZIP_FROM = 32 * 1024  # shared files at least this large are sent compressed to clients that accept it


@functools.lru_cache(maxsize=16)
def _gzipped(file: Path, mtime_ns: int) -> tuple[bytes, str]:
    """The file gzipped once (per version on disk) and its ETag."""
    body = gzip.compress(file.read_bytes(), compresslevel=9, mtime=0)
    return body, f'"gz-{hashlib.sha256(body).hexdigest()[:32]}"'


def _shared_route(file: Path, media_type: str) -> Callable[[Request], Response]:
    """A shared file. The QR decoders are large (zxing-wasm: 925 KB, about 400 KB gzipped) and this
    app compresses nothing else, so large files are gzipped here, with an ETag for revalidation."""

    def serve(request: Request) -> Response:
        if file.stat().st_size < GZIP_FROM or "gzip" not in request.headers.get("accept-encoding", ""):
            return file_response(request, file, media_type, SECURITY_HEADERS)
        body, etag = _gzipped(file, file.stat().st_mtime_ns)
        headers = {**SECURITY_HEADERS, "ETag": etag, "Vary": "Accept-Encoding"}
        if holds(request, etag):
            return Response(status_code=304, headers=headers)
        return Response(body, media_type=media_type, headers={**headers, "Content-Encoding": "gzip"})

    return serve


# /common/…: the JavaScript the scanning page shares with the wallet (one PT1, SD-JWT and JOSE, the QR
# scanner and its decoders).
for _path, (_file, _media_type) in shared_files().items():
    router.add_api_route(_path, _shared_route(_file, _media_type), methods=["GET", "HEAD"],
                         name=f"scanning_page:{_path}")
