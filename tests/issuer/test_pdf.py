"""The printable PDF (PRODUCT.md "Paper", issue 3): one A4 page whose two QR codes decode from the
rendered page, claims drawn as plain text that never leaves the page, and the staff route around it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pypdfium2
import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from reportlab.pdfbase.pdfmetrics import stringWidth

from credcore import jws, qr
from credcore.issue import end_of_day_in_colombia
from issuer.pdf import MIN_MODULE, PAGE_H, PAGE_W, REGULAR, QrSymbol, group_code, render_credential_pdf, wrap
from issuer.pdf import valid_until_text as until
from testkit.world import World, example_claims
from tests.issuer.deployment import Deployment

OFFER = ("openid-credential-offer://?credential_offer_uri="
         "https%3A%2F%2Fissuer.example%2Fi%2Fmigracion%2Foffers%2FXq3v9c0PqkL2mD8sT1aZ4w")
PAPER_CLAIMS = ("given_name", "family_name", "document_number", "expiry_date")
MM = 72 / 25.4


@dataclass
class Rendered:
    pages: int
    size: tuple[float, float]
    qr_texts: list[str]
    text: str
    boxes: list[tuple[float, float, float, float]]

    @property
    def paper(self) -> str:
        [text] = [t for t in self.qr_texts if t.startswith(qr.PREFIX)]
        return text

    @property
    def offer(self) -> str:
        [text] = [t for t in self.qr_texts if not t.startswith(qr.PREFIX)]
        return text


def read_pdf(pdf: bytes, scale: float = 2.0) -> Rendered:
    """Rasterise page 1 as a printer would (grey levels only) and read it back."""
    assert pdf.startswith(b"%PDF-")
    document = pypdfium2.PdfDocument(pdf)
    try:
        page = document[0]
        image = page.render(scale=scale, grayscale=True).to_pil()
        codes = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode))
        textpage = page.get_textpage()
        boxes = [textpage.get_charbox(i) for i in range(textpage.count_chars())]
        return Rendered(len(document), page.get_size(), sorted(c.text for c in codes), textpage.get_text_range(),
                        boxes)
    finally:
        document.close()


def render(world: World, type_id: str = "ppt-status", claims: dict[str, Any] | None = None,
           **overrides: object) -> bytes:
    issued = world.issue(type_id, paper=True)
    arguments: dict[str, Any] = {
        "institution_name": "Migración Colombia", "ctype": world.types.get(type_id),
        "claims": example_claims(type_id) if claims is None else claims, "paper_qr": qr.encode(issued.sd_jwt),
        "offer_uri": OFFER, "tx_code": "493027", "valid_until": issued.exp, "credential_id": "Xq3v9c0PqkL2mD8sT1aZ4w",
    }
    arguments.update(overrides)
    return render_credential_pdf(**arguments)


def assert_inside_page(page: Rendered, margin: float = 30) -> None:
    for left, bottom, right, top in page.boxes:
        assert margin <= left <= right <= PAGE_W - margin and margin <= bottom <= top <= PAGE_H - margin


# ----------------------------------------------------------------------------- from credcore directly


@pytest.mark.parametrize("type_id", ["ppt-status", "skills-certification", "qualification-validation"])
def test_both_qr_codes_decode_from_the_rendered_page(type_id: str) -> None:
    world = World()
    issued = world.issue(type_id, paper=True)
    pdf = render(world, type_id, paper_qr=qr.encode(issued.sd_jwt))
    page = read_pdf(pdf)
    assert page.qr_texts == sorted([qr.encode(issued.sd_jwt), OFFER])
    assert qr.decode(page.paper) == issued.sd_jwt
    report = world.verify(qr.decode(page.paper))
    assert report.valid, report
    ctype = world.types.get(type_id)
    claims = example_claims(type_id)
    shown = [name for name in ctype.claim_names if name in claims]
    for name in shown:
        assert ctype.label(name, "es") in page.text and ctype.label(name, "en") in page.text
        if len(str(claims[name])) < 40:
            assert str(claims[name]) in page.text
    positions = [page.text.index(ctype.label(name, "es")) for name in shown]
    assert positions == sorted(positions)  # in the type's order
    for words in (ctype.name("es"), ctype.name("en"), "Migración Colombia", "493 027", "Xq3v9c0PqkL2mD8sT1aZ4w",
                  "Válido hasta", "Valid until", "Código para verificar", "Code to verify",
                  "Cargar en la billetera", "Load into a wallet", "no holder binding", "documento de identidad",
                  "Puente"):
        assert words in page.text, words
    assert_inside_page(page)


def test_the_page_is_one_a4_portrait_page() -> None:
    page = read_pdf(render(World()))
    assert page.pages == 1
    assert (round(page.size[0]), round(page.size[1])) == (595, 842)


def test_the_codes_survive_low_and_high_print_resolutions() -> None:
    pdf = render(World())
    for dpi in (100, 300):
        assert len(read_pdf(pdf, scale=dpi / 72).qr_texts) == 2, dpi


def test_qr_codes_are_big_enough_to_scan_from_paper() -> None:
    world = World()
    paper = QrSymbol.make(qr.encode(world.issue("ppt-status", paper=True).sd_jwt), "Q", 60 * MM, 280, 0.9 * MM)
    offer = QrSymbol.make(OFFER, "M", 44 * MM, 200, 1.0 * MM)
    assert len(paper.rows) <= 69  # QR version 13 at ECC Q (PRODUCT.md "Paper")
    assert paper.module >= MIN_MODULE and len(paper.rows) * paper.module >= 55 * MM
    assert offer.module >= MIN_MODULE and len(offer.rows) * offer.module >= 40 * MM


def test_valid_until_is_a_date_in_colombia() -> None:
    assert until(end_of_day_in_colombia(date(2031, 5, 30))) == ("30 de mayo de 2031", "30 May 2031")
    # midnight UTC on 1 January is still 31 December in Colombia (UTC-5)
    assert until(1_798_761_600) == ("31 de diciembre de 2026, 19:00", "31 December 2026, 19:00")
    assert "31 de diciembre de 2026" in read_pdf(render(World(), valid_until=1_798_761_600)).text


def test_tx_code_is_printed_in_groups() -> None:
    assert group_code("123456") == "123 456"
    assert group_code("12345678") == "1234 5678"
    assert group_code(" 1234\u202e5 ") == "123 4?5"


# ----------------------------------------------------------------------------- hostile text

HOSTILE = {
    "given_name": "<b>x</b> </para> <font color=red>y</font> &amp; &lt;",
    "family_name": "\u202eozorraZ\u202c Pe\u0301rez\u200b\u200d Ñúñez\ufeff 😀👩‍👩‍👧 ¿¡ü!? \x00\x1b[31m\r\nfin",
    "birthdate": "A" * 5000,
    "nationality": "مرحبا עברית 中文 Ελληνικά Łódź \ud800",
    "document_number": " ".join(["palabra"] * 1500),
    "issue_date": 20240215,
    "expiry_date": ["2031-05-30", {"x": None}],
}


def test_hostile_claim_text_renders_as_plain_text_inside_the_page() -> None:
    world = World()
    issued = world.issue("ppt-status", paper=True)
    page = read_pdf(render(world, claims=HOSTILE, paper_qr=qr.encode(issued.sd_jwt), credential_id="c" * 500,
                           institution_name="Ministerio <i>de</i> " + "Educación " * 80,
                           tx_code="12345678901234567890" * 5))
    assert page.pages == 1 and page.offer == OFFER and qr.decode(page.paper) == issued.sd_jwt
    assert "<b>x</b> </para> <font color=red>y</font> &amp; &lt;" in page.text  # no markup interpreted
    # invisible and reordering characters are made visible, so the line shows what the data holds
    assert "?ozorraZ? Pérez?? Ñúñez? ?????? ¿¡ü!? ??[31m fin" in page.text
    assert "\u202e" not in page.text and "\u200b" not in page.text
    assert "A" * 5000 not in page.text and "AAAA…" in page.text  # cut with an ellipsis
    assert "?????" in page.text and "20240215" in page.text
    assert_inside_page(page)


def test_hostile_text_cannot_push_the_qr_codes_off_the_page() -> None:
    world = World()
    issued = world.issue("ppt-status", paper=True)
    long_names = {name: f"{name} " + "Ancho " * 60 for name in example_claims("ppt-status")}
    page = read_pdf(render(world, claims=long_names, paper_qr=qr.encode(issued.sd_jwt)))
    assert page.qr_texts == sorted([qr.encode(issued.sd_jwt), OFFER])
    assert_inside_page(page)


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=400), width=st.floats(min_value=20, max_value=400), lines=st.integers(1, 4))
def test_wrapped_lines_always_fit_and_are_drawable(text: str, width: float, lines: int) -> None:
    wrapped = wrap(text, REGULAR, 11, width, lines)
    assert len(wrapped) <= lines
    for line in wrapped:
        assert stringWidth(line, REGULAR, 11) <= width + 1e-6
        line.encode("cp1252")


# ----------------------------------------------------------------------------- through the staff API


def test_staff_pdf_route(deployment: Deployment) -> None:
    created = deployment.issue("ppt-status", who="migracion:officer")
    url = f"/api/v1/credentials/{created['id']}/pdf"
    response = deployment.client.get(url, headers=deployment.auth("migracion:officer"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["cache-control"] == "no-store"
    page = read_pdf(response.content)
    assert page.pages == 1 and page.offer == created["offer"]["offer_uri"]
    tx_code = created["offer"]["tx_code"]
    assert f"{tx_code[:3]} {tx_code[3:]}" in page.text

    payload = jws.parse(qr.decode(page.paper).split("~")[0]).claims()
    claims = example_claims("ppt-status")
    assert {name: payload.get(name) for name in PAPER_CLAIMS} == {name: claims[name] for name in PAPER_CLAIMS}
    assert "cnf" not in payload and "birthdate" not in payload
    record = deployment.client.get(f"/api/v1/credentials/{created['id']}",
                                   headers=deployment.auth("migracion:officer")).json()
    assert payload["status"]["status_list"] == record["status_list"]  # revoked with the main credential
    assert payload["exp"] == record["valid_until"]


def test_staff_pdf_route_is_for_the_issuing_institutions_officers(deployment: Deployment) -> None:
    created = deployment.issue("ppt-status", who="migracion:officer")
    url = f"/api/v1/credentials/{created['id']}/pdf"
    assert deployment.client.get(url, headers=deployment.auth("migracion:auditor")).status_code == 403
    assert deployment.client.get(url, headers=deployment.auth("sena:officer")).status_code == 404
    assert deployment.client.get(url).status_code == 401
