"""Bounded HTTP GETs for the trust list and status lists: time and size limits, no redirects,
http(s) only, a 2xx with the expected media type or nothing (standards.md §2 HTTP rules)."""

from __future__ import annotations

import httpx

from verifier.config import VerifierSettings


class FetchError(Exception):
    """The document could not be had within the bounds."""


def fetch_text(url: str, *, settings: VerifierSettings, client: httpx.Client | None = None,
               accept: str) -> str:
    text, _ = fetch_conditional(url, settings=settings, client=client, accept=accept)
    assert text is not None
    return text


def fetch_conditional(url: str, *, settings: VerifierSettings, client: httpx.Client | None = None, accept: str,
                      etag: str | None = None) -> tuple[str | None, str | None]:
    """``(text, etag)``; ``(None, etag)`` when the server answers 304 to ``If-None-Match: etag``."""
    if not (url.startswith("https://") or url.startswith("http://")):
        raise FetchError("only http(s) URLs are fetched")
    own = client is None
    client = client or httpx.Client(timeout=settings.fetch_timeout_seconds, follow_redirects=False)
    try:
        headers = {"Accept": accept, **({"If-None-Match": etag} if etag else {})}
        with client.stream("GET", url, headers=headers, timeout=settings.fetch_timeout_seconds) as response:
            if etag and response.status_code == 304:
                return None, response.headers.get("etag", etag)
            if response.status_code // 100 != 2:
                raise FetchError(f"HTTP {response.status_code}")
            media = response.headers.get("content-type", "").split(";")[0].strip()
            if media != accept:
                raise FetchError(f"unexpected media type {media!r}")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > settings.fetch_max_bytes:
                    raise FetchError("document larger than the fetch limit")
            tag = response.headers.get("etag")
        return body.decode("utf-8"), tag
    except httpx.HTTPError as exc:
        raise FetchError(f"{type(exc).__name__}") from exc
    except UnicodeDecodeError as exc:
        raise FetchError("document is not UTF-8") from exc
    finally:
        if own:
            client.close()
