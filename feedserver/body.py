"""What a renderer returns: the bytes of a document, or how to produce them.

Renderers know nothing of HTTP or the cache: they hand back one of these, and
the cache alone hashes and compresses it (feedserver.cache).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Body:
    """A document's bytes, and the time of the newest change they show.

    `content` is the bytes; or a function that writes them (run in a worker
    thread together with the compression, so a cold render does not stall the
    event loop); or an async iterator of chunks, for a document too large to
    hold whole (a sitemap of 50,000 URLs is 10 MB of text), which the cache
    compresses chunk by chunk as it arrives.
    """

    content: bytes | Callable[[], bytes] | AsyncIterator[bytes]
    last_modified: int
    media_type: str
    max_age: int | None = None  # how long caches may keep it, when longer than the default (feed archives)
    links: str = ""  # an HTTP Link header value (RFC 8288), e.g. WebSub's rel=hub and rel=self
    # Headers for shared caches (feedserver.origin.headers), sent on 200 and 304 alike.
    headers: tuple[tuple[bytes, bytes], ...] = ()
    # The same bytes under another media type for a browser's navigation (Accept
    # prefers text/html): browsers show application/rss+xml as text or a download,
    # but apply the xml-stylesheet of application/xml. None: one variant only.
    browser_media_type: str | None = field(default=None, kw_only=True)


class Gone(LookupError):
    """Raised by a render: the document does not exist now, though `exists()` could
    not tell from the site state alone (a feed's history page the feed no longer
    has). The route answers 404; the change check drops the cached copy."""
