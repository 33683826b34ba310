"""RFC 3229 delta feeds (`A-IM: feed`): only the items added or changed since the client's version.

For each feed the change check moved, the items of the version it replaced
are remembered as fingerprints (a hash of each item's bytes), for the last
`feeds.delta_versions` versions. A GET with `A-IM: feed` and an
`If-None-Match` naming one of those versions gets `226 IM Used` with the
current feed minus the items that version already had, in the feed's own
format. The current version's ETag gets the usual 304 and an unknown one the
usual full 200. Requests without `A-IM` pay one header comparison more.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict, deque
from typing import Any

import orjson
from starlette.types import Scope, Send
from zlib_ng import zlib_ng

from feedserver.cache import Rendered
from feedserver.events import ChangeReport
from feedserver.http import accepts_gzip

ITEM = {"rss": re.compile(rb"<item>.*?</item>", re.S), "atom": re.compile(rb"<entry>.*?</entry>", re.S)}
# 226 responses differ per client version: no shared cache may store one (RFC 3229 10.5.3; RFC 9111 5.2.2.5).
DELTA_CACHE_CONTROL = b"private, no-store, im"
DELTA_VARY = b"Accept-Encoding, A-IM, If-None-Match"


def fmt_of(key: str) -> str | None:
    for fmt in ("rss", "atom", "json"):
        if key.endswith("/feed." + fmt):
            return fmt
    return None


DIGEST_SIZE = 8  # per item and version: 50 items are 400 bytes
MAX_DELTA_BYTES = 4 * 1024 * 1024  # recent 226 bodies kept, so a burst of readers costs one render each


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=DIGEST_SIZE).digest()


def fingerprints(body: bytes, fmt: str) -> bytes:
    """One hash per item, joined: an item edited in any way is a new fingerprint.
    Kept as one bytes object (a set of 50 would take ten times the memory)."""
    if fmt == "json":
        return b"".join(_digest(orjson.dumps(item)) for item in orjson.loads(body).get("items", []))
    return b"".join(_digest(match.group()) for match in ITEM[fmt].finditer(body))


def _as_set(packed: bytes) -> frozenset[bytes]:
    return frozenset(packed[i : i + DIGEST_SIZE] for i in range(0, len(packed), DIGEST_SIZE))


def delta_body(body: bytes, fmt: str, packed: bytes) -> bytes:
    """The feed with only the items whose fingerprint is not among `packed`, in the
    same format and otherwise byte for byte (our writers put items in one run, RSS
    `<item>` and Atom `<entry>` elements with no attributes)."""
    known = _as_set(packed)
    if fmt == "json":
        document: dict[str, Any] = orjson.loads(body)
        document["items"] = [item for item in document.get("items", []) if _digest(orjson.dumps(item)) not in known]
        return orjson.dumps(document)
    return ITEM[fmt].sub(lambda match: b"" if _digest(match.group()) in known else match.group(), body)


def _etags(if_none_match: bytes) -> list[str]:
    tags = []
    for candidate in if_none_match.decode("latin-1").split(","):
        tag = candidate.strip().removeprefix("W/")
        tags.append(tag[:-4] + '"' if tag.endswith('-gz"') else tag)
    return tags


def wants_feed_delta(a_im: bytes) -> bool:
    """A-IM is a list of instance manipulations, each with optional parameters (RFC 3229 10.5.3)."""
    return any(part.split(b";")[0].strip().lower() == b"feed" for part in a_im.split(b","))


class DeltaHistory:
    """Recent versions of each feed: (ETag, item fingerprints), newest last, for at
    most `max_feeds` feeds (the least recently changed forgotten first)."""

    def __init__(self, versions: int, max_feeds: int) -> None:
        self.versions = versions
        self.max_feeds = max_feeds
        self.feeds: OrderedDict[str, deque[tuple[str, bytes]]] = OrderedDict()
        self._deltas: OrderedDict[tuple[str, str, str, bool], bytes] = OrderedDict()  # recent 226 bodies
        self._delta_bytes = 0

    async def on_change(self, report: ChangeReport) -> None:
        for change in report.documents:
            fmt = fmt_of(change.key)
            if fmt is None:
                continue
            if change.new is None:
                self.feeds.pop(change.key, None)
            elif change.old is not None:
                history = self.feeds.setdefault(change.key, deque(maxlen=self.versions))
                history.append((change.old.etag, fingerprints(change.old.identity, fmt)))
                self.feeds.move_to_end(change.key)
                while len(self.feeds) > self.max_feeds:
                    self.feeds.popitem(last=False)

    def known(self, key: str, if_none_match: bytes, current: Rendered) -> tuple[str, bytes] | None:
        """The client's version and its items, if it is a recent one other than the current."""
        history = self.feeds.get(key)
        if not history:
            return None
        tags = _etags(if_none_match)
        if current.etag in tags:
            return None  # nothing changed: the ordinary 304
        for etag, items in reversed(history):
            if etag in tags:
                return etag, items
        return None

    def body(self, key: str, current: Rendered, old_etag: str, known: bytes, gzip: bool) -> bytes:
        cache_key = (key, current.etag, old_etag, gzip)
        body = self._deltas.get(cache_key)
        if body is None:
            fmt = fmt_of(key)
            assert fmt is not None
            body = delta_body(current.identity, fmt, known)
            if gzip:
                compressor = zlib_ng.compressobj(6, zlib_ng.DEFLATED, 31)
                body = compressor.compress(body) + compressor.flush()
            self._deltas[cache_key] = body
            self._delta_bytes += len(body)
            while self._delta_bytes > MAX_DELTA_BYTES and len(self._deltas) > 1:
                self._delta_bytes -= len(self._deltas.popitem(last=False)[1])
        return body


class DeltaFeeds:
    """The answer to `A-IM: feed` on the cache-hit path (feedserver.http.send_rendered
    finds the header in its one pass over them, so other requests pay nothing here)."""

    def __init__(self, history: DeltaHistory) -> None:
        self.history = history

    async def answer(
        self,
        current: Rendered,
        scope: Scope,
        send: Send,
        a_im: bytes,
        if_none_match: bytes,
        accept_encoding: bytes | None,
    ) -> bool:
        key = scope["path"]
        if key not in self.history.feeds or not wants_feed_delta(a_im):
            return False
        found = self.history.known(key, if_none_match, current)
        if found is None:
            return False
        old_etag, known = found
        gzip = accepts_gzip(accept_encoding)
        body = self.history.body(key, current, old_etag, known, gzip)
        headers = [(name, value) for name, value in current.headers if name not in (b"cache-control", b"vary", b"etag")]
        headers += [
            (b"im", b"feed"),
            (b"etag", (current.gzip_etag if gzip else current.etag).encode()),
            (b"cache-control", DELTA_CACHE_CONTROL),
            (b"vary", DELTA_VARY),
            (b"content-length", str(len(body)).encode()),
        ]
        if gzip:
            headers.append((b"content-encoding", b"gzip"))
        await send({"type": "http.response.start", "status": 226, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
        return True
