"""Parallel password guesses at one user name (security.md #111): each is checked and counted in
turn, so no more than five are ever tried before the lock, on SQLite and on PostgreSQL, and none
fails with an error."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlmodel import select

from issuer import accounts
from issuer.db.models import LoginThrottle
from tests.issuer.console_support import make_user
from tests.issuer.deployment import Deployment


def test_parallel_guesses_are_counted_one_by_one(deployment: Deployment) -> None:
    officer = make_user(deployment)

    def guess(number: int) -> int:
        try:
            accounts.sign_in(deployment.deps, officer.username, f"adivinanza número {number}")
        except accounts.SignInRefused as refused:
            return refused.retry_after
        raise AssertionError("a wrong password signed in")

    with ThreadPoolExecutor(max_workers=8) as pool:
        waits = list(pool.map(guess, range(8)))
    # Four plain refusals, the fifth failure locks, and the three after it are refused unchecked.
    assert sorted(waits) == [0, 0, 0, 0, 30, 30, 30, 30]
    with deployment.deps.session() as session:
        rows = session.exec(select(LoginThrottle)).all()
    # Two counters, each at 5: this (name, client) pair and the name across clients (#160).
    assert [row.failures for row in rows] == [5, 5]
