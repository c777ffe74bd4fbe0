"""Prometheus metrics of a service, and the guard that keeps them from strangers."""

from __future__ import annotations

import hmac
import ipaddress
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response

from credcore.messages import bilingual
from servicekit.problems import problem

MAX_CHILDREN = 4096  # distinct (route, method, status) kept at hand; more are looked up each time


class Metrics:
    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        self.service = service
        self.requests = Counter("puente_http_requests_total", "HTTP requests", ["route", "method", "status"],
                                registry=self.registry)
        self.latency = Histogram("puente_http_request_seconds", "HTTP request latency", ["route"],
                                 registry=self.registry)
        self.events = Counter("puente_events_total", "Domain events (issuance, verdicts, batches)", ["event"],
                              registry=self.registry)
        # The labelled children of the two per-request metrics, by (route, method, status): looking a
        # child up through ``labels()`` takes a lock and rebuilds its key on every request.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one request and observe its latency."""
        children = self._children.get((route, method, status))
        if children is None:
            children = (self.requests.labels(route, method, str(status)), self.latency.labels(route))
            if len(self._children) < MAX_CHILDREN:
                self._children[route, method, status] = children
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> Response:
        return Response(generate_latest(self.registry), media_type="text/plain; version=0.0.4; charset=utf-8")

    def guarded(self, request: Request, *, env: str, token: str | None) -> Response:
        """The metrics for development, a loopback client, or the bearer of the metrics token;
        otherwise 401: counts of issuance and failed sign-ins are not public (security.md #149)."""
        if env == "development" or _loopback(request) or _bearer_is(request, token):
            return self.render()
        response = problem(401, "metrics_token_required", bilingual("code.metrics_token_required"))
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response


def _loopback(request: Request) -> bool:
    """A loopback peer that did not come through a proxy: a request that carries X-Forwarded-For
    or Forwarded was relayed for someone else (a same-host proxy not in PUENTE_TRUSTED_PROXIES)."""
    if "x-forwarded-for" in request.headers or "forwarded" in request.headers:
        return False
    try:
        return ipaddress.ip_address(request.client.host if request.client else "").is_loopback
    except ValueError:
        return False


def _bearer_is(request: Request, token: str | None) -> bool:
    given = request.headers.get("authorization", "")
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
