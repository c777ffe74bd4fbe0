"""Issue 15 #14, the first `make run`: the verifier asks again for the trust list quickly while it
holds none (the issuer may still be starting), and `make run` prints its addresses only once every
service answers ready."""

from __future__ import annotations

import itertools
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from puente.demo import wait_until_ready
from testkit.live import Live, live  # noqa: F401  (live: the fixture)
from testkit.servers import ServerThread, free_port
from verifier.trust_cache import Refresher


def test_the_verifier_retries_quickly_until_it_holds_a_trust_list_then_waits_the_interval(
        live: Live) -> None:  # noqa: F811
    closed = free_port()  # nothing listens here yet: the issuer has not started
    service = live.verifier_service(trust_list_url=f"http://127.0.0.1:{closed}/trust-list")
    cache = service.trust
    refresher = Refresher(cache, 300)
    assert cache.refresh() is False and cache.trust_list is None
    waits = refresher.waits()
    assert list(itertools.islice(waits, 6)) == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0]  # seconds, never 300 while empty
    good = live.verifier_service()  # the issuer answers now: the next try gets the list
    assert good.trust.trust_list is not None
    assert list(itertools.islice(Refresher(good.trust, 300).waits(), 2)) == [300.0, 300.0]


def test_make_run_waits_for_every_service_to_be_ready(live: Live) -> None:  # noqa: F811
    app = FastAPI()
    state: dict[str, Any] = {"calls": 0}

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        state["calls"] += 1  # not ready for the first two questions, like a verifier without its list
        return JSONResponse({"ready": state["calls"] > 2}, status_code=200 if state["calls"] > 2 else 503)

    port, closed = free_port(), free_port()
    with ServerThread(app, port):
        ready = f"http://127.0.0.1:{port}/readyz"
        assert wait_until_ready([ready, f"{live.issuer_url}/readyz"], timeout=30, pause=0.05) == []
        assert state["calls"] == 3
        assert wait_until_ready([ready, f"http://127.0.0.1:{closed}/readyz"], timeout=0.5, pause=0.05) == [
            f"http://127.0.0.1:{closed}/readyz"]
