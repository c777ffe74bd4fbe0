"""The ``puente`` command for operators."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from credcore.clock import FixedClock, SystemClock
from puente.offline import UsageError, load_status_lists, load_trust_list, read_input, verify_offline

app = typer.Typer(
    help="Puente: credenciales verificables / verifiable credentials. Operator commands.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Puente: credenciales verificables / verifiable credentials."""


def _default_trust_list() -> Path | None:
    configured = os.environ.get("PUENTE_TRUST_LIST_FILE")
    if configured:
        return Path(configured)
    local = Path("var/trust-list.json")
    return local if local.is_file() else None


@app.command()
def verify(
    input_path: Annotated[str, typer.Argument(metavar="INPUT",
                                              help="QR text or compact SD-JWT file, PNG/JPEG of a QR, or - for stdin")],
    trust_list: Annotated[Path | None, typer.Option("--trust-list", help="trust-list JSON file")] = None,
    status_list: Annotated[list[Path] | None, typer.Option("--status-list",
                                                          help="statuslist+jwt file (repeatable)")] = None,
    lang: Annotated[str, typer.Option("--lang", help="es | en")] = "es",
    at: Annotated[int | None, typer.Option("--at", help="verify as of this Unix time (audits)")] = None,
) -> None:
    """Verify a credential offline and print the JSON report. Exit 0 valid, 1 invalid, 2 usage error."""
    try:
        if lang not in ("es", "en"):
            raise UsageError("--lang debe ser es o en / --lang must be es or en")
        if input_path == "-":
            data = sys.stdin.buffer.read()
        else:
            try:
                data = Path(input_path).read_bytes()
            except OSError as exc:
                raise UsageError(f"no se pudo leer / cannot read {input_path}: {exc.strerror}") from None
        trust = load_trust_list(trust_list or _default_trust_list())
        status = load_status_lists(status_list or [])
        clock = FixedClock(at) if at is not None else SystemClock()
        result = verify_offline(read_input(data), trust=trust, status=status, clock=clock, lang=lang)
    except UsageError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(result.body, ensure_ascii=False, indent=2))
    raise typer.Exit(0 if result.report.valid else 1)


def main() -> None:
    app()
