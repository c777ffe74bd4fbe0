"""The service kit: what both services share below their own code (request ids, JSON logs, body caps,
rate limits, metrics, problem details). It depends on neither service, and neither on the CLI."""
