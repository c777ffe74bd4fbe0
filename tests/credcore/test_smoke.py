from credcore import qr
from testkit.world import World


def test_reference_presentation_verifies_through_qr() -> None:
    world = World()
    text = world.present(world.issue())
    report = world.verify(qr.encode(text))
    assert report.verdict == "valid", report.error
    body = report.as_json("es", world.types)
    assert body["holder_binding"] == "verified"
    assert set(body["claims"]) == {"given_name", "family_name", "competency_code", "competency_title"}


def test_replayed_qr_is_rejected() -> None:
    world = World()
    code = qr.encode(world.present(world.issue()))
    assert world.verify(code).valid
    second = world.verify(code)
    assert second.verdict == "key_binding_invalid"
    assert second.error is not None and second.error.code == "replayed"
