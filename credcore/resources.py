"""Where the data shipped inside the package lives: ``schemas/``, ``wallet_web/``, ``web_common/``, the
console's templates and static files, the scanning page. All are read through ``importlib.resources``,
so an installed wheel (no checkout, no ``-e``) finds them exactly as a source tree does.

Jinja, Starlette's ``StaticFiles`` and ``FileResponse`` need a real folder; a package imported from a
zip is extracted once, for the life of the process.
"""

from __future__ import annotations

import atexit
from contextlib import ExitStack
from functools import cache
from importlib.resources import as_file, files
from pathlib import Path

_extracted = ExitStack()
atexit.register(_extracted.close)


@cache
def package_dir(package: str) -> Path:
    """The folder holding ``package``'s files (e.g. ``"schemas"``, ``"issuer.console"``)."""
    root = files(package)
    if isinstance(root, Path):
        return root
    return _extracted.enter_context(as_file(root))
