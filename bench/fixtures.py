"""The reference deployment the benchmarks measure, built with the test builders (tests/support.py).

The reference presentation (issue 2, "Benchmarks"): a SENA skills-certification credential, 4 of
its 8 claims disclosed (``REFERENCE_DISCLOSED``), with a KB-JWT, everything ES256.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from credcore.issue import IssuedCredential
from credcore.key_binding import OFFLINE_AUDIENCE
from credcore.ports import MappingStatusSource
from credcore.status_list import DEFAULT_SIZE, INVALID
from credcore.trust import TrustList
from testkit.world import REFERENCE_DISCLOSED, World

# A published list is not all zeros: revoke about 1% of it so that the status check inflates and
# reads a list shaped like a real one rather than 32 KiB of zeros that compress to nothing.
REVOKED_SHARE = 0.01


@dataclass(frozen=True)
class Reference:
    world: World
    credential: IssuedCredential
    presentation: str  # compact SD-JWT+KB, exactly what both verifiers are given
    nonce: str
    audience: str
    trust: TrustList
    status_source: MappingStatusSource


def random_index() -> int:
    """An unpredictable status index, as the issuer assigns them (PRODUCT.md "Status")."""
    return secrets.randbelow(DEFAULT_SIZE)


def _populate_status_list(world: World, keep: int) -> None:
    entries = world.status_list(world.sena)
    for _ in range(int(DEFAULT_SIZE * REVOKED_SHARE)):
        index = random_index()
        if index != keep:
            entries.set(index, INVALID)


def build_reference() -> Reference:
    """A fresh world (new keys, salts and nonce) and its reference presentation."""
    world = World()
    credential = world.issue("skills-certification", idx=random_index())
    # A wallet's nonce: 16 random bytes, as tests/support.py's present() makes by default.
    nonce = secrets.token_urlsafe(16)
    presentation = world.present(credential, REFERENCE_DISCLOSED, aud=OFFLINE_AUDIENCE, nonce=nonce)
    status = credential.payload["status"]["status_list"]
    _populate_status_list(world, keep=status["idx"])
    source = MappingStatusSource({status["uri"]: world.status_token(world.sena)})
    return Reference(world, credential, presentation, nonce, OFFLINE_AUDIENCE, world.trust(), source)


def paper_credential(world: World) -> str:
    """The compact paper companion of a PPT (ppt-status, ``paper=True``, no KB-JWT) as printed."""
    return world.issue("ppt-status", paper=True, idx=random_index()).sd_jwt
