"""One message catalog (issue 10 #4): the staff console's templates and the Python of the issuer, the
``puente`` CLI, the verifier and the web kit (servicekit) take their words from web_common/i18n
(``msg("console.…")`` in templates, ``credcore.messages.text`` and friends in Python), never from
Spanish/English pairs of their own. The templates and the source are
read as text and walked as syntax trees, so a new ``tr('es', 'en')``, a ``("Spanish", "English")``
tuple or an ``"… if lang == 'es' else …"`` fails here, and so does a key missing in either language."""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.requests import Request

from credcore.messages import LANGUAGES, entries

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "issuer" / "console" / "templates"
ISSUER = sorted(path for path in (ROOT / "issuer").rglob("*.py") if "migrations" not in path.parts)
# Every package whose Python says something to a person: the issuer, the CLI, the verifier, the web kit.
SPEAKERS = ISSUER + sorted(path for package in ("puente", "verifier", "servicekit")
                           for path in (ROOT / package).rglob("*.py") if "migrations" not in path.parts)

_TR_CALL = re.compile(r"(?<![\w.])tr\s*\(")
_MSG_KEY = re.compile(r"""(?<![\w.])msg\(\s*(["'])([\w.]+)\1\s*([,)~])""")
_ACCENTED = re.compile(r"[áéíóúñÁÉÍÓÚÑ¿¡]")
_WORD = re.compile(r"[^\W\d_]{4,}")
# Spanish words of the catalog that English never uses: what a hand-written pair's Spanish side holds.
SPANISH = ({w.lower() for v in entries("es").values() for w in _WORD.findall(v)}
           - {w.lower() for v in entries("en").values() for w in _WORD.findall(v)})
# Spanish in Python that is data, not words to translate: stored revocation reasons (compared by
# equality), the demo deployment's institutions and people, common passwords, a file name.
SPANISH_DATA = {
    ("issuer/credentials.py", "teléfono reemplazado"),
    ("issuer/credentials.py", "reemisión sustituida por una más reciente"),
    ("issuer/accounts/passwords.py", "contraseña123"),
    ("issuer/operator.py", "Migración Colombia"),
    ("issuer/operator.py", "Ministerio de Educación Nacional"),
    ("issuer/operator.py", "Administración de demostración"),
    ("issuer/operator.py", "Oficial de demostración"),
    ("issuer/operator.py", "Auditoría de demostración"),
    ("puente/demo.py", "Verificador de demostración Puente"),  # the demo verifier's certificate subject
}


def _template_lines() -> Iterator[tuple[str, str]]:
    for path in sorted(TEMPLATES.glob("*.html")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            yield f"{path.name}:{number}", line


def test_the_tr_pattern_finds_calls_and_nothing_else() -> None:
    assert _TR_CALL.search("{{ tr('Usuario', 'User name') }}")
    assert _TR_CALL.search('{% set s = tr(a[0], a[1]) if x else y %}')
    assert not _TR_CALL.search("<tr><td>{{ str(x) }}</td></tr>{{ x.tr(a) }}")


def test_no_template_calls_tr() -> None:
    calls = [where for where, line in _template_lines() if _TR_CALL.search(line)]
    assert calls == [], f"templates still pair Spanish and English with tr(): {calls}"


def test_templates_are_given_msg_and_no_tr_helper() -> None:
    from issuer.console.web import base_context

    request = Request({"type": "http", "method": "GET", "path": "/console", "query_string": b"", "headers": []})
    for lang in LANGUAGES:
        context = base_context(request, lang)
        assert "tr" not in context
        assert context["msg"]("console.user_name") == entries(lang)["console.user_name"]


def test_every_msg_key_of_the_templates_is_in_both_languages() -> None:
    keys, prefixes = set(), set()
    for _, line in _template_lines():
        for _, key, after in _MSG_KEY.findall(line):
            (prefixes if after == "~" else keys).add(key)
    assert len(keys) > 300 and {"console.contact_field.", "console.contact_hint."} <= prefixes
    for lang in LANGUAGES:
        assert sorted(keys - entries(lang).keys()) == [], lang
        for prefix in prefixes:
            assert any(key.startswith(prefix) for key in entries(lang)), (lang, prefix)


# ----------------------------------------------------------------------------- the issuer's Python

# A catalog lookup and the argument that is its key: text("key", …), field_error(field, code, "key").
KEY_ARGUMENT = {"text": 0, "msg": 0, "bilingual": 0, "pair": 0, "field_error": 2}


def _parsed(path: Path) -> tuple[str, ast.Module]:
    return str(path.relative_to(ROOT)), ast.parse(path.read_text(encoding="utf-8"))


def _name(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _string(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _docstrings(tree: ast.Module) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and _string(first.value) is not None:
                found.add(id(first.value))
    return found


def _keys_named(tree: ast.Module) -> Iterator[tuple[int, str, bool]]:
    """(line, key, whole) for each catalog key the module names: a literal argument of a lookup
    (whole) or the constant start of an f-string key (``f"console.event.{action}"``, a prefix)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _name(node) in KEY_ARGUMENT and len(node.args) > KEY_ARGUMENT[_name(node)]:
            key = _string(node.args[KEY_ARGUMENT[_name(node)]])
            if key is not None and re.fullmatch(r"\w+(\.\w+)+", key):  # not SQLAlchemy's text("SELECT 1")
                yield node.lineno, key, True
        if isinstance(node, ast.JoinedStr) and node.values:
            start = _string(node.values[0])
            if start and re.fullmatch(r"(cli|console|field|row|code|operator|offer|api)\.[\w.]*\.", start):
                yield node.lineno, start, False


def test_every_key_the_python_names_is_in_both_languages() -> None:
    named = [(f"{where}:{line}", key, whole) for where, tree in map(_parsed, SPEAKERS)
             for line, key, whole in _keys_named(tree)]
    assert len(named) > 60  # the walk sees the lookups, in every package that speaks
    for package in ("issuer/", "puente/", "verifier/", "servicekit/"):
        assert any(where.startswith(package) for where, _, _ in named), package
    assert ("cli.status_help.", False) in {(key, whole) for _, key, whole in named}
    for lang in LANGUAGES:
        missing = [(where, key) for where, key, whole in named
                   if (key not in entries(lang) if whole else not any(k.startswith(key) for k in entries(lang)))]
        assert missing == [], lang


@pytest.mark.parametrize("module", ["issuer.console.admin_pages", "issuer.console.approval_pages",
                                    "issuer.console.audit_pages", "issuer.console.batch_pages",
                                    "issuer.console.credential_pages", "issuer.documents"])
def test_every_label_table_names_entries_of_both_languages(module: str) -> None:
    """The tables from a state, role or pattern to its words hold catalog keys, each in both languages."""
    tables = {name: value for name, value in vars(importlib.import_module(module)).items()
              if isinstance(value, dict) and value and all(isinstance(v, str) and v.startswith("console.")
                                                           for v in value.values())}
    assert tables, f"{module} has no label table"
    for lang in LANGUAGES:
        for name, table in tables.items():
            assert sorted(set(table.values()) - entries(lang).keys()) == [], (module, name, lang)


def test_every_month_and_audited_action_has_words() -> None:
    for lang in LANGUAGES:
        assert all(f"console.month.{n}" in entries(lang) for n in range(1, 13))
    actions = {_string(k.value) for _, tree in map(_parsed, ISSUER) for node in ast.walk(tree)
               if isinstance(node, ast.Call) and _name(node) == "record" for k in node.keywords if k.arg == "action"}
    actions.discard(None)
    assert len(actions) > 20
    for lang in LANGUAGES:
        assert sorted(a for a in actions if f"console.event.{a}" not in entries(lang)) == [], lang


def _spanish(text: str) -> bool:
    return bool(_ACCENTED.search(text) or {w.lower() for w in _WORD.findall(text)} & SPANISH)


def _language_test(node: ast.expr) -> bool:
    return any(_string(n) in LANGUAGES or (isinstance(n, ast.Name) and n.id in ("es", "en")) for n in ast.walk(node))


def _words(node: ast.AST) -> bool:
    """A string literal or f-string that reads as words (not a catalog key, a code or a field name)."""
    if isinstance(node, ast.JoinedStr):
        return any(_words(v) for v in node.values)
    text = _string(node)
    return (text is not None and bool(re.search(r"[^\W\d_]{2,}", text))
            and not re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_]+)*", text))  # a key, a code, a name


def paired_text(where: str, tree: ast.Module) -> Iterator[str]:
    """Spanish and English written side by side in Python, in any of the shapes the console had."""
    docstrings = _docstrings(tree)
    for node in ast.walk(tree):
        line = f"{where}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "tr":
            yield f"{line} defines tr()"
        elif isinstance(node, ast.Call) and _name(node) == "tr":
            yield f"{line} calls tr()"
        elif isinstance(node, ast.IfExp) and _language_test(node.test) and _words(node.body) and _words(node.orelse):
            yield f"{line} chooses between two texts by language"
        elif isinstance(node, ast.Tuple) and len(node.elts) == 2 and all(_string(e) for e in node.elts):
            first, second = (_string(e) or "" for e in node.elts)
            if _spanish(first) and re.search(r"[^\W\d_]{2,}", second) and not _spanish(second):
                yield f"{line} holds the pair {first!r}, {second!r}"
        elif isinstance(node, ast.Dict) and {"message", "message_en"} <= {_string(k) for k in node.keys if k}:
            values = dict(zip((_string(k) for k in node.keys if k), node.values, strict=False))
            if _words(values["message"]) or _words(values["message_en"]):
                yield f"{line} writes message and message_en by hand"
        elif isinstance(node, ast.Assign) and _words(node.value) and any(
                isinstance(t, ast.Name) and re.search(r"_(ES|EN|es|en)$", t.id) for t in node.targets):
            yield f"{line} assigns a text per language"
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
              and _spanish(node.value.split(" / ")[0]) and (" / " in node.value or _ACCENTED.search(node.value))
              and (where, node.value) not in SPANISH_DATA):
            yield f"{line} writes Spanish by hand: {node.value[:60]!r}"


def test_the_pair_finder_finds_each_shape() -> None:
    source = '''
def tr(es, en):
    return en if lang == "en" else es
LABELS = {"done": ("Terminado", "Done")}
NOTE_ES = "Escanee con la billetera."
label = "Válida hasta" if lang == "es" else "Valid until"
hint = f"Texto, hasta {n} caracteres" if es else f"Text, up to {n} characters"
error = {"message": "Use el formato AAAA-MM-DD.", "message_en": "Use the format YYYY-MM-DD."}
title = "Contacto / Contact"
x = tr("Usuario", "User name")
'''
    found = list(paired_text("example.py", ast.parse(source)))
    for shape in ("defines tr()", "by language", "'Terminado', 'Done'", "a text per language",
                  "message and message_en", "'Contacto / Contact'", "calls tr()"):
        assert any(shape in f for f in found), shape
    assert len([f for f in found if "by language" in f]) == 2
    quiet = ('CSV = ("text/csv", "application/csv")\nkey = "console.x" if lang == "es" else "console.y"\n'
             'lang = "en" if cookie == "en" else "es"\nfield = "message_en" if lang == "en" else "message"\n')
    assert list(paired_text("example.py", ast.parse(quiet))) == []


def test_no_module_writes_spanish_and_english_pairs() -> None:
    """The issuer, the CLI (its help texts, output and errors), the verifier and servicekit."""
    found = [f for where, tree in map(_parsed, SPEAKERS) for f in paired_text(where, tree)]
    assert found == [], "Spanish/English text belongs in web_common/i18n:\n" + "\n".join(found)
