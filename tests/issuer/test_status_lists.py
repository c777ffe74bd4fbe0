"""Status lists as served (standards.md §3; security.md F #65–#66, #80): signed ``statuslist+jwt``
tokens with ``sub``, ``ttl`` and ``exp``, 2-bit entries at random, unique indexes; and a verifier
fetching them sees every status change made before."""

from __future__ import annotations

from itertools import pairwise

import pytest

from credcore import jws
from credcore.status_list import STATUS_LIST_TYP, verify_status_list_token
from testkit.wallet import Wallet, present, verify_online
from tests.issuer.deployment import BASE, Deployment
from tests.issuer.support import sena_keys

SENA = f"{BASE}/i/sena"


def test_the_list_token_is_a_signed_statuslist_jwt(deployment: Deployment) -> None:
    deployment.issue()
    uri = f"{SENA}/status/1"
    response = deployment.client.get(uri)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/statuslist+jwt")
    assert response.headers["cache-control"].startswith("public, max-age=")
    assert int(response.headers["cache-control"].rsplit("=", 1)[1]) <= deployment.deps.settings.status_list_ttl_seconds

    token = jws.parse(response.text)
    assert token.header["typ"] == STATUS_LIST_TYP and token.header["alg"] == "ES256"
    keys = sena_keys(deployment)
    jws.verify_signature(token, keys[token.header["kid"]])
    claims = token.claims()
    settings = deployment.deps.settings
    assert claims["sub"] == uri and claims["iss"] == SENA
    assert claims["iat"] == deployment.clock.now()
    assert claims["ttl"] == settings.status_list_ttl_seconds
    assert claims["exp"] == claims["iat"] + settings.status_list_validity_seconds
    assert claims["status_list"]["bits"] == 2
    verified = verify_status_list_token(response.text, uri=uri, now=deployment.clock.now(),
                                        resolve_key=lambda parsed: keys[parsed.header["kid"]])
    assert verified.status_list.size == settings.status_list_size == 131_072
    assert set(verified.status_list.data) == {0}


def test_unknown_lists_are_404(deployment: Deployment) -> None:
    deployment.issue()
    for path in ("/i/sena/status/2", "/i/sena/status/0", "/i/sena/status/-1", "/i/nobody/status/1",
                 "/i/migracion/status/1"):
        response = deployment.client.get(path)
        assert response.status_code == 404, path
        assert response.json()["code"] in ("unknown_status_list", "unknown_institution")
    assert deployment.client.get("/i/sena/status/one").status_code == 422


def test_status_indexes_are_unique_and_random(deployment: Deployment) -> None:
    indexes = []
    for _ in range(50):
        created = deployment.issue()
        status = deployment.client.get(f"/api/v1/credentials/{created['id']}", headers=deployment.auth()).json()
        assert status["status_list"]["uri"] == f"{SENA}/status/1"  # one large list, not one per holder
        indexes.append(status["status_list"]["idx"])
    assert len(set(indexes)) == 50
    assert all(0 <= idx < 131_072 for idx in indexes)
    ordered = sorted(indexes)
    assert indexes != ordered and indexes != ordered[::-1]  # not handed out in order
    gaps = [b - a for a, b in pairwise(ordered)]
    assert max(gaps) > 50 and sum(gap == 1 for gap in gaps) < 5  # spread over the list, not a run
    assert ordered[-1] - ordered[0] > 131_072 // 4


@pytest.mark.parametrize(("action", "verdict"), [("revoke", "revoked"), ("suspend", "suspended")])
def test_a_verifier_sees_a_status_change_at_once(deployment: Deployment, wallet: Wallet, action: str,
                                                 verdict: str) -> None:
    created = deployment.issue()
    sd_jwt = wallet.redeem(created)
    other = wallet.redeem(deployment.issue())

    def verdict_of(credential: str) -> str:
        shown = present(credential, wallet.holder, now=deployment.clock.now())
        return verify_online(deployment.client, deployment.deps, shown).verdict

    assert verdict_of(sd_jwt) == "valid"
    path = f"/api/v1/credentials/{created['id']}"
    assert deployment.client.post(f"{path}/{action}", json={"reason": "control"},
                                  headers=deployment.auth()).status_code == 200
    assert verdict_of(sd_jwt) == verdict
    assert verdict_of(other) == "valid"  # its neighbours in the list are untouched
    if action == "suspend":
        assert deployment.client.post(f"{path}/reinstate", json={"reason": "aclarado"},
                                      headers=deployment.auth()).status_code == 200
        assert verdict_of(sd_jwt) == "valid"


def test_the_revoke_page_states_the_real_delay(deployment: Deployment) -> None:
    """issue 12: the console no longer promises more than the status lists deliver."""
    from tests.issuer.console_support import Browser, make_user

    issued = deployment.issue()
    browser = Browser.new(deployment)
    browser.sign_in(make_user(deployment))
    settings = deployment.deps.settings
    assert settings.revocation_delay_seconds == 60  # the default: ttl 60 s, no extra HTTP cache time
    page = browser.get(f"/console/credentials/{issued['id']}/status/revoke")
    assert "en 60 segundos como máximo" in page.text
    deployment.deps.settings = settings.model_copy(update={"status_list_ttl_seconds": 30,
                                                           "status_list_cache_seconds": 10})
    try:
        page = browser.get(f"/console/credentials/{issued['id']}/status/suspend")
        assert "en 40 segundos como máximo" in page.text
    finally:
        deployment.deps.settings = settings
