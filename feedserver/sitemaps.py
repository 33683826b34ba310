"""Documents for crawlers: robots.txt, the sitemap index, article and section
sitemaps, and the Google News sitemap.

What exists and what each file holds is decided by the archive
(feedserver.archive), loaded with the site state; these documents only read it
and write the XML (feedserver.sitemap_writer). Every file is served at the
site root, as a sitemap may list only URLs under its own folder.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Hashable
from dataclasses import dataclass

from feedserver.archive import ArchiveFile, ArchiveState
from feedserver.body import Body
from feedserver.config import Settings
from feedserver.db import ReadPool
from feedserver.feeds import FeedScope
from feedserver.listing import SameHost, site_origin
from feedserver.origin.keys import ROBOTS, SITE, sitemap_key
from feedserver.queries import SitemapRow, news_rows, sitemap_rows
from feedserver.sitemap_writer import (
    article_entries,
    news_entries,
    page_entries,
    sitemap_index,
    urlset,
    urlset_ends,
)
from feedserver.state import SiteState
from feedserver.stylesheet import stylesheet_pi
from feedserver.text import is_blank

XML_MEDIA_TYPE = "application/xml; charset=utf-8"
TEXT_MEDIA_TYPE = "text/plain; charset=utf-8"
ROW_BATCH = 2500  # rows per query of an article sitemap: bounds the memory of a render


def archive_of(state: SiteState) -> ArchiveState:
    assert state.archive is not None, "the site state was loaded without its archive (FeedService.load_state)"
    return state.archive


def live_sections(state: SiteState) -> list[str]:
    """Sections with a visible article in their subtree, by slug: their front pages are listed."""
    live: set[str] = set()
    for slug, section in state.sections.items():
        if section.newest_published is None:
            continue
        parts = slug.split("/")
        live.update(p for p in ("/".join(parts[:n]) for n in range(1, len(parts) + 1)) if p in state.sections)
    return sorted(live)


_section_pages: list[tuple[SiteState, list[list[tuple[str, int]]]]] = []  # the last state's, kept


def section_pages(state: SiteState) -> list[list[tuple[str, int]]]:
    """The site's front page ("") and each live section's (its slug), with their
    lastmod, cut into files of at most the page size. The site's front page is
    always there, so the index always lists a file and no file is empty.

    Each lastmod walks the sections (FeedScope.last_modified), and the change check
    asks for these pages once per cached sitemap document: they are computed
    once per state."""
    if _section_pages and _section_pages[0][0] is state:
        return _section_pages[0][1]
    size = archive_of(state).page_size
    entries = [("", FeedScope.site().last_modified(state))]
    entries += [(slug, FeedScope.of_section(slug).last_modified(state)) for slug in live_sections(state)]
    pages = [entries[i : i + size] for i in range(0, len(entries), size)]
    _section_pages[:] = [(state, pages)]
    return pages


def sections_name(page: int) -> str:
    return "sections" if page == 1 else f"sections-{page}"


def sitemap_url(settings: Settings, name: str) -> str:
    return f"{settings.base_url}/sitemap-{name}.xml"


@dataclass(frozen=True)
class RobotsDocument:
    """Allow everything; name the sitemap index and the news sitemap; add the configured lines."""

    key: str = "/robots.txt"

    def exists(self, state: SiteState) -> bool:
        return True

    def signature(self, state: SiteState) -> Hashable:
        return "robots"  # settings only: they do not change while the process runs

    def surrogate_keys(self, state: SiteState) -> tuple[str, ...]:
        return (ROBOTS,)

    async def render(self, pool: ReadPool, settings: Settings, state: SiteState) -> Body:
        base = settings.base_url
        lines = [
            "User-agent: *",
            "Allow: /",
            *settings["robots.extra_lines"],
            "",
            f"Sitemap: {base}/sitemap.xml",
            f"Sitemap: {base}/news-sitemap.xml",
        ]
        # The bytes depend on the settings alone: date them at this process's
        # first render, so a changed robots.txt after a restart is newer.
        return Body(("\n".join(lines) + "\n").encode("utf-8"), state.now, TEXT_MEDIA_TYPE)


@dataclass(frozen=True)
class SitemapIndexDocument:
    """/sitemap.xml: the section sitemaps, then the article sitemaps, newest first."""

    key: str = "/sitemap.xml"

    def exists(self, state: SiteState) -> bool:
        return True

    def _entries(self, state: SiteState) -> list[tuple[str, int, int]]:
        """(name, lastmod, last_modified) of every child."""
        entries = []
        for number, page in enumerate(section_pages(state), start=1):
            newest = max(lastmod for _, lastmod in page)
            entries.append((sections_name(number), newest, newest))
        entries.extend((f.name, f.lastmod, f.last_modified) for f in archive_of(state).files.values())
        return entries

    def signature(self, state: SiteState) -> Hashable:
        return tuple((name, lastmod) for name, lastmod, _ in self._entries(state))

    def surrogate_keys(self, state: SiteState) -> tuple[str, ...]:
        return (SITE,)

    async def render(self, pool: ReadPool, settings: Settings, state: SiteState) -> Body:
        entries = self._entries(state)
        content = sitemap_index(
            ((sitemap_url(settings, n), lastmod) for n, lastmod, _ in entries),
            settings.timezone,
            stylesheet_pi(settings.base_url),
        )
        return Body(content, max((changed for _, _, changed in entries), default=0), XML_MEDIA_TYPE)


@dataclass(frozen=True)
class SectionsSitemapDocument:
    """/sitemap-sections.xml (then -2, -3...): the site's front page and every live section's."""

    page: int = 1

    @property
    def key(self) -> str:
        return f"/sitemap-{sections_name(self.page)}.xml"

    def exists(self, state: SiteState) -> bool:
        return 1 <= self.page <= len(section_pages(state))

    def signature(self, state: SiteState) -> Hashable:
        return tuple(section_pages(state)[self.page - 1])

    def surrogate_keys(self, state: SiteState) -> tuple[str, ...]:
        return (SITE,)

    async def render(self, pool: ReadPool, settings: Settings, state: SiteState) -> Body:
        page = section_pages(state)[self.page - 1]
        urls = [(settings.section_url(slug) if slug else settings.home_url, lastmod) for slug, lastmod in page]
        content = urlset([page_entries(urls, settings.timezone)], stylesheet=stylesheet_pi(settings.base_url))
        return Body(content, max(lastmod for _, lastmod in page), XML_MEDIA_TYPE)


@dataclass(frozen=True)
class ArticleSitemapDocument:
    """/sitemap-articles-...xml: one file of the archive's partition."""

    name: str

    @property
    def key(self) -> str:
        return f"/sitemap-{self.name}.xml"

    def exists(self, state: SiteState) -> bool:
        return self.name in archive_of(state).files

    def signature(self, state: SiteState) -> Hashable:
        return archive_of(state).files[self.name].signature

    def surrogate_keys(self, state: SiteState) -> tuple[str, ...]:
        return (sitemap_key(self.name),)

    async def render(self, pool: ReadPool, settings: Settings, state: SiteState) -> Body:
        file: ArchiveFile = archive_of(state).files[self.name]
        # Chunks, hashed and compressed by the cache as they come: at 50,000 URLs
        # the text is 10+ MB, and holding it whole raised the server's memory for
        # good (tests/test_sitemaps.py, memory of a render).
        return Body(self._chunks(pool, settings, state, file), file.last_modified, XML_MEDIA_TYPE)

    async def _chunks(
        self, pool: ReadPool, settings: Settings, state: SiteState, file: ArchiveFile
    ) -> AsyncIterator[bytes]:
        same_host = SameHost(settings.base_url)
        head, tail = urlset_ends(stylesheet_pi(settings.base_url))
        yield head

        def fetch(after: tuple[int, str] | None, left: int) -> Awaitable[list[SitemapRow]]:
            return sitemap_rows(pool, file.start, file.stop, state.now, same_host.prefix, after, min(ROW_BATCH, left))

        # The next batch is read while this one is written (and, in the cache,
        # the one before is compressed): SQLite, zlib and the hash run without
        # the GIL, so on two cores they overlap the writing.
        following: asyncio.Future[list[SitemapRow]] | None = None
        try:
            left = file.limit
            rows = await fetch(file.after, left)
            while rows:
                left -= len(rows)
                if len(rows) == ROW_BATCH and left > 0:
                    following = asyncio.ensure_future(fetch((rows[-1].published_at, rows[-1].id), left))
                yield await asyncio.to_thread(article_entries, rows, settings.timezone, same_host)
                rows = await following if following is not None else []
                following = None
        finally:
            if following is not None and not following.done():
                following.cancel()
        yield tail


@dataclass(frozen=True)
class NewsSitemapDocument:
    """/news-sitemap.xml: the articles of the last two days, newest first. Over one
    page it is an index of /news-sitemap-1.xml, -2...; `page` None is the root."""

    page: int | None = None

    @property
    def key(self) -> str:
        return "/news-sitemap.xml" if self.page is None else f"/news-sitemap-{self.page}.xml"

    def exists(self, state: SiteState) -> bool:
        pages = archive_of(state).news.pages
        return self.page is None or (pages > 1 and 1 <= self.page <= pages)

    def signature(self, state: SiteState) -> Hashable:
        news = archive_of(state).news
        if self.page is None and news.pages > 1:
            return ("index", news.pages)
        page = self.page or 1
        return ("urlset", news.page_keys(page), news.version)

    def surrogate_keys(self, state: SiteState) -> tuple[str, ...]:
        return (SITE,)

    async def render(self, pool: ReadPool, settings: Settings, state: SiteState) -> Body:
        news = archive_of(state).news
        if self.page is None and news.pages > 1:
            urls = [(f"{settings.base_url}/news-sitemap-{n}.xml", None) for n in range(1, news.pages + 1)]
            index = sitemap_index(urls, settings.timezone, stylesheet_pi(settings.base_url))
            return Body(index, news.last_modified, XML_MEDIA_TYPE)
        page = self.page or 1
        origin = site_origin(settings.base_url)
        rows = await news_rows(pool, news.since, state.now, origin, news.before(page), news.page_size)
        for row in rows:
            if is_blank(row.title):  # Google News needs a title: left out (feeds leave it out too)
                pool.rejects.report("articles", row.id, "title is blank: left out of the news sitemap")
        rows = [row for row in rows if not is_blank(row.title)]

        def write() -> bytes:
            chunk = news_entries(
                rows,
                settings["site.publication_name"],
                settings["site.language"],
                settings.timezone,
                SameHost(settings.base_url),
            )
            return urlset([chunk], news=True, stylesheet=stylesheet_pi(settings.base_url))

        return Body(write, news.last_modified, XML_MEDIA_TYPE)
