from tests.issuer.deployment import Deployment


def test_issue_and_read_back(deployment: Deployment) -> None:
    created = deployment.issue()
    assert created["offer"]["offer_uri"].startswith("openid-credential-offer://?credential_offer_uri=")
    assert len(created["offer"]["tx_code"]) == 6
    got = deployment.client.get(f"/api/v1/credentials/{created['id']}", headers=deployment.auth())
    assert got.status_code == 200 and got.json()["claims"]["given_name"] == "José Gregorio"
