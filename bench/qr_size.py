"""``qr_version_live`` and ``qr_version_paper``: the smallest QR version holding each offline QR.

Live: the reference presentation (4 of 8 claims, KB-JWT) in the ``PT1`` format at ECC M; goal
≤ 22, about what cheap phone cameras read. Paper: the compact paper companion of a PPT (ppt-status,
``paper=True``, no KB-JWT) at ECC Q; goal ≤ 13. Sizes vary by a few characters with the random
salts, keys, signatures, nonce and status index, so each is measured on several freshly issued
credentials and the worst (largest) is reported: a goal is met only if every sample meets it.
"""

from __future__ import annotations

from bench import BenchmarkError
from bench.fixtures import build_reference, paper_credential
from credcore import qr

GOAL_LIVE = 22  # at ECC M
GOAL_PAPER = 13  # at ECC Q


def _encoded(text: str) -> str:
    code = qr.encode(text)
    if qr.decode(code) != text:
        raise BenchmarkError("the PT1 encoding did not round-trip")
    return code


def run(*, samples: int = 8) -> dict[str, int]:
    live: list[str] = []
    paper: list[str] = []
    for _ in range(samples):
        ref = build_reference()
        live.append(_encoded(ref.presentation))
        paper.append(_encoded(paper_credential(ref.world)))
    return {
        "qr_version_live": max(qr.qr_version(code, "M") for code in live),
        "qr_chars_live": max(len(code) for code in live),
        "qr_version_paper": max(qr.qr_version(code, "Q") for code in paper),
        "qr_chars_paper": max(len(code) for code in paper),
    }
