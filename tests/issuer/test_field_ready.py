"""Issue 15, the officer's side in the console and on paper: the offer code has one name (never
"PIN", which is the wallet profile's), and what officers typed is read the way they wrote it."""

from __future__ import annotations

import io

import pypdfium2

from tests.issuer.conftest import Deployment
from tests.issuer.console_support import Browser, csrf_of, make_user
from tests.support import example_claims


def _pdf_text(pdf: bytes) -> str:
    document = pypdfium2.PdfDocument(io.BytesIO(pdf))
    try:
        text: str = document[0].get_textpage().get_text_range()
        return text
    finally:
        document.close()


def _issue_in_console(browser: Browser, type_id: str = "skills-certification", **changes: str) -> str:
    form = browser.get(f"/console/issue/{type_id}")
    claims = {k: str(v) for k, v in example_claims(type_id).items()}
    data = {**claims, "form_id": f"formulario-{type_id}-0001", **changes}
    result = browser.post(f"/console/issue/{type_id}", data, csrf=csrf_of(form.text))
    assert result.url.path.endswith("/offer"), result.text
    return result.url.path.split("/")[3]


def test_the_offer_code_has_one_name_on_screen_and_on_paper(deployment: Deployment) -> None:
    browser = Browser.new(deployment)
    browser.sign_in(make_user(deployment))
    credential_id = _issue_in_console(browser)
    page = browser.get(f"/console/credentials/{credential_id}/offer").text
    assert "<h2>Código de la oferta</h2>" in page and "PIN" not in page and "transacción" not in page
    paper = _pdf_text(browser.get(f"/console/credentials/{credential_id}/pdf").content)
    assert "Código de la oferta" in paper and "código de la oferta" in paper
    assert "PIN" not in paper and "transacción" not in paper
