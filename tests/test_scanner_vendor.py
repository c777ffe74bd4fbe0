"""web_common/: one copy of each vendored decoder, unmodified (the SHA-256 pinned in its README), served
by both the wallet and the verifier with the right types; and no second copy anywhere (issue 10 item 6)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from puente.wallet_app import create_wallet_app

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "web_common" / "vendor"
PINNED = {
    "jsQR.js": "bc40c8a15196236b2314db0856f72ca0b49980cd5413b8c852a7349f5fee0859",
    "zxing_wasm/es/share.js": "b595f0f4c1060b5e2a45aecf0331e576181dc281b168cb22e98f8db69d16457a",
    "zxing_wasm/es/reader/index.js": "368838c01a37be49b8daa833c3d9d253950fd9c29b8c98b9092018c9fd43b03c",
    "zxing_wasm/reader/zxing_reader.wasm": "5003fb4b88c4fbd1fd518a2fd8c8ad365c519e183a08c03a322dddfea3cea84e",
}
LICENCES = ("jsQR.LICENSE", "zxing_wasm/zxing-wasm.LICENSE", "zxing_wasm/ZXING-CPP.LICENSE")


@pytest.mark.parametrize("name", sorted(PINNED))
def test_vendored_file_is_the_pinned_one(name: str) -> None:
    digest = hashlib.sha256((VENDOR / name).read_bytes()).hexdigest()
    assert digest == PINNED[name]
    assert digest in (VENDOR / "README.md").read_text("utf-8")


def test_the_wasm_is_the_one_its_loader_expects() -> None:
    """zxing-wasm's reader carries the SHA-256 of the .wasm it was built with."""
    loader = (VENDOR / "zxing_wasm/es/reader/index.js").read_text("utf-8")
    assert f'"{PINNED["zxing_wasm/reader/zxing_reader.wasm"]}"' in loader


def test_licences_are_there() -> None:
    for name in LICENCES:
        assert "Permission is hereby granted" in (VENDOR / name).read_text("utf-8") or \
            "Apache License" in (VENDOR / name).read_text("utf-8"), name


def test_one_scanner_and_one_copy_of_each_decoder() -> None:
    def found(pattern: str) -> list[str]:
        return sorted(str(p.relative_to(ROOT)) for p in ROOT.glob(pattern)
                      if not {".venv", "node_modules", "build"} & set(p.relative_to(ROOT).parts))

    for tree in ("wallet_web", "verifier", "issuer", "web_common"):
        assert found(f"{tree}/**/jsQR*.js") == (["web_common/vendor/jsQR.js"] if tree == "web_common" else [])
        assert found(f"{tree}/**/*.wasm") == (
            ["web_common/vendor/zxing_wasm/reader/zxing_reader.wasm"] if tree == "web_common" else [])
    # The camera is opened in one module only.
    users = [p for p in found("**/*.js") if "getUserMedia(" in (ROOT / p).read_text("utf-8")]
    assert [p for p in users if not p.startswith("tests/")] == ["web_common/scan/scanner.js"]


def test_the_wallet_serves_web_common() -> None:
    with TestClient(create_wallet_app()) as client:
        wasm = client.get("/common/vendor/zxing_wasm/reader/zxing_reader.wasm")
        assert wasm.status_code == 200 and wasm.headers["content-type"] == "application/wasm"
        assert wasm.headers["content-encoding"] == "gzip"
        script = client.get("/common/scan/scanner.js")
        assert script.headers["content-type"].startswith("text/javascript")
        assert "'wasm-unsafe-eval'" in script.headers["content-security-policy"]
        assert client.get("/common/vendor/zxing_wasm/es/reader/index.d.ts").status_code == 404
        assert client.get("/vendor/jsQR.js").status_code == 404  # the old copy is gone
