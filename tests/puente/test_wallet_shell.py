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
