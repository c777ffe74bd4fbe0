"""HTTP routers of the issuer, one per resource, and the one error → HTTP table."""
