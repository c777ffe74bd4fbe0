"""``ConsoleRoute``: the console's own error handling, on every console route. A console page never
answers JSON: a redirect raised by a dependency (sign-in, second factor, new password) becomes a 303,
and a service error, a malformed address or form, an unreachable database or unavailable keys become
an error page in the user's language. The API's handlers (``issuer.api.common``) never see these."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.responses import Response

from issuer.console.web import Redirect, error_page, redirect
from issuer.errors import DATABASE_UNAVAILABLE, Invalid, ServiceError, Unavailable, database_unavailable
from issuer.secrets_box import MasterKeyError


class ConsoleRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except Redirect as exc:
                return redirect(exc.url)
            except ServiceError as exc:
                return error_page(request, exc)
            except RequestValidationError:
                return error_page(request, Invalid("request_invalid", variant="address_or_form"))
            except DATABASE_UNAVAILABLE as exc:
                return error_page(request, database_unavailable(exc))
            except MasterKeyError:
                return error_page(request, Unavailable("keys_unavailable", variant="try_later"))

        return guarded
