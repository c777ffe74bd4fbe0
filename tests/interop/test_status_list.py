"""OWF jwt-status-list reads the Token Status Lists a Puente issuer serves: the signature checks with
the issuer's published key (jose), and revoking or suspending one credential changes only its entry."""

from __future__ import annotations

from typing import Any

import pytest

from credcore import jws
from testkit.live import Live
from testkit.wallet import issuer_payload
from tests.interop.node import Node

pytestmark = pytest.mark.pair("status-list-reads-puente")


def _read(live: Live, node: Node, credential: str, indexes: list[int]) -> dict[str, Any]:
    reference = issuer_payload(credential)["status"]["status_list"]
    token = live.http.get(reference["uri"])
    assert token.status_code == 200, token.text
    kid = jws.parse(token.text).header["kid"]
    keys = live.http.get(f"{live.issuer_url}/.well-known/jwt-vc-issuer/i/sena").json()["jwks"]["keys"]
    return node("status_list.mjs", "read", {"token": token.text, "issuerJwk": next(k for k in keys if k["kid"] == kid),
                                            "indexes": indexes})


def test_jwt_status_list_reads_puente_lists_before_and_after_changes(live: Live, node: Node) -> None:
    wallet = live.wallet()
    created = [live.issue() for _ in range(3)]
    credentials = [wallet.redeem(c) for c in created]
    references = [issuer_payload(c)["status"]["status_list"] for c in credentials]
    assert len({r["uri"] for r in references}) == 1
    indexes = [r["idx"] for r in references]
    before = _read(live, node, credentials[0], indexes)
    assert before["header"]["typ"] == "statuslist+jwt" and before["bits"] == 2
    assert before["sub"] == references[0]["uri"]
    assert before["statuses"] == {str(i): 0 for i in indexes}
    live.change(created[0]["id"], "revoke")
    live.change(created[1]["id"], "suspend")
    after = _read(live, node, credentials[0], indexes)
    assert after["statuses"] == {str(indexes[0]): 1, str(indexes[1]): 2, str(indexes[2]): 0}
    live.change(created[1]["id"], "reinstate")
    assert _read(live, node, credentials[0], indexes)["statuses"][str(indexes[1])] == 0
