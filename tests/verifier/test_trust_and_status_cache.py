"""The verifier's trust list (pinned key, last good copy on disk, refresh, maximum age) and its
status-list cache (ttl, bounds, never "valid" when the status cannot be established)."""

from __future__ import annotations

import contextlib
import json
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from credcore import qr
from credcore.clock import FixedClock
from credcore.encoding import b64url_decode, b64url_encode
from credcore.keys import generate_key
from credcore.status_list import INVALID, StatusList, build_status_list_token
from credcore.trust import sign_trust_list
from testkit.world import NOW, World
from verifier.config import VerifierSettings
from verifier.service import VerifierService
from verifier.status_cache import StatusCache
from verifier.trust_cache import TrustCache

TRUST_URL = "https://registry.example/trust-list"


class FakeNet:
    """An httpx transport serving what each test puts in ``routes`` (or failing)."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, str, str]] = {}
        self.down = False
        self.hits: dict[str, int] = {}

    def handler(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        self.hits[url] = self.hits.get(url, 0) + 1
        if self.down:
            raise httpx.ConnectError("unreachable")
        status, media, body = self.routes.get(url, (404, "text/plain", "not found"))
        return httpx.Response(status, headers={"content-type": media}, text=body)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handler))


@pytest.fixture
def setup(tmp_path: Path) -> dict[str, Any]:
    world = World()
    registry = generate_key()
    net = FakeNet()
    settings = VerifierSettings(env="test", var_dir=tmp_path, trust_list_url=TRUST_URL, background_refresh=False,
                                trust_max_age_seconds=7 * 86_400)
    return {"world": world, "registry": registry, "net": net, "settings": settings}


def _publish(setup: dict[str, Any], *, iat: int | None = None, key: Any = None, tamper: bool = False) -> str:
    world: World = setup["world"]
    token = sign_trust_list(world.trust_document(), key or setup["registry"], iat=iat or world.clock.now())
    if tamper:
        head, body, sig = token.split(".")
        document = json.loads(b64url_decode(body))
        document["issuers"][0]["name"] = "SENA (falsa)"
        token = f"{head}.{b64url_encode(json.dumps(document).encode())}.{sig}"
    setup["net"].routes[TRUST_URL] = (200, "application/jwt", token)
    return token


def _service(setup: dict[str, Any], clock: FixedClock | None = None) -> VerifierService:
    world: World = setup["world"]
    clock = clock or world.clock
    client = setup["net"].client()
    trust = TrustCache(setup["settings"], setup["registry"].public, clock, client)
    return VerifierService(setup["settings"], trust, StatusCache(setup["settings"], clock, client), clock)


def _serve_status(setup: dict[str, Any]) -> None:
    world: World = setup["world"]
    setup["net"].routes[world.sena.status_uri()] = (200, "application/statuslist+jwt", world.status_token(world.sena))


def test_good_list_is_used_and_kept_on_disk(setup: dict[str, Any]) -> None:
    _publish(setup)
    _serve_status(setup)
    service = _service(setup)
    assert service.trust.refresh()
    world: World = setup["world"]
    assert service.verify(qr.encode(world.present(world.issue())), "es")["verdict"] == "valid"
    assert setup["settings"].trust_cache_file.read_text().strip() == setup["net"].routes[TRUST_URL][2]


@pytest.mark.parametrize("problem", ["tampered", "other-key", "not-a-jwt", "http-500", "wrong-media-type"])
def test_bad_lists_never_replace_the_good_one(setup: dict[str, Any], problem: str) -> None:
    _publish(setup)
    service = _service(setup)
    assert service.trust.refresh()
    good = service.trust.current()
    if problem == "tampered":
        _publish(setup, iat=setup["world"].clock.now() + 10, tamper=True)
    elif problem == "other-key":
        _publish(setup, iat=setup["world"].clock.now() + 10, key=generate_key())
    elif problem == "not-a-jwt":
        setup["net"].routes[TRUST_URL] = (200, "application/jwt", "hola")
    elif problem == "http-500":
        setup["net"].routes[TRUST_URL] = (500, "application/jwt", "boom")
    else:
        setup["net"].routes[TRUST_URL] = (200, "text/html", setup["net"].routes[TRUST_URL][2])
    assert not service.trust.refresh()
    assert service.trust.current() is good and service.trust.last_error


def test_no_list_yet_is_a_clear_verdict(setup: dict[str, Any]) -> None:
    setup["net"].down = True
    service = _service(setup)
    assert not service.trust.refresh()
    report = service.verify("PT1:whatever", "es")
    assert report["verdict"] == "untrusted_issuer" and report["error"]["code"] == "trust_list_unavailable"


def test_unreachable_registry_with_fresh_cache_keeps_verifying_offline(setup: dict[str, Any]) -> None:
    _publish(setup)
    _serve_status(setup)
    assert _service(setup).trust.refresh()
    setup["net"].routes.pop(TRUST_URL)
    setup["net"].down = True
    restarted = _service(setup)  # a new process: only the copy on disk
    assert not restarted.trust.refresh()
    world: World = setup["world"]
    setup["net"].down = False  # the issuer's status list is still reachable
    assert restarted.verify(qr.encode(world.present(world.issue())), "es")["verdict"] == "valid"


def test_unreachable_registry_with_stale_cache_says_so(setup: dict[str, Any]) -> None:
    _publish(setup)
    assert _service(setup).trust.refresh()
    setup["net"].down = True
    later = FixedClock(NOW + 8 * 86_400)
    stale = _service(setup, later)
    report = stale.verify("PT1:whatever", "en")
    assert report["verdict"] == "untrusted_issuer" and report["error"]["code"] == "trust_list_stale"
    assert "out of date" in report["error"]["message"]


def test_older_list_is_refused_as_rollback(setup: dict[str, Any]) -> None:
    _publish(setup)
    service = _service(setup)
    assert service.trust.refresh()
    _publish(setup, iat=setup["world"].clock.now() - 3600)
    assert not service.trust.refresh() and "rollback" in (service.trust.last_error or "")


def test_status_list_is_cached_for_its_ttl_then_refetched(setup: dict[str, Any]) -> None:
    world: World = setup["world"]
    _publish(setup)
    _serve_status(setup)
    service = _service(setup)
    service.trust.refresh()
    issued = world.issue(idx=77)
    assert service.verify(qr.encode(world.present(issued)), "es")["verdict"] == "valid"
    world.status_list(world.sena).set(77, INVALID)
    _serve_status(setup)
    assert service.verify(qr.encode(world.present(issued)), "es")["verdict"] == "valid"  # within ttl
    world.clock.advance(301)
    assert service.verify(qr.encode(world.present(issued)), "es")["verdict"] == "revoked"
    assert setup["net"].hits[world.sena.status_uri()] == 2


def test_status_unreachable_uses_a_copy_only_until_its_exp(setup: dict[str, Any]) -> None:
    """With a status age bound longer than the token's life (PUENTE_STATUS_MAX_AGE_SECONDS=7200),
    the token's own exp is what ends the copy's use (issue 12: the default bound is 60 s)."""
    setup["settings"] = setup["settings"].model_copy(update={"status_max_age_seconds": 7200})
    world: World = setup["world"]
    _publish(setup)
    _serve_status(setup)
    service = _service(setup)
    service.trust.refresh()
    issued = world.issue()
    assert service.verify(qr.encode(world.present(issued)), "es")["verdict"] == "valid"
    setup["net"].down = True
    world.clock.advance(600)  # past ttl, before the token's exp (1 h)
    assert service.verify(qr.encode(world.present(issued)), "es")["verdict"] == "valid"
    world.clock.advance(3600)  # past exp
    report = service.verify(qr.encode(world.present(issued)), "es")
    assert report["verdict"] == "status_unavailable" and report["claims"] == {}


def test_status_fetch_is_bounded_in_size(setup: dict[str, Any]) -> None:
    world: World = setup["world"]
    _publish(setup)
    huge = build_status_list_token(StatusList(size=8 * 1024 * 1024, bits=2), uri=world.sena.status_uri(),
                                   issuer=world.sena.id, key=world.sena.key, iat=world.clock.now(), ttl=300,
                                   exp=world.clock.now() + 3600)
    setup["net"].routes[world.sena.status_uri()] = (200, "application/statuslist+jwt", huge + "x" * (3 * 1024 * 1024))
    service = _service(setup)
    service.trust.refresh()
    report = service.verify(qr.encode(world.present(world.issue())), "es")
    assert report["verdict"] == "status_unavailable"


def test_ttl_is_clamped(setup: dict[str, Any]) -> None:
    cache = StatusCache(setup["settings"], FixedClock(NOW))
    assert cache._clamp(0) == setup["settings"].status_ttl_min_seconds
    assert cache._clamp(10**12) == setup["settings"].status_ttl_max_seconds
    assert cache._clamp("300") == setup["settings"].status_ttl_min_seconds


def test_a_stale_status_list_is_fetched_once_by_requests_that_find_it_stale_together(
        setup: dict[str, Any]) -> None:
    """Requests that find a list stale at the same moment wait for one refresh rather than each
    asking the issuer (under load, 16 at a time each paid a client and a TLS context). Once the
    list is stale the issuer answers only when every asker is inside it, or after a bound: with a
    fetch per request all eight would be counted."""
    world: World = setup["world"]
    _publish(setup)
    _serve_status(setup)
    uri = world.sena.status_uri()
    askers = 8
    inside = threading.Barrier(askers)
    stale = threading.Event()
    net: FakeNet = setup["net"]

    def slow_issuer(request: httpx.Request) -> httpx.Response:
        if str(request.url) == uri and stale.is_set():
            with contextlib.suppress(threading.BrokenBarrierError):
                inside.wait(timeout=2)
        return net.handler(request)

    cache = StatusCache(setup["settings"], world.clock, httpx.Client(transport=httpx.MockTransport(slow_issuer)))
    token = net.routes[uri][2]
    assert cache.status_list_token(uri) == token
    world.clock.advance(301)  # past the ttl: stale for everyone
    stale.set()
    answers: list[str] = []
    threads = [threading.Thread(target=lambda: answers.append(cache.status_list_token(uri))) for _ in range(askers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [token] * askers
    assert net.hits[uri] == 2  # the first fill, then one refresh for all eight
