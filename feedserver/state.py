"""The site state: everything a document's freshness depends on, read in a few cheap queries.

The change check loads a new `SiteState` after every write it notices, and
each document compares its signature under the old and the new state to know
whether its bytes may have changed (feedserver.documents).
"""

from __future__ import annotations

from dataclasses import dataclass

from feedserver.archive import ArchiveState
from feedserver.db import ReadPool
from feedserver.history import HistoryState
from feedserver.queries import next_publish_at, section_rows


@dataclass(frozen=True)
class SectionState:
    """A section as the change check sees it."""

    slug: str
    title: str
    description: str
    changed_at: int  # newest write touching a public article (schema triggers)
    newest_published: int | None  # publish time of its newest visible article
    revision: int = 0  # bumped by every such write: changed_at has whole seconds (schema triggers)


@dataclass(frozen=True)
class SiteState:
    """The sections, the next scheduled change and the sitemap archive at one moment."""

    now: int  # the moment visibility was judged at; renders use the same one
    sections: dict[str, SectionState]
    next_publish_at: int | None  # earliest scheduled article still in the future
    archive: ArchiveState | None = None  # what the sitemaps show (feedserver.archive); None until loaded
    history: HistoryState | None = None  # the feeds' month stamps (feedserver.history); None until loaded

    @property
    def next_change_at(self) -> int | None:
        """The next moment the site changes with no write: a scheduled article comes
        due, an article leaves the news sitemap's window, or a month is over (a
        feed's archive boundary moves)."""
        moments = [
            self.next_publish_at,
            self.archive.news.expires_at if self.archive else None,
            self.history.rollover_at if self.history else None,
        ]
        return min((m for m in moments if m is not None), default=None)


async def load_site_state(pool: ReadPool, now: int) -> SiteState:
    """The sections and the next scheduled publication at `now` (the archive is added by the service)."""
    sections = {row.slug: SectionState(*row) for row in await section_rows(pool, now)}
    return SiteState(now, sections, await next_publish_at(pool, now))
