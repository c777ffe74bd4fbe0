"""``issue_per_s``: credentials issued per second in-process, and ``issue_vs_reference``.

Ours is ``credcore.issue.issue_credential`` for the reference credential (skills-certification, all
8 claims selectively disclosable, holder-bound, status reference, ES256): it validates the claims
against the type's JSON Schema, draws salts, hashes disclosures and signs. The baseline, measured
in the same run, is the OWF reference's ``SDJWTIssuer`` making the same claims selectively
disclosable around the same clear claims (``iss``, ``vct``, ``iat``, ``exp``, ``status``, ``cnf``),
with the same ES256 key; it validates nothing. Goal (issue 13): at least as fast as the reference.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from jwcrypto.jwk import JWK
from sd_jwt.common import SDObj
from sd_jwt.issuer import SDJWTIssuer
from sd_jwt.verifier import SDJWTVerifier

from bench import BenchmarkError
from bench.fixtures import build_reference, random_index
from bench.timing import paired
from credcore.issue import IssuedCredential
from testkit.world import World, example_claims

TYPE_ID = "skills-certification"
GOAL = 1.0  # issue_vs_reference


def credcore_issuer(world: World) -> Callable[[], IssuedCredential]:
    claims = example_claims(TYPE_ID)  # read once: World.issue() would read the file on every call
    holder_jwk = world.holder.public.jwk()  # exported once, as the reference's holder JWK is built once
    idx = random_index()
    while world.status_list(world.sena).get(idx) != 0:  # the check below expects a valid credential
        idx = random_index()

    def issue() -> IssuedCredential:
        return world.issue(TYPE_ID, claims=claims, idx=idx, holder_jwk=holder_jwk)

    return issue


def reference_issuer(world: World) -> Callable[[], str]:
    """sd-jwt's issuer with our credential's clear claims and header, and every claim as an SDObj."""
    template = world.issue(TYPE_ID, idx=random_index()).payload
    clear = {name: template[name] for name in ("iss", "vct", "iat", "exp", "status")}
    claims: dict[Any, Any] = {**clear, **{SDObj(k): v for k, v in example_claims(TYPE_ID).items()}}
    issuer_key = JWK.from_pyca(world.sena.key.key)
    holder_key = JWK.from_json(json.dumps(world.holder.public.jwk()))
    header = {"typ": "dc+sd-jwt", "kid": world.sena.key.kid}

    def issue() -> str:
        issued: str = SDJWTIssuer(claims, issuer_key, holder_key, extra_header_parameters=header).sd_jwt_issuance
        return issued

    return issue


def check_both_issue(world: World) -> None:
    """Before timing: each side's output verifies and carries the 8 claims."""
    ours = credcore_issuer(world)()
    if len(ours.disclosures) != len(example_claims(TYPE_ID)) or not world.verify(world.present(ours)).valid:
        raise BenchmarkError("credcore's issued credential does not verify")
    theirs = reference_issuer(world)()
    public = JWK.from_json(json.dumps(world.sena.key.public.jwk()))
    payload = SDJWTVerifier(theirs, lambda _iss, _header: public).get_verified_payload()
    if {k: payload.get(k) for k in example_claims(TYPE_ID)} != example_claims(TYPE_ID):
        raise BenchmarkError("the reference's issued credential does not carry the claims")


def run(*, rounds: int = 7, iterations: int | None = None, batch_seconds: float = 0.25) -> dict[str, float]:
    world = build_reference().world
    check_both_issue(world)
    timed = paired(credcore_issuer(world), reference_issuer(world), rounds=rounds,
                   iterations=iterations, batch_seconds=batch_seconds)
    return {
        "issue_per_s": timed.ours_median,
        "issue_reference_per_s": timed.baseline_median,
        "issue_vs_reference": timed.ratio_median,
    }
