"""Documents: what can be served at a path, how to render it, and what it depends on.

A document's `signature(state)` changes whenever its bytes may change, so the
change check can tell which cached documents a write affects without
rendering them. Renders run the format writers in a worker thread so a cold
render does not stall the hits being served meanwhile.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from feedserver.body import Body
from feedserver.config import Settings
from feedserver.db import ReadPool
from feedserver.feeds import FeedScope, ItemCache, build_feed, link_header, scope_prefix, trail_titles
from feedserver.history import ARCHIVE, Page, listing
from feedserver.jsonfeed import render_json
from feedserver.model import Feed, FeedItem
from feedserver.origin.keys import SITE, section_key
from feedserver.queries import ArticleKey, articles_by_pk, newest_article_keys, term_article_keys
from feedserver.state import ScopeId, SiteState
from feedserver.stylesheet import with_stylesheet
from feedserver.text import is_blank
from feedserver.xmlfeeds import render_atom, render_rss

MEDIA_TYPES = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
# What a browser's navigation to an RSS or Atom feed gets (feedserver.body.Body).
BROWSER_MEDIA_TYPE = "application/xml; charset=utf-8"
WRITERS: dict[str, Callable[[Feed], bytes]] = {"rss": render_rss, "atom": render_atom, "json": render_json}


def scope_keys(scope: FeedScope) -> tuple[str, ...]:
    """The surrogate key of a scope's documents (feedserver.origin.keys)."""
    if scope.kind == "site":
        return (SITE,)
    if scope.kind == "section":
        return (section_key(scope.key),)
    return (f"{scope.kind}/{scope.key}",)  # tag/{slug}, author/{slug}


class FeedListing(NamedTuple):
    """What a feed document lists: `build()` makes its model, dated `last_modified`."""

    build: Callable[[], Feed]
    last_modified: int


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

    def surrogate_keys(self, state: SiteState) -> tuple[str, ...]:
        """What the document depends on (feedserver.origin.keys): its Surrogate-Key header."""

    async def render(self, pool: ReadPool, settings: Settings, state: SiteState) -> Body: ...


@dataclass(frozen=True)
class FeedDocument:
    """A scope's feed in one format: its subscription document (`page` None), or a
    page or monthly archive of its history (feedserver.history)."""

    scope: FeedScope
    fmt: str
    items: ItemCache | None = field(default=None, compare=False, hash=False)
    page: Page | None = None

    @property
    def key(self) -> str:
        if self.page is None:
            return self.scope.feed_path(self.fmt)
        return f"{scope_prefix(self.scope)}{self.page.path}/{self.scope.feed_path(self.fmt).rsplit('/', 1)[1]}"

    def exists(self, state: SiteState) -> bool:
        """The scope (FeedScope.exists); a history page of it at most from now, an
        archive of a month that is over."""
        if not self.scope.exists(state):
            return False
        if self.page is None:
            return True
        history = state.history
        assert history is not None, "the site state was loaded without its history (FeedService.load_state)"
        if self.page.kind == ARCHIVE:
            first = history.first_month
            return first is not None and first <= self.page.value < history.current_month
        return self.page.value <= state.now

    def signature(self, state: SiteState) -> Hashable:
        history = state.history
        assert history is not None
        if self.page is None or self.page.kind != ARCHIVE or not history.stamped:
            # The subscription document and pages change with any write in scope,
            # and when a month is over (the archive boundary moves).
            return (self.scope.signature(state), history.current_month, history.first_month)
        # An archive: its month's stamps, the names in it (section titles), and
        # the start of the chain (its links); writes to other months leave it be.
        slugs = self.scope.section_slugs(state)
        sections = state.sections.values() if slugs is None else [state.sections[s] for s in slugs]
        term = self.scope.term(state)
        return (
            (term.name, term.url) if term is not None else None,  # a tag's or author's feed is titled by it
            tuple(sorted((s.slug, s.title, s.description) for s in sections)),
            self.scope.parent_titles(state),  # items name their sections' parents too
            history.month_stamp(self.page.value),
            history.first_month,
        )

    def depends_on(self, state: SiteState) -> tuple[ScopeId, ...]:
        return self.scope.depends_on(state)

    def surrogate_keys(self, state: SiteState) -> tuple[str, ...]:
        return scope_keys(self.scope)

    async def feed(self, pool: ReadPool, settings: Settings, state: SiteState, limit: int | None = None) -> FeedListing:
        """Read what the document lists; the returned function builds the feed model
        (run it in a worker thread: it is most of a render's CPU outside the writer).
        With `limit`, the subscription document's newest `limit` items only, with no
        history links: what the HTML pages (feedserver.pages) list."""
        archive = self.page is not None and self.page.kind == ARCHIVE
        # An archive's month of items would evict the ones the subscription
        # documents share: its items are built for this render only.
        items = self.items if self.items is not None and not archive else ItemCache()
        assert state.archive is not None and state.history is not None
        slugs = self.scope.section_slugs(state)
        term = self.scope.term(state)

        def keys_of(count: int, before: int | None, since: int | None) -> Awaitable[list[ArticleKey]]:
            if term is not None:
                return term_article_keys(pool, self.scope.kind, term.pk, state.now, count, before=before, since=since)
            return newest_article_keys(pool, slugs, state.now, count, before=before, since=since)

        if limit is not None:
            keys, links, updated = await keys_of(min(limit, settings["feeds.items"]), None, None), None, None
            last_modified = self.scope.last_modified(state)
        else:
            found = await listing(
                keys_of,
                state.archive.calendar,
                state.history,
                settings["feeds.items"],
                scope_prefix(self.scope),
                self.page,
            )
            keys, links = found.keys, found.links
            # An archive is dated by its own articles (its bytes must not move with
            # other months); HTTP Last-Modified also by its month's newest write, so
            # a removal dates it forward. Other documents by the scope's newest change.
            updated = found.newest_change if archive else None
            last_modified = self.scope.last_modified(state)
            if archive and self.page is not None:
                last_modified = max(found.newest_change, state.history.month_stamp(self.page.value)[1])
        built: list[FeedItem | int] = []  # a built item, or the pk of a row to build
        for key in keys:
            cache_key = ItemCache.key(
                key.pk, key.id, key.revision, key.updated_at, trail_titles(key.section, state.sections), settings
            )
            built.append(items.lookup(cache_key) or key.pk)
        missing = [entry for entry in built if isinstance(entry, int)]
        rows = await articles_by_pk(pool, missing, state.now, settings["feeds.full_content"])

        def build() -> Feed:
            feed_items = []
            for entry in built:
                if isinstance(entry, int):
                    if entry not in rows:
                        continue  # gone since the first query: leave it out
                    item = items.build(rows[entry], settings, state.sections)
                    if is_blank(item.title):
                        pool.rejects.report("articles", rows[entry].id, "title is blank: left out of the feeds")
                else:
                    item = entry
                if not is_blank(item.title):
                    feed_items.append(item)
            page_path = self.page.path if self.page is not None else ""
            return build_feed(self.scope, self.fmt, feed_items, state, settings, page_path, links, updated)

        return FeedListing(build, last_modified)

    async def render(self, pool: ReadPool, settings: Settings, state: SiteState) -> Body:
        found = await self.feed(pool, settings, state)

        def write() -> bytes:  # runs in the cache's worker thread, with gzip and hashing
            xml = WRITERS[self.fmt](found.build())
            return xml if self.fmt == "json" else with_stylesheet(xml, settings.base_url)

        archive = self.page is not None and self.page.kind == ARCHIVE
        max_age = settings["cache.archive_max_age_seconds"] if archive else None
        # WebSub's rel=hub and rel=self (W3C WebSub 4) on the subscription document only:
        # it is the topic; history pages are reached from it (RFC 5005).
        links = link_header(settings, settings.base_url + self.key) if self.page is None else ""
        browser = BROWSER_MEDIA_TYPE if self.fmt != "json" else None
        return Body(write, found.last_modified, MEDIA_TYPES[self.fmt], max_age, links, browser_media_type=browser)
