"""HTTP for cached documents: conditional GET, gzip negotiation, HEAD, raw ASGI sends.

Used both by the Starlette routes and by the hit fast path (app.CacheFastPath), so
a hit and a miss answer with the same headers. Rules follow RFC 9110: If-None-Match
is a list compared weakly and wins over If-Modified-Since; a 304 carries only the
cache headers; If-Modified-Since is ignored when malformed or in the future.
"""

from __future__ import annotations

import functools
from email.utils import parsedate_to_datetime

from starlette.types import Receive, Scope, Send

from feedserver.cache import Rendered, Validators


def etag_matches(if_none_match: bytes, rendered: Rendered | Validators) -> bool:
    """Weak comparison (RFC 9110 13.1.2) against either encoding's ETag."""
    text = if_none_match.decode("latin-1").strip()
    if text == "*":
        return True
    for candidate in text.split(","):
        tag = candidate.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag == rendered.etag or tag == rendered.gzip_etag:
            return True
    return False


def not_modified_since(if_modified_since: bytes, rendered: Rendered | Validators, now: float) -> bool:
    try:
        since = parsedate_to_datetime(if_modified_since.decode("latin-1")).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return False  # malformed: ignore it (RFC 9110 13.1.3)
    if since > now:
        return False  # a date in the future is invalid: ignore it
    return rendered.last_modified <= since


def accepts_gzip(accept_encoding: bytes | None) -> bool:
    """True when gzip has a non-zero quality, named or through '*'."""
    if not accept_encoding:
        return False
    star = False
    for part in accept_encoding.decode("latin-1").lower().split(","):
        coding, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if coding.strip() in ("gzip", "x-gzip"):
            return quality > 0
        if coding.strip() == "*":
            star = quality > 0
    return star


# Clients send a handful of distinct Accept-Encoding values: parse each once.
_accepts_gzip = functools.lru_cache(maxsize=256)(accepts_gzip)


def _conditions(scope: Scope) -> tuple[bytes | None, bytes | None, bytes | None]:
    """(If-None-Match, If-Modified-Since, Accept-Encoding): the first value of each,
    in one pass over the request headers (this runs for every cache hit)."""
    if_none_match = if_modified_since = accept_encoding = None
    for key, value in scope["headers"]:
        if key == b"if-none-match":
            if if_none_match is None:
                if_none_match = bytes(value)
        elif key == b"accept-encoding":
            if accept_encoding is None:
                accept_encoding = bytes(value)
        elif key == b"if-modified-since" and if_modified_since is None:
            if_modified_since = bytes(value)
    return if_none_match, if_modified_since, accept_encoding


def _is_fresh(
    validators: Rendered | Validators, if_none_match: bytes | None, if_modified_since: bytes | None, now: float
) -> bool:
    if if_none_match is not None:
        return etag_matches(if_none_match, validators)
    return if_modified_since is not None and not_modified_since(if_modified_since, validators, now)


def is_not_modified(validators: Rendered | Validators, scope: Scope, now: float) -> bool:
    """Would a request be answered 304 by these validators?"""
    if_none_match, if_modified_since, _ = _conditions(scope)
    return _is_fresh(validators, if_none_match, if_modified_since, now)


async def _send_not_modified(validators: Rendered | Validators, use_gzip: bool, send: Send) -> None:
    etag = validators.gzip_etag if use_gzip else validators.etag
    headers = [*validators.not_modified_headers, (b"etag", etag.encode())]
    await send({"type": "http.response.start", "status": 304, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


async def send_rendered(rendered: Rendered, scope: Scope, send: Send, now: float) -> None:
    """Answer a GET or HEAD for `rendered`: 304, or 200 in the negotiated encoding."""
    if_none_match, if_modified_since, accept_encoding = _conditions(scope)
    use_gzip = accept_encoding is not None and _accepts_gzip(accept_encoding)
    if _is_fresh(rendered, if_none_match, if_modified_since, now):
        await _send_not_modified(rendered, use_gzip, send)
        return
    length = len(rendered.gzip_body) if use_gzip else rendered.length
    headers = [*(rendered.gzip_headers if use_gzip else rendered.headers), (b"content-length", str(length).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    if scope["method"] == "HEAD":
        await send({"type": "http.response.body", "body": b""})
    else:
        await send({"type": "http.response.body", "body": rendered.gzip_body if use_gzip else rendered.identity})


class NotModifiedResponse:
    """A 304 from the validators of a version no longer cached (is_not_modified said so)."""

    def __init__(self, validators: Validators) -> None:
        self.validators = validators

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        _, _, accept_encoding = _conditions(scope)
        await _send_not_modified(self.validators, accept_encoding is not None and _accepts_gzip(accept_encoding), send)


class RenderedResponse:
    """A Starlette-compatible response object for a cached document."""

    def __init__(self, rendered: Rendered, now: float) -> None:
        self.rendered = rendered
        self.now = now

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send_rendered(self.rendered, scope, send, self.now)
