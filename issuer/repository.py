"""The two lookups every issuer use case makes: an institution by its slug, and a row by its key
within one institution (the tenant). Written once, so that no caller can forget the tenant check."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlmodel import Session, SQLModel, select

from issuer.db.models import Institution

Row = TypeVar("Row", bound=SQLModel)


def institution_by_slug(session: Session, slug: str) -> Institution | None:
    """The institution with this slug (accredited outside issuers included), or None."""
    return session.exec(select(Institution).where(Institution.slug == slug)).first()


def scoped(session: Session, model: type[Row], key: Any, institution_id: int | None, *,
           options: Sequence[Any] = ()) -> Row | None:
    """The row of ``model`` with this primary key if it belongs to the institution, else None: another
    institution's row is indistinguishable from a missing one (the caller answers 404 to both)."""
    row = session.get(model, key, options=list(options) or None)
    if row is None or getattr(row, "institution_id", None) != institution_id:
        return None
    return row
