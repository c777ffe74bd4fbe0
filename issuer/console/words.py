"""What the console shows people instead of internal codes: audit actions and actors in words, and
moments in one human format per language (the same as the printed PDF and the wallet:
"2 de diciembre de 2026, 18:30" / "2 December 2026, 18:30", Colombia time)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from credcore.messages import entries, text

COLOMBIA = ZoneInfo("America/Bogota")
ROLES = ("admin", "officer", "auditor", "operator")  # actors' roles with words (console.actor.<role>)


def action_label(action: str, lang: str) -> str:
    """An audit action in words; an action without words yet reads as "Otra acción"."""
    key = f"console.event.{action}"
    return text(key if key in entries(lang) else "console.event_other", lang)


def actor_label(actor: str, lang: str) -> str:
    """``officer:@oficial.sena`` → "funcionario oficial.sena"; ``officer:pk_1a2b`` → "funcionario (clave de API
    pk_1a2b)"; ``operator:cli`` → "operador del registro"."""
    role, _, who = actor.partition(":")
    role_words = text(f"console.actor.{role}", lang) if role in ROLES else role
    if who.startswith("@"):
        return f"{role_words} {who[1:]}"
    if role == "operator" or who in ("cli", ""):
        return role_words
    return text("console.actor_api_key", lang, role=role_words, prefix=who)


def date_words(moment: datetime, lang: str) -> str:
    """A day in words: "2 de diciembre de 2026" / "2 December 2026" (the console and the printed PDF)."""
    return text("console.date", lang, day=moment.day, month=text(f"console.month.{moment.month}", lang),
                year=moment.year)


def human_when(seconds: int | None, lang: str) -> str:
    """A moment in Colombia, in words: "2 de diciembre de 2026, 18:30" / "2 December 2026, 18:30"."""
    if not seconds:
        return "—"
    moment = datetime.fromtimestamp(seconds, UTC).astimezone(COLOMBIA)
    return f"{date_words(moment, lang)}, {moment:%H:%M}"
