"""``qr_version_live`` and ``qr_version_paper``: the smallest QR version holding each offline QR.

Live: the reference presentation (4 of 8 claims, KB-JWT) in the ``PT1`` format at ECC M; goal
≤ 22, about what cheap phone cameras read. Paper: the compact paper companion of a PPT (ppt-status,
``paper=True``, no KB-JWT) at ECC Q; goal ≤ 13. Lengths vary by a few characters with the random
salts, keys, signatures, nonce and status index, so each is measured on several freshly issued
credentials and the worst (longest) is reported: a goal is met only if every sample meets it.
``qr_chars_left_*`` is how many more characters the goal's version would still hold.
"""

from __future__ import annotations

from qrcode.util import BIT_LIMIT_TABLE, MODE_ALPHA_NUM, length_in_bits

from bench import BenchmarkError
from bench.fixtures import build_reference, paper_credential
from credcore import qr
from servicekit import qr_image

GOAL_LIVE = 22  # at ECC M
GOAL_PAPER = 13  # at ECC Q
_LEVELS = {"L": 1, "M": 0, "Q": 3, "H": 2}  # qrcode's error-correction constants


def alphanumeric_capacity(version: int, error_correction: str) -> int:
    """Characters a QR of ``version`` holds in one alphanumeric segment (11 bits per 2 chars)."""
    bits = BIT_LIMIT_TABLE[_LEVELS[error_correction]][version] - 4 - length_in_bits(MODE_ALPHA_NUM, version)
    return bits // 11 * 2 + (1 if bits % 11 >= 6 else 0)


def _encoded(text: str) -> str:
    code = qr.encode(text)
    if qr.decode(code) != text:
        raise BenchmarkError("the PT1 encoding did not round-trip")
    return code


def run(*, samples: int = 8, papers_per_sample: int = 4) -> dict[str, int]:
    live: list[str] = []
    paper: list[str] = []
    for _ in range(samples):
        ref = build_reference()
        live.append(_encoded(ref.presentation))
        paper.extend(_encoded(paper_credential(ref.world)) for _ in range(papers_per_sample))
    # All are alphanumeric PT1 texts, so the longest needs the largest version.
    longest_live, longest_paper = max(live, key=len), max(paper, key=len)
    return {
        "qr_version_live": qr_image.qr_version(longest_live, "M"),
        "qr_chars_live": len(longest_live),
        "qr_chars_left_live": alphanumeric_capacity(GOAL_LIVE, "M") - len(longest_live),
        "qr_version_paper": qr_image.qr_version(longest_paper, "Q"),
        "qr_chars_paper": len(longest_paper),
        "qr_chars_left_paper": alphanumeric_capacity(GOAL_PAPER, "Q") - len(longest_paper),
    }
