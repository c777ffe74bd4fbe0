"""Import rules of STYLE.md, checked by walking the AST of every module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN_IN_CORE = {"fastapi", "starlette", "sqlmodel", "sqlalchemy", "httpx", "alembic", "uvicorn", "requests"}


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _reads_environment(path: Path) -> bool:
    tree = ast.parse(path.read_text("utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb"):
            return True
        if isinstance(node, ast.Name) and node.id in ("getenv", "environ"):
            return True
    return False


@pytest.mark.parametrize("path", _modules("credcore"), ids=lambda p: p.name)
def test_core_imports_no_framework_and_reads_no_environment(path: Path) -> None:
    roots = {name.split(".")[0] for name in _imports(path)}
    assert not roots & FORBIDDEN_IN_CORE, f"{path.name} imports {roots & FORBIDDEN_IN_CORE}"
    assert not _reads_environment(path), f"{path.name} reads the environment"


@pytest.mark.parametrize(("package", "other"), [("issuer", "verifier"), ("verifier", "issuer")])
def test_services_never_import_each_other(package: str, other: str) -> None:
    for path in _modules(package):
        roots = {name.split(".")[0] for name in _imports(path)}
        assert other not in roots, f"{path} imports {other}"


@pytest.mark.parametrize("package", ["credcore", "servicekit", "issuer", "verifier"])
def test_no_library_package_imports_the_command_line(package: str) -> None:
    """``puente/`` is the CLI and the demo: it sits on top; nothing below imports it."""
    for path in _modules(package):
        roots = {name.split(".")[0] for name in _imports(path)}
        assert "puente" not in roots, f"{path.relative_to(ROOT)} imports puente"


def test_the_service_kit_depends_on_no_service() -> None:
    for path in _modules("servicekit"):
        roots = {name.split(".")[0] for name in _imports(path)}
        assert not roots & {"issuer", "verifier", "puente"}, f"{path.name} imports {roots & {'issuer', 'verifier'}}"


@pytest.mark.parametrize(("package", "other"), [("issuer/console", "issuer.api"), ("issuer/api", "issuer.console")])
def test_the_console_and_the_api_never_import_each_other(package: str, other: str) -> None:
    """Each is mounted with its own error handling (``ConsoleRoute``, the API's exception handlers);
    shared plumbing lives below both (``issuer.errors``, ``servicekit``). Lazy imports count too."""
    for path in _modules(package):
        offending = {name for name in _imports(path) if name == other or name.startswith(other + ".")}
        assert not offending, f"{path.relative_to(ROOT)} imports {offending}"


def test_the_walker_sees_imports() -> None:
    """Guard against a walker that finds nothing: it must see the core's own imports, and imports
    made inside functions (a lazy import would otherwise hide a cycle)."""
    assert "credcore.errors" in _imports(ROOT / "credcore" / "verify.py")
    assert "issuer.batch_worker" in _imports(ROOT / "issuer" / "app.py")  # imported inside the lifespan


MAX_MODULE_LINES = 600


@pytest.mark.parametrize("package", ["credcore", "servicekit", "issuer", "verifier", "puente"])
def test_no_module_is_over_600_lines(package: str) -> None:
    """A module that long does several jobs: split it by job (issue 10)."""
    long = {str(path.relative_to(ROOT)): n for path in _modules(package)
            if (n := len(path.read_text("utf-8").splitlines())) > MAX_MODULE_LINES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def _all_modules(*packages: str) -> list[Path]:
    return [path for package in packages for path in _modules(package)]


def test_bench_and_the_testkit_never_import_the_tests() -> None:
    """Builders both need live in ``testkit/``; the benchmarks and the kit stand without ``tests/``."""
    for path in _all_modules("bench", "testkit"):
        roots = {name.split(".")[0] for name in _imports(path)}
        assert "tests" not in roots, f"{path.relative_to(ROOT)} imports tests"
    for path in _modules("testkit"):
        roots = {name.split(".")[0] for name in _imports(path)}
        assert "bench" not in roots, f"{path.relative_to(ROOT)} imports bench"


def test_no_module_imports_a_conftest() -> None:
    """A conftest holds fixtures and hooks; what tests share as a library lives in a support module
    (``testkit/``, ``tests/browser/chromium.py``, ``tests/issuer/deployment.py``, …)."""
    for path in _all_modules("tests", "bench", "testkit"):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [f"{node.module or ''}.{alias.name}" for alias in node.names] + [node.module or ""]
            offending = [name for name in names if "conftest" in name.split(".")]
            assert not offending, f"{path.relative_to(ROOT)} imports {offending}"


def test_the_tenant_check_and_the_slug_lookup_are_written_once() -> None:
    """``issuer.repository`` is the one place that compares a row's institution with the caller's, or
    looks an institution up by slug: a hand-written copy could forget the tenant (issue 10)."""
    for path in _modules("issuer"):
        if path.name == "repository.py":
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Compare) and isinstance(node.ops[0], ast.NotEq):
                sides = [node.left, *node.comparators]
                assert not any(isinstance(s, ast.Attribute) and s.attr == "institution_id" for s in sides), \
                    f"{path.relative_to(ROOT)}:{node.lineno} checks the tenant by hand"
            if isinstance(node, ast.Compare) and isinstance(node.left, ast.Attribute):
                left = node.left
                by_slug = left.attr == "slug" and isinstance(left.value, ast.Name) and left.value.id == "Institution"
                assert not by_slug, f"{path.relative_to(ROOT)}:{node.lineno} looks an institution up by slug by hand"


def _modules_an_import_may_load(source: str, package: tuple[str, ...]) -> set[str]:
    """Every module the imports of ``source`` (a module of ``package``) may load, lazy ones too:
    ``from a.b import c`` loads ``a.b``, and ``a.b.c`` as well when ``a.b`` is a package (a directory
    here); a relative import is resolved against ``package``."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package[:len(package) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            names.add(base)
            if (ROOT / Path(*base.split("."))).is_dir():
                names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _test_modules_imported(source: str, package: tuple[str, ...]) -> list[str]:
    return sorted(name for name in _modules_an_import_may_load(source, package)
                  if name.split(".")[0] in ("tests", "bench") and name.rsplit(".", 1)[-1].startswith("test_"))


def test_test_modules_are_not_libraries() -> None:
    """What several test modules share lives in a support module (``tests/issuer/support.py``,
    ``tests/browser/wallet_support.py``, ``tests/browser/scanner_support.py``, ``testkit/``, …), never
    in another test module, in tests/ and bench/ alike (issue 10): importing one runs its module-level
    set-up, hands its fixtures to the importer unseen, and turns a test file into a library."""
    offending = {}
    for path in _all_modules("tests", "bench", "testkit"):
        package = path.relative_to(ROOT).parent.parts
        if imported := _test_modules_imported(path.read_text("utf-8"), package):
            offending[str(path.relative_to(ROOT))] = imported
    assert not offending, f"test modules imported by other modules: {offending}"


@pytest.mark.parametrize(("source", "expected"), [
    ("from tests.browser.test_scanner import y4m", ["tests.browser.test_scanner"]),
    ("from tests.browser import test_scanner", ["tests.browser.test_scanner"]),
    ("import tests.browser.test_wallet as w", ["tests.browser.test_wallet"]),
    ("from .test_console import sign_in", ["tests.browser.test_console"]),
    ("from . import test_console", ["tests.browser.test_console"]),
    ("from ..issuer import test_staff", ["tests.issuer.test_staff"]),
    ("def f():\n    from tests.browser.test_wallet import verifier", ["tests.browser.test_wallet"]),
    ("from tests.browser.scanner_support import y4m", []),
    ("from tests.browser import wallet_support", []),
    ("from tests.browser.wallet_support import test_like_name", []),
])
def test_the_test_module_walker_sees_every_form_of_import(source: str, expected: list[str]) -> None:
    """Guard against a walker that misses one: absolute, from-package, relative and lazy imports of a
    test module are found (as written in a module of tests/browser); a support module is not, nor a
    name in one that merely starts with ``test_``."""
    assert _test_modules_imported(source, ("tests", "browser")) == expected


_MUTATORS = {"append", "add", "clear", "discard", "extend", "insert", "pop", "popitem", "remove", "setdefault",
             "update", "move_to_end"}
_CONTAINERS = (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)
_CONTAINER_CALLS = {"dict", "list", "set", "bytearray", "defaultdict", "OrderedDict", "deque", "Counter"}
# Loaded once from the package's own files, the same for every caller: not state between calls.
_LOAD_ONCE = {"package_dir", "_catalog", "_validator"}


def _module_containers(tree: ast.Module) -> set[str]:
    """Names a module binds, at its top level, to a mutable container."""
    names: set[str] = set()
    for statement in tree.body:
        targets = statement.targets if isinstance(statement, ast.Assign) else (
            [statement.target] if isinstance(statement, ast.AnnAssign) and statement.value is not None else [])
        value = getattr(statement, "value", None)
        call = value.func if isinstance(value, ast.Call) else None
        mutable = isinstance(value, _CONTAINERS) or (
            isinstance(call, ast.Name | ast.Attribute) and (call.id if isinstance(call, ast.Name) else call.attr)
            in _CONTAINER_CALLS)
        if mutable:
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def _state_kept_between_calls(source: str) -> list[str]:
    tree = ast.parse(source)
    containers = _module_containers(tree)
    found: list[str] = []
    for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)):
        for decorator in function.decorator_list:
            name = decorator.func if isinstance(decorator, ast.Call) else decorator
            label = name.id if isinstance(name, ast.Name) else name.attr if isinstance(name, ast.Attribute) else ""
            if label in ("cache", "lru_cache") and function.name not in _LOAD_ONCE:
                found.append(f"{function.name}: @{label}")
        for node in ast.walk(function):
            if isinstance(node, ast.Global):
                found.append(f"{function.name}: global {', '.join(node.names)}")
            elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store | ast.Del) and \
                    isinstance(node.value, ast.Name) and node.value.id in containers:
                found.append(f"{function.name}: writes {node.value.id}[…]")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    node.func.attr in _MUTATORS and isinstance(node.func.value, ast.Name) and \
                    node.func.value.id in containers:
                found.append(f"{function.name}: {node.func.value.id}.{node.func.attr}()")
    return found


@pytest.mark.parametrize("path", _modules("credcore"), ids=lambda p: p.name)
def test_the_core_keeps_no_state_between_calls_in_its_modules(path: Path) -> None:
    """Caches live on the objects that own them (issue 10 #6): ``VerifierMemory`` (holder keys,
    verified status lists, PT1 points), the issuer's deps; no credcore module changes a module-level
    container, declares a global or memoises a function on its arguments."""
    found = _state_kept_between_calls(path.read_text("utf-8"))
    assert not found, f"{path.name}: {found}"


def test_the_state_walker_sees_a_module_level_cache() -> None:
    source = ('_SEEN: dict[str, int] = {}\n_ORDER = list()\n'
              'def remember(key):\n    _SEEN[key] = 1\n    _ORDER.append(key)\n'
              'def forget():\n    global _SEEN\n    _SEEN.clear()\n'
              '@functools.lru_cache(maxsize=64)\ndef costly(x):\n    return x\n')
    assert _state_kept_between_calls(source) == [
        "remember: writes _SEEN[…]", "remember: _ORDER.append()", "forget: global _SEEN", "forget: _SEEN.clear()",
        "costly: @lru_cache"]
