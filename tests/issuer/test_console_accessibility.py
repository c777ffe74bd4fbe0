"""Accessibility basics on every console page an officer and an auditor use (WCAG 2.1 A/AA checks
that need no browser): the page language, one h1, a label for every form control, alt text on
images, described errors, and keyboard reachability (no positive tabindex, a skip link)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from testkit.world import example_claims
from tests.issuer.console_support import Browser, make_user
from tests.issuer.deployment import Deployment


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.lang: str | None = None
        self.h1 = 0
        self.labels: set[str] = set()
        self.controls: list[dict[str, str | None]] = []
        self.images: list[dict[str, str | None]] = []
        self.ids: set[str] = set()
        self.described: list[str] = []
        self.tabindex: list[str] = []
        self.skip_link = False
        self._label_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"] or "")
        if tag == "html":
            self.lang = a.get("lang")
        elif tag == "h1":
            self.h1 += 1
        elif tag == "label":
            self._label_depth += 1
            if a.get("for"):
                self.labels.add(a["for"] or "")
        elif tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit"):
            self.controls.append({**a, "wrapped": "yes" if self._label_depth else None})
        elif tag == "img":
            self.images.append(a)
        elif tag == "a" and a.get("class") == "skip" and a.get("href") == "#main":
            self.skip_link = True
        if a.get("aria-describedby"):
            self.described.extend((a["aria-describedby"] or "").split())
        if a.get("tabindex") not in (None, "0", "-1"):
            self.tabindex.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._label_depth -= 1


def check(html: str, lang: str = "es") -> None:
    page = Page()
    page.feed(html)
    assert page.lang == lang
    assert page.h1 == 1
    assert page.skip_link and "main" in page.ids
    for control in page.controls:
        named = control.get("id") in page.labels or control.get("wrapped") or control.get("aria-label")
        assert named, f"unlabelled control {control}"
    for image in page.images:
        assert image.get("alt"), f"image without alt text {image}"
    missing = [ref for ref in page.described if ref not in page.ids]
    assert not missing, f"aria-describedby points nowhere: {missing}"
    assert not page.tabindex


@pytest.mark.parametrize("lang", ["es", "en"])
def test_officer_and_auditor_pages(deployment: Deployment, lang: str) -> None:
    issued = deployment.issue()
    officer = Browser.new(deployment)
    if lang == "en":
        officer.get("/console/lang/en")
    check(officer.get("/console/login").text, lang)
    officer.sign_in(make_user(deployment))
    bad_form = {**{k: str(v) for k, v in example_claims("skills-certification").items()}, "level": "99"}
    pages = [
        officer.get("/console").text,
        officer.get("/console/issue/skills-certification").text,
        officer.post("/console/issue/skills-certification", bad_form,
                     csrf_from="/console/issue/skills-certification").text,
        officer.get(f"/console/credentials/{issued['id']}/offer").text,
        officer.get(f"/console/credentials/{issued['id']}").text,
        officer.get(f"/console/credentials/{issued['id']}/status/suspend").text,
        officer.get("/console/credentials?status=valid").text,
        officer.get("/console/password").text,
        officer.get("/console/credentials/no-such-id").text,
    ]
    auditor = Browser.new(deployment)
    if lang == "en":
        auditor.get("/console/lang/en")
    auditor.sign_in(make_user(deployment, role="auditor"))
    pages += [auditor.get("/console/credentials").text, auditor.get(f"/console/credentials/{issued['id']}").text]
    for html in pages:
        check(html, lang)
