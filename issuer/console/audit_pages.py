"""The audit log page for auditors and admins: the institution's events, newest first, and a check
of the whole hash chain (read-only, so a plain GET with ``?check=1``).

The log never holds claim values; event details are still shown only for keys known to carry
counts, roles or type ids, and any other key by its name alone."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from issuer import audit
from issuer.console.routing import ConsoleRoute
from issuer.console.web import Console, ConsoleDep, day_start, render

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)

PAGE_SIZE = 50
# Detail keys whose values are counts, flags, roles or type ids: never personal data.
SHOWN_DETAILS = frozenset({"role", "type", "types", "enrolled", "attempts", "reason_length", "rows", "bytes",
                           "total", "issued", "failed"})
# Why the audit chain is broken (issuer/audit.py's reasons) → its catalog entry.
CHAIN_REASONS = {"missing or reordered event": "console.chain_break.missing",
                 "previous hash does not match": "console.chain_break.previous_hash",
                 "event was altered": "console.chain_break.altered"}


def _details(console: Console, details: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(key, value) pairs to show; the value is None for keys not known to be harmless."""
    shown: list[tuple[str, str | None]] = []
    for key in sorted(details):
        value = details[key]
        if key in SHOWN_DETAILS and isinstance(value, str | int | float | bool | list):
            if isinstance(value, bool):
                text = console.msg("console.yes_2") if value else console.msg("console.no_2")
            elif isinstance(value, list):
                text = ", ".join(str(v) for v in value)
            else:
                text = str(value)
            shown.append((key, text[:200]))
        else:
            shown.append((key, None))
    return shown


@router.get("/audit")
def audit_page(request: Request, console: ConsoleDep, page: Annotated[int, Query(ge=1, le=100_000)] = 1,
               check: Annotated[int, Query(ge=0, le=1)] = 0,
               action: Annotated[str, Query(max_length=64)] = "",
               actor: Annotated[str, Query(max_length=100)] = "",
               target: Annotated[str, Query(max_length=100)] = "",
               from_: Annotated[str, Query(alias="from", max_length=10)] = "",
               to: Annotated[str, Query(max_length=10)] = "") -> Response:
    """Events newest first, filtered by action, actor, target (a credential id, ``@user``, a key id)
    and day range; every filter is an exact match on the institution's own events."""
    console.require("audit")
    institution_id = console.staff.institution.id
    with console.deps.session() as session:
        rows = audit.search(session, institution_id, action=action, actor=actor.strip(), target=target.strip(),
                            start=day_start(from_), end=day_start(to), offset=(page - 1) * PAGE_SIZE,
                            limit=PAGE_SIZE + 1)
        actions = audit.actions_of(session, institution_id)
        chain = audit.check_database(session) if check else None
    events = [{"row": row, "details": _details(console, row.details or {})} for row in rows[:PAGE_SIZE]]
    result: dict[str, Any] | None = None
    if chain is not None:
        reason = chain.reason or ""
        result = {"ok": chain.ok, "events": chain.events, "broken_at": chain.broken_at,
                  "reason": console.msg(CHAIN_REASONS[reason]) if reason in CHAIN_REASONS else reason}
    filters = {"action": action, "actor": actor, "target": target, "from": from_, "to": to}
    return render(request, "audit.html", {"events": events, "page": page, "more": len(rows) > PAGE_SIZE,
                                          "check": result, "page_size": PAGE_SIZE, "filters": filters,
                                          "filtered": any(filters.values()), "actions": actions,
                                          "filter_query": urlencode({k: v for k, v in filters.items() if v})},
                  console=console)
