"""The web wallet (wallet_web/) in Chromium against a live issuer and the verifier: receiving through
OpenID4VCI, disclosing 4 of 8 claims in a live PT1 QR that verifies with holder binding, the
JavaScript PT1 encoder against credcore.qr, profiles on a shared phone, PIN lockout, hostile claim
text (security.md #119), offline use through the service worker, and Spanish first."""

from __future__ import annotations

import json
import random
import secrets
import string
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from credcore import base45, qr
from credcore.clock import FixedClock
from credcore.credential_types import TypeRegistry
from credcore.encoding import b64url_encode, dumps_compact
from credcore.issue import issue_credential
from credcore.key_binding import OFFLINE_AUDIENCE, create_kb_jwt
from credcore.keys import generate_key
from credcore.sdjwt import SdJwt, parse_compact
from puente.wallet_app import content_security_policy, create_wallet_app
from servicekit import qr_image
from testkit import live as live_issuer
from testkit.live import Live
from testkit.servers import ServerThread, free_port
from testkit.world import example_claims
from tests.browser import wallet_support
from tests.browser.chromium import fake_camera_video
from tests.browser.wallet_support import (
    PIN,
    WALLET_URL,
    Browsers,
    Wallet,
    WalletServer,
    assert_clean,
    decode_qr_png,
    verify_qr,
    wallet_with_credential,
)
from verifier.app import create_app as create_verifier

pytestmark = pytest.mark.browser

# Fixtures used here: the live issuer (tests/verifier) and the wallet's own (wallet_support.py).
live = live_issuer.live
wallet_playwright = wallet_support.wallet_playwright
wallet_server = wallet_support.wallet_server
browsers = wallet_support.browsers
verifier = wallet_support.verifier

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
FOUR = ["given_name", "family_name", "competency_code", "competency_title"]
HOSTILE_GIVEN = '<img src=x onerror="window.__pwned=1">'
HOSTILE_FAMILY = "</script><script>window.__pwned=2</script>"


# ----------------------------------------------------------------------------- (1) receive


def test_receive_a_credential_from_a_pasted_offer(browsers: Browsers, live: Live,
                                                  wallet_server: WalletServer) -> None:
    wallet = Wallet(browsers.context()).open()
    wallet.create_profile("Ana")
    created = live.issue("skills-certification")
    wallet.visible("#receive-open").click()
    wallet.page.fill("#offer-input", created["offer"]["offer_uri"])
    wallet.page.click("#paste-submit")
    # The issuer's host is shown before anything is fetched (security.md #54).
    assert wallet.visible("#offer-host").inner_text() == live.issuer_url.removeprefix("http://")
    assert wallet.page.locator("#offer-step-accept").is_hidden()
    wallet.page.click("#offer-contact")
    assert wallet.visible("#offer-issuer-name").inner_text() == "SENA"
    assert wallet.page.locator("#offer-type-name").inner_text() == "Certificación de competencias laborales"
    wallet.page.fill("#tx-code", created["offer"]["tx_code"])
    wallet.page.click("#offer-accept")
    card = wallet.visible("#cards .card")
    text = card.inner_text()
    assert "Certificación de competencias laborales" in text
    assert "José Gregorio Pérez Rodríguez" in text
    assert "Emitida por SENA" in text
    assert "Vence el" in text
    assert "Institución acreditada para este tipo" in text  # checked on the signed trust list
    wallet.wait("#cards .badge-valid")
    assert wallet.page.locator("#cards .badge").inner_text() == "Vigente"
    wallet.screenshot("wallet-cards.png")
    assert_clean(wallet)


def test_wrong_tx_code_is_refused_and_the_right_one_still_works(browsers: Browsers, live: Live,
                                                                wallet_server: WalletServer) -> None:
    wallet = Wallet(browsers.context()).open()
    wallet.create_profile("Ana")
    created = live.issue("skills-certification")
    wrong = str((int(created["offer"]["tx_code"]) + 1) % 1_000_000).zfill(6)
    wallet.visible("#receive-open").click()
    wallet.page.fill("#offer-input", created["offer"]["offer_uri"])
    wallet.page.click("#paste-submit")
    wallet.visible("#offer-contact").click()
    wallet.visible("#tx-code").fill(wrong)
    wallet.page.click("#offer-accept")
    assert "Código incorrecto" in wallet.visible("#offer-error").inner_text()
    wallet.page.fill("#tx-code", created["offer"]["tx_code"])
    wallet.page.click("#offer-accept")
    wallet.visible("#cards .card")


def test_an_offer_link_opens_the_wallet_and_leaves_the_address_bar(browsers: Browsers, live: Live,
                                                                    wallet_server: WalletServer) -> None:
    from urllib.parse import quote

    created = live.issue("skills-certification")
    wallet = Wallet(browsers.context())
    wallet.open("/?offer=" + quote(created["offer"]["offer_uri"], safe=""))
    assert wallet.page.url == WALLET_URL + "/"  # the offer is not kept in the address bar or history
    wallet.create_profile("Ana", then="#screen-offer")  # the offer waits until a profile is open
    wallet.confirm_offer(created["offer"]["tx_code"])
    wallet.visible("#cards .card")


# ----------------------------------------------------------------------------- (2) present


def test_four_of_eight_claims_in_a_live_qr_verify_with_holder_binding(browsers: Browsers, live: Live,
                                                                      wallet_server: WalletServer,
                                                                      verifier: TestClient) -> None:
    wallet, _ = wallet_with_credential(browsers, live)
    wallet.open_card()
    labels = wallet.page.locator("#claim-list input[type=checkbox]")
    assert labels.count() == 8
    checked = [labels.nth(i).get_attribute("data-claim") for i in range(8) if labels.nth(i).is_checked()]
    assert checked == ["competency_title"]  # only the type's headline is pre-selected
    wallet.choose(FOUR)
    wallet.screenshot("wallet-disclose.png")
    text = wallet.show_qr()
    wallet.screenshot("wallet-qr.png")
    assert text.startswith("PT1:")
    version = int(wallet.page.locator("#qr-canvas").get_attribute("data-version"))
    assert version <= 22, f"QR version {version} is above the size budget (PRODUCT.md: 22 at ECC M)"
    report = verify_qr(verifier, text)
    assert report["valid"] is True, report
    assert report["holder_binding"] == "verified"
    assert set(report["claims"]) == set(FOUR)
    assert report["claims"]["given_name"] == "José Gregorio"
    assert "Nombres" in wallet.page.locator("#qr-what").inner_text()
    # The presentation itself: exactly the chosen disclosures and a fresh offline KB-JWT.
    presentation = qr.decode(text)
    parts = parse_compact(presentation)
    assert len(parts.disclosures) == 4 and parts.kb_jwt is not None
    # A second look is a new KB-JWT (new nonce), and the verifier refuses the first one again.
    assert verify_qr(verifier, text)["error"]["code"] == "replayed"
    wallet.close_qr()
    second = wallet.show_qr()
    assert second != text and verify_qr(verifier, second)["valid"] is True
    history = wallet.page
    wallet.close_qr()
    history.click("#cred-back")
    history.click("#history-open")
    entries = wallet.visible("#history-list").locator("li")
    assert entries.count() == 2
    assert "Nombres, Apellidos" in entries.first.inner_text()
    assert_clean(wallet)


def test_the_qr_renews_its_key_binding_while_it_shows(browsers: Browsers, live: Live,
                                                      wallet_server: WalletServer) -> None:
    wallet, _ = wallet_with_credential(browsers, live)
    wallet.page.clock.install()
    wallet.open_card()
    first = wallet.show_qr()
    assert "Código nuevo en" in wallet.page.locator("#qr-countdown").inner_text()
    wallet.page.clock.run_for(31_000)
    wallet.wait("#qr-canvas[data-generation='2']")
    assert decode_qr_png(wallet.page.locator("#qr-canvas").screenshot()) != first


def test_revocation_shows_on_the_card_and_at_the_verifier(browsers: Browsers, live: Live,
                                                          wallet_server: WalletServer, verifier: TestClient) -> None:
    wallet, created = wallet_with_credential(browsers, live)
    wallet.wait("#cards .badge-valid")
    live.change(created["id"], "revoke")
    wallet.page.click("#lock-button")
    wallet.unlock()
    wallet.wait("#cards .badge-revoked")
    assert wallet.page.locator("#cards .badge").inner_text() == "Revocada"
    wallet.open_card()
    assert "revocó" in wallet.visible("#cred-warning").inner_text()
    wallet.page.click("#show-qr")  # a revoked card asks first (issue 15)
    wallet.page.click("#cred-show-yes")
    wallet.page.locator("#qr-canvas[data-generation]").wait_for()
    text = decode_qr_png(wallet.page.locator("#qr-canvas").screenshot())
    assert verify_qr(verifier, text)["verdict"] == "revoked"


def test_scanning_an_offer_qr_with_the_camera_and_from_a_photo(browsers: Browsers, live: Live,
                                                               wallet_server: WalletServer, tmp_path: Path) -> None:
    created = live.issue("skills-certification")
    png = qr_image.render_png(created["offer"]["offer_uri"], "M", box_size=8)
    host = live.issuer_url.removeprefix("http://")
    # A photo of the offer QR (the shared scanner: Linux Chromium has no BarcodeDetector, so zxing-wasm).
    wallet = Wallet(browsers.context()).open()
    wallet.create_profile("Ana")
    wallet.visible("#receive-open").click()
    wallet.page.set_input_files("#scan-file", files=[{"name": "oferta.png", "mimeType": "image/png", "buffer": png}])
    assert wallet.visible("#offer-host").inner_text() == host
    assert_clean(wallet)
    # The camera (a fake one playing a video of the same QR).
    video = fake_camera_video(png, tmp_path / "offer.y4m")
    phone = Wallet(browsers.context(fake_camera=video)).open()
    phone.create_profile("Luis")
    phone.visible("#receive-open").click()
    phone.page.click("#scan-camera")
    assert phone.visible("#offer-host").inner_text() == host
    phone.confirm_offer(created["offer"]["tx_code"])
    phone.visible("#cards .card")
    assert_clean(phone)


# ----------------------------------------------------------------------------- online (OpenID4VP)


def test_answering_an_employer_online_after_consent(browsers: Browsers, live: Live,
                                                    wallet_server: WalletServer) -> None:
    port = free_port()
    service = live.verifier_service(public_verifier_url=f"http://127.0.0.1:{port}")
    with ServerThread(create_verifier(service.settings, service=service), port), httpx.Client(timeout=10) as http:
        base = f"http://127.0.0.1:{port}"

        def request(preset: str) -> dict[str, Any]:
            response = http.post(f"{base}/api/v1/presentation-requests", json={"preset": preset})
            assert response.status_code == 201, response.text
            created: dict[str, Any] = response.json()
            return created

        def result(created: dict[str, Any]) -> dict[str, Any]:
            response = http.get(f"{base}/api/v1/presentation-requests/{created['id']}",
                                headers={"Authorization": f"Bearer {created['result_token']}"})
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            return body

        wallet, _ = wallet_with_credential(browsers, live)
        employer = request("employment")
        wallet.page.click("#share-open")
        wallet.page.fill("#offer-input", employer["qr"])
        wallet.page.click("#paste-submit")
        assert wallet.visible("#request-host").inner_text() == f"127.0.0.1:{port}"  # who asks (#127)
        asked = wallet.visible("#request-items").inner_text()
        for label in ("Nombres", "Apellidos", "Competencia certificada", "Código de la norma", "José Gregorio"):
            assert label in asked
        assert "Nivel" not in asked and "Horas" not in asked
        wallet.page.click("#request-share")
        wallet.wait("#notice:has-text('Datos enviados')")
        outcome = result(employer)["result"]
        assert outcome["valid"] is True, outcome
        report = outcome["credentials"]["employment"]
        assert report["holder_binding"] == "verified"
        assert set(report["claims"]) == {"given_name", "family_name", "competency_title", "competency_code"}
        # A request the holder refuses, and one this profile cannot answer (no PPT credential).
        other = request("employment")
        wallet.page.click("#share-open")
        wallet.page.fill("#offer-input", other["qr"])
        wallet.page.click("#paste-submit")
        wallet.visible("#request-share")
        wallet.page.click("#request-refuse")
        wallet.visible("#screen-home")
        deadline = time.time() + 10
        while result(other)["status"] == "pending" and time.time() < deadline:
            time.sleep(0.1)
        assert result(other)["result"]["error"]["code"] == "access_denied"
        bank = request("bank-kyc")
        wallet.page.click("#share-open")
        wallet.page.fill("#offer-input", bank["qr"])
        wallet.page.click("#paste-submit")
        wallet.visible("#request-missing")
        assert wallet.page.locator("#request-share").is_hidden()
        wallet.page.click("#request-refuse")
        wallet.page.click("#history-open")
        assert f"Enviado en línea a 127.0.0.1:{port}" in wallet.visible("#history-list").inner_text()
        assert_clean(wallet)


# ----------------------------------------------------------------------------- (3) the JS PT1 encoder


_TEXT = string.ascii_letters + string.digits + " áéíóúñÑÜ¿¡€\"\\'/<>&{}[]:,~.-_\n\t\x01\x7f😀🇻🇪"


def _random_text(rng: random.Random, low: int = 1, high: int = 40) -> str:
    return "".join(rng.choice(_TEXT) for _ in range(rng.randint(low, high)))


def _random_json(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 2 else 6)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.choice([0, 7, 1234, 10**9 + 7, 123456789012345, 2**53 + 1, -42, 3.5])
    if kind == 2:
        return rng.choice(["2026-03-14", "1899-12-31", "2079-06-06", "2080-01-01", "2024-02-30", "0000-01-01"])
    if kind == 3:
        return b64url_encode(secrets.token_bytes(rng.choice([16, 32, 31, 33])))
    if kind == 4:
        return rng.choice(["A" * 22, "A" * 21 + "B", "x" * 43, "given_name", "https://issuer.example/i/sena"])
    if kind == 5:
        return _random_text(rng)
    if kind == 6:
        return [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {_random_text(rng, 0, 8): _random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def _part(value: Any) -> str:
    return b64url_encode(dumps_compact(value).encode())


def _issued_presentation(rng: random.Random, types: TypeRegistry) -> str:
    """A real credential (random issuer and holder algorithms, hostile free text), some disclosures,
    with or without a KB-JWT."""
    type_id = rng.choice(["skills-certification", "qualification-validation", "ppt-status"])
    claims = example_claims(type_id)
    for name in ("given_name", "family_name", "competency_title", "center", "original_title", "original_institution"):
        if name in claims and rng.random() < 0.6:
            claims[name] = _random_text(rng, 1, 60).strip() or "x"
    issuer_key, holder = generate_key(rng.choice(["ES256", "EdDSA"])), generate_key(rng.choice(["ES256", "EdDSA"]))
    issued = issue_credential(ctype=types.get(type_id), claims=claims, issuer="https://issuer.example/i/sena",
                              key=issuer_key, clock=FixedClock(1_795_000_000), holder_jwk=holder.public.jwk(),
                              status=("https://issuer.example/i/sena/status/1", rng.randrange(131_072)),
                              paper=rng.random() < 0.15)
    chosen = [d.text for d in issued.disclosures if rng.random() < 0.5]
    presented = SdJwt(issued.sd_jwt.split("~")[0], tuple(chosen)).without_kb()
    if rng.random() < 0.25:
        return presented
    nonce = b64url_encode(secrets.token_bytes(16))
    return presented + create_kb_jwt(presented, holder, aud=OFFLINE_AUDIENCE, nonce=nonce,
                                     iat=1_795_000_000 + rng.randrange(10**6))


def _synthetic_presentation(rng: random.Random) -> str:
    """SD-JWT-shaped text with arbitrary JSON, which kind 1 must carry exactly or leave to kind 0."""
    disclosures = [_part([b64url_encode(secrets.token_bytes(16)), _random_text(rng, 0, 12), _random_json(rng)])
                   for _ in range(rng.randint(0, 6))]
    payload = {_random_text(rng, 0, 6): _random_json(rng) for _ in range(rng.randint(0, 4))}
    payload["_sd"] = [rng.choice([b64url_encode(secrets.token_bytes(32)), "y" * 43]) for _ in range(3)]
    head = _part({"alg": "ES256", "typ": "dc+sd-jwt", "kid": b64url_encode(secrets.token_bytes(32))})
    text = f"{head}.{_part(payload)}.{b64url_encode(secrets.token_bytes(rng.choice([64, 63, 1])))}~"
    text += "".join(d + "~" for d in disclosures)
    if rng.random() < 0.5:
        text += f"{_part({'alg': 'ES256', 'typ': 'kb+jwt'})}.{_part({'iat': rng.randrange(2**33)})}.AAAA"
    return text


def _pt1_cases(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    types = TypeRegistry.load("https://issuer.example")
    cases = [json.loads(path.read_text("utf-8"))["presentation"]
             for path in sorted((SCHEMAS / "qr-vectors").glob("valid-*.json"))]
    while len(cases) < count:
        roll = rng.random()
        if roll < 0.5:
            cases.append(_issued_presentation(rng, types))
        elif roll < 0.85:
            cases.append(_synthetic_presentation(rng))
        else:
            cases.append(_random_text(rng, 0, 200))
    return cases


_RUN_PT1 = """async (texts) => {
  const pt1 = await import('/common/pt1.js');
  const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  const out = [];
  for (const text of texts) {
    const packed = await pt1.pack(text);
    out.push({ structure: hex(packed.structure), entropy: hex(packed.entropy), qr: await pt1.encode(text) });
  }
  return out;
}"""


def test_js_pt1_encoder_matches_credcore_and_decodes_exactly(browsers: Browsers,
                                                             wallet_server: WalletServer) -> None:
    wallet = Wallet(browsers.context()).open()
    cases = _pt1_cases(80, seed=20261118)
    results = wallet.page.evaluate(_RUN_PT1, cases)
    kinds = {0: 0, 1: 0}
    for text, result in zip(cases, results, strict=True):
        structure, entropy = qr.pack(text)
        assert (result["structure"], result["entropy"]) == (structure.hex(), entropy.hex()), text[:80]
        assert qr.decode(result["qr"]) == text, text[:80]
        assert result["qr"].startswith("PT1:") and set(result["qr"][4:]) <= set(base45.BASE45)
        kinds[structure[0]] += 1
    assert kinds[0] >= 5 and kinds[1] >= 40, kinds  # both kinds were exercised


def test_js_pt1_tables_are_the_spec_tables(browsers: Browsers, wallet_server: WalletServer) -> None:
    wallet = Wallet(browsers.context()).open()
    tables = wallet.page.evaluate("""async () => {
      const pt1 = await import('/common/pt1.js');
      return { fragments: pt1.FRAGMENTS, high: pt1.HIGH_FRAGMENTS, extended: pt1.EXTENDED_FRAGMENTS,
               sha256: await pt1.formatTablesSha256(), base45: pt1.BASE45, prefix: pt1.PREFIX };
    }""")
    assert tables["fragments"] == list(qr.FRAGMENTS)
    assert tables["high"] == list(qr.HIGH_FRAGMENTS)
    assert tables["extended"] == list(qr.EXTENDED_FRAGMENTS)
    assert tables["sha256"] == qr.FORMAT_TABLES_SHA256
    assert (tables["base45"], tables["prefix"]) == (base45.BASE45, qr.PREFIX)


# ----------------------------------------------------------------------------- (4) profiles and PINs


_STORED = """async () => {
  const db = await new Promise((ok, ko) => {
    const r = indexedDB.open('puente-wallet'); r.onsuccess = () => ok(r.result); r.onerror = ko;
  });
  const all = (name) => new Promise((ok) => {
    const r = db.transaction(name).objectStore(name).getAll(); r.onsuccess = () => ok(r.result);
  });
  const latin1 = (v) => (v instanceof Uint8Array ? new TextDecoder('latin1').decode(v) : v);
  const keys = await all('keys');
  return { dump: JSON.stringify({ profiles: await all('profiles'), vaults: await all('vaults') }, (k, v) => latin1(v)),
           keys: keys.map((k) => ({ profileId: k.profileId, type: k.privateKey.type,
                                    extractable: k.privateKey.extractable, usages: k.privateKey.usages,
                                    algorithm: k.privateKey.algorithm.name })),
           iterations: (await all('profiles')).map((p) => p.kdf.iterations) };
}"""


def test_two_profiles_never_see_each_others_credentials(browsers: Browsers, live: Live,
                                                        wallet_server: WalletServer) -> None:
    wallet, _ = wallet_with_credential(browsers, live, "Ana")
    assert "Gregorio" in wallet.cards()[0]
    wallet.page.click("#switch-profile")
    assert "Gregorio" not in wallet.page.content()  # switching clears the screen
    wallet.create_profile("Luis", "739164")
    assert wallet.cards() == []
    assert wallet.page.locator("#home-empty").is_visible()
    # Stored: encrypted vaults (no claim text anywhere), non-extractable signing keys, slow KDF.
    stored = wallet.page.evaluate(_STORED)
    for needle in ("Gregorio", "Pérez", "220201501", "competency", "dc+sd-jwt", "eyJ"):
        assert needle not in stored["dump"]
    assert stored["keys"] and all(k["extractable"] is False and k["type"] == "private" and k["usages"] == ["sign"]
                                  and k["algorithm"] == "ECDSA" for k in stored["keys"])
    assert min(stored["iterations"]) >= 310_000
    # Ana's PIN does not open Luis's profile, and Ana sees her card again with her own PIN.
    wallet.page.click("#switch-profile")
    wallet.choose_profile("Luis")
    wallet.page.fill("#unlock-pin", PIN)
    wallet.page.click("#unlock-submit")
    wallet.wait("#unlock-message:has-text('incorrecto')")
    wallet.choose_profile("Ana")
    wallet.unlock()
    assert len(wallet.cards()) == 1
    assert_clean(wallet)


def test_wrong_pins_lock_the_profile_with_growing_delays(browsers: Browsers,
                                                         wallet_server: WalletServer) -> None:
    wallet = Wallet(browsers.context()).open()
    wallet.create_profile("Ana")
    wallet.page.click("#lock-button")
    button = wallet.visible("#unlock-submit")
    for attempt in range(5):
        assert button.is_enabled(), attempt
        wallet.page.fill("#unlock-pin", "000001")
        button.click()
        wallet.page.locator("#unlock-message:has-text('incorrecto'), #unlock-message:has-text('Espere')").wait_for()
    assert button.is_disabled()
    assert "Espere" in button.inner_text()
    assert "Demasiados intentos" in wallet.page.locator("#unlock-message").inner_text()
    seconds = int("".join(ch for ch in button.inner_text() if ch.isdigit()))
    assert 25 <= seconds <= 30
    # The wait survives a reload; the right PIN is not even tried during it.
    wallet.page.reload()
    wallet.visible("#screen-unlock")
    assert wallet.page.locator("#unlock-submit").is_disabled()
    stored = wallet.page.evaluate(_STORED)
    assert '"failures":5' in stored["dump"]


def test_the_wallet_locks_itself_after_inactivity(browsers: Browsers, live: Live,
                                                  wallet_server: WalletServer) -> None:
    wallet, _ = wallet_with_credential(browsers, live)
    wallet.page.clock.install()
    wallet.page.clock.run_for(4 * 60_000)
    assert "inactividad" in wallet.visible("#unlock-message").inner_text()
    assert "Gregorio" not in wallet.page.content()


# ----------------------------------------------------------------------------- (5) hostile claim text


def test_hostile_claim_text_renders_as_text(browsers: Browsers, live: Live,
                                            wallet_server: WalletServer, verifier: TestClient) -> None:
    claims = example_claims("skills-certification") | {"given_name": HOSTILE_GIVEN, "family_name": HOSTILE_FAMILY}
    wallet, _ = wallet_with_credential(browsers, live, claims=claims)
    assert f"{HOSTILE_GIVEN} {HOSTILE_FAMILY}" in wallet.page.locator("#cards .card-holder").inner_text()
    wallet.open_card()
    values = wallet.page.locator("#claim-list .claim-value").all_inner_texts()
    assert HOSTILE_GIVEN in values and HOSTILE_FAMILY in values
    wallet.choose(["given_name", "family_name"])
    report = verify_qr(verifier, wallet.show_qr())
    assert report["valid"] is True and report["claims"]["given_name"] == HOSTILE_GIVEN
    assert wallet.page.locator("main img, main script").count() == 0
    assert wallet.page.evaluate("() => [typeof window.__pwned, ({}).polluted]") == ["undefined", None]
    assert_clean(wallet)


def test_prototype_claim_names_stay_data(browsers: Browsers, wallet_server: WalletServer) -> None:
    """security.md #39: claim names such as __proto__ from an issuer never reach an object prototype."""
    holder = generate_key()
    disclosures = [_part([b64url_encode(secrets.token_bytes(16)), name, {"polluted": "yes"}])
                   for name in ("__proto__", "constructor", "toString")]
    from credcore.disclosure import hash_b64

    payload = {"iss": "https://issuer.example/i/sena", "vct": "https://issuer.example/vct/x", "iat": 1,
               "exp": 4_000_000_000, "cnf": {"jwk": holder.public.jwk()}, "_sd": [hash_b64(d) for d in disclosures]}
    head = _part({"alg": "ES256", "typ": "dc+sd-jwt", "kid": "k"})
    text = f"{head}.{_part(payload)}.AAAA~" + "".join(d + "~" for d in disclosures)
    wallet = Wallet(browsers.context()).open()
    result = wallet.page.evaluate("""async ([text, jwk]) => {
      const sd = await import('/common/sdjwt.js');
      const checked = await sd.checkIssued(text, { issuer: 'https://issuer.example/i/sena', vct: 'https://issuer.example/vct/x',
                                                   holderJwk: jwk, now: 1000 });
      const claims = new Map(sd.disclosedClaims(text).map((c) => [c.name, c.value]));
      return { names: checked.disclosures.map((d) => d.name), map: [...claims.keys()],
               polluted: ({}).polluted === undefined && Object.getPrototypeOf({}) === Object.prototype };
    }""", [text, {k: v for k, v in holder.public.jwk().items() if k in ("kty", "crv", "x", "y")}])
    names = ["__proto__", "constructor", "toString"]
    assert result == {"names": names, "map": names, "polluted": True}


def test_credentials_the_holder_must_not_store_are_refused(browsers: Browsers,
                                                           wallet_server: WalletServer) -> None:
    """#40 (a KB-JWT from the issuer), a key that is not ours, another issuer, an unreferenced disclosure."""
    world_types = TypeRegistry.load("https://issuer.example")
    holder, other = generate_key(), generate_key()
    issued = issue_credential(ctype=world_types.get("skills-certification"),
                              claims=example_claims("skills-certification"), issuer="https://issuer.example/i/sena",
                              key=generate_key(), clock=FixedClock(int(time.time())), holder_jwk=holder.public.jwk())
    with_kb = issued.sd_jwt + create_kb_jwt(issued.sd_jwt, holder, aud="x", nonce="n", iat=1)
    extra = issued.sd_jwt + _part(["c2FsdA", "given_name", "Mallory"]) + "~"
    jwk = {k: v for k, v in holder.public.jwk().items() if k in ("kty", "crv", "x", "y")}
    other_jwk = {k: v for k, v in other.public.jwk().items() if k in ("kty", "crv", "x", "y")}
    cases = [(with_kb, jwk, "https://issuer.example/i/sena", "kb_present"),
             (issued.sd_jwt, other_jwk, "https://issuer.example/i/sena", "cnf_mismatch"),
             (issued.sd_jwt, jwk, "https://evil.example/i/sena", "issuer_mismatch"),
             (extra, jwk, "https://issuer.example/i/sena", "disclosure_invalid"),
             (issued.sd_jwt, jwk, "https://issuer.example/i/sena", "ok")]
    wallet = Wallet(browsers.context()).open()
    codes = wallet.page.evaluate("""async (cases) => {
      const sd = await import('/common/sdjwt.js');
      const out = [];
      for (const [text, jwk, issuer] of cases) {
        const now = Math.floor(Date.now() / 1000);
        try { await sd.checkIssued(text, { issuer, vct: undefined, holderJwk: jwk, now }); out.push('ok'); }
        catch (error) { out.push(error.code); }
      }
      return out;
    }""", [list(c[:3]) for c in cases])
    assert codes == [c[3] for c in cases]


def test_without_a_verifiable_trust_list_the_accreditation_stays_pending(wallet_playwright: Any,
                                                                          live: Live) -> None:
    """A wallet pinned to another registry key cannot verify the trust list: it still checks the
    signature with the issuer's published keys, keeps the credential, and says the check is pending."""
    server = WalletServer(trust_list_url=f"{live.issuer_url}/trust-list", registry_jwk=generate_key().public.jwk())
    launcher = Browsers(wallet_playwright)
    try:
        server.start()
        wallet, _ = wallet_with_credential(launcher, live)
        text = wallet.cards()[0]
        assert "acreditación de la institución se comprobará" in text
        assert "firma se comprobará" not in text  # the issuer's own keys verified the signature
    finally:
        launcher.close()
        server.stop()


def test_accreditation_rules_of_the_trust_list(browsers: Browsers) -> None:
    """The wallet reads the trust list with the scanning page's code (common/verify/trust.js)."""
    entry = {"id": "https://issuer.example/i/sena", "name": "SENA", "keys": [generate_key().public.jwk()],
             "vcts": ["https://issuer.example/vct/skills-certification"],
             "valid_from": "2026-01-01T00:00:00Z", "valid_until": None}
    cases = [
        ({}, "https://issuer.example/vct/skills-certification", "SENA"),
        ({}, "https://issuer.example/vct/ppt-status", None),  # not accredited for this type
        ({"id": "https://issuer.example/i/otra"}, "https://issuer.example/vct/skills-certification", None),
        ({"valid_until": "2026-06-01T00:00:00Z"}, "https://issuer.example/vct/skills-certification", None),
        ({"valid_from": "2027-01-01T00:00:00Z"}, "https://issuer.example/vct/skills-certification", None),
    ]
    wallet = Wallet(browsers.context()).open()
    names = wallet.page.evaluate("""async (cases) => {
      const trust = await import('/js/trust.js');
      const { trustListFromDocument } = await import('/common/verify/trust.js');
      const out = [];
      for (const [entry, vct] of cases) {
        const list = { trust: await trustListFromDocument(JSON.stringify({
          issued_at: '2026-01-01T00:00:00Z', next_update: '2026-02-01T00:00:00Z', issuers: [entry] })) };
        const found = trust.accreditation(list, 'https://issuer.example/i/sena', vct, 1795000000);
        out.push(found ? found.name : null);
      }
      return out;
    }""", [[entry | override, vct] for override, vct, _ in cases])
    assert names == [expected for _, _, expected in cases]


# ----------------------------------------------------------------------------- (6) offline


def test_after_a_first_visit_the_wallet_opens_and_presents_offline(browsers: Browsers, live: Live,
                                                                  wallet_server: WalletServer,
                                                                  verifier: TestClient) -> None:
    wallet, _ = wallet_with_credential(browsers, live)
    wallet.wait("#cards .badge-valid")
    assert wallet.page.evaluate("async () => !!(await navigator.serviceWorker.ready).active")
    wallet.page.reload()  # now the page is controlled by the service worker
    wallet.visible("#screen-unlock")
    assert wallet.page.evaluate("() => navigator.serviceWorker.controller !== null")
    wallet_server.stop()
    wallet.context.set_offline(True)
    wallet.page.reload()
    wallet.visible("#screen-unlock")
    wallet.unlock()
    assert "Vigente" in wallet.cards()[0]  # the last status seen online
    wallet.open_card()
    wallet.choose(FOUR)
    report = verify_qr(verifier, wallet.show_qr())
    assert report["valid"] is True and report["holder_binding"] == "verified"
    assert set(report["claims"]) == set(FOUR)
    # Receiving needs the network: the wallet says so instead of failing silently.
    wallet.close_qr()
    wallet.page.click("#cred-back")
    wallet.page.click("#receive-open")
    wallet.page.fill("#offer-input", live.issue("skills-certification")["offer"]["offer_uri"])
    wallet.page.click("#paste-submit")
    wallet.page.click("#offer-contact")
    assert "No hay conexión" in wallet.visible("#offer-error").inner_text()


def test_first_load_is_small(browsers: Browsers, wallet_server: WalletServer) -> None:
    """Issue 5: the first visit transfers at most 150 KB compressed, service worker precache included."""
    wallet = Wallet(browsers.context()).open()
    assert wallet.page.evaluate("async () => !!(await navigator.serviceWorker.ready).active")
    total = sum(size for _, size in wallet_server.requests)
    assert total <= 150 * 1024, sorted(wallet_server.requests, key=lambda r: -r[1])[:5]


# ----------------------------------------------------------------------------- (7) languages


def test_spanish_by_default_and_english_on_request(browsers: Browsers, live: Live,
                                                   wallet_server: WalletServer) -> None:
    wallet = Wallet(browsers.context(locale="en-US")).open()  # an English browser still starts in Spanish
    assert wallet.page.locator("html").get_attribute("lang") == "es"
    assert wallet.visible("#profiles-title").inner_text() == "¿Quién usa el teléfono?"
    wallet.create_profile("Ana")
    created = live.issue("skills-certification")
    wallet.receive(created["offer"]["offer_uri"], created["offer"]["tx_code"])
    assert "Certificación de competencias laborales" in wallet.cards()[0]
    wallet.page.click("#lang-toggle")
    wallet.page.locator("html[lang='en']").wait_for(state="attached")
    assert wallet.page.locator("#home-title").inner_text() == "My credentials"
    assert "Labour competency certification" in wallet.cards()[0]
    assert "Issued by SENA" in wallet.cards()[0]
    wallet.open_card()
    assert "Given names" in wallet.page.locator("#claim-list").inner_text()
    assert wallet.page.locator("#lang-toggle").inner_text() == "Español"
    wallet.page.reload()  # the choice is remembered on this phone
    assert wallet.visible("#unlock-submit").inner_text() == "Open"
    assert_clean(wallet)


# ----------------------------------------------------------------------------- backup and deletion


def test_backup_is_encrypted_and_restores(browsers: Browsers, live: Live, wallet_server: WalletServer,
                                          tmp_path: Path) -> None:
    wallet, _ = wallet_with_credential(browsers, live)
    valid_look = wallet.wait("#cards .badge-valid").evaluate("badge => getComputedStyle(badge).backgroundColor")
    wallet.page.click("#backup-open")
    wallet.page.fill("#export-pass", "puente de papel")
    wallet.page.fill("#export-pass2", "puente de papel")
    with wallet.page.expect_download() as download:
        wallet.page.click("#export-submit")
    path = tmp_path / "copia.json"
    download.value.save_as(path)
    document = json.loads(path.read_text("utf-8"))
    assert set(document) == {"format", "version", "created", "kdf", "cipher", "ciphertext"}
    assert document["format"] == "puente-wallet-backup" and document["kdf"]["iterations"] >= 310_000
    assert "Gregorio" not in path.read_text("utf-8")  # the credential and its claims are in the ciphertext
    # Wrong passphrase: nothing happens. Right one, after deleting the credential: it comes back,
    # marked as unusable here because its non-extractable key was deleted with it.
    wallet.page.click("#screen-backup button.back")
    wallet.open_card()
    wallet.page.click("#cred-delete")
    wallet.page.click("#cred-delete-yes")
    wallet.visible("#home-empty")
    wallet.page.click("#backup-open")
    wallet.page.set_input_files("#import-file", str(path))
    wallet.page.fill("#import-pass", "otra cosa distinta")
    wallet.page.click("#import-submit")
    wallet.page.locator("#backup-message:has-text('no es correcta')").wait_for()
    wallet.page.set_input_files("#import-file", str(path))
    wallet.page.fill("#import-pass", "puente de papel")
    wallet.page.click("#import-submit")
    wallet.page.locator("#backup-message:has-text('recuperadas: 1')").wait_for()
    wallet.page.click("#screen-backup button.back")
    assert "no se puede mostrar desde este teléfono" in wallet.cards()[0]
    # Its badge says so too: never the green "Vigente" of a card that can be shown.
    _assert_restored_badge(wallet.page.locator("#cards .badge"), valid_look)
    wallet.open_card()
    assert wallet.page.locator("#show-qr").is_disabled()
    _assert_restored_badge(wallet.page.locator("#cred-state .badge"), valid_look)


def _assert_restored_badge(badge: Any, valid_look: str) -> None:
    assert badge.inner_text() == "Copia de seguridad: no se puede mostrar"
    assert badge.get_attribute("class").split() == ["badge", "badge-restored"]
    assert badge.evaluate("badge => getComputedStyle(badge).backgroundColor") != valid_look


def test_deleting_a_profile_deletes_its_keys_and_vault(browsers: Browsers, live: Live,
                                                       wallet_server: WalletServer) -> None:
    wallet, _ = wallet_with_credential(browsers, live, "Ana")
    wallet.page.click("#profile-delete-open")
    wallet.page.fill("#delete-pin", "111112")
    wallet.page.click("#delete-profile-yes")
    assert "No se borró nada" in wallet.visible("#delete-error").inner_text()
    wallet.page.fill("#delete-pin", PIN)
    wallet.page.click("#delete-profile-yes")
    wallet.visible("#screen-profiles")
    assert wallet.page.locator("#profile-list button").count() == 0
    stored = wallet.page.evaluate(_STORED)
    assert stored["keys"] == [] and stored["dump"] == '{"profiles":[],"vaults":[]}'


# ----------------------------------------------------------------------------- serving


def test_the_wallet_is_served_with_strict_headers(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<!doctype html><title>t</title>")
    (tmp_path / "secret.py").write_text("KEY = 1")
    (tmp_path / "sw.js").write_text("// sw")
    with TestClient(create_wallet_app(web_dir=tmp_path, allow_loopback_issuers=False)) as client:
        page = client.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        csp = page.headers["content-security-policy"]
        assert csp == content_security_policy(["'self'", "https:"])
        for directive in ("default-src 'none'", "script-src 'self'", "style-src 'self'", "base-uri 'none'",
                          "form-action 'none'", "frame-ancestors 'none'", "require-trusted-types-for 'script'"):
            assert directive in csp
        # The only "unsafe" word is WebAssembly compilation (the QR decoder); no eval, no inline code.
        assert csp.count("unsafe") == 1 and "'wasm-unsafe-eval'" in csp and "127.0.0.1" not in csp
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "no-referrer"
        assert client.get("/sw.js").headers["cache-control"] == "no-cache"
        assert client.get("/secret.py").status_code == 404
        assert client.get("/../pyproject.toml").status_code == 404
        missing = client.get("/nothing.js")
        assert missing.status_code == 404 and missing.headers["content-security-policy"] == csp
        assert client.get("/healthz").json() == {"status": "ok"}
    with pytest.raises(ValueError, match="public JWK"):
        create_wallet_app(trust_list_url="https://x/trust-list", registry_jwk={"kty": "EC", "d": "secret", "kid": "k"})
    registry, trust_list_url = generate_key().public.jwk(), "https://issuer.example/trust-list"
    with TestClient(create_wallet_app(trust_list_url=trust_list_url, registry_jwk=registry)) as client:
        assert client.get("/config.json").json() == {"trust_list_url": trust_list_url, "registry_jwk": registry}
        assert "http://127.0.0.1:*" in client.get("/").headers["content-security-policy"]
        for path in ("/js/app.js", "/vendor/qrcode.mjs", "/common/i18n/wallet/es.json", "/common/i18n/camera/en.json",
                     "/manifest.webmanifest", "/sw.js",
                     "/common/pt1.js", "/common/qr-format-tables.json"):
            assert client.get(path).status_code == 200, path
