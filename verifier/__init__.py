"""The verifier service (issue 4): verify API, trust and status caching, OpenID4VP, scanning page."""
