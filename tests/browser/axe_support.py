"""The automated WCAG 2.1 A/AA audit (axe-core, run in Chromium) that the console's and the wallet's
accessibility tests run on each page they visit (tests/browser/test_console_axe.py,
test_axe_wallet_scanner.py)."""

from __future__ import annotations

from typing import Any

WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
        "resultTypes": ["violations"]}


def audit(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options=WCAG)
    return [f"{page.url}: {v['id']} ({v['impact']}): {v['help']} at "
            f"{[node['target'] for node in v['nodes'][:3]]}" for v in results.response["violations"]]
