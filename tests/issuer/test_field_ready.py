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


# ----------------------------------------------------------------------------- (5) the institution's contact


def test_an_admin_sets_the_contact_that_metadata_and_paper_show(deployment: Deployment) -> None:
    admin = Browser.new(deployment)
    admin.sign_in(make_user(deployment, role="admin"))
    page = admin.get("/console/admin/contact")
    assert page.status_code == 200 and 'aria-current="page"' in page.text.split("Contacto</a>")[0].rsplit("<a", 1)[1]
    wrong = admin.post("/console/admin/contact", {"contact_phone": "llame ya", "contact_email": "ayuda",
                                                  "contact_web": "http://sena.example"},
                       csrf_from="/console/admin/contact")
    assert wrong.status_code == 422
    for message in ("Teléfono:", "Correo:", "Web:"):  # every mistake at once
        assert message in wrong.text
    saved = admin.post("/console/admin/contact", {"contact_phone": "+57 601 736 0000",
                                                  "contact_email": "ayuda@sena.example",
                                                  "contact_web": "https://sena.example/ayuda"},
                       csrf_from="/console/admin/contact")
    assert saved.status_code == 200 and "Datos de contacto guardados" in saved.text
    metadata = deployment.client.get("/.well-known/openid-credential-issuer/i/sena").json()
    assert metadata["x-puente"]["contact"] == {"phone": "+57 601 736 0000", "email": "ayuda@sena.example",
                                               "web": "https://sena.example/ayuda"}
    officer = Browser.new(deployment)
    officer.sign_in(make_user(deployment))
    credential_id = _issue_in_console(officer)
    paper = _pdf_text(officer.get(f"/console/credentials/{credential_id}/pdf").content)
    assert "Contacto / Contact:" in paper and "+57 601 736 0000 · ayuda@sena.example" in paper
    audit = admin.get("/console/audit").text
    assert "institution.contact" in audit or "contacto" in audit.lower()
