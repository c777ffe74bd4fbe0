"""``python -m issuer [--host H] [--port P]``: the issuer service, configured from ``PUENTE_*``
environment variables, with the batch worker running when ``PUENTE_WORKER_ENABLED`` (the default).
SIGINT or SIGTERM shut it down cleanly: the worker hands its batch back for the next start."""

from __future__ import annotations

import argparse

import uvicorn

from issuer.api import batch_api
from issuer.app import create_app
from issuer.config import Settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m issuer", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args(argv)
    app = batch_api.install(create_app(Settings()))  # a no-op once create_app serves the batch routes
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
