"""HTTP routers of the verifier."""
