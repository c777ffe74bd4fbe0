"""The console's static files, from an allow-list, with the console's security headers."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter
from starlette.responses import FileResponse

from issuer.console.web import HERE, SECURITY_HEADERS

ASSETS = {
    "/console/static/console.css": ("console.css", "text/css; charset=utf-8"),
    "/console/static/console.js": ("console.js", "text/javascript; charset=utf-8"),
    "/console/static/batch.js": ("batch.js", "text/javascript; charset=utf-8"),
}
HEADERS = {**SECURITY_HEADERS, "Cache-Control": "no-cache"}

router = APIRouter(include_in_schema=False)


def _serve(name: str, media_type: str) -> Callable[[], FileResponse]:
    def serve() -> FileResponse:
        return FileResponse(HERE / "static" / name, media_type=media_type, headers=HEADERS)

    return serve


for _path, (_name, _media_type) in ASSETS.items():
    router.add_api_route(_path, _serve(_name, _media_type), methods=["GET", "HEAD"], name=f"console_static:{_name}")
