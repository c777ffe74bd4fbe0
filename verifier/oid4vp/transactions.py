"""Open OpenID4VP transactions (security.md #49, #50): the request object is served once, one
answer is accepted, and the result goes only to the frontend holding the result token. Claims live
only until that frontend has read them once, or until expiry (PRODUCT: "the verifier keeps no
claims").

The state lives in a :class:`credcore.ports.SharedStore` (memory for one process, Redis for
replicas), so any replica can serve any step; every step that must happen once is one atomic
operation of the store (``put_once``, ``take``, ``acquire``):

- ``tx:<id>``: the request (nonce, state, result-token digest, query, times), until it is forgotten;
- ``tx:<id>:fetched``: set once when the wallet fetches the request object;
- ``tx:<id>:answer``: ``answering`` while one answer is verified, then the result without claims;
- ``tx:<id>:claims``: the result with its claims, taken (read and deleted) by the first read;
- ``open`` and ``open:<client>``: bounded sets of open requests (all, and per verifier client).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from credcore.credential_types import TypeRegistry
from credcore.dcql import ID
from credcore.ports import SharedStore
from credcore.verify import VerificationReport
from servicekit.shared_store import MemoryStore
from verifier.oid4vp.render import render_result, render_status


class StoreFull(Exception):
    """Too many open presentation requests: try again later."""


class QuotaExceeded(StoreFull):
    """This verifier client has as many open requests as its quota allows."""


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
    claims_deleted: bool = False
    owner: str = ""  # the verifier client that created it ("" for none)
    response_mode: str = "direct_post"  # or direct_post.jwt: the answer encrypted to enc_jwk
    enc_jwk: dict[str, str] | None = None  # the request's ephemeral private key (direct_post.jwt)
    qr: str = ""  # the QR text when the request travels by value

    @property
    def queries(self) -> dict[str, dict[str, Any]]:
        return {cq["id"]: cq for cq in self.query["credentials"]}

    def qr_text(self) -> str:
        """The cross-device link (§5 "Cross-device QR flow" in standards.md)."""
        if self.qr:
            return self.qr
        return f"openid4vp://?client_id={quote(self.client_id, safe='')}&request_uri={quote(self.request_uri, safe='')}"

    def owned_by(self, token: str) -> bool:
        return hmac.compare_digest(self.token_digest, _digest(token))

    def to_json(self) -> bytes:
        return json.dumps({
            "id": self.id, "nonce": self.nonce, "state": self.state, "token_digest": self.token_digest.hex(),
            "query": self.query, "client_id": self.client_id, "response_uri": self.response_uri,
            "request_uri": self.request_uri, "created_at": self.created_at, "ttl": self.ttl,
            "expires_at": self.expires_at, "forget_at": self.forget_at, "owner": self.owner,
            "response_mode": self.response_mode, "enc_jwk": self.enc_jwk, "qr": self.qr,
        }, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Transaction:
        data = json.loads(raw)
        data["token_digest"] = bytes.fromhex(data["token_digest"])
        return cls(**data)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


ANSWERING = b"answering"
LANGS = ("es", "en")


class TransactionStore:
    """Open transactions in a shared store: bounded (in all and per client), expiring, each step
    atomic. The expensive part of an answer (verification) runs between ``begin_answer`` and
    ``finish_answer``; the ``answering`` mark keeps a second answer out meanwhile."""

    def __init__(self, capacity: int = 10_000, store: SharedStore | None = None, *,
                 client_quota: int = 100) -> None:
        self.capacity, self.client_quota = capacity, client_quota
        self.store: SharedStore = store if store is not None else MemoryStore()

    def add(self, tx: Transaction, now: int) -> None:
        """Keep ``tx``; :class:`QuotaExceeded` when its client has its quota of open requests,
        :class:`StoreFull` when the verifier as a whole has."""
        if tx.owner and not self.store.acquire(f"open:{tx.owner}", tx.id, tx.forget_at, now, self.client_quota):
            raise QuotaExceeded("this client has too many open presentation requests")
        if not self.store.acquire("open", tx.id, tx.forget_at, now, self.capacity):
            if tx.owner:
                self.store.release(f"open:{tx.owner}", tx.id)
            raise StoreFull("too many open presentation requests")
        self.store.put(f"tx:{tx.id}", tx.to_json(), tx.forget_at, now)

    def _release(self, tx: Transaction) -> None:
        """A request whose result was read no longer counts as open."""
        self.store.release("open", tx.id)
        if tx.owner:
            self.store.release(f"open:{tx.owner}", tx.id)

    def _load(self, tx_id: str, now: int) -> tuple[Transaction, dict[str, Any] | None] | None:
        """The transaction and its answer record (None while pending), with expiry applied."""
        if not isinstance(tx_id, str) or not ID.fullmatch(tx_id):
            return None
        raw = self.store.get(f"tx:{tx_id}", now)
        if raw is None:
            return None
        tx = Transaction.from_json(raw)
        if now > tx.forget_at:
            return None
        answer_raw = self.store.get(f"tx:{tx_id}:answer", now)
        tx.request_fetched = self.store.get(f"tx:{tx_id}:fetched", now) is not None
        answer: dict[str, Any] | None = None
        if answer_raw == ANSWERING:
            tx.answering = True
        elif answer_raw is not None:
            answer = json.loads(answer_raw)
            tx.status = answer["status"]
        elif now > tx.expires_at:
            tx.status = "failed"  # expired without an answer
        if answer is not None and answer["had_claims"]:
            tx.claims_deleted = now > tx.expires_at or self.store.get(f"tx:{tx_id}:claims", now) is None
        return tx, answer

    def get(self, tx_id: str, now: int) -> Transaction | None:
        found = self._load(tx_id, now)
        return found[0] if found is not None else None

    def take_request(self, tx_id: str, now: int) -> Transaction | None:
        """The transaction whose request object is being fetched, once: a second fetch finds none."""
        tx = self.get(tx_id, now)
        if tx is None or tx.status != "pending" or tx.answering or tx.request_fetched:
            return None
        if not self.store.put_once(f"tx:{tx_id}:fetched", b"1", tx.forget_at, now):
            return None
        tx.request_fetched = True
        return tx

    def begin_answer(self, tx_id: str, state: str | None, now: int) -> Transaction:
        found = self._load(tx_id, now)
        if found is None:
            raise ResponseRejected("unknown or expired request")
        tx, answer = found
        if answer is None and not tx.answering and now > tx.expires_at:
            raise ResponseRejected("the request has expired")
        if tx.status != "pending" or tx.answering:
            raise ResponseRejected("this request was already answered")
        if not isinstance(state, str) or not hmac.compare_digest(state.encode(), tx.state.encode()):
            raise ResponseRejected("state does not match the request")
        if not self.store.put_once(f"tx:{tx_id}:answer", ANSWERING, tx.forget_at, now):
            raise ResponseRejected("this request was already answered")
        tx.answering = True
        return tx

    def abandon_answer(self, tx: Transaction) -> None:
        """A refused answer leaves the transaction as it was."""
        self.store.delete(f"tx:{tx.id}:answer")
        tx.answering = False

    def finish_answer(self, tx: Transaction, result: Result, now: int) -> None:
        """Record the result, rendered in both languages: with its claims for the first read
        (``tx:<id>:claims``), without them for every later one."""
        queries = tx.queries
        full = {lang: render_result(result, queries, lang) for lang in LANGS}
        had_claims = result.wipe()
        bare = {lang: render_result(result, queries, lang) for lang in LANGS}
        tx.status = "done" if result.valid else "failed"
        tx.answering = False
        tx.expires_at = now + tx.ttl  # the frontend has this long to read the result
        tx.forget_at = tx.expires_at + tx.ttl
        self.store.put(f"tx:{tx.id}", tx.to_json(), tx.forget_at, now)
        if had_claims:
            self.store.put(f"tx:{tx.id}:claims", json.dumps(full).encode(), tx.expires_at, now)
        answer = {"status": tx.status, "had_claims": had_claims, "result": bare}
        self.store.put(f"tx:{tx.id}:answer", json.dumps(answer).encode(), tx.forget_at, now)

    def read_result(self, tx_id: str, token: str, lang: str, now: int) -> dict[str, Any] | None:
        """The result for the frontend that started the request; its claims are deleted once read."""
        found = self._load(tx_id, now)
        if found is None or not found[0].owned_by(token):
            return None
        tx, answer = found
        lang = "en" if lang == "en" else "es"
        body = render_status(tx)
        if answer is None:
            if tx.status == "failed":
                expired = Result(False, "request_expired", "request_expired")
                body["result"] = render_result(expired, tx.queries, lang)
            return body
        result = answer["result"][lang]
        if answer["had_claims"] and not tx.claims_deleted:
            claims = self.store.take(f"tx:{tx_id}:claims", now)
            if claims is not None:
                result = json.loads(claims)[lang]
        body["result"] = result
        self._release(tx)
        return body
