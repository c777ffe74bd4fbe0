"""Serves the scanning page and its assets from an allow-list, each with a strict
Content-Security-Policy (security.md #119: claim text is untrusted; #101: QR content is data).

Explicit routes rather than a static mount, so that nothing else in this folder (Python, READMEs)
is ever served, and every response carries the same security headers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi import APIRouter
from starlette.responses import FileResponse

from credcore.resources import package_dir
from servicekit.web_common import shared_files

WEB_DIR = package_dir("verifier.web")

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; media-src 'self' blob:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
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
    "/style.css": ("style.css", "text/css; charset=utf-8"),
    "/icon.svg": ("icon.svg", "image/svg+xml"),
    "/scan.svg": ("scan.svg", "image/svg+xml"),
    "/image.svg": ("image.svg", "image/svg+xml"),
    "/vendor/jsQR.js": ("vendor/jsQR.js", "text/javascript; charset=utf-8"),
    "/vendor/jsQR.LICENSE": ("vendor/jsQR.LICENSE", "text/plain; charset=utf-8"),
    # The verification recipe in the browser (offline verification; credcore/verify.py's rules).
    **{f"/core/{name}.js": (f"core/{name}.js", "text/javascript; charset=utf-8")
       for name in ("errors", "jose", "sdjwt", "claims", "status", "trust", "verify")},
}

router = APIRouter(include_in_schema=False)


def _route(file: Path, media_type: str) -> Callable[[], FileResponse]:
    def serve() -> FileResponse:
        return FileResponse(file, media_type=media_type, headers=SECURITY_HEADERS)

    return serve


for _path, (_name, _media_type) in ASSETS.items():
    router.add_api_route(_path, _route(WEB_DIR / _name, _media_type), methods=["GET", "HEAD"],
                         name=f"scanning_page:{_name}")
# /common/…: the JavaScript the scanning page shares with the wallet (one PT1, SD-JWT and JOSE).
for _path, (_file, _media_type) in shared_files().items():
    router.add_api_route(_path, _route(_file, _media_type), methods=["GET", "HEAD"], name=f"scanning_page:{_path}")
