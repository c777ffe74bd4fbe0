"""The printable A4 credential for a holder without a phone (PRODUCT.md "Paper", issue 3).

One page, readable in black and white: the type's name in Spanish and English, the issuing
institution, the claims with bilingual labels, the validity date in Colombia time, then two QR codes
drawn as vector paths — (1) the compact paper QR a verifier scans, which has no holder binding, and
(2) the OpenID4VCI offer that loads the full credential into a wallet later, with its tx_code.

Claim values are untrusted text. They are drawn with ``drawString`` (never parsed as markup), every
character the standard Helvetica font cannot draw — bidi overrides, zero-width and control
characters, emoji, scripts outside Windows-1252 — becomes ``?`` so that nothing is hidden or
reordered, and every line is wrapped or cut with an ellipsis to stay inside its box.

``render_bundle_pdf`` puts the pages of several credentials (a batch, printed at once) in one
document, each page drawn exactly as ``render_credential_pdf`` draws it alone.
"""

from __future__ import annotations

import io
import itertools
import json
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from credcore.credential_types import CredentialType
from credcore.issue import COLOMBIA
from credcore.messages import Ref, bilingual, pair, text
from servicekit import qr_image

PAGE_W, PAGE_H = A4
MARGIN = 15 * mm
LEFT, RIGHT, TOP, BOTTOM = MARGIN, PAGE_W - MARGIN, PAGE_H - MARGIN, MARGIN
WIDTH = RIGHT - LEFT
REGULAR, BOLD = "Helvetica", "Helvetica-Bold"
BLACK, GREY, LIGHT, SHADE = 0.0, 0.33, 0.72, 0.91  # grey levels: all print legibly in black and white
ELLIPSIS = "…"
MAX_TEXT = 4000  # characters of one value looked at: more can never fit in its lines

PAPER_QR_TARGET, OFFER_QR_TARGET = 60 * mm, 44 * mm  # symbol widths, quiet zone excluded
MIN_MODULE = 0.5 * mm
QUIET_MODULES = 4
LABEL_W = 60 * mm
VALUE_X = LEFT + LABEL_W + 8
VALUE_W = RIGHT - VALUE_X - 4
PANEL_GAP = 10
PAPER_PANEL_W = WIDTH * 0.57
OFFER_PANEL_W = WIDTH - PAPER_PANEL_W - PANEL_GAP
PAD = 10
FOOTER_H = 26


# ----------------------------------------------------------------------------- untrusted text


@lru_cache(maxsize=1024)
def _drawable(char: str) -> bool:
    if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
        return False
    try:
        char.encode("cp1252")  # what Helvetica's WinAnsi encoding can draw
    except UnicodeEncodeError:
        return False
    return True


def clean(text: str) -> str:
    """``text`` with whitespace as spaces and every character Helvetica cannot draw as ``?``."""
    return "".join(" " if c.isspace() else c if _drawable(c) else "?" for c in unicodedata.normalize("NFC", text))


def _width(text: str, font: str, size: float) -> float:
    return float(stringWidth(text, font, size))


def _fit(word: str, font: str, size: float, width: float) -> int:
    """How many leading characters of ``word`` fit in ``width`` (at least one, so cutting ends)."""
    low, high = 1, len(word)
    while low < high:
        middle = (low + high + 1) // 2
        if _width(word[:middle], font, size) <= width:
            low = middle
        else:
            high = middle - 1
    return low


def _lines(text: str, font: str, size: float, width: float) -> Iterator[str]:
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if _width(candidate, font, size) <= width:
            line = candidate
            continue
        if line:
            yield line
        while _width(word, font, size) > width:  # longer than a line: cut anywhere
            cut = _fit(word, font, size, width)
            yield word[:cut]
            word = word[cut:]
        line = word
    if line:
        yield line


def _ellipsize(line: str, font: str, size: float, width: float) -> str:
    while line and _width(line + ELLIPSIS, font, size) > width:
        line = line[:-1]
    return line.rstrip() + ELLIPSIS


def wrap(text: str, font: str, size: float, width: float, max_lines: int = 1) -> list[str]:
    """Untrusted ``text`` as at most ``max_lines`` lines no wider than ``width``; an ellipsis ends
    the last line when some of the text was left out."""
    lines = list(itertools.islice(_lines(clean(text[:MAX_TEXT]), font, size, width), max_lines + 1))
    if len(lines) > max_lines or (len(text) > MAX_TEXT and lines):
        lines = lines[:max_lines]
        lines[-1] = _ellipsize(lines[-1], font, size, width)
    return lines


def text_of(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def valid_until_text(valid_until: int) -> tuple[str, str]:
    """The expiry as a date in Colombia (with the time unless it is the end of the day), es and en."""
    try:
        moment = datetime.fromtimestamp(valid_until, COLOMBIA)
    except (OverflowError, OSError, ValueError):
        return str(valid_until), str(valid_until)
    time = "" if (moment.hour, moment.minute) == (23, 59) else f", {moment:%H:%M}"
    es, en = (text("console.date", lang, day=moment.day, month=Ref(f"console.month.{moment.month}"), year=moment.year)
              for lang in ("es", "en"))
    return f"{es}{time}", f"{en}{time}"


def group_code(tx_code: str) -> str:
    """``123456`` → ``123 456``: groups of three (of four when that splits it evenly and three does not)."""
    code = "".join(clean(tx_code).split())
    size = 4 if len(code) % 4 == 0 and len(code) % 3 else 3
    return " ".join(code[i : i + size] for i in range(0, len(code), size))


# ----------------------------------------------------------------------------- drawing


@dataclass(frozen=True)
class QrSymbol:
    """A QR code's modules and the module size it is drawn at."""

    rows: list[list[bool]]
    module: float

    @classmethod
    def make(cls, text: str, ecc: str, target: float, max_width: float, max_module: float) -> QrSymbol:
        rows = qr_image.qr_modules(text, ecc)
        count = len(rows)
        module = min(max(target / count, MIN_MODULE), max_module, max_width / (count + 2 * QUIET_MODULES))
        return cls(rows, module)

    @property
    def size(self) -> float:
        """Width of the symbol and its quiet zone."""
        return (len(self.rows) + 2 * QUIET_MODULES) * self.module


class Page:
    """A canvas with the few drawing moves the credential needs (``y`` is always a top edge)."""

    def __init__(self, canvas: Canvas) -> None:
        self.canvas = canvas

    def text(self, x: float, top: float, text: str, font: str = REGULAR, size: float = 10, grey: float = BLACK,
             *, align: str = "left") -> None:
        self.canvas.setFillGray(grey)
        self.canvas.setFont(font, size)
        baseline = top - size * 0.78
        if align == "right":
            self.canvas.drawRightString(x, baseline, text)
        elif align == "center":
            self.canvas.drawCentredString(x, baseline, text)
        else:
            self.canvas.drawString(x, baseline, text)

    def lines(self, x: float, top: float, lines: list[str], font: str, size: float, leading: float,
              grey: float = BLACK, *, align: str = "left") -> float:
        """Draw ``lines`` and return the top of what comes below them."""
        for i, line in enumerate(lines):
            self.text(x, top - i * leading, line, font, size, grey, align=align)
        return top - len(lines) * leading

    def rule(self, y: float, width: float = 0.5, grey: float = LIGHT, x0: float = LEFT, x1: float = RIGHT) -> None:
        self.canvas.setStrokeGray(grey)
        self.canvas.setLineWidth(width)
        self.canvas.line(x0, y, x1, y)

    def qr(self, symbol: QrSymbol, x: float, top: float) -> None:
        """The symbol as one filled path (runs of dark modules per row): crisp at any print
        resolution, and no hairline seams between modules when rasterised."""
        m = symbol.module
        x0, y0 = x + QUIET_MODULES * m, top - QUIET_MODULES * m
        path = self.canvas.beginPath()
        for r, row in enumerate(symbol.rows):
            for dark, run in itertools.groupby(enumerate(row), key=lambda cell: cell[1]):
                cells = list(run)
                if dark:
                    path.rect(x0 + cells[0][0] * m, y0 - (r + 1) * m, len(cells) * m, m)
        self.canvas.setFillGray(BLACK)
        self.canvas.drawPath(path, stroke=0, fill=1)

    def badge(self, x: float, top: float, number: str, title_es: str, title_en: str, width: float) -> float:
        """A numbered section heading: a black disc with the number, the Spanish and English titles."""
        self.canvas.setFillGray(BLACK)
        self.canvas.circle(x + 9, top - 10, 9, stroke=0, fill=1)
        self.text(x + 9, top - 5, number, BOLD, 11, 1.0, align="center")
        self.text(x + 24, top - 1, wrap(title_es, BOLD, 12, width - 24)[0], BOLD, 12)
        self.text(x + 24, top - 15, wrap(title_en, REGULAR, 10, width - 24)[0], REGULAR, 10, GREY)
        return top - 32


# ----------------------------------------------------------------------------- the page's parts


def _header(page: Page, ctype: CredentialType, institution_name: str, contact: str = "") -> float:
    page.text(LEFT, TOP, "  ·  ".join(text("console.pdf.credential", lang).upper() for lang in ("es", "en")),
              BOLD, 7.5, GREY)
    page.rule(TOP - 13, 1.6, BLACK)
    top = page.lines(LEFT, TOP - 22, wrap(ctype.name("es"), BOLD, 19, WIDTH, 2), BOLD, 19, 22)
    top = page.lines(LEFT, top - 1, wrap(ctype.name("en"), REGULAR, 13, WIDTH, 2), REGULAR, 13, 15.5, GREY)
    label = f"{bilingual('console.pdf.issued_by')}:  "
    page.text(LEFT, top - 8, label, REGULAR, 10, GREY)
    shift = _width(label, REGULAR, 10)
    page.text(LEFT + shift, top - 7, wrap(institution_name, BOLD, 11, WIDTH - shift)[0], BOLD, 11)
    if contact:  # where the holder turns (revoked credential, lost phone)
        label = f"{bilingual('console.pdf.contact')}:  "
        page.text(LEFT, top - 21, label, REGULAR, 9, GREY)
        shift = _width(label, REGULAR, 9)
        page.text(LEFT + shift, top - 21, wrap(contact, REGULAR, 9, WIDTH - shift)[0], REGULAR, 9)
        return top - 42
    return top - 30


@dataclass(frozen=True)
class RowStyle:
    """How a table row is set: ``compact`` rows put both labels on one line, in smaller type."""

    compact: bool = False

    @property
    def label_leading(self) -> float:
        return 11 if self.compact else 10

    @property
    def value_size(self) -> float:
        return 10 if self.compact else 11

    @property
    def value_leading(self) -> float:
        return 12 if self.compact else 13.5

    @property
    def pad(self) -> float:
        return 3 if self.compact else 4.5


VALUE_LINES = 3  # at most, per claim


@dataclass(frozen=True)
class Row:
    style: RowStyle
    label_es: list[str]
    label_en: list[str]
    value: list[str]
    font: str = REGULAR
    note: str = ""

    @property
    def height(self) -> float:
        style = self.style
        label_lines = 1 if style.compact else len(self.label_es) + len(self.label_en)
        value = len(self.value) * style.value_leading + (10 if self.note else 0)
        return max(label_lines * style.label_leading, value) + 2 * style.pad

    def cut(self, lines: int) -> Row:
        """The row with its value cut to ``lines`` lines, the last one ending in an ellipsis."""
        if lines >= len(self.value):
            return self
        last = _ellipsize(self.value[lines - 1], self.font, self.style.value_size, VALUE_W)
        return replace(self, value=[*self.value[: lines - 1], last])


def _labels(style: RowStyle, es: str, en: str) -> tuple[list[str], list[str]]:
    if not style.compact:
        return wrap(es, BOLD, 9.5, LABEL_W - 4, 2), wrap(en, REGULAR, 8.5, LABEL_W - 4, 2)
    first = wrap(es, BOLD, 9, LABEL_W - 4)
    room = LABEL_W - 4 - _width(first[0] + " / ", BOLD, 9) if first else 0
    return first, (wrap(en, REGULAR, 8, room) if room > 30 else [])


def _rows(ctype: CredentialType, claims: dict[str, Any], valid_until: int, style: RowStyle) -> list[Row]:
    rows = []
    for name in ctype.claim_names:
        if name in claims:
            rows.append(Row(style, *_labels(style, ctype.label(name, "es"), ctype.label(name, "en")),
                            wrap(text_of(claims[name]), REGULAR, style.value_size, VALUE_W, VALUE_LINES)))
    date_es, date_en = valid_until_text(valid_until)
    rows.append(Row(style, *_labels(style, *pair("console.pdf.valid_until")),
                    wrap(f"{date_es}  /  {date_en}", BOLD, style.value_size, VALUE_W), BOLD,
                    bilingual("console.pdf.colombia_time")))
    return rows


def _shorten(rows: list[Row], space: float) -> list[Row] | None:
    """``rows`` with the longest values cut a line at a time until they fit in ``space``; None when
    one line each is still too much."""
    shown = [len(r.value) for r in rows]
    while sum(r.cut(n).height for r, n in zip(rows, shown, strict=True)) > space:
        longest = max(range(len(rows)), key=lambda i: (shown[i], i))
        if shown[longest] <= 1:
            return None
        shown[longest] -= 1
    return [r.cut(n) for r, n in zip(rows, shown, strict=True)]


def _fit_rows(ctype: CredentialType, claims: dict[str, Any], valid_until: int, space: float) -> list[Row]:
    """The claim rows in the regular style if every value fits whole, else in whichever style shows
    more of them; rows that fit in no style are left out and counted (no type has that many)."""
    best: list[Row] | None = None
    for style in (RowStyle(), RowStyle(compact=True)):
        full = _rows(ctype, claims, valid_until, style)
        rows = _shorten(full, space)
        if rows is not None and rows == full:
            return rows
        if rows is not None and (best is None or _shown(rows) > _shown(best)):
            best = rows
    if best is not None:
        return best
    *claim_rows, last = (r.cut(1) for r in _rows(ctype, claims, valid_until, RowStyle(compact=True)))
    kept: list[Row] = []
    for row in claim_rows:
        if sum(r.height for r in (*kept, row, _more(0), last)) > space:
            break
        kept.append(row)
    return [*kept, _more(len(claim_rows) - len(kept)), last]


def _shown(rows: list[Row]) -> int:
    return sum(len(r.value) for r in rows)


def _more(count: int) -> Row:
    return Row(RowStyle(compact=True), ["…"], [],
               [bilingual("console.pdf.more_fields", count=count)])


def _labels_draw(page: Page, row: Row, top: float) -> None:
    if row.style.compact:
        page.text(LEFT + 4, top, row.label_es[0] if row.label_es else "", BOLD, 9)
        if row.label_en:
            shift = _width(row.label_es[0] + " / ", BOLD, 9)
            page.text(LEFT + 4 + _width(row.label_es[0], BOLD, 9), top, " /", BOLD, 9, GREY)
            page.text(LEFT + 4 + shift, top - 0.5, row.label_en[0], REGULAR, 8, GREY)
        return
    below = page.lines(LEFT + 4, top, row.label_es, BOLD, 9.5, row.style.label_leading)
    page.lines(LEFT + 4, below, row.label_en, REGULAR, 8.5, row.style.label_leading, GREY)


def _table(page: Page, rows: list[Row], top: float) -> None:
    page.rule(top, 0.8, BLACK)
    for row in rows:
        style, bottom = row.style, top - row.height
        if row.font == BOLD:
            page.canvas.setFillGray(SHADE)
            page.canvas.rect(LEFT, bottom, WIDTH, row.height, stroke=0, fill=1)
        _labels_draw(page, row, top - style.pad)
        below = page.lines(VALUE_X, top - style.pad, row.value, row.font, style.value_size, style.value_leading)
        if row.note:
            page.text(VALUE_X, below - 0.5, row.note, REGULAR, 7.5, GREY)
        last = row is rows[-1]
        page.rule(bottom, 0.8 if last else 0.4, BLACK if last else LIGHT)
        top = bottom


def _note_lines(es: str, en: str, width: float) -> tuple[list[str], list[str]]:
    return wrap(es, REGULAR, 8.5, width, 4), wrap(en, REGULAR, 8.5, width, 4)


def _panel_height(paper: QrSymbol, offer: QrSymbol) -> float:
    paper_notes = sum(map(len, _note_lines(*pair("console.pdf.paper_note"), PAPER_PANEL_W - 2 * PAD)))
    offer_notes = sum(map(len, _note_lines(*pair("console.pdf.offer_note"), OFFER_PANEL_W - 2 * PAD)))
    left = 32 + paper.size + paper_notes * 10.5 + 6
    right = 32 + offer.size + 58 + offer_notes * 10.5 + 6
    return max(left, right) + 2 * PAD


def _panel(page: Page, x: float, top: float, width: float, height: float) -> None:
    page.canvas.setStrokeGray(BLACK)
    page.canvas.setLineWidth(0.9)
    page.canvas.roundRect(x, top - height, width, height, 6, stroke=1, fill=0)


def _notes(page: Page, x: float, top: float, width: float, es: str, en: str) -> None:
    lines_es, lines_en = _note_lines(es, en, width)
    below = page.lines(x, top, lines_es, REGULAR, 8.5, 10.5)
    page.lines(x, below - 4, lines_en, REGULAR, 8.5, 10.5, GREY)


def _paper_section(page: Page, symbol: QrSymbol, top: float, height: float) -> None:
    x, width = LEFT, PAPER_PANEL_W
    _panel(page, x, top, width, height)
    below = page.badge(x + PAD, top - PAD, "1", *pair("console.pdf.code_to_verify"), width - 2 * PAD)
    page.qr(symbol, x + (width - symbol.size) / 2, below)
    _notes(page, x + PAD, below - symbol.size, width - 2 * PAD, *pair("console.pdf.paper_note"))


def _offer_section(page: Page, symbol: QrSymbol, tx_code: str, top: float, height: float) -> None:
    x, width = RIGHT - OFFER_PANEL_W, OFFER_PANEL_W
    _panel(page, x, top, width, height)
    below = page.badge(x + PAD, top - PAD, "2", *pair("console.pdf.load_into_wallet"), width - 2 * PAD)
    page.qr(symbol, x + (width - symbol.size) / 2, below)
    below -= symbol.size
    center = x + width / 2
    page.text(center, below, bilingual("console.pdf.offer_code"), BOLD, 7.5, GREY, align="center")
    code = group_code(tx_code)
    size = 26.0
    while size > 10 and _width(code, BOLD, size) > width - 2 * PAD - 16:
        size -= 1
    code = wrap(code, BOLD, size, width - 2 * PAD - 16)[0] if code else ""
    box_w = min(_width(code, BOLD, size) + 28, width - 2 * PAD)
    page.canvas.setStrokeGray(BLACK)
    page.canvas.setLineWidth(1.4)
    page.canvas.roundRect(center - box_w / 2, below - 50, box_w, 38, 5, stroke=1, fill=0)
    page.text(center, below - 31 + size * 0.39, code, BOLD, size, align="center")
    _notes(page, x + PAD, below - 58, width - 2 * PAD, *pair("console.pdf.offer_note"))


def _footer(page: Page, credential_id: str) -> None:
    page.rule(BOTTOM + FOOTER_H, 0.5, GREY)
    label = f"{bilingual('console.pdf.credential_id')}:  "
    page.text(LEFT, BOTTOM + FOOTER_H - 6, label, REGULAR, 7.5, GREY)
    shift = _width(label, REGULAR, 7.5)
    page.text(LEFT + shift, BOTTOM + FOOTER_H - 6, wrap(credential_id, BOLD, 7.5, WIDTH - shift - 64)[0], BOLD, 7.5)
    lost = wrap(bilingual("console.pdf.lost_note"), REGULAR, 7, WIDTH - 64)[0]
    page.text(LEFT, BOTTOM + FOOTER_H - 17, lost, REGULAR, 7, GREY)
    page.text(RIGHT, BOTTOM + FOOTER_H - 8, "Puente", BOLD, 13, align="right")


# ----------------------------------------------------------------------------- the document


@dataclass(frozen=True)
class Printable:
    """What the printed page of one credential shows."""

    institution_name: str
    ctype: CredentialType
    claims: dict[str, Any]
    paper_qr: str
    offer_uri: str
    tx_code: str
    valid_until: int
    credential_id: str
    institution_contact: str = ""


def _canvas(buffer: io.BytesIO, title: str, author: str, subject: str) -> Canvas:
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle(clean(title))
    canvas.setAuthor(clean(author))
    canvas.setSubject(subject)
    canvas.setCreator("Puente")
    return canvas


def _draw_credential(canvas: Canvas, item: Printable) -> None:
    """One credential as one finished page of ``canvas``."""
    page = Page(canvas)
    ctype = item.ctype
    paper = QrSymbol.make(item.paper_qr, "Q", PAPER_QR_TARGET, PAPER_PANEL_W - 2 * PAD, 0.9 * mm)
    offer = QrSymbol.make(item.offer_uri, "M", OFFER_QR_TARGET, OFFER_PANEL_W - 2 * PAD, 1.0 * mm)
    panel_h = _panel_height(paper, offer)
    panel_top = BOTTOM + FOOTER_H + 12 + panel_h

    table_top = _header(page, ctype, item.institution_name, item.institution_contact)
    page.text(LEFT, table_top, bilingual("console.pdf.credential_details"), BOLD, 9, GREY)
    table_top -= 15
    _table(page, _fit_rows(ctype, item.claims, item.valid_until, table_top - panel_top - 14), table_top)

    _paper_section(page, paper, panel_top, panel_h)
    _offer_section(page, offer, item.tx_code, panel_top, panel_h)
    _footer(page, item.credential_id)
    canvas.showPage()


def render_credential_pdf(*, institution_name: str, ctype: CredentialType, claims: dict[str, Any],
                          paper_qr: str, offer_uri: str, tx_code: str, valid_until: int, credential_id: str,
                          institution_contact: str = "") -> bytes:
    """The one-page A4 PDF of a credential: claims, the paper QR (ECC Q) and the offer QR (ECC M)."""
    buffer = io.BytesIO()
    canvas = _canvas(buffer, f"{ctype.name('es')} / {ctype.name('en')}", institution_name,
                     bilingual("console.pdf.credential"))
    _draw_credential(canvas, Printable(institution_name, ctype, claims, paper_qr, offer_uri, tx_code, valid_until,
                                       credential_id, institution_contact))
    canvas.save()
    return buffer.getvalue()


def render_bundle_pdf(items: Iterable[Printable], *, title: str | None = None) -> bytes:
    """Several credentials in one A4 PDF, one page each in the given order, every page the same as
    ``render_credential_pdf`` draws it (a batch printed at once). At least one item."""
    buffer = io.BytesIO()
    canvas: Canvas | None = None
    for item in items:
        if canvas is None:
            ctype = item.ctype
            canvas = _canvas(buffer, title or f"{ctype.name('es')} / {ctype.name('en')}", item.institution_name,
                             bilingual("console.pdf.credentials"))
        _draw_credential(canvas, item)
    if canvas is None:
        raise ValueError("a bundle needs at least one credential")
    canvas.save()
    return buffer.getvalue()
