"""Documents: what can be served at a path, how to render it, and what it depends on.

A document's `signature(state)` changes whenever its bytes may change, so the
change check can tell which cached documents a write affects without
rendering them. Renders run the format writers in a worker thread so a cold
render does not stall the hits being served meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Protocol

from feedserver.cache import Body
from feedserver.config import Settings
from feedserver.db import ReadPool
from feedserver.feeds import Scope, build_feed
from feedserver.homepage import render_home
from feedserver.jsonfeed import render_json
from feedserver.model import Feed
from feedserver.queries import SiteState, newest_articles
from feedserver.xmlfeeds import render_atom, render_rss

MEDIA_TYPES = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
WRITERS: dict[str, Callable[[Feed], bytes]] = {"rss": render_rss, "atom": render_atom, "json": render_json}


class Document(Protocol):
    @property
    def key(self) -> str:
        """The URL path the document is served at (its cache key)."""

    def exists(self, state: SiteState) -> bool: ...

    def signature(self, state: SiteState) -> Hashable: ...

    async def render(self, pool: ReadPool, settings: Settings, state: SiteState) -> Body: ...


@dataclass(frozen=True)
class FeedDocument:
    scope: Scope
    fmt: str

    @property
    def key(self) -> str:
        return self.scope.feed_path(self.fmt)

    def exists(self, state: SiteState) -> bool:
        return self.scope.section is None or self.scope.section in state.sections

    def signature(self, state: SiteState) -> Hashable:
        return self.scope.signature(state)

    async def render(self, pool: ReadPool, settings: Settings, state: SiteState) -> Body:
        rows = await newest_articles(
            pool,
            self.scope.section_slugs(state),
            state.now,
            settings["feeds.items"],
            with_content=settings["feeds.full_content"],
        )

        def write() -> bytes:
            return WRITERS[self.fmt](build_feed(self.scope, self.fmt, rows, state, settings))

        content = await asyncio.to_thread(write)
        return Body(content, self.scope.last_modified(state), MEDIA_TYPES[self.fmt])


@dataclass(frozen=True)
class HomeDocument:
    """The front page for a person: the site, its sections and their feeds."""

    key: str = "/"

    def exists(self, state: SiteState) -> bool:
        return True

    def signature(self, state: SiteState) -> Hashable:
        return (
            tuple(sorted((s.slug, s.title, s.description) for s in state.sections.values())),
            Scope(None).last_modified(state),
        )

    async def render(self, pool: ReadPool, settings: Settings, state: SiteState) -> Body:
        return Body(render_home(settings, state), Scope(None).last_modified(state), "text/html; charset=utf-8")
