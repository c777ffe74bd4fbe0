"""What a long-lived verifier remembers (credcore.verify.VerifierMemory) never changes a verdict: a
status change is a new token, and a key the trust list no longer holds is refused at once."""

from __future__ import annotations

from credcore import status_list as sl
from credcore.ports import MappingStatusSource
from credcore.trust import TrustList
from credcore.verify import VerificationReport, VerifierMemory, verification_report
from testkit.world import World


def _verify(world: World, text: str, memory: VerifierMemory, trust: TrustList | None = None) -> VerificationReport:
    return verification_report(text, trust=trust or world.trust(), types=world.types, clock=world.clock,
                               status_source=world.status_source(), nonce_store=world.nonces, memory=memory)


def test_remembered_work_gives_the_same_verdicts(world: World) -> None:
    memory = VerifierMemory()
    issued = world.issue(idx=7)
    assert [_verify(world, world.present(issued), memory).verdict for _ in range(3)] == ["valid"] * 3
    world.status_list(world.sena).set(7, sl.INVALID)
    assert _verify(world, world.present(issued), memory).verdict == "revoked"
    world.status_list(world.sena).set(7, sl.VALID)
    assert _verify(world, world.present(issued), memory).verdict == "valid"


def test_a_remembered_status_list_still_expires(world: World) -> None:
    memory = VerifierMemory()
    issued = world.issue()
    now = world.clock.now()
    fixed = MappingStatusSource({world.sena.status_uri(): world.status_token(world.sena, iat=now, exp=now + 600)})

    def verify() -> VerificationReport:
        return verification_report(world.present(issued), trust=world.trust(), types=world.types, clock=world.clock,
                                   status_source=fixed, nonce_store=world.nonces, memory=memory)

    assert verify().valid
    world.clock.advance(601)
    report = verify()
    assert not report.valid and report.error is not None and report.error.code == "status_expired"


def test_each_memory_is_its_own(world: World) -> None:
    issued = world.issue()
    first, second = VerifierMemory(), VerifierMemory()
    assert _verify(world, world.present(issued), first).valid
    assert _verify(world, world.present(issued), second).valid
    assert first.status_lists is not second.status_lists and first.holder_keys is not second.holder_keys
    assert first.qr_points is not second.qr_points


def test_a_holder_point_is_decompressed_once_per_verifier(world: World) -> None:
    """A live QR's holder key is packed as its x: the verifier's memory works out its y once for
    every QR that holder shows."""
    from credcore import qr

    memory = VerifierMemory()
    codes = [qr.encode(world.present(world.issue())) for _ in range(2)]
    assert [_verify(world, code, memory).verdict for code in codes] == ["valid", "valid"]
    assert len(memory.qr_points) == 1
