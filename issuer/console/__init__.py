"""The staff console: server-rendered pages for certifiers (issue, print, batches, find and
change status), administrators (users, API keys, signing keys, types) and auditors (read-only
records and the audit log). Mounted by ``issuer.app.create_app`` under ``/console``."""

from __future__ import annotations

from fastapi import APIRouter

from issuer.console import (
    admin_pages,
    approval_pages,
    audit_pages,
    auth_pages,
    batch_pages,
    contact_pages,
    credential_pages,
    landing,
    static,
)


def router() -> APIRouter:
    combined = APIRouter()
    for module in (static, auth_pages, credential_pages, batch_pages, approval_pages, admin_pages, contact_pages,
                   landing, audit_pages):
        combined.include_router(module.router)
    return combined
