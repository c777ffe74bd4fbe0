"""``puente verifier-client create|revoke|list``: the API keys of the frontends (an employer's, a
bank's) that create presentation requests at the verifier. Keys are shown once and kept only as
digests in ``PUENTE_VERIFIER_CLIENTS_FILE`` (default ``var/verifier-clients.json``), which every
verifier replica reads; copy it to each machine (or share the volume) after a change."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from credcore.messages import bilingual
from verifier.clients import ClientError, ClientRegistry, client_rows
from verifier.config import VerifierSettings

verifier_client_app = typer.Typer(help=bilingual("cli.group.verifier_client"), no_args_is_help=True)


def _registry() -> ClientRegistry:
    return ClientRegistry(VerifierSettings().clients_path)


@verifier_client_app.command("create")
def create(name: Annotated[str, typer.Option(help=bilingual("cli.client_name_help"))]) -> None:
    """Crea un cliente y muestra su clave una vez / create a client and show its key once."""
    try:
        client, key = _registry().create(name, int(time.time()))
    except ClientError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{client.id}  {client.name}")
    typer.echo(f"{bilingual('cli.key')} ({bilingual('cli.shown_once')}): {key}")


@verifier_client_app.command("revoke")
def revoke(client_id: Annotated[str, typer.Argument(help="vc_…")]) -> None:
    """Revoca un cliente / revoke a client: its key stops working at every replica."""
    try:
        client = _registry().revoke(client_id, int(time.time()))
    except ClientError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{bilingual('cli.revoked')}: {client.id}  {client.name}")


@verifier_client_app.command("list")
def list_clients() -> None:
    """Lista los clientes / list the clients."""
    for row in client_rows(_registry()):
        state = bilingual("cli.revoked" if row["revoked_at"] else "cli.active")
        typer.echo(f"{row['id']}  {state:<18}  {row['name']}")
