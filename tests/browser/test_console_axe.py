"""An automated WCAG 2.1 A/AA audit (axe-core, run in Chromium) of the console pages officers,
auditors and admins use: labels, names, contrast, landmarks, headings, ARIA, in both languages."""

from __future__ import annotations

import pytest

from testkit.world import example_claims
from tests.browser import console_support
from tests.browser.axe_support import audit
from tests.browser.chromium import Chromium
from tests.browser.console_support import TABLET, Console, sign_in

console = console_support.console


@pytest.mark.parametrize("lang", ["es", "en"])
def test_console_pages_pass_an_automated_wcag_audit(chromium: Chromium, console: Console,
                                                     lang: str) -> None:
    credential_id = console.issue("sena", "skills-certification", example_claims("skills-certification"))
    page, _ = chromium.page(f"{console.url}/console/lang/{lang}?next=/console/login", viewport=TABLET)
    problems = audit(page)
    # The audit can fail: an input without a label on this very page is reported.
    page.evaluate("document.querySelector('main').append(document.createElement('input'))")
    assert any(": label (" in problem for problem in audit(page))
    sign_in(page, console, console.users["sena:admin"])
    bad = {**{k: str(v) for k, v in example_claims("skills-certification").items()}, "level": "99"}
    paths = ["/console", "/console/issue/skills-certification", f"/console/credentials/{credential_id}/offer",
             "/console/credentials", f"/console/credentials/{credential_id}",
             f"/console/credentials/{credential_id}/status/revoke", f"/console/credentials/{credential_id}/reissue",
             "/console/batches/new", "/console/batches",
             "/console/admin/users", "/console/admin/api-keys", "/console/admin/keys", "/console/admin/types",
             "/console/audit?check=1", "/console/password", "/console/credentials/no-such-credential",
             "/console/approvals"]
    for path in paths:
        page.goto(f"{console.url}{path}")
        problems += audit(page)
    # A form with errors, as the server shows it.
    page.goto(f"{console.url}/console/issue/skills-certification")
    for name, value in bad.items():
        page.fill(f"#f-{name}", value)
    with page.expect_navigation():
        page.evaluate("setTimeout(() => document.querySelector('form.issue-form').submit(), 0)")
    assert "aria-invalid" in page.content()
    problems += audit(page)
    assert not problems, "\n".join(problems)
