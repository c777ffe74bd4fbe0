"""security.md #161: the two-person rule is done by two people. (a) An admin who asks for a batch
revocation cannot approve it through an account they made (or reset) for the occasion, nor through
one created after the request or not yet signed in by its owner. (b) One API key cannot revoke a
whole batch one call at a time: past ``revocations_per_hour`` (20) a second person must act."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from issuer import approvals
from issuer.accounts import staff_of
from issuer.db.models import StaffUser
from issuer.errors import Forbidden
from issuer.institutions import by_slug
from tests.issuer.console_support import Browser, ConsoleUser, make_user
from tests.issuer.deployment import Deployment
from tests.issuer.support import a_batch, ask, path_of, request_id, statuses

PUPPET_PASSWORD = "otra frase bastante larga 2026"


def _approve(browser: Browser, rid: str) -> object:
    return browser.post(f"/console/approvals/{rid}/approve", {"confirm": "yes"}, csrf_from=f"/console/approvals/{rid}")


def test_an_admin_cannot_approve_through_an_account_they_made(deployment: Deployment) -> None:
    admin = make_user(deployment, role="admin")
    asker = Browser.new(deployment)
    assert path_of(asker.sign_in(admin)) == "/console"
    batch_id = a_batch(deployment, asker, count=3)
    ask(asker, batch_id)
    rid = request_id(deployment)
    # The admin makes an officer account with a password of their choosing ...
    made = asker.post("/console/admin/users", {"username": "titere.sena", "display_name": "Títere",
                                                "role": "officer", "password": PUPPET_PASSWORD,
                                                "password_again": PUPPET_PASSWORD}, csrf_from="/console/admin/users")
    assert made.status_code == 200 and "titere.sena" in made.text
    # ... signs in as it, completes its "first sign-in" by choosing a new password, and approves.
    puppet = Browser.new(deployment)
    first = puppet.sign_in(ConsoleUser("titere.sena", PUPPET_PASSWORD, "officer", "sena", 0))
    assert path_of(first) == "/console/password"
    changed = puppet.post("/console/password", {"current": PUPPET_PASSWORD, "password": "una tercera frase larga 99",
                                                "password_again": "una tercera frase larga 99"},
                          csrf_from="/console/password")
    assert path_of(changed) == "/console"
    refused = _approve(puppet, rid)
    assert refused.status_code == 403 and "second_person_required" in refused.text  # type: ignore[attr-defined]
    assert "creó o restableció su cuenta" in refused.text  # type: ignore[attr-defined]
    assert statuses(deployment, batch_id) == [0, 0, 0]
    # Resetting an existing colleague's access to a password the admin knows does not work either.
    colleague = make_user(deployment, username="colega.sena")
    reset = asker.post(f"/console/admin/users/{colleague.id}/reset",
                       {"password": PUPPET_PASSWORD, "password_again": PUPPET_PASSWORD, "confirm": "yes"},
                       csrf_from=f"/console/admin/users/{colleague.id}/reset")
    assert reset.status_code == 200, reset.text
    taken = Browser.new(deployment)
    taken.sign_in(ConsoleUser("colega.sena", PUPPET_PASSWORD, "officer", "sena", colleague.id))
    taken.post("/console/password", {"current": PUPPET_PASSWORD, "password": "una cuarta frase larga 777",
                                     "password_again": "una cuarta frase larga 777"}, csrf_from="/console/password")
    assert _approve(taken, rid).status_code == 403  # type: ignore[attr-defined]
    assert statuses(deployment, batch_id) == [0, 0, 0]


def test_the_approver_existed_before_and_has_signed_in(deployment: Deployment) -> None:
    independent = make_user(deployment, username="independiente.sena")
    not_ready = make_user(deployment, username="nueva.sena", ready=False)
    asker = Browser.new(deployment)
    asker.sign_in(make_user(deployment))
    batch_id = a_batch(deployment, asker, count=2)
    ask(asker, batch_id)
    rid = request_id(deployment)
    deployment.clock.advance(60)
    late = make_user(deployment, username="tardia.sena")  # made by the operator, after the request
    late_browser = Browser.new(deployment)
    late_browser.sign_in(late)
    refused = _approve(late_browser, rid)
    assert refused.status_code == 403 and "se creó después de la solicitud" in refused.text  # type: ignore[attr-defined]
    # An account whose owner has not chosen their password yet cannot approve (the console sends
    # them to the password page first; the rule holds below the pages too).
    with deployment.deps.session() as session:
        user = session.get(StaffUser, not_ready.id)
        assert user is not None and user.must_change_password
        staff = staff_of(user, by_slug(session, "sena"))
    with pytest.raises(Forbidden, match="first sign-in"):
        approvals.decide(deployment.deps, staff, rid, approve=True)
    ok = Browser.new(deployment)
    ok.sign_in(independent)
    done = _approve(ok, rid)
    assert done.status_code == 200 and "Aprobada: el lote fue revocado." in done.text  # type: ignore[attr-defined]


def test_one_key_cannot_revoke_a_batch_one_call_at_a_time(deployment: Deployment,
                                                         reconfigure: Callable[..., Deployment]) -> None:
    created = [deployment.issue() for _ in range(23)]
    limit = deployment.deps.settings.revocations_per_hour
    assert limit == 20

    def revoke(credential_id: str, who: str = "sena:officer") -> object:
        return deployment.client.post(f"/api/v1/credentials/{credential_id}/revoke", json={"reason": "error de carga"},
                                      headers=deployment.auth(who))

    answers = [revoke(c["id"]).status_code for c in created[:limit]]  # type: ignore[attr-defined]
    assert answers == [200] * limit
    beyond = revoke(created[limit]["id"])
    assert beyond.status_code == 403  # type: ignore[attr-defined]
    problem = beyond.json()  # type: ignore[attr-defined]
    assert problem["code"] == "second_person_required" and "otra persona" in problem["title"]
    assert deployment.client.get(f"/api/v1/credentials/{created[limit]['id']}",
                                 headers=deployment.auth()).json()["status"] == "valid"
    # Another person (another key) may go on; and an hour later, the first one too.
    assert revoke(created[limit]["id"], "sena:admin").status_code == 200  # type: ignore[attr-defined]
    deployment.clock.advance(3601)
    assert revoke(created[limit + 1]["id"]).status_code == 200  # type: ignore[attr-defined]
    # The threshold is configurable.
    strict = reconfigure(revocations_per_hour=0)
    assert strict.client.post(f"/api/v1/credentials/{created[limit + 2]['id']}/revoke", json={"reason": "x y z"},
                              headers=strict.auth()).status_code == 403
