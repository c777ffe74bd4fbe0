"""Offline verification for ``puente verify``: files in, a verification report out, no network."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from credcore import jws
from credcore.clock import Clock
from credcore.credential_types import TypeRegistry
from credcore.errors import CredentialError
from credcore.messages import bilingual
from credcore.ports import MappingStatusSource, MemoryNonceStore
from credcore.trust import TrustList
from credcore.verify import VerificationReport, verification_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"


class UsageError(Exception):
    """Bad command-line input (exit code 2), as opposed to an invalid credential (exit 1)."""


def read_input(data: bytes) -> str:
    """Text from the input bytes: a QR image is decoded with zxing-cpp, anything else is UTF-8."""
    if data.startswith(PNG_MAGIC) or data.startswith(JPEG_MAGIC):
        return decode_qr_image(data)
    try:
        return data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise UsageError(bilingual("cli.input_unreadable")) from None


def decode_qr_image(data: bytes) -> str:
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError):
        raise UsageError(bilingual("cli.image_unreadable")) from None
    texts = [result.text for result in zxingcpp.read_barcodes(image)]
    puente = [t for t in texts if t.startswith("PT1:")]
    if puente or texts:
        return (puente or texts)[0]
    return ""  # no QR found: reported as a malformed (unreadable) credential


def load_trust_list(path: Path | None) -> TrustList:
    if path is None:
        return TrustList(0, 0, {})
    try:
        document = json.loads(path.read_text("utf-8"))
        return TrustList.from_json(document)
    except OSError as exc:
        raise UsageError(f"{bilingual('cli.trust_list_unreadable')}: {exc}") from None
    except (ValueError, CredentialError) as exc:
        raise UsageError(f"{bilingual('cli.trust_list_invalid')}: {exc}") from None


def load_status_lists(paths: list[Path]) -> MappingStatusSource:
    """Status-list tokens keyed by their ``sub`` (read unverified here; verified when used)."""
    tokens: dict[str, str] = {}
    for path in paths:
        try:
            token = path.read_text("utf-8").strip()
            sub = jws.parse(token).claims().get("sub")
        except OSError as exc:
            raise UsageError(f"{bilingual('cli.cannot_read')} {path}: {exc}") from None
        except CredentialError as exc:
            raise UsageError(f"{path}: {bilingual('cli.not_status_list')} ({exc.code})") from None
        if not isinstance(sub, str):
            raise UsageError(f"{path}: {bilingual('cli.token_without_sub')}")
        tokens[sub] = token
    return MappingStatusSource(tokens)


@dataclass
class OfflineResult:
    report: VerificationReport
    body: dict[str, Any]


def verify_offline(text: str, *, trust: TrustList, status: MappingStatusSource, clock: Clock,
                   lang: str = "es") -> OfflineResult:
    types = TypeRegistry.for_vcts(vct for issuer in trust.issuers.values() for vct in issuer.vcts)
    report = verification_report(text, trust=trust, types=types, clock=clock, status_source=status,
                                 nonce_store=MemoryNonceStore())
    return OfflineResult(report, report.as_json(lang, types))
