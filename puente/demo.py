"""``make run``: migrate, seed the demo institutions, then serve every service and print the URLs
and the demo staff API keys. Services run as child processes; Ctrl-C stops them all."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sys
from pathlib import Path
from typing import Any

from credcore.messages import bilingual
from issuer.config import Settings

SERVICES: tuple[tuple[str, int, str], ...] = (
    ("issuer", 8001, bilingual("cli.demo.issuer")),
    ("verifier", 8002, bilingual("cli.demo.verifier")),
    ("wallet", 8003, bilingual("cli.demo.wallet")),
)


def make_app(service: str) -> Any:
    """The ASGI app of a service, configured from PUENTE_* variables."""
    if service == "issuer":
        from issuer.app import create_app

        return create_app(Settings())
    from verifier.config import VerifierSettings

    if service == "wallet":
        from puente.wallet_app import create_wallet_app
        from verifier.trust_cache import load_registry_key

        settings = VerifierSettings()  # the same PUENTE_TRUST_LIST_URL and registry key as a verifier
        try:
            registry = load_registry_key(settings).jwk()
        except RuntimeError:
            registry = None  # then the wallet checks signatures against each issuer's published keys
        return create_wallet_app(allow_loopback_issuers=settings.env != "production",
                                 trust_list_url=settings.trust_list_url if registry else None, registry_jwk=registry)
    from verifier.app import create_app as create_verifier

    return create_verifier(VerifierSettings())


def issuer_app() -> Any:
    """uvicorn factory for the issuer (``puente serve issuer --workers N``: one app per process)."""
    return make_app("issuer")


def _serve(service: str, port: int) -> None:
    import uvicorn

    from servicekit.slow_clients import server_options

    uvicorn.run(make_app(service), host="127.0.0.1", port=port, log_level="warning", access_log=False,
                **server_options())


READY_URLS = ("http://127.0.0.1:8001/readyz", "http://127.0.0.1:8002/readyz", "http://127.0.0.1:8003/healthz")


def wait_until_ready(urls: tuple[str, ...] | list[str], timeout: float, pause: float = 0.25) -> list[str]:
    """Poll each URL until it answers 200 or ``timeout`` seconds pass; the URLs still not ready."""
    import time

    import httpx

    waiting, deadline = list(urls), time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as client:
        while waiting and time.monotonic() < deadline:
            for url in list(waiting):
                try:
                    if client.get(url).status_code == 200:
                        waiting.remove(url)
                except httpx.HTTPError:
                    pass
            if waiting:
                time.sleep(pause)
    return waiting


def run_demo(settings: Settings) -> None:
    from issuer.operator import migrate, open_deps, registry_public_jwk, seed

    migrate(settings.database_url)
    deps = open_deps(settings)
    keys_file = Path(settings.var_dir) / "demo-keys.json"
    seed(deps, keys_file)
    registry_file = Path(settings.var_dir) / "registry-public.jwk"
    registry_file.write_text(json.dumps(registry_public_jwk(deps)) + "\n", "utf-8")
    os.environ.setdefault("PUENTE_REGISTRY_PUBLIC_JWK_FILE", str(registry_file))
    os.environ.setdefault("PUENTE_TRUST_LIST_URL", f"{settings.base_url}/trust-list")
    certificate, key = demo_verifier_identity(Path(settings.var_dir))
    os.environ.setdefault("PUENTE_VP_CERTIFICATE_FILE", str(certificate))
    os.environ.setdefault("PUENTE_VP_KEY_FILE", str(key))
    keys: list[dict[str, Any]] = json.loads(keys_file.read_text()) if keys_file.exists() else []
    offer = demo_offer(deps)
    processes = [multiprocessing.Process(target=_serve, args=(name, port), daemon=True) for name, port, _ in SERVICES]
    for process in processes:
        process.start()

    def stop(*_: Any) -> None:
        for process in processes:
            process.terminate()
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    # The addresses are printed once every service answers ready (the verifier holds the trust list).
    late = wait_until_ready(READY_URLS, timeout=90.0)
    if late:
        print(f"{bilingual('cli.demo.not_answering')}: " + ", ".join(late), file=sys.stderr, flush=True)
        stop()
    print(f"\nPuente — {bilingual('cli.demo.title')}\n")
    for _name, port, what in SERVICES:
        print(f"  http://127.0.0.1:{port}/   {what}")
    print("  API docs: http://127.0.0.1:8001/docs  http://127.0.0.1:8002/docs")
    print(f"\n{bilingual('cli.demo.api_keys')} (Authorization: Bearer …):")
    for row in keys:
        if "api_key" in row:
            print(f"  {row['institution']:<14} {row['role']:<8} {row['api_key']}")
    print(f"\n{bilingual('cli.demo.staff_console')}: http://127.0.0.1:8001/console")
    print(f"  ({bilingual('cli.user')}, {bilingual('cli.password')}; {bilingual('cli.demo.admins_enrol_totp')})")
    for row in keys:
        if "username" in row:
            print(f"  {row['institution']:<14} {row['role']:<8} {row['username']:<22} {row['password']}")
    print(f"\n{bilingual('cli.demo.offer')} (SENA, skills-certification):")
    print(f"  {offer['wallet_link']}")
    print(f"  tx_code: {offer['tx_code']}")
    print(f"\n{bilingual('cli.demo.stop')}\n", flush=True)
    for process in processes:
        process.join()


DEMO_VERIFIER_NAME = "Verificador de demostración Puente"


def demo_verifier_identity(var_dir: Path) -> tuple[Path, Path]:
    """The demo verifier's self-signed certificate naming it (made once, kept in var/): OpenID4VP
    requests are signed with it under the x509_hash prefix and answered encrypted."""
    from verifier.oid4vp.secure import self_signed_identity

    certificate, key = var_dir / "verifier-certificate.pem", var_dir / "verifier-key.pem"
    if not (certificate.is_file() and key.is_file()):
        _, cert_pem, key_pem = self_signed_identity(DEMO_VERIFIER_NAME, "localhost")
        var_dir.mkdir(parents=True, exist_ok=True)
        certificate.write_bytes(cert_pem)
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key_pem)
    return certificate, key


def demo_offer(deps: Any) -> dict[str, str]:
    """Issue one demo credential (SENA) and return its wallet link and tx_code."""
    from urllib.parse import quote

    from credcore.credential_types import DEFAULT_SCHEMAS_DIR
    from issuer.operator import issue

    example = DEFAULT_SCHEMAS_DIR / "types" / "skills-certification" / "examples" / "valid.json"
    claims = json.loads(example.read_text("utf-8"))
    issued = issue(deps, "sena", "skills-certification", claims, None, "es")
    uri = issued["offer"]["offer_uri"]
    return {"offer_uri": uri, "tx_code": issued["offer"]["tx_code"],
            "wallet_link": f"http://127.0.0.1:8003/?offer={quote(uri, safe='')}"}


def verifier_app() -> Any:
    """uvicorn factory for the verifier (``uvicorn --factory puente.demo:verifier_app``)."""
    return make_app("verifier")
