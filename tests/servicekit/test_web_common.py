"""web_common/: one copy of the shared JavaScript, served by the wallet and by the verifier alike."""

from __future__ import annotations

from pathlib import Path

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
