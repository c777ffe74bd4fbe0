"""Open OpenID4VP transactions (security.md #49, #50): the request object is served once, one
answer is accepted, and the result goes only to the frontend holding the result token. Claims live
only until that frontend has read them once, or until expiry (PRODUCT: "the verifier keeps no
claims")."""

from __future__ import annotations

import hashlib
import hmac
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from credcore.credential_types import TypeRegistry
from credcore.dcql import ID
from credcore.verify import VerificationReport
from verifier.oid4vp.render import render


class StoreFull(Exception):
    """Too many open presentation requests: try again later."""


class ResponseRejected(Exception):
    """A ``direct_post`` answer refused before processing (400 ``invalid_request``); the
    transaction is left as it was."""

    def __init__(self, description: str) -> None:
        self.description = description
        super().__init__(description)


@dataclass
class Entry:
    """One presentation of an answer: its report, rendered when read, in the reader's language."""

    report: VerificationReport
    types: TypeRegistry | None
    matched: bool
    released: dict[str, Any]


@dataclass
class Result:
    valid: bool
    verdict: str
    error_code: str | None = None
    error_detail: str | None = None
    entries: dict[str, list[Entry]] = field(default_factory=dict)

    def wipe(self) -> bool:
        """Forget every claim; True if there was anything to forget."""
        had = False
        for entries in self.entries.values():
            for entry in entries:
                had = had or bool(entry.released) or bool(entry.report.credential and entry.report.credential.claims)
                entry.released = {}
                if entry.report.credential is not None:
                    entry.report.credential.claims = {}
        return had


@dataclass
class Transaction:
    id: str
    nonce: str
    state: str
    token_digest: bytes
    query: dict[str, Any]
    client_id: str
    response_uri: str
    request_uri: str
    created_at: int
    ttl: int
    expires_at: int  # the wallet answers before this; once answered, the frontend reads before it
    forget_at: int  # the transaction is dropped at this time
    status: str = "pending"  # pending | done | failed
    request_fetched: bool = False
    answering: bool = False
    result: Result | None = None
    claims_deleted: bool = False

    @property
    def queries(self) -> dict[str, dict[str, Any]]:
        return {cq["id"]: cq for cq in self.query["credentials"]}

    def qr_text(self) -> str:
        """The cross-device link (§5 "Cross-device QR flow" in standards.md)."""
        return f"openid4vp://?client_id={quote(self.client_id, safe='')}&request_uri={quote(self.request_uri, safe='')}"

    def owned_by(self, token: str) -> bool:
        return hmac.compare_digest(self.token_digest, _digest(token))


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


class TransactionStore:
    """Open transactions in this process's memory: bounded, expiring, safe across threads. The
    expensive part of an answer (verification) runs outside the lock; the ``answering`` flag keeps
    a second answer out meanwhile."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._open: dict[str, Transaction] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._open)

    def add(self, tx: Transaction, now: int) -> None:
        with self._lock:
            for other in list(self._open.values()):
                self._age(other, now)
            if len(self._open) >= self.capacity:
                raise StoreFull("too many open presentation requests")
            self._open[tx.id] = tx

    def _age(self, tx: Transaction, now: int) -> Transaction | None:
        """Apply expiry to one transaction (lock held): a pending one fails, claims are wiped,
        and past ``forget_at`` it is gone."""
        if now > tx.forget_at:
            self._open.pop(tx.id, None)
            if tx.result is not None:
                tx.result.wipe()
            return None
        if now > tx.expires_at:
            if tx.status == "pending" and not tx.answering:
                tx.status = "failed"
                tx.result = Result(False, "request_expired", "request_expired")
            if tx.result is not None and tx.result.wipe():
                tx.claims_deleted = True
        return tx

    def _find(self, tx_id: str, now: int) -> Transaction | None:
        if not isinstance(tx_id, str) or not ID.fullmatch(tx_id):
            return None
        tx = self._open.get(tx_id)
        return self._age(tx, now) if tx is not None else None

    def get(self, tx_id: str, now: int) -> Transaction | None:
        with self._lock:
            return self._find(tx_id, now)

    def take_request(self, tx_id: str, now: int) -> Transaction | None:
        """The transaction whose request object is being fetched, once: a second fetch finds none."""
        with self._lock:
            tx = self._find(tx_id, now)
            if tx is None or tx.status != "pending" or tx.request_fetched:
                return None
            tx.request_fetched = True
            return tx

    def begin_answer(self, tx_id: str, state: str | None, now: int) -> Transaction:
        with self._lock:
            tx = self._find(tx_id, now)
            if tx is None:
                raise ResponseRejected("unknown or expired request")
            if tx.result is not None and tx.result.verdict == "request_expired":
                raise ResponseRejected("the request has expired")
            if tx.status != "pending" or tx.answering:
                raise ResponseRejected("this request was already answered")
            if not isinstance(state, str) or not hmac.compare_digest(state.encode(), tx.state.encode()):
                raise ResponseRejected("state does not match the request")
            tx.answering = True
            return tx

    def abandon_answer(self, tx: Transaction) -> None:
        """A refused answer leaves the transaction as it was."""
        with self._lock:
            tx.answering = False

    def finish_answer(self, tx: Transaction, result: Result, now: int) -> None:
        with self._lock:
            tx.result = result
            tx.status = "done" if result.valid else "failed"
            tx.answering = False
            tx.expires_at = now + tx.ttl  # the frontend has this long to read the result
            tx.forget_at = tx.expires_at + tx.ttl

    def read_result(self, tx_id: str, token: str, lang: str, now: int) -> dict[str, Any] | None:
        """The result for the frontend that started the request; its claims are deleted once read."""
        with self._lock:
            tx = self._find(tx_id, now)
            if tx is None or not tx.owned_by(token):
                return None
            body = render(tx, lang)
            if tx.result is not None and tx.result.wipe():
                tx.claims_deleted = True
            return body

