"""Revocation freshness (issue 12): status lists with ttl 60 s, a strong ETag and 304s; verifiers
refresh conditionally when the ttl ends, never call a status older than
PUENTE_STATUS_MAX_AGE_SECONDS valid, and say in the report when the status was checked."""

from __future__ import annotations

import time
from typing import Any

import httpx

from credcore import jws, qr
from credcore.clock import FixedClock
from testkit.live import Live
from testkit.wallet import present
from verifier.service import VerifierService


def _holder_and_credential(live: Live) -> tuple[dict[str, Any], Any, str]:
    created = live.issue()
    wallet = live.wallet()
    return created, wallet.holder, wallet.redeem(created)


def _live_qr(sd_jwt: str, holder: Any) -> str:
    return qr.encode(present(sd_jwt, holder, now=int(time.time())))


def test_issuer_serves_lists_with_ttl_60_strong_etag_and_304(live: Live) -> None:
    created = live.issue()
    uri = f"{live.issuer_url}/i/sena/status/1"
    first = live.http.get(uri)
    assert first.status_code == 200
    assert jws.parse(first.text).claims()["ttl"] == 60
    tag = first.headers["etag"]
    assert tag.startswith('"') and not tag.startswith("W/")
    max_age = int(first.headers["cache-control"].rsplit("=", 1)[1])
    assert 0 <= max_age <= 60
    unchanged = live.http.get(uri, headers={"If-None-Match": tag})
    assert unchanged.status_code == 304 and unchanged.content == b"" and unchanged.headers["etag"] == tag
    assert live.http.get(uri, headers={"If-None-Match": f'"other", W/{tag}'}).status_code == 304
    assert live.http.get(uri, headers={"If-None-Match": '"other"'}).status_code == 200
    live.change(created["id"], "revoke")
    changed = live.http.get(uri, headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag


def _service_with_status_clock(live: Live, start: int) -> tuple[VerifierService, FixedClock]:
    service = live.verifier_service()
    clock = FixedClock(start)
    service.status.clock = clock  # the status cache's own time: ttl and age are checked against it
    return service, clock


def test_verifier_refreshes_conditionally_and_sees_a_revocation_within_the_ttl(live: Live) -> None:
    created, holder, sd_jwt = _holder_and_credential(live)
    start = int(time.time())
    service, clock = _service_with_status_clock(live, start)
    report = service.verify(_live_qr(sd_jwt, holder), "es")
    assert report["verdict"] == "valid" and report["status_checked_at"] == start
    assert (service.status.fetches, service.status.revalidations) == (1, 0)

    clock.advance(30)  # within the ttl: no request at all
    assert service.verify(_live_qr(sd_jwt, holder), "es")["status_checked_at"] == start
    assert (service.status.fetches, service.status.revalidations) == (1, 0)

    clock.advance(31)  # the ttl ended: a conditional request, answered 304 (nothing to parse)
    report = service.verify(_live_qr(sd_jwt, holder), "es")
    assert report["verdict"] == "valid" and report["status_checked_at"] == start + 61
    assert (service.status.fetches, service.status.revalidations) == (1, 1)

    live.change(created["id"], "revoke")
    assert service.verify(_live_qr(sd_jwt, holder), "es")["verdict"] == "valid"  # still within this ttl
    clock.advance(60)  # at most 60 s after the revocation, every verifier says so
    report = service.verify(_live_qr(sd_jwt, holder), "es")
    assert report["verdict"] == "revoked" and report["valid"] is False
    assert (service.status.fetches, service.status.revalidations) == (2, 1)


def _unreachable(_request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("issuer unreachable")


def test_a_status_older_than_the_bound_is_never_valid(live: Live) -> None:
    _, holder, sd_jwt = _holder_and_credential(live)
    for bound in (60, 120):
        service, clock = _service_with_status_clock(live, int(time.time()))
        service.status.settings = service.status.settings.model_copy(update={"status_max_age_seconds": bound})
        assert service.verify(_live_qr(sd_jwt, holder), "es")["verdict"] == "valid"
        service.status.client = httpx.Client(transport=httpx.MockTransport(_unreachable))  # the issuer goes away
        clock.advance(59)
        assert service.verify(_live_qr(sd_jwt, holder), "es")["verdict"] == "valid"  # fresh enough: no request
        clock.advance(2)  # 61 s: the refresh fails; a copy confirmed 61 s ago is within 120 s, not within 60 s
        report = service.verify(_live_qr(sd_jwt, holder), "es")
        assert report["verdict"] == ("valid" if bound == 120 else "status_unavailable")
        clock.advance(60)
        report = service.verify(_live_qr(sd_jwt, holder), "en")
        assert report["verdict"] == "status_unavailable" and report["valid"] is False and report["claims"] == {}
