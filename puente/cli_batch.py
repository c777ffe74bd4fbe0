"""``puente batch issue FILE.csv --type T``: upload a CSV to a running issuer, follow the batch with a
progress bar, and save its results CSV (one row per input row: credential id, offer and tx_code, or
the errors). The results hold tx codes, so the file is written readable by its owner only.

The upload carries an ``Idempotency-Key``, so retrying it after a network error never creates a
second batch; while the batch runs, a server that restarts is waited for (the batch resumes)."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from credcore.messages import bilingual, text

batch_app = typer.Typer(help=bilingual("cli.group.batch"), no_args_is_help=True)
console = Console(stderr=True)


@batch_app.callback()
def _batch() -> None:
    """Lotes CSV / CSV batches (``puente batch issue``)."""

DEFAULT_SERVER = "http://127.0.0.1:8001"
UPLOAD_ATTEMPTS = 3
PATIENCE_SECONDS = 120.0  # how long an unreachable server is waited for while the batch runs


class BatchFailed(Exception):
    """An HTTP error (the problem's title and field errors) or an unreachable server."""

    def __init__(self, title: str, details: list[str] | None = None) -> None:
        super().__init__(title)
        self.title, self.details = title, details or []


@dataclass
class Outcome:
    batch_id: str
    total: int
    issued: int
    failed: int
    out: Path
    state: dict[str, Any] = field(default_factory=dict)


def default_out(file: Path) -> Path:
    return file.with_name(f"{file.stem}.results.csv")


def _problem(response: httpx.Response) -> BatchFailed:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return BatchFailed(f"HTTP {response.status_code}")
    details = [f"{e.get('field') or '-'}: {e.get('message')}" for e in body.get("errors") or [] if isinstance(e, dict)]
    return BatchFailed(str(body.get("title") or f"HTTP {response.status_code}"), details)


def _unreachable(client: httpx.Client) -> BatchFailed:
    return BatchFailed(f"{text('cli.issuer_unreachable', 'es', url=client.base_url)} / "
                       f"{text('cli.issuer_unreachable.short', 'en')}")


def upload(client: httpx.Client, file: Path, type_id: str, *, sleep: Callable[[float], None] = time.sleep
           ) -> dict[str, Any]:
    data = file.read_bytes()
    headers = {"Idempotency-Key": secrets.token_urlsafe(24)}  # the same key on every retry: one batch
    for attempt in range(1, UPLOAD_ATTEMPTS + 1):
        try:
            response = client.post("/api/v1/batches", files={"file": (file.name, data, "text/csv")},
                                   data={"type": type_id}, headers=headers)
        except httpx.TransportError:
            if attempt == UPLOAD_ATTEMPTS:
                raise _unreachable(client) from None
            sleep(float(attempt))
            continue
        if response.status_code != 202:
            raise _problem(response)
        accepted: dict[str, Any] = response.json()
        return accepted
    raise AssertionError("unreachable")


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn(text("cli.batch_progress", issued="{task.fields[issued]}",
                                    failed="{task.fields[failed]}")),
                    TimeElapsedColumn(), console=console)


def follow(client: httpx.Client, batch_id: str, total: int, *, poll_seconds: float = 0.5,
           sleep: Callable[[float], None] = time.sleep, patience: float = PATIENCE_SECONDS) -> dict[str, Any]:
    """Poll the batch until it is done, showing processed/total rows, issued and failed."""
    down_since: float | None = None
    with _progress() as progress:
        task = progress.add_task(text("cli.batch_issuing"), total=total, issued=0, failed=0)
        while True:
            try:
                response = client.get(f"/api/v1/batches/{batch_id}")
            except httpx.TransportError:
                down_since = down_since or time.monotonic()
                if time.monotonic() - down_since > patience:
                    raise _unreachable(client) from None
                progress.update(task, description=text("cli.batch_reconnecting"))
                sleep(poll_seconds)
                continue
            down_since = None
            if response.status_code != 200:
                raise _problem(response)
            state: dict[str, Any] = response.json()
            progress.update(task, description=text("cli.batch_issuing"), total=state["total"],
                            completed=state["processed"], issued=state["issued"], failed=state["failed"])
            if state["state"] == "done":
                return state
            if state["state"] == "failed":
                raise BatchFailed(bilingual("cli.batch_failed"))
            sleep(poll_seconds)


def download(client: httpx.Client, batch_id: str, out: Path) -> None:
    response = client.get(f"/api/v1/batches/{batch_id}/results.csv")
    if response.status_code != 200:
        raise _problem(response)
    partial = out.with_name(out.name + ".part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(response.content)
    os.replace(partial, out)


def run_batch(client: httpx.Client, file: Path, type_id: str, out: Path, *, poll_seconds: float = 0.5,
              sleep: Callable[[float], None] = time.sleep, patience: float = PATIENCE_SECONDS) -> Outcome:
    """Upload, follow and download with an authenticated client whose base URL is the issuer."""
    accepted = upload(client, file, type_id, sleep=sleep)
    received = text("cli.batch_received", "es", batch_id=accepted["id"], total=accepted["total"])
    console.print(f"{received} / {text('cli.batch_received.short', 'en')}")
    state = follow(client, accepted["id"], accepted["total"], poll_seconds=poll_seconds, sleep=sleep,
                   patience=patience)
    download(client, accepted["id"], out)
    return Outcome(accepted["id"], state["total"], state["issued"], state["failed"], out, state)


@batch_app.command("issue")
def issue(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                         help=bilingual("cli.batch_file_help"))],
    type_id: Annotated[str, typer.Option("--type", help=bilingual("cli.credential_type_help"))],
    server: Annotated[str, typer.Option("--server", help=bilingual("cli.issuer_url_help"))] = DEFAULT_SERVER,
    api_key: Annotated[str | None, typer.Option("--api-key", envvar="PUENTE_API_KEY", show_default=False,
                                                help=bilingual("cli.api_key_help"))] = None,
    out: Annotated[Path | None, typer.Option("--out", help=f"{bilingual('cli.results_file_help')} "
                                                           "(FILE.results.csv)")] = None,
) -> None:
    """Emite un lote desde un CSV con barra de progreso / issue a CSV batch with a progress bar."""
    if not api_key:
        console.print(f"[red]error[/red] {bilingual('cli.missing_api_key')}")
        raise typer.Exit(2)
    target = out or default_out(file)
    headers = {"Authorization": f"Bearer {api_key}", "Accept-Language": "es"}
    timeout = httpx.Timeout(60.0, connect=10.0)
    with httpx.Client(base_url=server.rstrip("/"), headers=headers, timeout=timeout) as client:
        try:
            outcome = run_batch(client, file, type_id, target)
        except BatchFailed as exc:
            console.print(f"[red]error[/red] {exc.title}")
            for detail in exc.details:
                console.print(f"  - {detail}")
            raise typer.Exit(1) from None
    counts = {"issued": outcome.issued, "failed": outcome.failed, "total": outcome.total}
    console.print(f"[green]{text('cli.batch_done')}[/green]: {text('cli.batch_counts', 'es', **counts)} / "
                  f"{text('cli.batch_counts.short', 'en', **counts)}")
    if outcome.failed:
        console.print(f"[yellow]{bilingual('cli.see_errors_column')}[/yellow]")
    typer.echo(str(outcome.out))
