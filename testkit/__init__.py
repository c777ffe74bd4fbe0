"""Builders shared by the tests and the benchmarks: a small deployment in memory (world), a live
issuer on loopback (live, servers) and a wallet that redeems offers (wallet). Neither tests/ nor
bench/ import each other; both import this package, which imports neither."""
