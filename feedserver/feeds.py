"""Build the neutral feed model for a scope (the site or one section subtree).

This is where settings meet rows: item ids, absolute URLs, the time zone, the
fallback author and the XML-safe text are decided here, once for all formats.
"""

from __future__ import annotations

import html
import mimetypes
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlsplit

from feedserver.config import Settings
from feedserver.model import Category, Feed, FeedItem, Image, Person, SectionRef
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
            # Items name their sections' parents too (section_trail): a renamed
            # parent outside the scope changes the feed.
            self.parent_titles(state),
        )

    def parent_titles(self, state: SiteState) -> tuple[str | None, ...]:
        return () if self.section is None else trail_titles(self.section, state.sections)[:-1]


def tag_uri(settings: Settings, specific: str) -> str:
    """An RFC 4151 tag: URI, stable for as long as site.id_authority and site.id_date are
    (not tied to base_url, so a site that moves host keeps its ids)."""
    return f"tag:{settings.id_authority},{settings['site.id_date']}:{quote(specific, safe='/-._~!$()*+,;=:@')}"


def item_id(settings: Settings, article_id: str) -> str:
    """The one id of an article in every feed (RSS guid, Atom id, JSON Feed id).

    Built from the CMS's stable id, never the URL, so an edited slug or a move
    to https does not show the article to readers twice.
    """
    return tag_uri(settings, f"article/{article_id}")


def _when(timestamp: int, settings: Settings) -> datetime:
    return local_time(timestamp, settings.timezone)


def _publication(settings: Settings) -> Person:
    return Person(xml_safe(settings["site.publication_name"]), settings.home_url)


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
        pk: int, article_id: str, revision: int, updated_at: int, section_title: object, settings: Settings
    ) -> tuple[object, ...]:
        """`section_title`: the titles of the article's section and its parents (trail_titles)."""
        return (pk, article_id, revision, updated_at, section_title, id(settings))

    def lookup(self, key: tuple[object, ...]) -> FeedItem | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def build(self, row: ArticleRow, settings: Settings, sections: dict[str, SectionState]) -> FeedItem:
        """Build (and keep) the item for a full row."""
        key = self.key(row.pk, row.id, row.revision, row.updated_at, trail_titles(row.section, sections), settings)
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


def section_title(slug: str, sections: dict[str, SectionState]) -> str:
    """A section's title; a parent nobody declared (the CMS wrote only
    `olahraga/sepakbola`) follows from the path and is titled from its slug."""
    section = sections.get(slug)
    return section.title if section is not None else slug.rsplit("/", 1)[-1].replace("-", " ")


def trail_titles(slug: str, sections: dict[str, SectionState]) -> tuple[str | None, ...]:
    """What a built item's section trail depends on: the declared titles of the
    section and its parents (ItemCache keys)."""
    parts = slug.split("/")
    return tuple(s.title if (s := sections.get("/".join(parts[:n]))) else None for n in range(1, len(parts) + 1))


def section_trail(slug: str, settings: Settings, sections: dict[str, SectionState]) -> tuple[SectionRef, ...]:
    """The section and each of its parents, nearest first."""
    parts = slug.split("/")
    paths = ["/".join(parts[:n]) for n in range(len(parts), 0, -1)]
    return tuple(SectionRef(p, xml_safe(section_title(p, sections)), uri(settings.section_url(p))) for p in paths)


# Python's own table, not the host's /etc/mime.types: the same bytes on every machine.
_BUILT_IN_TYPES = mimetypes.MimeTypes()


# type/subtype, as RFC 2045 tokens: what an RSS enclosure's type must be (the W3C
# validator's InvalidMIMEAttribute); parameters are not needed for an image.
_MEDIA_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+")


def image_type(url: str, declared: str) -> str:
    """The hero image's media type: as the CMS gave it when that is one (lower-cased),
    else from the URL's extension when that names an image type, else "" (unknown)."""
    if _MEDIA_TYPE.fullmatch(declared.strip().lower()):
        return declared.strip().lower()
    guessed, _ = _BUILT_IN_TYPES.guess_type(urlsplit(url).path, strict=False)
    return guessed if guessed and guessed.startswith("image/") else ""


def build_item(row: ArticleRow, settings: Settings, sections: dict[str, SectionState]) -> FeedItem:
    url = uri(row.url)
    authors = tuple(Person(xml_safe(a.name), uri(a.url) if a.url else "", xml_safe(a.email)) for a in row.authors)
    image = None
    if row.image_url:
        image = Image(
            url=absolute_url(row.image_url, url),
            caption=xml_safe(row.image_caption or ""),
            credit=xml_safe(row.image_credit or ""),
            width=row.image_width,
            height=row.image_height,
            mime_type=image_type(row.image_url, xml_safe(row.image_type or "")),
        )
    tags = tuple(xml_safe(t) for t in row.tags)
    trail = section_trail(row.section, settings, sections)
    # The section, then its parents (the RSS category domain and the Atom
    # scheme name the section tree), then the tags.
    section_scheme = settings.base_url + "/section/"
    section_categories = tuple(Category(s.path, s.title, section_scheme) for s in trail)
    categories = (*section_categories, *(Category(t) for t in tags))
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
        section_trail=trail,
    )


def build_feed(scope: FeedScope, fmt: str, items: Sequence[FeedItem], state: SiteState, settings: Settings) -> Feed:
    base = settings.base_url
    site_title = xml_safe(settings["site.title"])
    if scope.section is None:
        title, description = site_title, xml_safe(settings["site.description"])
        home = settings.home_url
        feed_id = tag_uri(settings, "feed")
    else:
        section = state.sections.get(scope.section)
        title_of_section = section_title(scope.section, state.sections)
        title = xml_safe(f"{title_of_section} – {settings['site.title']}")
        description = xml_safe(
            (section and section.description) or f"{title_of_section}: {settings['site.description']}"
        )
        home = uri(settings.section_url(scope.section))
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
