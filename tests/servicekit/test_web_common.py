"""web_common/: one copy of the shared JavaScript, served by the wallet and by the verifier alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from credcore import qr
from puente.wallet_app import create_wallet_app
from servicekit.web_common import WEB_COMMON_DIR, shared_files
from verifier.web import page

ROOT = Path(__file__).resolve().parents[2]


def test_shared_files_are_the_allowed_kinds_and_the_pt1_tables() -> None:
    files = shared_files()
    for name in ("bytes.js", "jose.js", "sdjwt.js", "pt1.js"):
        assert files[f"/common/{name}"][0] == WEB_COMMON_DIR / name
    assert files["/common/qr-format-tables.json"] == (qr.TABLES_FILE, "application/json")
    assert "/common/README.md" not in files and all(not path.endswith(".py") for path in files)


def test_no_copy_of_a_shared_module_is_left_in_the_wallet_or_the_page() -> None:
    for name in ("bytes.js", "jose.js", "sdjwt.js", "pt1.js"):
        assert not (ROOT / "wallet_web" / "js" / name).exists(), name
        assert not (ROOT / "verifier" / "web" / name).exists(), name
    for source in (ROOT / "wallet_web" / "js").glob("*.js"):
        assert "FRAGMENTS = " not in source.read_text("utf-8"), source.name


def test_the_wallet_and_the_verifier_serve_the_same_bytes() -> None:
    routes = {route.path for route in page.router.routes}
    assert set(shared_files()) <= routes
    with TestClient(create_wallet_app()) as client:
        for path, (file, kind) in shared_files().items():
            response = client.get(path)
            assert response.status_code == 200 and response.content == file.read_bytes(), path
            assert response.headers["content-type"] == kind
        assert client.get("/common/README.md").status_code == 404


def _page_app() -> FastAPI:
    app = FastAPI()
    app.include_router(page.router)
    return app


@pytest.mark.parametrize(("make_app", "path"), [
    (create_wallet_app, "/common/pt1.js"),
    (create_wallet_app, "/common/scan/scanner.js"),
    (_page_app, "/common/pt1.js"),
    (_page_app, "/app.js"),
    (_page_app, "/"),
])
def test_a_file_the_client_holds_is_answered_304_with_no_body(make_app: Any, path: str) -> None:
    """The page and its service worker both revalidate (Cache-Control: no-cache): what the client
    already holds costs a 304, not the file again (the wallet's first visit fell from 151 KB to 113 KB)."""
    with TestClient(make_app()) as client:
        first = client.get(path)
        etag = first.headers["etag"]
        assert first.status_code == 200 and first.content and first.headers["cache-control"] == "no-cache"
        for asked in (etag, f"W/{etag}", f'"other", {etag}', "*"):
            again = client.get(path, headers={"If-None-Match": asked})
            assert again.status_code == 304 and again.content == b"", asked
            assert again.headers["etag"] == etag
            assert again.headers["content-security-policy"] == first.headers["content-security-policy"]
        changed = client.get(path, headers={"If-None-Match": '"not-this-one"'})
        assert changed.status_code == 200 and changed.content == first.content


def test_the_page_answers_304_for_a_large_file_it_sends_gzipped() -> None:
    """zxing-wasm (over GZIP_FROM) goes out gzipped with an ETag of its own; the same conditional
    rules as every other file (weak tags, lists, ``*``) give a bodiless 304."""
    path = "/common/vendor/zxing_wasm/reader/zxing_reader.wasm"
    with TestClient(_page_app()) as client:
        first = client.get(path, headers={"Accept-Encoding": "gzip"})
        etag = first.headers["etag"]
        assert first.status_code == 200 and first.headers["content-encoding"] == "gzip"
        for asked in (etag, f"W/{etag}", f'"other", {etag}', "*"):
            again = client.get(path, headers={"Accept-Encoding": "gzip", "If-None-Match": asked})
            assert again.status_code == 304 and again.content == b"", asked
        assert client.get(path, headers={"Accept-Encoding": "gzip", "If-None-Match": '"x"'}).status_code == 200
