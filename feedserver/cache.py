"""The in-memory document cache: one rendered, compressed version per URL path.

A cached entry is current by construction: the change check (changes.py)
re-renders the entries a change affects, so serving a hit needs no database
I/O and no comparison. A miss renders once however many requests wait for it
(single flight), and each version is compressed once, when it is stored.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from email.utils import formatdate

logger = logging.getLogger("feedserver.cache")


@dataclass(frozen=True)
class Body:
    """What a renderer returns: the bytes and the time of the newest change they show."""

    content: bytes
    last_modified: int
    media_type: str


@dataclass(frozen=True)
class Rendered:
    """One version of a document, ready to send: both encodings and their headers."""

    body: bytes
    gzip_body: bytes
    etag: str
    gzip_etag: str
    last_modified: int
    signature: Hashable
    headers: list[tuple[bytes, bytes]]  # identity response headers (no content-length)
    gzip_headers: list[tuple[bytes, bytes]]
    not_modified_headers: list[tuple[bytes, bytes]]


def make_rendered(body: Body, signature: Hashable, cache_control: str, gzip_level: int) -> Rendered:
    """Hash and compress once per version. The ETag derives from the bytes alone,
    so every worker and every restart gives the same one; gzip with mtime 0 is
    deterministic too, so the compressed variant's ETag is as stable."""
    digest = base64.urlsafe_b64encode(hashlib.blake2b(body.content, digest_size=18).digest()).decode()
    etag = f'"{digest}"'
    gzip_etag = f'"{digest}-gz"'
    compressed = gzip.compress(body.content, compresslevel=gzip_level, mtime=0)
    common = [
        (b"content-type", body.media_type.encode()),
        (b"last-modified", formatdate(body.last_modified, usegmt=True).encode()),
        (b"cache-control", cache_control.encode()),
        (b"vary", b"Accept-Encoding"),
        (b"x-content-type-options", b"nosniff"),
    ]
    return Rendered(
        body=body.content,
        gzip_body=compressed,
        etag=etag,
        gzip_etag=gzip_etag,
        last_modified=body.last_modified,
        signature=signature,
        headers=[*common, (b"etag", etag.encode())],
        gzip_headers=[*common, (b"etag", gzip_etag.encode()), (b"content-encoding", b"gzip")],
        not_modified_headers=[(b"cache-control", cache_control.encode()), (b"vary", b"Accept-Encoding")],
    )


Renderer = Callable[[], Awaitable[tuple[Body, Hashable]]]


class DocumentCache:
    """Rendered documents by URL path, least recently rendered dropped first."""

    def __init__(self, max_entries: int, cache_control: str, gzip_level: int) -> None:
        self.max_entries = max_entries
        self.cache_control = cache_control
        self.gzip_level = gzip_level
        self.entries: OrderedDict[str, Rendered] = OrderedDict()
        self._inflight: dict[str, asyncio.Task[Rendered]] = {}
        self.renders = 0  # counted for tests: a hit renders nothing
        self.compressions = 0

    def get(self, key: str) -> Rendered | None:
        return self.entries.get(key)

    def discard(self, key: str) -> None:
        self.entries.pop(key, None)

    async def get_or_render(self, key: str, render: Renderer) -> Rendered:
        """The cached version, or one render shared by every concurrent caller."""
        entry = self.entries.get(key)
        if entry is not None:
            return entry
        return await self.render(key, render)

    async def render(self, key: str, render: Renderer) -> Rendered:
        """Render `key` now (joining a render already under way) and store it.

        The render runs as its own task, so a caller that goes away (a client
        disconnecting) does not cancel it for the others waiting on it.
        """
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.create_task(self._render(key, render), name=f"render {key}")
            self._inflight[key] = task
            task.add_done_callback(lambda done: self._finished(key, done))
        return await asyncio.shield(task)

    def _finished(self, key: str, task: asyncio.Task[Rendered]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if not task.cancelled():
            task.exception()  # retrieved here, so an error nobody awaited is not logged as lost

    async def _render(self, key: str, render: Renderer) -> Rendered:
        self.renders += 1
        body, signature = await render()
        self.compressions += 1
        entry = await asyncio.to_thread(make_rendered, body, signature, self.cache_control, self.gzip_level)
        self.entries[key] = entry
        self.entries.move_to_end(key)
        while len(self.entries) > self.max_entries:
            self.entries.popitem(last=False)
        return entry
