"""Reading and writing the CSV of a batch (issuer.batches): pure functions, no database.

Upload: a UTF-8 CSV (with or without BOM, comma or semicolon separated, CRLF or LF, quoted fields
may hold newlines) whose header row names claims of the credential type, plus an optional
``valid_until`` column (YYYY-MM-DD, valid through that day in Colombia). Empty cells are absent
claims; integer claims are converted from text. Binary or zipped files (an ``.xlsx`` renamed to
``.csv``), text in another encoding, unknown or repeated columns and missing required columns are
refused before anything is stored.

Rows are numbered as a spreadsheet shows them: the header is row 1, so the first credential is
row 2.

Results: every cell that a spreadsheet would run as a formula is prefixed with ``'`` (security.md
#114): a program reading the file drops a leading ``'`` to get the value.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from credcore.credential_types import CredentialType
from credcore.issue import end_of_day_in_colombia
from credcore.messages import field_message, text
from issuer.errors import Invalid, TooLarge

VALID_UNTIL = "valid_until"
RESULT_COLUMNS = ("row", "status", "credential_id", "offer_uri", "tx_code", "errors")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
INTEGER = re.compile(r"[+-]?[0-9]{1,15}")
NUMBER = re.compile(r"[+-]?[0-9]{1,15}([.][0-9]{1,15})?")
ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class CsvRow:
    number: int  # as a spreadsheet shows it: the header is row 1
    claims: dict[str, Any]
    valid_until: int | None = None
    errors: list[dict[str, str]] = field(default_factory=list)  # found while reading the cells


@dataclass(frozen=True)
class ParsedCsv:
    columns: list[str]
    rows: list[CsvRow]


def _not_utf8(line: int) -> Invalid:
    return Invalid("csv_not_utf8", line=line)


def decode_csv(data: bytes) -> str:
    """The text of an upload, or 422 for a binary, zipped or non-UTF-8 file."""
    if data.startswith(UTF16_BOMS):
        raise _not_utf8(1)
    if data.startswith(ZIP_MAGIC) or b"\x00" in data:
        raise Invalid("csv_not_text")
    if data.startswith(BOM):
        data = data[len(BOM):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _not_utf8(data[:exc.start].count(b"\n") + 1) from None


def _delimiter(text: str) -> str:
    """Comma, or the semicolon a Spanish-locale spreadsheet writes (claim names hold neither)."""
    header = text.split("\n", 1)[0]
    if "," not in header and ";" in header:
        return ";"
    return ","


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    number = 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise Invalid("csv_malformed", line=reader.line_num, reason=exc) from None
        number += 1
        yield number, record


def _blank(record: list[str]) -> bool:
    return not any(cell.strip() for cell in record)


def _columns(ctype: CredentialType, header: list[str]) -> list[str]:
    """The header's claim names (``""`` for a column without a name), or 422 listing what is wrong."""
    columns = [cell.strip().lstrip("\ufeff").strip() for cell in header]
    known = [*ctype.claim_names, VALID_UNTIL]
    named = [name for name in columns if name]
    unknown = sorted({name for name in named if name not in known})
    repeated = sorted({name for name in named if named.count(name) > 1})
    missing = [name for name in ctype.schema.get("required", []) if name not in named]
    problems: list[dict[str, str]] = []
    problems += [{"field": n, "code": "unknown_column", "message": text("row.unknown_column", "es")}
                 for n in unknown]
    problems += [{"field": n, "code": "repeated_column", "message": text("row.repeated_column", "es")}
                 for n in repeated]
    problems += [{"field": n, "code": "missing_column", "message": text("row.missing_column", "es")}
                 for n in missing]
    if unknown:
        raise Invalid("csv_unknown_columns", errors=problems, type=ctype.id, unknown=", ".join(unknown),
                      known=", ".join(known))
    if problems:
        raise Invalid("csv_header_invalid", errors=problems, repeated=", ".join(repeated) or "-",
                      missing=", ".join(missing) or "-")
    return columns


def _convert(kind: Any, value: str) -> Any:
    """Text to the claim's JSON type when it reads as one; otherwise the text, for the schema to reject."""
    if kind == "integer" and INTEGER.fullmatch(value):
        return int(value)
    if kind == "number" and NUMBER.fullmatch(value):
        return float(value) if "." in value else int(value)
    if kind == "boolean" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _row(ctype: CredentialType, columns: list[str], number: int, record: list[str]) -> CsvRow:
    properties = ctype.schema.get("properties", {})
    claims: dict[str, Any] = {}
    valid_until: int | None = None
    errors: list[dict[str, str]] = []
    if any(cell.strip() for cell in record[len(columns):]):
        errors.append({"field": "", "code": "extra_cells", "message": text("row.extra_cells", "es")})
    for name, cell in zip(columns, record, strict=False):
        value = cell.strip().replace("\r\n", "\n").replace("\r", "\n")
        if not value:
            continue  # an empty cell is an absent claim
        if not name:
            errors.append({"field": "", "code": "unnamed_column", "message": text("row.unnamed_column", "es")})
        elif name == VALID_UNTIL:
            try:
                valid_until = end_of_day_in_colombia(date.fromisoformat(value)) if ISO_DAY.fullmatch(value) else None
            except ValueError:
                valid_until = None
            if valid_until is None:
                errors.append({"field": VALID_UNTIL, "code": "format", "message": field_message("format", "es")})
        else:
            claims[name] = _convert(properties.get(name, {}).get("type"), value)
    return CsvRow(number, claims, valid_until, errors)


def parse_csv(ctype: CredentialType, data: bytes, *, max_rows: int | None = None) -> ParsedCsv:
    """Header and rows of an upload; blank rows are skipped (they keep their number)."""
    header: list[str] | None = None
    rows: list[CsvRow] = []
    for number, record in _records(decode_csv(data)):
        if _blank(record):
            continue
        if header is None:
            header = _columns(ctype, record)
            continue
        if max_rows is not None and len(rows) >= max_rows:
            raise TooLarge("too_many_rows", max_rows=max_rows)
        rows.append(_row(ctype, header, number, record))
    if header is None or not rows:
        raise Invalid("csv_empty")
    return ParsedCsv(header, rows)


# ----------------------------------------------------------------------------- writing the results


def escape_cell(value: str) -> str:
    """A cell a spreadsheet would run as a formula gets a leading ``'`` (security.md #114)."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def error_text(errors: Iterable[Mapping[str, Any]]) -> str:
    return "; ".join(f"{e['field']}: {e['message']}" if e.get("field") else str(e.get("message", ""))
                     for e in errors)


def csv_line(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([escape_cell(cell) for cell in cells])
    return buffer.getvalue()
