"""Documents: what can be served at a path, how to render it, and what it depends on.

A document's `signature(state)` changes whenever its bytes may change, so the
change check can tell which cached documents a write affects without
rendering them. Renders run the format writers in a worker thread so a cold
render does not stall the hits being served meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Protocol

from feedserver.body import Body
from feedserver.config import Settings
from feedserver.db import ReadPool
from feedserver.feeds import FeedScope, ItemCache, build_feed, trail_titles
from feedserver.jsonfeed import render_json
from feedserver.model import Feed, FeedItem
from feedserver.queries import articles_by_pk, newest_article_keys, term_article_keys
from feedserver.state import ScopeId, SiteState
from feedserver.stylesheet import with_stylesheet
from feedserver.xmlfeeds import render_atom, render_rss

MEDIA_TYPES = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
# What a browser's navigation to an RSS or Atom feed gets (feedserver.body.Body).
BROWSER_MEDIA_TYPE = "application/xml; charset=utf-8"
WRITERS: dict[str, Callable[[Feed], bytes]] = {"rss": render_rss, "atom": render_atom, "json": render_json}


class Document(Protocol):
    """What the service serves and caches.

    A document may also have `depends_on(state) -> tuple[ScopeId, ...]`: the
    feed scopes whose change may change it (feedserver.state). The change check
    then looks at it only when one of them changed; a document without it is
    looked at after every change (it may depend on anything: the front page, a
    sitemap).
    """

    @property
    def key(self) -> str:
        """The URL path the document is served at (its cache key)."""

    def exists(self, state: SiteState) -> bool: ...

    def signature(self, state: SiteState) -> Hashable: ...

    async def render(self, pool: ReadPool, settings: Settings, state: SiteState) -> Body: ...


@dataclass(frozen=True)
class FeedDocument:
    scope: FeedScope
    fmt: str
    items: ItemCache | None = field(default=None, compare=False, hash=False)

    @property
    def key(self) -> str:
        return self.scope.feed_path(self.fmt)

    def exists(self, state: SiteState) -> bool:
        return self.scope.exists(state)

    def signature(self, state: SiteState) -> Hashable:
        return self.scope.signature(state)

    def depends_on(self, state: SiteState) -> tuple[ScopeId, ...]:
        return self.scope.depends_on(state)

    async def feed(
        self, pool: ReadPool, settings: Settings, state: SiteState, limit: int | None = None
    ) -> Callable[[], Feed]:
        """Read what the feed lists (its newest `limit` only, if given); the returned
        function builds the feed model (run it in a worker thread: it is most of a
        render's CPU outside the writer). The HTML pages (feedserver.pages) list the
        same model."""
        items = self.items or ItemCache()
        count = settings["feeds.items"] if limit is None else min(limit, settings["feeds.items"])
        term = self.scope.term(state)
        if term is not None:
            keys = await term_article_keys(pool, self.scope.kind, term.pk, state.now, count)
        else:
            keys = await newest_article_keys(pool, self.scope.section_slugs(state), state.now, count)
        built: list[FeedItem | int] = []  # a built item, or the pk of a row to build
        for key in keys:
            cache_key = ItemCache.key(
                key.pk, key.id, key.revision, key.updated_at, trail_titles(key.section, state.sections), settings
            )
            built.append(items.lookup(cache_key) or key.pk)
        missing = [entry for entry in built if isinstance(entry, int)]
        rows = await articles_by_pk(pool, missing, state.now, settings["feeds.full_content"])

        def build() -> Feed:
            feed_items = [
                entry if not isinstance(entry, int) else items.build(rows[entry], settings, state.sections)
                for entry in built
                if not isinstance(entry, int) or entry in rows  # gone since the first query: leave it out
            ]
            return build_feed(self.scope, self.fmt, feed_items, state, settings)

        return build

    async def render(self, pool: ReadPool, settings: Settings, state: SiteState) -> Body:
        build = await self.feed(pool, settings, state)

        def write() -> bytes:  # runs in the cache's worker thread, with gzip and hashing
            xml = WRITERS[self.fmt](build())
            return xml if self.fmt == "json" else with_stylesheet(xml, settings.base_url)

        browser = BROWSER_MEDIA_TYPE if self.fmt != "json" else None
        return Body(write, self.scope.last_modified(state), MEDIA_TYPES[self.fmt], browser_media_type=browser)
