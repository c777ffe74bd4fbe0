"""The HTTP baseline: a bare FastAPI app with one hello endpoint and nothing else (no middleware,
no logging, no metrics), served by the same uvicorn with the same settings as the verifier.
``python -m uvicorn bench.bare_hello:app``."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}
