"""Where ``POST /api/v1/verify`` verifies: in the event loop when it is CPU work only, in a worker
thread when a status list has to be fetched (``VerifierService.plan``). Either way the report is the
one ``verify`` gives for the text that was sent."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

from credcore import qr
from credcore.clock import FixedClock
from testkit.live import Live
from testkit.wallet import present
from verifier.app import create_app


def _qr(live: Live) -> tuple[str, str]:
    created = live.issue()
    wallet = live.wallet()
    presentation = present(wallet.redeem(created), wallet.holder, now=int(time.time()))
    return qr.encode(presentation), presentation


def test_a_qr_waits_on_the_network_until_its_status_list_is_cached_then_not(live: Live) -> None:
    service = live.verifier_service()
    text, presentation = _qr(live)
    assert service.plan(text) == (presentation, True)  # nothing cached: a fetch is due
    assert service.verify(text, "es")["verdict"] == "valid"
    second, second_presentation = _qr(live)
    assert service.plan(second) == (second_presentation, False)  # the same list, fresh
    assert service.plan("  " + second + "\n") == (second_presentation, False)


def test_a_stale_status_list_goes_back_to_the_network(live: Live) -> None:
    service = live.verifier_service()
    clock = FixedClock(int(time.time()))
    service.status.clock = clock
    text, _ = _qr(live)
    assert service.verify(text, "es")["verdict"] == "valid"
    assert service.plan(_qr(live)[0])[1] is False
    clock.advance(61)  # past the list's ttl
    assert service.plan(_qr(live)[0])[1] is True


def test_defects_are_left_to_verify_on_the_text_as_sent(live: Live) -> None:
    service = live.verifier_service()
    for text in ("PT1:%%%", "not a credential", "PT1:", "a~b~", " \u00e9 "):
        assert service.plan(text) == (text, False)


def test_both_placements_give_the_same_reports_over_http(live: Live) -> None:
    service = live.verifier_service()
    app = create_app(live.verifier_settings(), service=service)
    with TestClient(app) as client:
        reports: list[dict[str, Any]] = []
        for _ in range(2):  # first: fetch in a thread; second: the cached list, in the loop
            text, _ = _qr(live)
            response = client.post("/api/v1/verify", json={"qr": text})
            assert response.status_code == 200 and response.headers["x-request-id"]
            reports.append(response.json())
        replay = client.post("/api/v1/verify", json={"qr": text}).json()
        garbage = client.post("/api/v1/verify", json={"qr": "PT1:%%%"}).json()
    assert [report["verdict"] for report in reports] == ["valid", "valid"]
    varying = {"status_checked_at", "expires_at"}  # two credentials issued a moment apart
    assert {key: value for key, value in reports[0].items() if key not in varying} == {
        key: value for key, value in reports[1].items() if key not in varying}
    assert replay["verdict"] == "key_binding_invalid"
    assert garbage["verdict"] == "malformed"
