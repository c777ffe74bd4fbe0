"""Four processes issuing at once into the same small status lists never share an index (the
unique constraint plus retries), on SQLite and on PostgreSQL."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from sqlalchemy import func
from sqlmodel import select

from issuer.db.engine import migrate
from issuer.db.models import Credential, StatusListRow
from issuer.deps import build_deps
from issuer.institutions import create_institution
from issuer.operator import institution, operator_staff
from testkit.world import example_claims
from tests.issuer.deployment import make_settings

PER_PROCESS = 40
PROCESSES = 4


def _issue_many(url: str, var_dir: str, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    from issuer import credentials as creds

    settings = make_settings(url, Path(var_dir), status_list_size=128, status_list_fill_limit=0.75)
    deps = build_deps(settings)
    try:
        with deps.session() as session:
            staff = operator_staff(institution(session, "sena"))
        claims = example_claims("skills-certification")
        ids = [creds.issue_one(deps, staff, type_id="skills-certification", claims=claims, valid_until=None,
                               lang="es").credential.id for _ in range(PER_PROCESS)]
        results.put(("ok", ids))
    except Exception as exc:  # reported to the parent, which fails the test
        results.put(("error", repr(exc)))
    finally:
        deps.engine.dispose()


def test_four_processes_never_share_a_status_index(database_url: str, tmp_path: Path) -> None:
    migrate(database_url)
    settings = make_settings(database_url, tmp_path, status_list_size=128, status_list_fill_limit=0.75)
    deps = build_deps(settings)
    with deps.session() as session:
        create_institution(session, deps, slug="sena", name="SENA", types=["skills-certification"])
        session.commit()
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [context.Process(target=_issue_many, args=(database_url, str(tmp_path), results))
               for _ in range(PROCESSES)]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=180) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    issued = [cid for _, ids in outcomes for cid in ids]
    assert len(set(issued)) == PER_PROCESS * PROCESSES
    with deps.session() as session:
        pairs = session.exec(select(Credential.status_list_id, Credential.status_idx)).all()
        lists = session.exec(select(StatusListRow)).all()
        total = session.exec(select(func.count()).select_from(Credential)).one()
    assert total == PER_PROCESS * PROCESSES
    assert len(set(pairs)) == len(pairs) == total
    assert len(lists) >= 2  # 160 credentials cannot fit in one 128-entry list filled to 75 %
    for row in lists:
        used = sum(1 for list_id, _ in pairs if list_id == row.id)
        assert used <= row.size * 0.75 and used == row.used
    deps.engine.dispose()
