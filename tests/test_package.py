"""The wheel installs anywhere: built from this checkout, installed from the lock file into a fresh venv
outside the checkout (no ``-e``), it migrates, serves issuer, verifier and wallet, and every page and
data file is found through importlib.resources.

Slow (a venv and ~60 packages), so it runs in CI (CI=true) or with PUENTE_PACKAGE_TEST=1 (`make package-test`).
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
TYPES = ("ppt-status", "qualification-validation", "skills-certification")

pytestmark = pytest.mark.skipif(
    not (os.environ.get("CI") or os.environ.get("PUENTE_PACKAGE_TEST")),
    reason="slow: runs in CI or with PUENTE_PACKAGE_TEST=1 (make package-test)",
)


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    assert done.returncode == 0, f"{args}: {done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv outside the checkout holding the locked dependencies and the freshly built wheel."""
    home = tmp_path_factory.mktemp("installed")
    dist = home / "dist"
    # Built from a copy of the tree: setuptools writes build/ beside the sources, and the checkout stays
    # as it was (a build/lib copy of the web files would otherwise show up as a second scanner, etc.).
    source = home / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "node_modules", "build", "dist", "*.egg-info", "var", ".*_cache", "__pycache__"))
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", dist, source, cwd=home)
    (wheel,) = dist.glob("puente-*.whl")
    _run(sys.executable, "-m", "venv", home / "venv", cwd=home)
    pip = home / "venv" / "bin" / "pip"
    _run(pip, "install", "--quiet", "--require-hashes", "-r", ROOT / "requirements.lock", cwd=home)
    _run(pip, "install", "--quiet", "--no-deps", wheel, cwd=home)
    _run(pip, "check", cwd=home)
    return home


def _env(home: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("PUENTE_", "PYTHON", "VIRTUAL_ENV"))}
    master = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    return {**keep, "PUENTE_ENV": "test", "PUENTE_DATABASE_URL": f"sqlite:///{home}/var/puente.db",
            "PUENTE_MASTER_KEY": master, "PUENTE_VAR_DIR": str(home / "var"), "PATH": f"{home}/venv/bin:/usr/bin:/bin"}


@pytest.fixture(scope="module")
def services(installed: Path) -> Iterator[dict[str, str]]:
    home, env = installed, _env(installed)
    puente = home / "venv" / "bin" / "puente"
    _run(puente, "migrate", cwd=home, env=env)
    ports = {name: _free_port() for name in ("issuer", "verifier", "wallet")}
    env["PUENTE_PUBLIC_ISSUER_URL"] = f"http://127.0.0.1:{ports['issuer']}"
    env["PUENTE_TRUST_LIST_URL"] = f"http://127.0.0.1:{ports['issuer']}/trust-list"
    env["PUENTE_REGISTRY_PUBLIC_JWK"] = _run(puente, "registry-key", cwd=home, env=env).strip()
    processes = []
    try:
        for name, port in ports.items():
            with (home / f"{name}.log").open("wb") as log:
                processes.append(subprocess.Popen([puente, "serve", name, "--port", str(port)], cwd=home, env=env,
                                                  stdout=log, stderr=subprocess.STDOUT))
        urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        for (name, url), process in zip(urls.items(), processes, strict=True):
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, (home / f"{name}.log").read_text()[-3000:]
                assert time.monotonic() < deadline, f"{name} did not start"
                try:
                    httpx.get(url + "/", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.2)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_the_installed_code_is_the_wheel_not_the_checkout(installed: Path) -> None:
    python = installed / "venv" / "bin" / "python"
    code = "import credcore, schemas, wallet_web, puente, issuer, verifier; print(schemas.__file__, puente.__file__)"
    where = _run(python, "-c", code, cwd=installed, env=_env(installed))
    assert str(ROOT) not in where
    assert all(str(installed / "venv") in path for path in where.split())


def test_console_login_page(services: dict[str, str]) -> None:
    page = httpx.get(services["issuer"] + "/console/login")
    assert page.status_code == 200
    assert 'name="password"' in page.text
    css = httpx.get(services["issuer"] + "/console/static/console.css")
    assert css.status_code == 200 and css.text.strip()


def test_scanning_page(services: dict[str, str]) -> None:
    page = httpx.get(services["verifier"] + "/")
    assert page.status_code == 200
    assert "Verificar una credencial" in page.text
    script = httpx.get(services["verifier"] + "/app.js")
    assert script.status_code == 200 and "text/javascript" in script.headers["content-type"]
    shared = httpx.get(services["verifier"] + "/common/pt1.js")  # web_common/, shared with the wallet
    assert shared.status_code == 200 and "export" in shared.text


def test_wallet(services: dict[str, str]) -> None:
    page = httpx.get(services["wallet"] + "/")
    assert page.status_code == 200
    assert "Puente · Billetera" in page.text
    manifest = httpx.get(services["wallet"] + "/manifest.webmanifest")
    assert manifest.status_code == 200 and manifest.json()["name"]
    shared = httpx.get(services["wallet"] + "/common/pt1.js")
    assert shared.status_code == 200 and "export" in shared.text
    tables = httpx.get(services["wallet"] + "/common/qr-format-tables.json")  # from schemas/
    assert tables.status_code == 200 and tables.json()


@pytest.mark.parametrize("type_id", TYPES)
def test_the_three_credential_types(services: dict[str, str], type_id: str) -> None:
    metadata = httpx.get(f"{services['issuer']}/vct/{type_id}")
    assert metadata.status_code == 200, metadata.text
    assert metadata.json()["vct"].endswith(f"/vct/{type_id}")
