"""QR symbols as images (PNG, SVG) and module grids (for the PDF), over the ``qrcode`` library.

Drawing belongs to the services and the CLI, not to the credential core: ``credcore.qr`` only turns a
presentation into QR text and back. A Puente QR text (``PT1:`` + Base45) is put in alphanumeric mode
(5.5 bits per character, schemas/qr-format.md §1); any other text (offer links, ``openid4vp://``)
in the mode ``qrcode`` picks.
"""

from __future__ import annotations

import io
from typing import Any

import qrcode
import qrcode.constants
import qrcode.image.svg
from qrcode.util import MODE_ALPHA_NUM, QRData

from credcore.base45 import is_base45
from credcore.qr import PREFIX

LEVELS = {
    "L": qrcode.constants.ERROR_CORRECT_L,
    "M": qrcode.constants.ERROR_CORRECT_M,
    "Q": qrcode.constants.ERROR_CORRECT_Q,
    "H": qrcode.constants.ERROR_CORRECT_H,
}


def _qr(text: str, error_correction: str) -> Any:
    code = qrcode.QRCode(error_correction=LEVELS[error_correction], border=4, box_size=4)
    if text.startswith(PREFIX) and is_base45(text):
        code.add_data(QRData(text, mode=MODE_ALPHA_NUM))
    else:
        code.add_data(text)
    code.make(fit=True)
    return code


def qr_modules(text: str, error_correction: str = "M") -> list[list[bool]]:
    """The module grid (True = dark), without the quiet zone, for drawing the symbol yourself."""
    code = _qr(text, error_correction)
    return [[bool(module) for module in row] for row in code.modules]


def qr_version(text: str, error_correction: str = "M") -> int:
    """The smallest QR version that holds ``text`` (alphanumeric mode for Puente QR texts)."""
    return int(_qr(text, error_correction).version)


def render_png(text: str, error_correction: str = "M", box_size: int = 6) -> bytes:
    code = _qr(text, error_correction)
    code.box_size = box_size
    image = code.make_image()
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def render_svg(text: str, error_correction: str = "M") -> bytes:
    code = _qr(text, error_correction)
    code.box_size = 10  # one module = 1 mm in the SVG's units
    image = code.make_image(image_factory=qrcode.image.svg.SvgPathImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()
