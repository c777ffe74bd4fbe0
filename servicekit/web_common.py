"""The JavaScript both web front ends share (``web_common/``: PT1, SD-JWT, JOSE, bytes, and what the
scanning page and the wallet both need), served by the wallet app and by the verifier under
``/common/``.

Files are listed once, at import, from an allow-list of kinds: nothing else in the folder (Python,
READMEs, dotfiles) is ever served. The PT1 fragment tables come from their one data file in
``schemas/`` (schemas/qr-format.md §4), served beside ``pt1.js`` which imports them.
"""

from __future__ import annotations

from pathlib import Path

from credcore.qr import TABLES_FILE
from credcore.resources import package_dir

WEB_COMMON_DIR = package_dir("web_common")
PREFIX = "/common"
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".wasm": "application/wasm",
    ".LICENSE": "text/plain; charset=utf-8",
}


def media_type(path: Path) -> str | None:
    """The fixed media type of a file that may be served, or None."""
    if path.name.startswith("."):
        return None
    return MEDIA_TYPES.get(path.suffix)


def shared_files(directory: Path = WEB_COMMON_DIR) -> dict[str, tuple[Path, str]]:
    """URL path → (file, media type) for every servable file under ``directory`` and the PT1 tables."""
    files: dict[str, tuple[Path, str]] = {}
    for path in sorted(directory.rglob("*")):
        kind = media_type(path)
        if path.is_file() and kind is not None:
            files[f"{PREFIX}/{path.relative_to(directory).as_posix()}"] = (path, kind)
    files[f"{PREFIX}/{TABLES_FILE.name}"] = (TABLES_FILE, MEDIA_TYPES[".json"])
    return files
