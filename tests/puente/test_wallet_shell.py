"""The wallet's service worker keeps every file the wallet runs: a module missing from its shell would
break the wallet offline (one module per screen, wallet_web/js/screens/)."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from puente.wallet_app import create_wallet_app

WALLET = Path(__file__).resolve().parents[2] / "wallet_web"


def test_every_wallet_script_is_in_the_offline_shell_and_served() -> None:
    shell = set(re.findall(r"'(/[^']*)'", (WALLET / "sw.js").read_text().split("];")[0]))
    scripts = {"/" + path.relative_to(WALLET).as_posix() for path in (WALLET / "js").rglob("*.js")}
    assert "/js/screens/home.js" in scripts
    assert scripts - shell == set()
    with TestClient(create_wallet_app()) as client:
        for path in sorted(shell - {"/config.json"}):
            assert client.get(path).status_code == 200, path


_IMPORT = re.compile(r"""(?:^|\n)\s*(?:import|export)\s[^;'"]*?from\s*['"]([^'"]+)['"]"""
                     r"""|(?:^|\n)\s*import\s*['"]([^'"]+)['"]""")


def _static_imports(url: str) -> set[str]:
    """URL paths the module at ``url`` imports statically (relative specifiers resolved)."""
    root = WALLET if not url.startswith("/common/") else WALLET.parent / "web_common"
    path = root / (url.removeprefix("/common/") if url.startswith("/common/") else url.lstrip("/"))
    if path.suffix != ".js":
        return set()
    found = set()
    for match in _IMPORT.finditer(path.read_text("utf-8")):
        spec = match.group(1) or match.group(2)
        if spec.startswith("/"):
            found.add(spec)
        elif spec.startswith("."):
            found.add(_normalise(url.rsplit("/", 1)[0] + "/" + spec))
    return found


def _normalise(url: str) -> str:
    parts: list[str] = []
    for part in url.split("/"):
        if part == "..":
            parts.pop()
        elif part not in (".", ""):
            parts.append(part)
    return "/" + "/".join(parts)


def test_every_module_the_wallet_imports_from_common_is_in_the_offline_shell() -> None:
    """Shared modules (web_common/, served at /common/) too: pt1.js needs inflate.js, jose.js the
    verifier's verify/jose.js; one missing file and the wallet would not open offline."""
    shell = set(re.findall(r"'(/[^']*)'", (WALLET / "sw.js").read_text().split("];")[0]))
    seen: set[str] = set()
    todo = ["/js/app.js"]
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        todo.extend(_static_imports(url))
    assert "/common/inflate.js" in seen and "/common/verify/jose.js" in seen
    assert seen - shell == set()
