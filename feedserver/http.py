"""HTTP for cached documents: conditional GET, gzip negotiation, the browser variant
of RSS and Atom (same bytes as application/xml, see prefers_html), HEAD, raw ASGI sends.

Used both by the Starlette routes and by the hit fast path (app.CacheFastPath), so
a hit and a miss answer with the same headers. Rules follow RFC 9110: If-None-Match
is a list compared weakly and wins over If-Modified-Since; a 304 carries only the
cache headers; If-Modified-Since is ignored when malformed or in the future.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import NamedTuple

from starlette.types import Receive, Scope, Send

from feedserver.cache import Rendered, Validators, Variant

# Told of every cache hit before it is answered: (scope, status 200 or 304,
# User-Agent, X-Forwarded-For, now). Returns 0 to answer, or seconds for a
# 429's Retry-After. It runs on the hit path: dict updates and counters only.
HitObserver = Callable[[Scope, int, bytes, bytes | None, float], int]
TOO_MANY = b"Too many full fetches of this feed; send If-None-Match or If-Modified-Since, or wait.\n"


async def send_too_many(send: Send, retry_after: int) -> None:
    """429 with Retry-After in whole seconds (RFC 9110 10.2.3; some readers cannot parse a date)."""
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(TOO_MANY)).encode()),
        (b"retry-after", str(retry_after).encode()),
        (b"cache-control", b"no-store"),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": TOO_MANY})


def matching_etag(if_none_match: bytes, tags: Rendered | Validators | Variant, selected: str) -> str | None:
    """The ETag If-None-Match names, by weak comparison (RFC 9110 13.1.2) against
    either coding's of one variant (`tags`), or None. A client holding the identity
    bytes may ask with gzip now: its copy is still current, and the 304 names the
    copy it answers for (a 304 updates the stored response's headers, RFC 9110
    15.4.5), never the other coding's, which would pair its bytes with another ETag.
    `*` answers for the `selected` coding."""
    text = if_none_match.decode("latin-1").strip()
    if text == "*":
        return selected
    for candidate in text.split(","):
        tag = candidate.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag == tags.etag or tag == tags.gzip_etag:
            return tag
    return None


def not_modified_since(if_modified_since: bytes, rendered: Rendered | Validators, now: float) -> bool:
    try:
        moment = parsedate_to_datetime(if_modified_since.decode("latin-1"))
        if moment.tzinfo is None:
            # asctime() form (RFC 9110 5.6.7) carries no zone and is in GMT;
            # a naive datetime would be read in the server's local time.
            moment = moment.replace(tzinfo=UTC)
        since = moment.timestamp()
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


def _quality(ranges: list[tuple[str, str, float]], media_type: str) -> float:
    """The quality `Accept` gives `media_type`: that of the most specific range matching
    it (RFC 9110 12.5.1: type/subtype over type/* over */*), 0 when none does."""
    kind, _, subtype = media_type.partition("/")
    best, found = -1, 0.0
    for range_type, range_subtype, quality in ranges:
        if range_type == kind and range_subtype == subtype:
            specificity = 2
        elif range_type == kind and range_subtype == "*":
            specificity = 1
        elif range_type == "*" and range_subtype == "*":
            specificity = 0
        else:
            continue
        if specificity > best:
            best, found = specificity, quality
    return found


def prefers_html(accept: bytes | None, media_type: str) -> bool:
    """True when `Accept` ranks text/html strictly above `media_type`: a browser's
    navigation (Chromium, Firefox and Safari send text/html first and the rest at
    0.9 or 0.8 at most). A reader sends no Accept, */*, or its feed types first, so
    every header falls into one of two variants, whatever its exact spelling."""
    if not accept:
        return False
    ranges = []
    for part in accept.decode("latin-1").lower().split(","):
        media_range, *params = part.split(";")
        kind, _, subtype = media_range.strip().partition("/")
        quality = 1.0
        for param in params:
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        ranges.append((kind, subtype.strip(), quality))
    html = _quality(ranges, "text/html")
    return html > 0 and html > _quality(ranges, media_type)


# Browsers and readers send a few distinct Accept values: judge each once.
_prefers_html = functools.lru_cache(maxsize=512)(prefers_html)


# Answers a request that names instance manipulations (RFC 3229 `A-IM`) and an
# If-None-Match, if it can: (rendered, scope, send, a_im, if_none_match,
# accept_encoding) -> True when it sent the response (feedserver.push.delta).
InstanceManipulation = Callable[[Rendered, Scope, Send, bytes, bytes, bytes | None], Awaitable[bool]]


class RequestHeaders(NamedTuple):
    """The request headers a cache hit is answered from (the first value of each)."""

    if_none_match: bytes | None
    if_modified_since: bytes | None
    accept_encoding: bytes | None
    user_agent: bytes
    forwarded_for: bytes | None
    a_im: bytes | None
    accept: bytes | None = None


def read_headers(scope: Scope) -> RequestHeaders:
    """One pass over the request headers: this runs for every cache hit, the bulk
    of the traffic, so conditional GET, gzip, the audience and delta feeds all
    read what they need from it."""
    if_none_match = if_modified_since = accept_encoding = forwarded_for = a_im = accept = None
    user_agent = b""
    for key, value in scope["headers"]:
        if key == b"if-none-match":
            if if_none_match is None:
                if_none_match = bytes(value)
        elif key == b"accept-encoding":
            if accept_encoding is None:
                accept_encoding = bytes(value)
        elif key == b"accept":
            if accept is None:
                accept = bytes(value)
        elif key == b"user-agent":
            user_agent = value
        elif key == b"x-forwarded-for":
            forwarded_for = value
        elif key == b"if-modified-since" and if_modified_since is None:
            if_modified_since = bytes(value)
        elif key == b"a-im" and a_im is None:
            a_im = bytes(value)
    return RequestHeaders(if_none_match, if_modified_since, accept_encoding, user_agent, forwarded_for, a_im, accept)


def browser_variant(rendered: Rendered | Validators, accept: bytes | None) -> Variant | None:
    """The browser variant when the request gets it (cache.Variant): a browser's
    navigation to a feed gets its bytes as application/xml, so the xml-stylesheet
    is applied. None: the registered type's variant."""
    browser = rendered.browser
    if browser is not None and accept is not None and _prefers_html(accept, rendered.media_type):
        return browser
    return None


def variant_of(rendered: Rendered, request: RequestHeaders) -> Rendered | Variant:
    """The variant the request gets (see browser_variant)."""
    return browser_variant(rendered, request.accept) or rendered


def fresh_etag(rendered: Rendered, request: RequestHeaders, now: float) -> str | None:
    """The ETag a 304 answers with when the request is conditional and `rendered`
    answers it 304 (RFC 9110 13.2.2), else None: the one If-None-Match named
    (see matching_etag), or the selected coding's for If-Modified-Since, of the
    variant the request gets (variant_of)."""
    use_gzip = request.accept_encoding is not None and _accepts_gzip(request.accept_encoding)
    chosen = variant_of(rendered, request)
    selected = chosen.gzip_etag if use_gzip else chosen.etag
    if request.if_none_match is not None:
        return matching_etag(request.if_none_match, chosen, selected)
    if request.if_modified_since is not None and not_modified_since(request.if_modified_since, rendered, now):
        return selected
    return None


def is_fresh(rendered: Rendered, request: RequestHeaders, now: float) -> bool:
    """True when the request is conditional and `rendered` answers it 304 (RFC 9110 13.2.2)."""
    return fresh_etag(rendered, request, now) is not None


async def send_rendered(
    rendered: Rendered,
    scope: Scope,
    send: Send,
    now: float,
    observe: HitObserver | None = None,
    on_a_im: InstanceManipulation | None = None,
    brief: list[tuple[bytes, bytes]] | None = None,
    request: RequestHeaders | None = None,
) -> None:
    """Answer a GET or HEAD for `rendered`: 304, or 200 in the negotiated encoding
    (or 429 when `observe` says so, or whatever `on_a_im` answers to an `A-IM` request).

    `brief`: caching headers that replace the usual ones on a 304 (a short
    lifetime, while a change the check has not applied yet may be pending).
    `request`: the headers, when the caller has read them already."""
    if request is None:
        request = read_headers(scope)
    chosen = variant_of(rendered, request)
    etag = fresh_etag(rendered, request, now)
    fresh = etag is not None
    if observe is not None:
        retry_after = observe(scope, 304 if fresh else 200, request.user_agent, request.forwarded_for, now)
        if retry_after:
            await send_too_many(send, retry_after)
            return
    if_none_match, accept_encoding = request.if_none_match, request.accept_encoding
    if (
        request.a_im is not None
        and if_none_match is not None
        and on_a_im is not None
        and await on_a_im(rendered, scope, send, request.a_im, if_none_match, accept_encoding)
    ):
        return
    use_gzip = accept_encoding is not None and _accepts_gzip(accept_encoding)
    if etag is not None:
        headers = [*rendered.not_modified_headers, (b"etag", etag.encode())]
        if brief is not None:
            replaced = {name for name, _ in brief}
            headers = [*brief, *(h for h in headers if h[0] not in replaced)]
        await send({"type": "http.response.start", "status": 304, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return
    length = len(rendered.gzip_body) if use_gzip else rendered.length
    headers = [*(chosen.gzip_headers if use_gzip else chosen.headers), (b"content-length", str(length).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    if scope["method"] == "HEAD":
        await send({"type": "http.response.body", "body": b""})
    else:
        await send({"type": "http.response.body", "body": rendered.gzip_body if use_gzip else rendered.identity})


def is_not_modified(validators: Rendered | Validators, scope: Scope, now: float) -> bool:
    """Would a request be answered 304 by these validators? (the rules of send_rendered)"""
    request = read_headers(scope)
    if request.if_none_match is not None:
        tags = browser_variant(validators, request.accept) or validators
        return matching_etag(request.if_none_match, tags, tags.etag) is not None
    return request.if_modified_since is not None and not_modified_since(request.if_modified_since, validators, now)


class NotModifiedResponse:
    """A 304 from the validators of a version no longer cached (is_not_modified said so)."""

    def __init__(self, validators: Validators) -> None:
        self.validators = validators

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = read_headers(scope)
        use_gzip = request.accept_encoding is not None and _accepts_gzip(request.accept_encoding)
        tags = browser_variant(self.validators, request.accept) or self.validators
        etag = tags.gzip_etag if use_gzip else tags.etag
        if request.if_none_match is not None:
            # The ETag the request named, as send_rendered answers (see matching_etag).
            etag = matching_etag(request.if_none_match, tags, etag) or etag
        headers = [*self.validators.not_modified_headers, (b"etag", etag.encode())]
        await send({"type": "http.response.start", "status": 304, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


class RenderedResponse:
    """A Starlette-compatible response object for a cached document."""

    def __init__(self, rendered: Rendered, now: float) -> None:
        self.rendered = rendered
        self.now = now

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send_rendered(self.rendered, scope, send, self.now)
