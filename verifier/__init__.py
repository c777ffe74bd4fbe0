"""The verifier service: verify API, trust and status caching, OpenID4VP, the scanning page."""
