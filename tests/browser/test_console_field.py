"""Issue 15, the officer's side in Chromium: a document number typed as printed ("v-12.345.678")
becomes the stored form when the field is left; the format check really runs in the browser (the
pattern is valid under the ``v`` flag browsers compile it with); a date that cannot be in the
future is refused before sending; every mistake shows at once."""

from __future__ import annotations

from testkit.world import example_claims
from tests.browser import console_support
from tests.browser.chromium import Chromium, screenshot
from tests.browser.console_support import TABLET, Console, sign_in

console = console_support.console


def test_the_issue_form_reads_document_numbers_as_written_and_checks_formats(chromium: Chromium,
                                                                             console: Console) -> None:
    page, log = chromium.page(f"{console.url}/console", viewport=TABLET)
    sign_in(page, console, console.users["sena:officer"])
    page.goto(f"{console.url}/console/issue/skills-certification")
    assert "V-12.345.678" in page.locator("#h-document_number").inner_text()
    # The browser compiles every pattern of the form (an invalid one would be silently ignored).
    patterns = page.eval_on_selector_all("input[pattern]", """nodes => nodes.map(n => {
        try { new RegExp(n.pattern, 'v'); return null; } catch (e) { return n.name; } })""")
    assert patterns and all(p is None for p in patterns)
    page.fill("#f-document_number", "V#1")
    page.locator("#f-document_number").blur()
    assert page.locator("#e-document_number").inner_text() == "El formato no es válido."
    page.fill("#f-document_number", "v-12.345.678")
    page.locator("#f-document_number").blur()
    assert page.locator("#f-document_number").input_value() == "V12345678"
    assert page.locator("#e-document_number").is_hidden()
    page.locator("#f-document_number").scroll_into_view_if_needed()
    screenshot(page, "console-document-number.png")
    # Three mistakes: all shown at once when sending, nothing sent.
    for name, value in example_claims("skills-certification").items():
        if name != "document_number":
            page.fill(f"#f-{name}", str(value))
    page.fill("#f-competency_code", "abc")
    page.fill("#f-date", "2999-01-01")
    page.fill("#f-given_name", "")
    page.click("form.issue-form button[type=submit]")
    assert page.locator("#e-date").inner_text() == "La fecha no puede ser posterior a hoy."
    assert page.locator("#e-competency_code").inner_text() == "El formato no es válido."
    assert page.locator("#e-given_name").inner_text() == "Falta este dato obligatorio."
    assert "/console/issue/skills-certification" in page.url
    for name, value in example_claims("skills-certification").items():
        if name != "document_number":
            page.fill(f"#f-{name}", str(value))
    page.click("form.issue-form button[type=submit]")
    page.wait_for_url("**/offer?new=1")
    assert log.errors == [] and log.csp_violations() == []
