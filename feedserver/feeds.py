"""Build the neutral feed model for a scope (the site or one section subtree).

This is where settings meet rows: item ids, absolute URLs, the time zone, the
fallback author and the XML-safe text are decided here, once for all formats.
"""

from __future__ import annotations

import html
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from feedserver.config import Settings
from feedserver.model import Category, Feed, FeedItem, Image, Person
from feedserver.queries import ArticleRow
from feedserver.state import SectionState, SiteState
from feedserver.text import absolute_url, absolutize_html, uri, xml_safe
from feedserver.times import local_time

EXTENSIONS = {"rss": "feed.rss", "atom": "feed.atom", "json": "feed.json"}


@dataclass(frozen=True)
class FeedScope:
    """What a feed covers: the whole site (section None) or a section and its subsections."""

    section: str | None

    @classmethod
    def site(cls) -> FeedScope:
        return cls(None)

    @classmethod
    def of_section(cls, path: str) -> FeedScope:
        return cls(path)

    @property
    def kind(self) -> str:
        """ "site" or "section": what the scope's page shows around its items."""
        return "site" if self.section is None else "section"

    def feed_path(self, fmt: str) -> str:
        name = EXTENSIONS[fmt]
        return f"/{name}" if self.section is None else f"/section/{self.section}/{name}"

    def section_slugs(self, state: SiteState) -> list[str] | None:
        """The sections whose articles the feed lists (None: every article)."""
        if self.section is None:
            return None
        prefix = self.section + "/"
        return sorted(s for s in state.sections if s == self.section or s.startswith(prefix))

    def last_modified(self, state: SiteState) -> int:
        """Newest change in scope: a public article's write or publish time.

        Both parts only grow (changed_at is moved forward by the schema's
        triggers), so the date never goes backwards. A section left with no
        live article still counts with its changed_at: deleting a subsection's
        only article must not date its parent or the site back. A
        section scope with no live article takes the site's newest change; an
        empty site 0.
        """
        slugs = self.section_slugs(state)
        states = state.sections.values() if slugs is None else [state.sections[s] for s in slugs]
        if self.section is not None and all(s.newest_published is None for s in states):
            return FeedScope(None).last_modified(state)
        return max((max(s.changed_at, s.newest_published or 0) for s in states), default=0)

    def signature(self, state: SiteState) -> tuple[object, ...]:
        """Changes whenever the feed's bytes may change: its sections and its date.
        The sections' revisions tell apart writes within one second of changed_at."""
        slugs = self.section_slugs(state)
        states = state.sections.values() if slugs is None else [state.sections[s] for s in slugs]
        return (
            tuple(
                sorted((s.slug, s.title, s.description, s.changed_at, s.newest_published, s.revision) for s in states)
            ),
            self.last_modified(state),
        )


def tag_uri(settings: Settings, specific: str) -> str:
    """An RFC 4151 tag: URI on the site's host, stable for as long as site.id_date is."""
    return f"tag:{settings.host},{settings['site.id_date']}:{quote(specific, safe='/-._~!$()*+,;=:@')}"


def item_id(settings: Settings, article_id: str) -> str:
    """The one id of an article in every feed (RSS guid, Atom id, JSON Feed id).

    Built from the CMS's stable id, never the URL, so an edited slug or a move
    to https does not show the article to readers twice.
    """
    return tag_uri(settings, f"article/{article_id}")


def _when(timestamp: int, settings: Settings) -> datetime:
    return local_time(timestamp, settings.timezone)


def _publication(settings: Settings) -> Person:
    return Person(xml_safe(settings["site.publication_name"]), settings.base_url + "/")


class ItemCache:
    """Built feed items by article revision.

    An article sits in up to three feeds (site, section, parent section) in
    three formats, and stays in them across many re-renders: building it (text
    clean-up, URL resolution, time zone) once per revision instead of once per
    render is most of a cache miss's cost outside the XML writer. Renders run in
    worker threads, hence the lock. Cleared when the database file is replaced
    (row ids and revisions then mean other things).
    """

    def __init__(self, max_items: int = 4096) -> None:
        self.max_items = max_items
        self._items: OrderedDict[tuple[object, ...], FeedItem] = OrderedDict()
        self._lock = threading.Lock()
        self.builds = 0

    @staticmethod
    def key(
        pk: int, article_id: str, revision: int, updated_at: int, section_title: str | None, settings: Settings
    ) -> tuple[object, ...]:
        return (pk, article_id, revision, updated_at, section_title, id(settings))

    def lookup(self, key: tuple[object, ...]) -> FeedItem | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def build(self, row: ArticleRow, settings: Settings, sections: dict[str, SectionState]) -> FeedItem:
        """Build (and keep) the item for a full row."""
        section = sections.get(row.section)
        key = self.key(row.pk, row.id, row.revision, row.updated_at, section.title if section else None, settings)
        item = build_item(row, settings, sections)
        with self._lock:
            self.builds += 1
            self._items[key] = item
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)
        return item

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def build_item(row: ArticleRow, settings: Settings, sections: dict[str, SectionState]) -> FeedItem:
    url = uri(row.url)
    section = sections.get(row.section)
    section_title = section.title if section is not None else row.section
    authors = tuple(Person(xml_safe(a.name), uri(a.url) if a.url else "", xml_safe(a.email)) for a in row.authors)
    image = None
    if row.image_url:
        image = Image(
            url=absolute_url(row.image_url, url),
            caption=xml_safe(row.image_caption or ""),
            credit=xml_safe(row.image_credit or ""),
            width=row.image_width,
            height=row.image_height,
            mime_type=xml_safe(row.image_type or ""),
        )
    tags = tuple(xml_safe(t) for t in row.tags)
    section_category = Category(row.section, xml_safe(section_title), settings.base_url + "/section/")
    categories = (section_category, *(Category(t) for t in tags))
    content = absolutize_html(xml_safe(row.content_html), url) if settings["feeds.full_content"] else ""
    return FeedItem(
        guid=item_id(settings, row.id),
        url=url,
        title=xml_safe(row.title),
        summary=xml_safe(row.summary),
        content_html=content,
        published=_when(row.published_at, settings),
        updated=_when(max(row.updated_at, row.published_at), settings),
        authors=authors or (_publication(settings),),
        categories=categories,
        tags=tags,
        image=image,
        language=xml_safe(row.language or settings["site.language"]),
        source=xml_safe(row.source or ""),
        reading_time_minutes=row.reading_time_minutes,
    )


def build_feed(scope: FeedScope, fmt: str, items: Sequence[FeedItem], state: SiteState, settings: Settings) -> Feed:
    base = settings.base_url
    site_title = xml_safe(settings["site.title"])
    if scope.section is None:
        title, description = site_title, xml_safe(settings["site.description"])
        home = base + "/"
        feed_id = tag_uri(settings, "feed")
    else:
        # A parent nobody declared (the CMS wrote only `olahraga/sepakbola`)
        # follows from the path and is titled from its slug.
        section = state.sections.get(scope.section)
        section_title = section.title if section else scope.section.rsplit("/", 1)[-1].replace("-", " ")
        title = xml_safe(f"{section_title} – {settings['site.title']}")
        description = xml_safe((section and section.description) or f"{section_title}: {settings['site.description']}")
        home = f"{base}/{scope.section}"
        feed_id = tag_uri(settings, f"section/{scope.section}")
    if not description.strip():
        # Blank once cleaned (only control characters, say): an RSS channel
        # must have a description, and feedgen refuses to write one without.
        description = title
    return Feed(
        id=feed_id,
        title=title,
        description=description,
        home_url=home,
        self_url=base + scope.feed_path(fmt),
        rss_url=base + scope.feed_path("rss"),
        atom_url=base + scope.feed_path("atom"),
        json_url=base + scope.feed_path("json"),
        language=settings["site.language"],
        updated=_when(scope.last_modified(state), settings),
        ttl_minutes=settings["feeds.ttl_minutes"],
        icon=settings["site.icon"],
        logo=settings["site.logo"],
        authors=(_publication(settings),),
        items=tuple(items),
    )


def html_summary(text: str) -> str:
    """Plain text as HTML, for RSS description, which readers render as HTML."""
    return html.escape(text, quote=False)
