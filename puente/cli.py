"""The ``puente`` command for operators: serve, migrate, seed, staff keys, issue, status changes,
key rotation, accreditation, trust-list export, audit check, and offline verification."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from credcore.clock import FixedClock, SystemClock
from credcore.messages import bilingual, text
from puente.cli_batch import batch_app
from puente.cli_verifier import verifier_client_app
from puente.offline import UsageError, load_status_lists, load_trust_list, read_input, verify_offline

app = typer.Typer(
    help=f"{bilingual('cli.app')}. Operator commands.",
    no_args_is_help=True,
    add_completion=False,
)
keys_app = typer.Typer(help=bilingual("cli.group.keys"), no_args_is_help=True)
apikey_app = typer.Typer(help=bilingual("cli.group.apikey"), no_args_is_help=True)
staff_app = typer.Typer(help=bilingual("cli.group.staff"), no_args_is_help=True)
trust_app = typer.Typer(help=bilingual("cli.group.trust_list"), no_args_is_help=True)
audit_app = typer.Typer(help=bilingual("cli.group.audit"), no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(apikey_app, name="apikey")
app.add_typer(staff_app, name="staff")
app.add_typer(trust_app, name="trust-list")
app.add_typer(audit_app, name="audit")
app.add_typer(batch_app, name="batch")
app.add_typer(verifier_client_app, name="verifier-client")
console = Console(stderr=True)


@app.callback()
def _root() -> None:
    """Puente: credenciales verificables / verifiable credentials."""


def _settings() -> Any:
    from issuer.config import Settings

    return Settings()


def _deps() -> Any:
    from issuer.operator import open_deps
    from issuer.secrets_box import MasterKeyError

    try:
        return open_deps(_settings())
    except MasterKeyError as exc:
        console.print(f"[red]error[/red] {exc}")
        raise typer.Exit(2) from None


def _fail(exc: Exception) -> None:
    """A clear message in Spanish and English and exit 1: an operator never sees a traceback."""
    from sqlalchemy.exc import IntegrityError, OperationalError

    from credcore.errors import CredentialError
    from credcore.messages import message
    from issuer.errors import ServiceError

    if isinstance(exc, typer.Exit):
        raise exc
    if isinstance(exc, ServiceError):
        console.print(f"[red]error[/red] {exc.message('es')} / {exc.message('en')}")
        for item in exc.errors:
            console.print(f"  - {item.get('field')}: {item.get('message')}")
    elif isinstance(exc, CredentialError):
        console.print(f"[red]error[/red] {message(exc.code, 'es')} / {message(exc.code, 'en')} ({exc.code})")
    elif isinstance(exc, IntegrityError):
        console.print(f"[red]error[/red] {bilingual('cli.conflict')}")
    elif isinstance(exc, OperationalError):
        console.print(f"[red]error[/red] {bilingual('cli.database_unavailable')}")
    elif isinstance(exc, OSError):
        console.print(f"[red]error[/red] {bilingual('cli.cannot_read_write')}: {exc.filename or ''}"
                      f" {exc.strerror or exc}")
    elif isinstance(exc, ValueError):
        console.print(f"[red]error[/red] {bilingual('cli.invalid_input')}: {str(exc)[:300]}")
    else:
        console.print(f"[red]error[/red] {bilingual('cli.unexpected_failure')}: {type(exc).__name__}: "
                      f"{str(exc)[:300]}")
    raise typer.Exit(1) from None


@app.command()
def migrate() -> None:
    """Crea o actualiza el esquema de la base de datos / create or upgrade the database schema."""
    from issuer.operator import migrate as run_migrations

    settings = _settings()
    run_migrations(settings.database_url)
    console.print(f"[green]{bilingual('cli.database_up_to_date')}[/green]")


@app.command()
def seed(keys_file: Annotated[Path, typer.Option(help="where demo API keys are kept (development)")] = Path(
        "var/demo-keys.json")) -> None:
    """Instituciones de demostración con claves / demo institutions with API keys."""
    from issuer.operator import seed as run_seed

    settings = _settings()
    created = run_seed(_deps(), keys_file if settings.env == "development" else None)
    if not created:
        console.print(bilingual("cli.nothing_to_create"))
    for row in created:  # keys in full, once: a table would cut them
        if "api_key" in row:
            typer.echo(f"{row['institution']:<14} {row['role']:<8} {row['api_key']}")
    users = [row for row in created if "username" in row]
    if users:
        typer.echo(f"\n{bilingual('cli.console')} (/console): {bilingual('cli.user')}, {bilingual('cli.password')}")
        for row in users:
            typer.echo(f"{row['institution']:<14} {row['role']:<8} {row['username']} {row['password']}")


@app.command()
def serve(service: Annotated[str, typer.Argument(help="issuer | verifier | wallet")] = "issuer",
          host: str = "127.0.0.1", port: Annotated[int | None, typer.Option()] = None,
          workers: Annotated[int, typer.Option(min=1, max=64, help=bilingual("cli.workers_help"))] = 1) -> None:
    """Sirve un servicio / serve a service. Con --workers N > 1, o en producción, el estado
    compartido necesita PUENTE_REDIS_URL / with --workers N > 1, or in production, the shared
    state needs PUENTE_REDIS_URL."""
    import uvicorn

    from puente.demo import make_app
    from servicekit.shared_store import require_shared
    from servicekit.slow_clients import server_options

    if service not in ("issuer", "verifier", "wallet"):
        raise typer.BadParameter(f"{bilingual('cli.available_services')}: issuer, verifier, wallet")
    try:
        if service != "wallet":
            require_shared(redis_url=os.environ.get("PUENTE_REDIS_URL") or None,
                           env=os.environ.get("PUENTE_ENV", "development"), workers=workers, service=service)
        application = make_app(service) if workers == 1 or service == "wallet" else None
    except RuntimeError as exc:  # missing master key, registry key or shared store: a clear refusal
        console.print(f"[red]error[/red] {exc}")
        raise typer.Exit(2) from None
    default_port = {"issuer": 8001, "verifier": 8002, "wallet": 8003}[service]
    if application is not None:
        uvicorn.run(application, host=host, port=port or default_port, log_level="warning", access_log=False,
                    **server_options())
    else:
        os.environ["PUENTE_WORKERS"] = str(workers)  # every worker process checks it again in create_app
        uvicorn.run(f"puente.demo:{service}_app", factory=True, workers=workers, host=host,
                    port=port or default_port, log_level="warning", access_log=False, **server_options())


@app.command()
def demo() -> None:
    """Arranca los servicios con datos de demostración / run the services with demo data (make run)."""
    from puente.demo import run_demo

    run_demo(_settings())


@app.command()
def issue(institution: Annotated[str, typer.Option(help="institution slug")],
          type: Annotated[str, typer.Option("--type", help="credential type")],
          claims: Annotated[Path, typer.Option(help="JSON file with the claims")],
          valid_until: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
          lang: str = "es") -> None:
    """Emite una credencial / issue one credential; prints the offer and tx_code."""
    from issuer.operator import issue as run_issue

    try:
        result = run_issue(_deps(), institution, type, json.loads(claims.read_text("utf-8")), valid_until, lang)
    except Exception as exc:  # service errors become a message and exit 1
        _fail(exc)
        return
    typer.echo(json.dumps(result, ensure_ascii=False, indent=2))


@app.command()
def reissue(credential_id: str, institution: Annotated[str, typer.Option(help="institution slug")]) -> None:
    """Emite de nuevo para un teléfono nuevo / issue again for a new phone; prints the new offer and tx_code.
    Al canjearla se revoca la anterior / redeeming it revokes the old copy ("teléfono reemplazado")."""
    from issuer.operator import reissue as run_reissue

    try:
        result = run_reissue(_deps(), institution, credential_id)
    except Exception as exc:  # service errors become a message and exit 1
        _fail(exc)
        return
    typer.echo(json.dumps(result, ensure_ascii=False, indent=2))


def _status_command(action: str) -> Any:
    def command(credential_id: str, institution: Annotated[str, typer.Option()],
                reason: Annotated[str, typer.Option()]) -> None:
        from issuer.operator import change_status

        try:
            status = change_status(_deps(), institution, credential_id, action, reason)
        except Exception as exc:
            _fail(exc)
            return
        console.print(f"{credential_id}: {status}")

    command.__doc__ = bilingual(f"cli.status_help.{action}")
    return command


for _action in ("revoke", "suspend", "reinstate"):
    app.command(name=_action)(_status_command(_action))


@apikey_app.command("create")
def apikey_create(institution: Annotated[str, typer.Option()], role: Annotated[str, typer.Option()],
                  name: Annotated[str, typer.Option()] = "staff") -> None:
    """Crea una clave (se muestra una sola vez) / create a key (shown once)."""
    from issuer.operator import new_api_key

    try:
        typer.echo(new_api_key(_deps(), institution, role, name))
    except Exception as exc:
        _fail(exc)


def _password(prompt: str, from_stdin: bool) -> str:
    """A password from one line of stdin (scripts), or typed twice without echo."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt(prompt, hide_input=True, confirmation_prompt=True))


@staff_app.command("create")
def staff_create(institution: Annotated[str, typer.Option()], username: Annotated[str, typer.Option()],
                 name: Annotated[str, typer.Option(help=bilingual("cli.display_name_help"))],
                 role: Annotated[str, typer.Option(help="admin | officer | auditor")],
                 password_stdin: Annotated[bool, typer.Option(
                     help=text("cli.initial_password_stdin_help"))] = False,
                 ) -> None:
    """Crea un usuario de la consola; cambia su contraseña al entrar / create a console user, who
    changes the password at first sign-in (admins also enrol TOTP then)."""
    from issuer.operator import new_staff_user

    password = _password(bilingual("cli.initial_password"), password_stdin)
    try:
        created = new_staff_user(_deps(), institution, username, name, role, password)
    except Exception as exc:
        _fail(exc)
    typer.echo(f"{created}: {bilingual('cli.created')}")


@staff_app.command("disable")
def staff_disable(username: str) -> None:
    """Desactiva un usuario y cierra sus sesiones / disable a user and end their sessions."""
    from issuer.operator import disable_staff_user

    try:
        disable_staff_user(_deps(), username)
    except Exception as exc:
        _fail(exc)
    typer.echo(f"{username}: {bilingual('cli.disabled')}")


@staff_app.command("reset")
def staff_reset(username: str,
                second_factor: Annotated[bool, typer.Option(help=bilingual("cli.reset_totp_help"))] = False,
                password_stdin: Annotated[bool, typer.Option(
                    help=text("cli.temporary_password_stdin_help"))] = False,
                ) -> None:
    """Contraseña temporal (y TOTP nuevo) para quien perdió el acceso / a temporary password (and a
    new TOTP enrolment) for someone who lost access; their sessions end."""
    from issuer.operator import reset_staff_user

    password = _password(bilingual("cli.temporary_password"), password_stdin)
    try:
        reset_staff_user(_deps(), username, password, second_factor)
    except Exception as exc:
        _fail(exc)
    typer.echo(f"{username}: {bilingual('cli.access_reset')}")


@staff_app.command("list")
def staff_list(institution: Annotated[str, typer.Option()]) -> None:
    """Usuarios de la consola de una institución / an institution's console users."""
    from issuer.operator import list_staff_users

    try:
        users = list_staff_users(_deps(), institution)
    except Exception as exc:
        _fail(exc)
    for user in users:
        state = "/".join(text("cli.disabled" if user.disabled_at else "cli.active", lang) for lang in ("es", "en"))
        totp = "totp" if user.totp_confirmed_at else "-"
        typer.echo(f"{user.username:<24} {user.role:<8} {totp:<5} {state}")


@keys_app.command("rotate")
def keys_rotate(institution: Annotated[str, typer.Option()]) -> None:
    """Nueva clave de firma; la anterior sigue publicada / new signing key; the old one stays published."""
    from issuer.operator import rotate_key

    console.print(f"{bilingual('cli.new_key')}: {rotate_key(_deps(), institution)}")


@keys_app.command("rotate-master")
def keys_rotate_master() -> None:
    """Vuelve a sellar todo con PUENTE_MASTER_KEY; las anteriores en PUENTE_OLD_MASTER_KEYS. Se puede
    reanudar / re-seal everything with PUENTE_MASTER_KEY, old keys in PUENTE_OLD_MASTER_KEYS; resumable."""
    from issuer.rekey import remaining, rotate_master

    deps = _deps()
    counts = rotate_master(deps, lambda name, done: console.print(f"{name}: {done}"))
    left = remaining(deps)
    console.print(f"{bilingual('cli.resealed')}: {sum(counts.values())}; {bilingual('cli.left')}: {left}")
    if left:
        raise typer.Exit(1)


@keys_app.command("compromised")
def keys_compromised(kid: str, institution: Annotated[str, typer.Option()]) -> None:
    """Marca una clave como comprometida: todo lo que firmó deja de verificar / mark a key compromised."""
    from issuer.operator import compromised

    try:
        compromised(_deps(), institution, kid)
    except Exception as exc:
        _fail(exc)
    console.print(f"[yellow]{bilingual('cli.key_compromised')}[/yellow]")


@app.command()
def accredit(issuer_id: Annotated[str, typer.Option()], name: Annotated[str, typer.Option()],
             type: Annotated[list[str], typer.Option("--type")],
             jwks: Annotated[Path | None, typer.Option(help="the institution's public JWKS file")] = None,
             x509_ca: Annotated[list[Path] | None, typer.Option(
                 "--x509-ca", help="PEM file of a CA that certifies the institution's keys (x5c); repeatable")] = None,
             status_optional: Annotated[list[str] | None, typer.Option(
                 "--status-optional", help="a type it issues without status references; repeatable")] = None) -> None:
    """Acredita una institución externa por su JWKS o su CA X.509 / accredit an external institution by its JWKS
    or its X.509 CA."""
    from issuer.operator import accredit as run_accredit

    try:
        keys = json.loads(jwks.read_text("utf-8")) if jwks is not None else None
        pems = [path.read_bytes() for path in x509_ca or []]
        slug = run_accredit(_deps(), issuer_id, name, keys, type, ca_pems=pems, status_optional=status_optional or [])
    except json.JSONDecodeError as exc:
        console.print(f"[red]error[/red] {bilingual('cli.jwks_not_json')}: {exc.msg} (line {exc.lineno})")
        raise typer.Exit(1) from None
    except Exception as exc:
        _fail(exc)
        return
    console.print(f"{bilingual('cli.accredited')}: {slug}")


@trust_app.command("export")
def trust_export(out: Annotated[Path | None, typer.Option()] = None,
                 signed: Annotated[bool, typer.Option(help="signed JWT instead of JSON")] = False) -> None:
    """Exporta la lista de confianza / export the trust list (JSON for `puente verify`)."""
    from issuer.operator import export_trust_list

    exported = export_trust_list(_deps(), signed)
    if out:
        out.write_text(exported + "\n", "utf-8")
    else:
        typer.echo(exported)


@app.command("registry-key")
def registry_key_command(out: Annotated[Path | None, typer.Option()] = None) -> None:
    """La clave pública del registro, para fijarla en los verificadores / the registry public key to pin."""
    from issuer.operator import registry_public_jwk

    jwk = json.dumps(registry_public_jwk(_deps()))
    if out:
        out.write_text(jwk + "\n", "utf-8")
    else:
        typer.echo(jwk)


@audit_app.command("verify")
def audit_verify() -> None:
    """Comprueba la cadena de hashes del registro / check the audit log's hash chain."""
    from issuer.operator import verify_audit

    ok, message = verify_audit(_deps())
    console.print(("[green]" if ok else "[red]") + message)
    raise typer.Exit(0 if ok else 1)


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
            raise UsageError(bilingual("cli.lang_invalid"))
        if input_path == "-":
            data = sys.stdin.buffer.read()
        else:
            try:
                data = Path(input_path).read_bytes()
            except OSError as exc:
                raise UsageError(f"{bilingual('cli.cannot_read')} {input_path}: {exc.strerror}") from None
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
    try:
        app(standalone_mode=True)
    except Exception as exc:  # the last line of defence: an operator never sees a traceback
        try:
            _fail(exc)
        except typer.Exit as done:
            sys.exit(done.exit_code)
