"""Driving the staff console over HTTP in tests: staff users for a deployment, a browser-like
client that signs in (password, then TOTP for admins) and posts forms with the page's CSRF token."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape
from typing import Any

import pyotp
from fastapi.testclient import TestClient
from httpx import Response

from issuer import accounts
from issuer.operator import institution
from tests.issuer.deployment import Deployment

PASSWORD = "una frase bastante larga 2026"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class ConsoleUser:
    username: str
    password: str
    role: str
    slug: str
    id: int
    totp_secret: str | None = None

    def code(self, now: int) -> str:
        assert self.totp_secret
        return pyotp.TOTP(self.totp_secret).at(now)


def make_user(deployment: Deployment, slug: str = "sena", role: str = "officer", *, username: str | None = None,
              password: str = PASSWORD, ready: bool = True) -> ConsoleUser:
    """A console user. ``ready``: password already chosen and, for admins, TOTP already enrolled."""
    deps = deployment.deps
    name = username or f"{role}.{slug}"
    with deps.session() as session:
        inst = institution(session, slug)
        user = accounts.create_user(session, deps, inst, username=name, display_name=f"{role.title()} {slug}",
                                    role=role, password=password, actor="operator")
        secret = None
        if ready:
            user.must_change_password = False
            if role == "admin":
                secret = accounts.totp_secret(deps, session, user)
                user.totp_confirmed_at = deployment.clock.now()
            session.add(user)
        session.commit()
        return ConsoleUser(name, password, role, slug, user.id or 0, secret)


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "page has no CSRF token"
    return unescape(found.group(1))


@dataclass
class Browser:
    """A cookie-keeping client that behaves like a browser posting the console's own forms."""

    deployment: Deployment
    client: TestClient
    last: Response | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def new(cls, deployment: Deployment) -> Browser:
        app = deployment.client.app
        client = TestClient(app, base_url=str(deployment.client.base_url), follow_redirects=True)
        return cls(deployment, client)

    def get(self, path: str, **kwargs: Any) -> Response:
        self.last = self.client.get(path, **kwargs)
        return self.last

    def post(self, path: str, data: dict[str, Any] | None = None, *, csrf_from: str | None = None,
             files: Any = None, csrf: str | None = None, **kwargs: Any) -> Response:
        """POST a form; the CSRF token comes from ``csrf_from`` (a page fetched first) unless given."""
        if csrf is None:
            page = self.client.get(csrf_from or path)
            csrf = csrf_of(page.text)
        body = {**(data or {}), "csrf": csrf}
        self.last = self.client.post(path, data=body, files=files, **kwargs)
        return self.last

    def sign_in(self, user: ConsoleUser, *, password: str | None = None) -> Response:
        response = self.post("/console/login", {"username": user.username, "password": password or user.password},
                             csrf_from="/console/login")
        if response.status_code == 200 and "/console/login/code" in str(response.url) and user.totp_secret:
            response = self.post("/console/login/code", {"code": user.code(self.deployment.clock.now())},
                                 csrf_from="/console/login/code")
        return response

    def cookie(self, name: str) -> str | None:
        return self.client.cookies.get(name)
