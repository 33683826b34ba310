"""The in-memory document cache: one rendered, compressed version per URL path.

A cached entry is current by construction: the change check (changes.py)
re-renders the entries a change affects, so serving a hit needs no database
I/O and no comparison. A miss renders once however many requests wait for it
(single flight), and each version is compressed once, when it is stored.

Memory: a version keeps only its gzip copy unless it is no longer than
`identity_max_bytes` (0 by default: feed readers ask for gzip; the rare
client that does not gets it decompressed), and one byte budget bounds all
versions together. Past it the least recently used are dropped, large ones
first; a dropped version leaves its validators behind (a few hundred bytes),
so a conditional request for it, if it has not changed, is still answered 304
without rendering it (feedserver.service.FeedService.unchanged).
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import logging
import re
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass
from email.utils import formatdate

from zlib_ng import zlib_ng

from feedserver.body import Body, Gone

logger = logging.getLogger("feedserver.cache")


@dataclass(frozen=True)
class Encoded:
    """A version hashed and compressed (GzipStream)."""

    digest: str
    gzip_body: bytes
    length: int
    body: bytes | None  # None when longer than the identity limit: only the gzip copy is kept


class GzipStream:
    """Hash and compress a document chunk by chunk as it is written, so a 10 MB
    sitemap never exists whole in memory: only the compressed copy,
    and the chunks themselves while they fit `identity_max_bytes`. Same hash
    and the same bytes whether the document arrives whole or in chunks."""

    def __init__(self, gzip_level: int, identity_max_bytes: int | None = None) -> None:
        self._hasher = hashlib.blake2b(digest_size=18)
        # zlib-ng: the same format, 2.6x faster than zlib at level 6 and a little
        # smaller (measured on a 270 KB feed: 1.9 ms vs 4.8 ms).
        self._compressor = zlib_ng.compressobj(gzip_level, zlib_ng.DEFLATED, 31)  # 31: gzip container, mtime 0
        self._compressed: list[bytes] = []
        self._chunks: list[bytes] | None = []
        self._length = 0
        self._identity_max_bytes = identity_max_bytes

    def write(self, chunk: bytes) -> None:
        self._hasher.update(chunk)
        self._compressed.append(self._compressor.compress(chunk))
        self._length += len(chunk)
        if self._chunks is not None:
            self._chunks.append(chunk)
            if self._identity_max_bytes is not None and self._length > self._identity_max_bytes:
                self._chunks = None

    def finish(self) -> Encoded:
        self._compressed.append(self._compressor.flush())
        chunks = self._chunks
        identity = None if chunks is None else chunks[0] if len(chunks) == 1 else b"".join(chunks)
        digest = base64.urlsafe_b64encode(self._hasher.digest()).decode()
        return Encoded(digest, b"".join(self._compressed), self._length, identity)


@dataclass(frozen=True)
class Variant:
    """The same bytes under another media type: what a browser's navigation to an RSS
    or Atom feed gets (feedserver.body.Body.browser_media_type). Its own ETags, as a
    strong validator changes with the Content-Type (RFC 9110 8.8.1)."""

    etag: str
    gzip_etag: str
    headers: list[tuple[bytes, bytes]]
    gzip_headers: list[tuple[bytes, bytes]]


@dataclass(frozen=True)
class Rendered:
    """One version of a document, ready to send: both encodings and their headers.

    A large document keeps only its gzip copy (`body` None): a sitemap of 50,000
    URLs is about 10 MB as text and 1 MB compressed, crawlers ask for gzip, and
    the rare request without it gets the copy decompressed.
    """

    body: bytes | None  # None: only the gzip copy is kept; see `identity`
    gzip_body: bytes
    etag: str
    gzip_etag: str
    last_modified: int
    signature: Hashable
    headers: list[tuple[bytes, bytes]]  # identity response headers (no content-length)
    gzip_headers: list[tuple[bytes, bytes]]
    not_modified_headers: list[tuple[bytes, bytes]]
    length: int  # of the identity bytes
    media_type: str = ""  # the registered type, which the browser variant is weighed against
    browser: Variant | None = None  # None: the only variant (see Variant)

    @property
    def identity(self) -> bytes:
        """The uncompressed bytes (decompressed again when only the gzip copy is kept)."""
        return self.body if self.body is not None else gzip.decompress(self.gzip_body)

    @property
    def size(self) -> int:
        """Bytes this version holds in memory, for the cache's budget."""
        return len(self.gzip_body) + (len(self.body) if self.body is not None else 0)


def make_rendered(
    body: Body,
    signature: Hashable,
    cache_control: str,
    gzip_level: int,
    identity_max_bytes: int | None = None,
    encoded: Encoded | None = None,
) -> Rendered:
    """Hash and compress once per version (unless the chunks were `encoded` as they
    streamed in). The ETag derives from the bytes alone, so every worker and every
    restart gives the same one; gzip with mtime 0 is deterministic too, so the
    compressed variant's ETag is as stable. Bytes longer than `identity_max_bytes`
    are kept only compressed."""
    if encoded is None:
        whole = body.content
        assert not isinstance(whole, AsyncIterator), "chunks are encoded as they stream (DocumentCache._render)"
        stream = GzipStream(gzip_level, identity_max_bytes)
        stream.write(whole() if callable(whole) else whole)
        encoded = stream.finish()
    digest, compressed, length = encoded.digest, encoded.gzip_body, encoded.length
    if body.max_age is not None:  # for readers and shared caches alike
        cache_control = re.sub(r"\b(max-age|s-maxage)=[0-9]+", rf"\g<1>={body.max_age}", cache_control)
    etag = f'"{digest}"'
    gzip_etag = f'"{digest}-gz"'
    # Vary: a browser's navigation gets the same bytes under application/xml
    # (feedserver.http.prefers_html): shared caches keep the two apart.
    vary = b"Accept, Accept-Encoding" if body.browser_media_type else b"Accept-Encoding"

    def common(media_type: str) -> list[tuple[bytes, bytes]]:
        headers = [
            (b"content-type", media_type.encode()),
            (b"last-modified", formatdate(body.last_modified, usegmt=True).encode()),
            (b"cache-control", cache_control.encode()),
            (b"vary", vary),
            (b"x-content-type-options", b"nosniff"),
            *body.headers,
        ]
        if body.links:
            headers.append((b"link", body.links.encode()))
        return headers

    def variant(media_type: str, etag: str, gzip_etag: str) -> Variant:
        return Variant(
            etag,
            gzip_etag,
            headers=[*common(media_type), (b"etag", etag.encode())],
            gzip_headers=[*common(media_type), (b"etag", gzip_etag.encode()), (b"content-encoding", b"gzip")],
        )

    main = variant(body.media_type, etag, gzip_etag)
    browser = None
    if body.browser_media_type:
        browser = variant(body.browser_media_type, f'"{digest}-xsl"', f'"{digest}-xsl-gz"')
    return Rendered(
        body=encoded.body,
        gzip_body=compressed,
        etag=etag,
        gzip_etag=gzip_etag,
        last_modified=body.last_modified,
        signature=signature,
        headers=main.headers,
        gzip_headers=main.gzip_headers,
        not_modified_headers=[(b"cache-control", cache_control.encode()), (b"vary", vary), *body.headers],
        length=length,
        media_type=body.media_type.partition(";")[0].strip(),
        browser=browser,
    )


Renderer = Callable[[], Awaitable[tuple[Body, Hashable]]]
# Dropped first when the budget is exceeded: sitemap children of up to 50,000
# URLs (about 1 MB compressed), fetched by crawlers a few times a day, so a
# crawler walking the archive does not push out the feeds readers poll. A
# feed of 50 full articles is 10-30 KB compressed.
LARGE_DOCUMENT_BYTES = 256 * 1024
# Validators of dropped versions kept (each a few hundred bytes).
MAX_VALIDATORS = 65536


@dataclass(frozen=True)
class Validators:
    """What a conditional request is judged by, kept when a version is dropped."""

    etag: str
    gzip_etag: str
    last_modified: int
    signature: Hashable
    not_modified_headers: list[tuple[bytes, bytes]]
    media_type: str = ""  # as Rendered's: the browser variant is weighed against it
    browser: Variant | None = None  # the browser variant's ETags (Rendered.browser)

    @classmethod
    def of(cls, rendered: Rendered) -> Validators:
        return cls(
            rendered.etag,
            rendered.gzip_etag,
            rendered.last_modified,
            rendered.signature,
            rendered.not_modified_headers,
            rendered.media_type,
            rendered.browser,
        )


class Discarded(Gone):
    """The document ceased to exist while it rendered (a section removed meanwhile):
    its version was not kept."""


class DocumentCache:
    """Rendered documents by URL path, least recently used first.

    Two bounds: `max_bytes` for the memory all versions hold, and `max_entries`
    for their number. Past either the least recently used are dropped, large
    documents (over `large_bytes`) before the others, so a crawler walking the
    sitemap archive does not evict the feeds that readers poll every few
    minutes. The newest entry is kept even if larger.
    """

    def __init__(
        self,
        max_entries: int,
        cache_control: str,
        gzip_level: int,
        max_bytes: int | None = None,
        identity_max_bytes: int | None = None,
        large_bytes: int = LARGE_DOCUMENT_BYTES,
        max_validators: int = MAX_VALIDATORS,
    ) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.identity_max_bytes = identity_max_bytes
        self.large_bytes = large_bytes
        self.max_validators = max_validators
        self.cache_control = cache_control
        self.gzip_level = gzip_level
        self.entries: OrderedDict[str, Rendered] = OrderedDict()  # least recently used first
        self._large: OrderedDict[str, None] = OrderedDict()  # the large ones among them, in the same order
        self.evicted: OrderedDict[str, Validators] = OrderedDict()  # validators of dropped versions
        # Keys asked for since their last background render: those worth
        # re-rendering ahead of the next request when they change.
        self.wanted: set[str] = set()
        self._held = 0
        self._inflight: dict[str, asyncio.Task[Rendered]] = {}
        self.renders = 0  # counted for tests: a hit renders nothing
        self.compressions = 0
        # Read by the metrics (feedserver.audience): plain ints, nothing on a hit but one increment.
        self.hits = 0
        self.evictions = 0
        self.render_times: list[float] = []  # seconds per render, drained by the metrics; bounded

    def get(self, key: str) -> Rendered | None:
        """The cached version (marked as just used), or None."""
        entry = self.entries.get(key)
        if entry is not None:
            self.hits += 1
            self.entries.move_to_end(key)
            if key in self._large:
                self._large.move_to_end(key)
            self.wanted.add(key)
        return entry

    def discard(self, key: str) -> None:
        """Forget `key` altogether (the document no longer exists)."""
        entry = self.entries.pop(key, None)
        if entry is not None:
            self._held -= entry.size
            self._large.pop(key, None)
        self.evicted.pop(key, None)
        self.wanted.discard(key)

    def retire(self, key: str) -> None:
        """Drop the cached version of `key`, keeping its validators (it changed, and
        nobody asked for it lately: the next request renders it)."""
        if key in self.entries:
            self._drop(key)

    def _store(self, key: str, entry: Rendered) -> None:
        old = self.entries.pop(key, None)
        if old is not None:
            self._held -= old.size
            self._large.pop(key, None)
        self.entries[key] = entry
        self._held += entry.size
        if entry.size > self.large_bytes:
            self._large[key] = None
        self.evicted.pop(key, None)
        self._evict(keep=key)

    def _drop(self, key: str) -> None:
        entry = self.entries.pop(key)
        self._held -= entry.size
        self._large.pop(key, None)
        self.wanted.discard(key)
        self.evictions += 1
        self.evicted[key] = Validators.of(entry)
        while len(self.evicted) > self.max_validators:
            self.evicted.popitem(last=False)

    def _over(self) -> bool:
        return len(self.entries) > self.max_entries or (self.max_bytes is not None and self._held > self.max_bytes)

    def _evict(self, keep: str) -> None:
        """Drop the least recently used until within both bounds, large ones first."""
        for order in (self._large, self.entries):
            while self._over() and len(order) > (1 if keep in order else 0):
                self._drop(next(iter(order)))  # never `keep`: it was stored last

    async def get_or_render(self, key: str, render: Renderer, keep: Callable[[], bool] | None = None) -> Rendered:
        """The cached version, or one render shared by every concurrent caller."""
        self.wanted.add(key)
        entry = self.entries.get(key)
        if entry is not None:
            return entry
        return await self.render(key, render, keep)

    async def render(self, key: str, render: Renderer, keep: Callable[[], bool] | None = None) -> Rendered:
        """Render `key` now (joining a render already under way) and store it,
        unless `keep()` says, once the version is ready, that the document no
        longer exists: then raise Discarded and store nothing.

        The render runs as its own task, so a caller that goes away (a client
        disconnecting) does not cancel it for the others waiting on it.
        """
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.create_task(self._render(key, render, keep), name=f"render {key}")
            self._inflight[key] = task
            task.add_done_callback(lambda done: self._finished(key, done))
        return await asyncio.shield(task)

    def _finished(self, key: str, task: asyncio.Task[Rendered]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if not task.cancelled():
            task.exception()  # retrieved here, so an error nobody awaited is not logged as lost

    async def _render(self, key: str, render: Renderer, keep: Callable[[], bool] | None) -> Rendered:
        self.renders += 1
        started = time.perf_counter()
        body, signature = await render()
        self.compressions += 1
        encoded = await self._encode_chunks(body.content) if isinstance(body.content, AsyncIterator) else None
        entry = await asyncio.to_thread(
            make_rendered, body, signature, self.cache_control, self.gzip_level, self.identity_max_bytes, encoded
        )
        if len(self.render_times) < 10_000:
            self.render_times.append(time.perf_counter() - started)
        if keep is not None and not keep():
            self.discard(key)
            raise Discarded(key)
        self._store(key, entry)
        return entry

    async def _encode_chunks(self, chunks: AsyncIterator[bytes]) -> Encoded:
        """Hash and compress a streamed document chunk by chunk. Each chunk is
        compressed in a worker thread while the renderer produces the next one
        (zlib and the hash run without the GIL, so on two cores they overlap)."""
        stream = GzipStream(self.gzip_level, self.identity_max_bytes)
        compressing: asyncio.Future[None] | None = None
        try:
            async for chunk in chunks:
                if compressing is not None:
                    await compressing  # chunks go into the stream in order
                compressing = asyncio.ensure_future(asyncio.to_thread(stream.write, chunk))
            if compressing is not None:
                await compressing
        finally:
            if compressing is not None and not compressing.done():
                compressing.cancel()
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                await aclose()
        return await asyncio.to_thread(stream.finish)

    async def close(self) -> None:
        """Cancel renders still under way (shutdown): they would run on a closed pool."""
        tasks = list(self._inflight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    @property
    def bytes(self) -> int:
        """Memory the cached versions hold: what `max_bytes` bounds."""
        return self._held

    @property
    def large_held(self) -> int:
        """Memory held by the large documents among them."""
        return sum(self.entries[key].size for key in self._large)
