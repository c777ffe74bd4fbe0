"""security.md #148: one-time codes are deleted and their table is bounded. The red-team run sent
1,100 anonymous ``POST /i/{slug}/nonce`` and added 1,100 rows that stayed forever; now one client
gets a small budget, expired nonces, pre-authorized codes and access tokens are purged by the
worker's housekeeping, and the unexpired nonces of an institution are capped."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from sqlmodel import select

from issuer import housekeeping
from issuer.db.models import OneTimeCode
from testkit.wallet import Wallet
from tests.issuer.deployment import BASE, Deployment

SENA = f"{BASE}/i/sena"


def _codes(deployment: Deployment) -> Counter[str]:
    with deployment.deps.session() as session:
        return Counter(row.kind for row in session.exec(select(OneTimeCode)))


def test_one_client_cannot_fill_the_nonce_table(deployment: Deployment,
                                                reconfigure: Callable[..., Deployment]) -> None:
    limited = reconfigure(rate_limit_per_minute=120)
    answers = Counter(limited.client.post("/i/sena/nonce").status_code for _ in range(1_100))
    budget = limited.deps.settings.nonce_rate_limit_per_minute
    # A fixed one-minute window: a run that crosses a minute boundary gets two budgets, never more.
    assert budget <= answers[200] <= 2 * budget and answers[429] == 1_100 - answers[200]
    assert _codes(limited)["c_nonce"] == answers[200]


def test_the_live_nonces_of_an_institution_are_capped(deployment: Deployment,
                                                     reconfigure: Callable[..., Deployment]) -> None:
    capped = reconfigure(max_live_nonces=40)  # rate limits off: as if from 40 different clients
    answers = [capped.client.post("/i/sena/nonce") for _ in range(45)]
    assert [a.status_code for a in answers] == [200] * 40 + [503] * 5
    assert answers[-1].json()["error"] == "temporarily_unavailable"
    assert _codes(capped)["c_nonce"] == 40
    # Once they expire, nonces are handed out again, and the worker's housekeeping deletes the old.
    capped.clock.advance(capped.deps.settings.c_nonce_ttl_seconds + 1)
    assert capped.client.post("/i/sena/nonce").status_code == 200
    assert housekeeping.purge(capped.deps).one_time_codes == 40
    assert _codes(capped)["c_nonce"] == 1


def test_expired_codes_of_every_kind_are_purged(deployment: Deployment, wallet: Wallet) -> None:
    created = deployment.issue()
    wallet.redeem(created)  # a pre-authorized code, an access token and a c_nonce, all used
    for _ in range(5):
        wallet.nonce(SENA)  # and nonces never used
    assert set(_codes(deployment)) == {"pre_auth", "access", "c_nonce"}
    assert housekeeping.purge(deployment.deps).one_time_codes == 0  # nothing has expired yet
    deployment.clock.advance(deployment.deps.settings.pre_authorized_code_ttl_seconds + 1)
    purged = housekeeping.purge(deployment.deps)
    assert purged.one_time_codes == 8 and _codes(deployment) == {}
