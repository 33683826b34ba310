"""The site state: everything a document's freshness depends on, read in a few cheap queries.

The change check loads a new `SiteState` after every write it notices, and
each document compares its signature under the old and the new state to know
whether its bytes may have changed (feedserver.documents).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from feedserver.archive import ArchiveState
from feedserver.db import ReadPool
from feedserver.history import HistoryState
from feedserver.listing import is_section_slug
from feedserver.queries import SectionRow, next_publish_at, section_rows, untimed_articles
from feedserver.rejects import RejectedRows
from feedserver.times import LATEST


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
    sections = existing_sections(await section_rows(pool, now), pool.rejects)
    for article_id, kind in await untimed_articles(pool, LATEST):
        pool.rejects.report("articles", article_id, f"published_at is {kind}, not whole seconds: shown nowhere")
    return SiteState(now, sections, await next_publish_at(pool, now))


def _paths(slug: str) -> list[str]:
    """The slug and each of its parents: berita/tiongkok -> berita, berita/tiongkok."""
    parts = slug.split("/")
    return ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]


def existing_sections(rows: Iterable[SectionRow], rejects: RejectedRows) -> dict[str, SectionState]:
    """The sections that exist, by slug.

    A section declared by a writer exists even while empty. One the schema's
    triggers declared from an article's slug (`implied`) exists once an article
    in it or below it is live, or a write to a public article touched it (its
    revision moved): a section only an embargoed article implies must not show
    its name, its feed or a new date before that article's time. The parents of
    an existing section exist. A slug no feed URL can hold is left out (reported).
    """
    valid = []
    for row in rows:
        if is_section_slug(row.slug):
            valid.append(row)
        else:
            rejects.report("sections", row.slug, "slug is not a path of a-z, 0-9, '-', '_' and '/': no URL holds it")
    shown: set[str] = set()
    for row in valid:
        if not row.implied or row.revision > 0 or row.newest_published is not None:
            shown.update(_paths(row.slug))
    return {
        row.slug: SectionState(
            row.slug,
            row.title if row.title.strip() else row.slug.rsplit("/", 1)[-1].replace("-", " "),
            row.description,
            row.changed_at,
            row.newest_published,
            row.revision,
        )
        for row in valid
        if row.slug in shown
    }
