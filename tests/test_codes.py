"""The error vocabulary is enumerable (issue 10 #3): every code that can reach a client, a report or
a page is in the one registry (credcore/codes.py), with the verdict or HTTP status it is raised with
(or, for an OpenID4VP presentation result, the result's verdict), and every registered code has its
message in Spanish and in English in the one catalog (web_common/i18n/). The raise sites are found
by walking the source, so a new code cannot slip in without its entry."""

from __future__ import annotations

import ast
import importlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from credcore.codes import CODES, RESULT_VERDICTS, Code
from credcore.errors import VERDICTS, CredentialError, IssuanceError
from credcore.messages import CATALOG_DIR, LANGUAGES, catalog_files, entries

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("credcore", "issuer", "verifier", "servicekit", "puente")
# Calls whose first (or second, after a status) string argument is a code on the wire.
CODE_ARGUMENT = {"OAuthError": 0, "problem": 1, "Problem": 1, "_unavailable": 0, "Check": 2, "WalletAnswer": 1}
# An OpenID4VP presentation result (verifier/oid4vp/): Result(valid, verdict, error_code, …).
RESULT_CALL = "Result"


@dataclass(frozen=True)
class Site:
    where: str
    code: str
    verdict: str | None = None  # a credential error's verdict, from its class
    status: int | None = None  # an HTTP status, from the class or the literal argument
    variant: str | None = None
    result: str | None = None  # the verdict of the presentation result it is reported in


def _module_of(path: Path) -> object:
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return importlib.import_module(name.removesuffix(".__init__"))


def _classify(cls: object) -> tuple[str | None, int | None]:
    """(verdict, status) an exception class gives the code it is raised with."""
    if not isinstance(cls, type):
        return None, None
    if issubclass(cls, IssuanceError):
        return None, 422
    if issubclass(cls, CredentialError):
        return cls.verdict, None
    status = getattr(cls, "status", None)
    return None, status if isinstance(status, int) else None


def _literal(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _chosen_codes(node: ast.expr | None, module: object) -> list[str]:
    """The codes an expression can give: a literal, or ``x if x in SOME_SET else "fallback"`` (each
    member of the module's set of codes ``SOME_SET``, and the fallback)."""
    if not isinstance(node, ast.IfExp):
        literal = _literal(node)
        return [literal] if literal is not None else []
    chosen = _chosen_codes(node.orelse, module)
    test = node.test
    if (isinstance(node.body, ast.Name) and isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
            and test.left.id == node.body.id and [type(op) for op in test.ops] == [ast.In]
            and isinstance(test.comparators[0], ast.Name)):
        members = getattr(module, test.comparators[0].id)
        assert isinstance(members, frozenset) and all(isinstance(m, str) for m in members), test.comparators[0].id
        return [*sorted(members), *chosen]
    return [*_chosen_codes(node.body, module), *chosen]


def _result_sites(where: str, node: ast.Call, module: object) -> Iterator[Site]:
    """``Result(valid, verdict, error_code, …)``: each code it can carry, with its result verdict."""
    keywords = {k.arg: k.value for k in node.keywords}
    verdict = _literal(node.args[1] if len(node.args) > 1 else keywords.get("verdict"))
    code_node = node.args[2] if len(node.args) > 2 else keywords.get("error_code")
    for code in _chosen_codes(code_node, module):
        yield Site(where, code, result=verdict if verdict in RESULT_VERDICTS else None)


def _call_sites(path: Path, tree: ast.AST, module: object) -> Iterator[Site]:
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        where = f"{path.relative_to(ROOT)}:{node.lineno}"
        keywords = {k.arg: k.value for k in node.keywords}
        if name == RESULT_CALL:
            yield from _result_sites(where, node, module)
            continue
        cls = getattr(module, name, None)
        verdict, status = _classify(cls)
        code = _literal(keywords.get("code"))
        variant = None
        if code is None and isinstance(cls, type) and hasattr(cls, "status") and node.args:
            code = _literal(node.args[0])  # ServiceError("code", variant=…)
        if name in CODE_ARGUMENT and len(node.args) > CODE_ARGUMENT[name]:
            code = _literal(node.args[CODE_ARGUMENT[name]])
            first = node.args[0]
            if CODE_ARGUMENT[name] == 1 and isinstance(first, ast.Constant) and isinstance(first.value, int):
                status = first.value
            status_kw = keywords.get("status") or (node.args[2] if name == "OAuthError" and len(node.args) > 2
                                                   else None)
            if name == "OAuthError":
                status = status_kw.value if isinstance(status_kw, ast.Constant) else 400
            if name == "Problem" and len(node.args) > 2:
                variant = _literal(node.args[2])
        if code is not None:
            yield Site(where, code, verdict, status, variant or _literal(keywords.get("variant")))


def _class_sites(path: Path, tree: ast.AST, module: object) -> Iterator[Site]:
    """Codes fixed by an exception class (``code = …`` / ``default_code = …``)."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        cls = getattr(module, node.name, None)
        if not isinstance(cls, type) or not issubclass(cls, Exception):
            continue
        for statement in node.body:
            if isinstance(statement, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id in ("code", "default_code") for t in statement.targets):
                code = _literal(statement.value)
                if code is not None:
                    verdict, status = _classify(cls)
                    yield Site(f"{path.relative_to(ROOT)}:{statement.lineno}", code, verdict, status)
        for call in ast.walk(node):  # super().__init__("code", …) in the class's own methods
            if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "__init__"
                    and isinstance(call.func.value, ast.Call) and isinstance(call.func.value.func, ast.Name)
                    and call.func.value.func.id == "super" and call.args and _literal(call.args[0])):
                verdict, status = _classify(cls)
                yield Site(f"{path.relative_to(ROOT)}:{call.lineno}", str(_literal(call.args[0])), verdict, status)


def raise_sites() -> list[Site]:
    sites: list[Site] = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts or path.name == "__main__.py":
                continue  # Alembic scripts run inside Alembic; __main__ runs a program
            tree = ast.parse(path.read_text(encoding="utf-8"))
            module = _module_of(path)
            sites += [*_call_sites(path, tree, module), *_class_sites(path, tree, module)]
    return sites


SITES = raise_sites()


def test_the_walk_finds_the_known_kinds_of_site() -> None:
    """The walk is not vacuous: it sees credential errors, service errors, OAuth errors and problems."""
    codes = {site.code for site in SITES}
    assert {"alg_not_allowed", "kb_expired", "username_taken", "invalid_grant", "rate_limited",
            "client_quota_exceeded", "sign_in_locked", "status_missing"} <= codes
    assert len(SITES) > 200


def test_the_walk_finds_the_presentation_results_codes() -> None:
    """OpenID4VP results are walked too: the exchange's own codes with their result verdicts, every
    wallet error of §8.5 the verifier records (verifier/oid4vp/answer.py's set), and the code of
    the OAuth-style answer to a wallet."""
    from verifier.oid4vp.answer import WALLET_ERRORS

    results = {(site.code, site.result) for site in SITES if site.result is not None}
    assert {("dcql_unsatisfied", "dcql_unsatisfied"), ("request_expired", "request_expired"),
            ("internal_error", "internal_error"), ("wallet_error", "wallet_error")} <= results
    assert {(code, "wallet_error") for code in WALLET_ERRORS} <= results
    wallet_answers = {(site.code, site.status) for site in SITES if site.where.startswith("verifier/errors.py")}
    assert {("invalid_request", 400), ("invalid_request", 404)} <= wallet_answers


@pytest.mark.parametrize("site", SITES, ids=lambda s: f"{s.code}@{s.where}")
def test_every_code_raised_is_registered(site: Site) -> None:
    assert site.code in CODES, f"{site.where} raises {site.code!r}, which credcore/codes.py does not list"
    entry = CODES[site.code]
    if site.verdict is not None:
        assert site.verdict in entry.verdicts, f"{site.where}: {site.code} raised with verdict {site.verdict}"
    if site.status is not None:
        assert site.status in entry.statuses, f"{site.where}: {site.code} answered with {site.status}"
    if site.variant is not None:
        assert f"{entry.key}.{site.variant}" in entries("es"), f"{site.where}: no message {entry.key}.{site.variant}"
    if site.result is not None:
        assert site.result in entry.results, f"{site.where}: {site.code} reported in a {site.result} result"


@pytest.mark.parametrize("entry", CODES.values(), ids=lambda c: c.code)
def test_every_registered_code_has_a_spanish_and_an_english_message(entry: Code) -> None:
    assert entry.verdicts or entry.statuses or entry.results, f"{entry.code} has no verdict nor HTTP status"
    assert set(entry.verdicts) <= set(VERDICTS)
    assert set(entry.results) <= set(RESULT_VERDICTS)
    for lang in LANGUAGES:
        assert entries(lang).get(entry.key, "").strip(), f"{entry.code} has no {lang} message"
    assert entries("es")[entry.key] != entries("en")[entry.key] or entry.code in SAME_IN_BOTH


SAME_IN_BOTH: set[str] = set()


def test_a_code_has_one_verdict_unless_the_registry_says_why() -> None:
    """``alg_not_allowed`` was both ``signature_invalid`` and ``malformed`` (issue 10 #3): a code with
    several verdicts is listed, with its reason, in the registry."""
    several = {c.code for c in CODES.values() if len(c.verdicts) > 1}
    assert "alg_not_allowed" not in several
    assert CODES["alg_not_allowed"].verdicts == ("signature_invalid",)
    for code in several:
        assert CODES[code].why, f"{code} has several verdicts and no reason"


def test_every_code_the_registry_lists_is_raised_somewhere() -> None:
    """No dead entries: each registered code is raised, or is a verdict the report shows."""
    raised = {site.code for site in SITES}
    dead = {code for code in CODES if code not in raised and code not in VERDICTS}
    assert not dead, f"registered but never raised: {sorted(dead)}"


# part → its keys' prefix
PARTS = {"": None, "cli/": "cli.", "console/": "console.", "wallet/": "wallet.", "camera/": "camera."}


@pytest.mark.parametrize("part", list(PARTS))
def test_the_two_catalogs_have_the_same_keys_and_placeholders(part: str) -> None:
    import re

    es, en = (json.loads((CATALOG_DIR / f"{part}{lang}.json").read_text(encoding="utf-8")) for lang in LANGUAGES)
    assert es.keys() == en.keys()
    for key in es:
        assert set(re.findall(r"\{(\w+)\}", es[key])) == set(re.findall(r"\{(\w+)\}", en[key])), key
        assert es[key].strip() and en[key].strip(), key


def test_a_key_lives_in_one_file_of_the_catalog() -> None:
    """Each part's keys carry its name (so the merged catalog Python reads has no clash), and the main
    file (the scanning page's, codes and verdicts) holds no key of a part."""
    for lang in LANGUAGES:
        files = catalog_files(lang)
        parts = ["" if path.parent == CATALOG_DIR else f"{path.parent.name}/" for path in files]
        assert parts == ["", *sorted(part for part in PARTS if part)]
        prefixes = tuple(prefix for prefix in PARTS.values() if prefix)
        for part, path in zip(parts, files, strict=True):
            names = json.loads(path.read_text(encoding="utf-8"))
            prefix = PARTS[part]
            if prefix is None:
                assert not any(name.startswith(prefixes) for name in names), path
            else:
                assert all(name.startswith(prefix) for name in names), path


def _keys_used_by(sources: list[Path], patterns: list[str]) -> set[str]:
    import re

    used: set[str] = set()
    for source in sources:
        text = source.read_text(encoding="utf-8")
        for pattern in patterns:
            used.update(re.findall(pattern, text))
    return used


def test_every_word_the_wallet_and_the_page_ask_for_is_in_the_catalog() -> None:
    """The wallet asks for `<key>` (its own `wallet.<key>`) or a whole shared key (`camera.torch`); the
    scanning page for `<key>` (`scan.<key>`) or a whole key. Static keys in their HTML and JS must
    exist in both languages, so no screen shows a bare key."""
    root = CATALOG_DIR.parents[1]
    attributes = [r'data-i18n(?:-label|-placeholder|-aria)?="([\w.]+)"']
    calls = [r"\bt\('([\w.]+)'", r"\bt\(\s*[\w.]+,\s*\"([\w.]+)\""]
    wallet = _keys_used_by([root / "wallet_web" / "index.html", *(root / "wallet_web" / "js").rglob("*.js")],
                           attributes + calls)
    page = _keys_used_by([root / "verifier" / "web" / "index.html", *(root / "verifier" / "web").glob("*.js")],
                         attributes + calls)
    assert len(wallet) > 100 and len(page) > 20 and "camera.torch" in wallet & page
    for lang in LANGUAGES:
        catalog = entries(lang)
        missing = {key for key in wallet if f"wallet.{key}" not in catalog and key not in catalog}
        assert not missing, (lang, sorted(missing))
        missing = {key for key in page if f"scan.{key}" not in catalog and key not in catalog}
        assert not missing, (lang, sorted(missing))


@pytest.mark.parametrize("entry", [c for c in CODES.values() if c.results], ids=lambda c: c.code)
def test_a_presentation_result_says_its_own_code(entry: Code) -> None:
    """A result's message is its code's (or the code's ``result`` wording), never the
    fallback ``malformed`` gives an unknown code."""
    from verifier.oid4vp.render import RESULT_WORDING, result_message
    from verifier.oid4vp.transactions import Result

    for lang in LANGUAGES:
        said = result_message(Result(False, entry.results[0], entry.code), lang)
        assert said in (entries(lang)[entry.key], entries(lang).get(f"{entry.key}.{RESULT_WORDING}"))
        assert said != entries(lang)["code.malformed"]


def test_presentation_wordings_belong_to_result_codes() -> None:
    """``code.<code>.result`` is the wording of a code shared with another place (a 500 problem, the
    issuer's OAuth error) for a presentation result: only codes a result carries have one."""
    from verifier.oid4vp.render import RESULT_WORDING

    wordings = {key.removeprefix("code.").removesuffix(f".{RESULT_WORDING}") for key in entries("es")
                if key.startswith("code.") and key.endswith(f".{RESULT_WORDING}")}
    assert wordings == {"internal_error", "invalid_request"}
    assert all(CODES[code].results for code in wordings)
