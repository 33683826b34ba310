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
from feedserver.history import Links
from feedserver.model import Category, Feed, FeedItem, Image, Link, Person, SectionRef
from feedserver.queries import ArticleRow
from feedserver.state import SITE, ScopeId, SectionState, SiteState, TermState
from feedserver.text import absolute_url, absolutize_html, uri, xml_safe
from feedserver.times import local_time

EXTENSIONS = {"rss": "feed.rss", "atom": "feed.atom", "json": "feed.json"}


KINDS = ("site", "section", "tag", "author")
TERM_KINDS = ("tag", "author")


@dataclass(frozen=True)
class FeedScope:
    """What a feed covers: the whole site, a section and its subsections, a tag, or an author.

    `key` is the section's path, or the tag's or author's slug ('' for the site).
    """

    kind: str = "site"
    key: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS or (self.kind == "site") != (self.key == ""):
            raise ValueError(f"not a feed scope: {self.kind!r} {self.key!r}")

    @classmethod
    def site(cls) -> FeedScope:
        return cls()

    @classmethod
    def of_section(cls, path: str) -> FeedScope:
        return cls("section", path)

    @property
    def id(self) -> ScopeId:
        return (self.kind, self.key)

    @property
    def section(self) -> str | None:
        """The section path of a section scope, else None."""
        return self.key if self.kind == "section" else None

    def feed_path(self, fmt: str) -> str:
        name = EXTENSIONS[fmt]
        return f"/{name}" if self.kind == "site" else f"/{self.kind}/{self.key}/{name}"

    def term(self, state: SiteState) -> TermState | None:
        """The tag or author of a tag or author scope, if it is there."""
        return state.terms(self.kind).by_slug.get(self.key) if self.kind in TERM_KINDS else None

    def exists(self, state: SiteState) -> bool:
        """The site; a section, or the parent path of one (the parent follows from the
        path); a tag or an author with a live article (one known only from drafts or
        scheduled articles stays private, like a draft's section)."""
        if self.kind == "site":
            return True
        if self.kind == "section":
            return self.key in state.sections or bool(state.children.get(self.key))
        term = self.term(state)
        return term is not None and term.newest_published is not None

    def section_slugs(self, state: SiteState) -> list[str] | None:
        """The sections whose articles a site or section feed lists (None: every article)."""
        if self.kind == "section":
            return state.subtree(self.key)
        return None

    def _sections(self, state: SiteState) -> list[SectionState]:
        return [state.sections[s] for s in state.subtree(self.key)]

    def last_modified(self, state: SiteState) -> int:
        """Newest change in scope: a public article's write or publish time.

        Both parts only grow (changed_at is moved forward by the schema's
        triggers), so the date never goes backwards. A section left with no
        live article still counts with its changed_at: deleting a subsection's
        only article must not date its parent or the site back. A
        section scope with no live article takes the site's newest change; an
        empty site 0.
        """
        if self.kind == "site":
            return state.site_last_modified
        if self.kind == "section":
            states = self._sections(state)
            if all(s.newest_published is None for s in states):
                return state.site_last_modified
            return max(s.last_modified for s in states)
        term = self.term(state)
        return term.last_modified if term is not None else state.site_last_modified

    def depends_on(self, state: SiteState) -> tuple[ScopeId, ...]:
        """The scopes whose change may change this feed: its own, its parent sections'
        (items name them: section_trail), and the site's when it is dated by the site
        (an empty section)."""
        if self.kind != "section":
            return (self.id,)
        parts = self.key.split("/")
        parents = tuple(("section", "/".join(parts[:n])) for n in range(1, len(parts)))
        if all(s.newest_published is None for s in self._sections(state)):
            return (self.id, *parents, SITE)
        return (self.id, *parents)

    def signature(self, state: SiteState) -> tuple[object, ...]:
        """Changes whenever the feed's bytes may change: its sections (or its tag or
        author) and its date. Revisions and stamp versions tell apart writes within
        one second of changed_at."""
        if self.kind == "site":
            return (state.site_version, state.site_last_modified)
        if self.kind == "section":
            return (
                tuple(
                    (s.slug, s.title, s.description, s.changed_at, s.newest_published, s.revision)
                    for s in self._sections(state)
                ),
                self.last_modified(state),
                # Items name their sections' parents too (section_trail): a renamed
                # parent outside the scope changes the feed.
                self.parent_titles(state),
            )
        return (self.term(state), self.last_modified(state))

    def parent_titles(self, state: SiteState) -> tuple[str | None, ...]:
        return () if self.section is None else trail_titles(self.section, state.sections)[:-1]


def scope_prefix(scope: FeedScope) -> str:
    """The path its feed files and history folders sit under ("" for the site, then
    `/section/{path}`...): `{prefix}/feed.rss`, `{prefix}/archive/2025-06/feed.rss`."""
    return scope.feed_path("rss").rsplit("/", 1)[0]


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


def _scope_text(scope: FeedScope, state: SiteState, settings: Settings) -> tuple[str, str, str, str]:
    """(title, description, home page URL, feed id) of a scope's feed."""
    base = settings.base_url
    site_title, site_description = xml_safe(settings["site.title"]), xml_safe(settings["site.description"])
    if scope.kind == "site":
        return site_title, site_description, settings.home_url, tag_uri(settings, "feed")
    if scope.kind == "section":
        section = state.sections.get(scope.key)
        name = section_title(scope.key, state.sections)
        description = (section and section.description) or f"{name}: {settings['site.description']}"
        home = settings.section_url(scope.key)
    else:
        term = scope.term(state)
        name = term.name if term is not None else scope.key
        description = f"{name}: {settings['site.description']}"
        # The tag's or author's page on this server; an author's own page if the CMS gave one.
        home = (term.url if term is not None and term.url else "") or f"{base}/{scope.kind}/{scope.key}/"
    title = xml_safe(f"{name} – {settings['site.title']}")
    return title, xml_safe(description), uri(home), tag_uri(settings, f"{scope.kind}/{scope.key}")


def build_feed(
    scope: FeedScope,
    fmt: str,
    items: Sequence[FeedItem],
    state: SiteState,
    settings: Settings,
    page_path: str = "",
    links: Links | None = None,
    updated: int | None = None,
) -> Feed:
    """The feed model of a scope's subscription document, or of the history page
    at `page_path` (feedserver.history) with its `links` and own date."""
    base = settings.base_url
    title, description, home, feed_id = _scope_text(scope, state, settings)
    if not description.strip():
        # Blank once cleaned (only control characters, say): an RSS channel
        # must have a description, and feedgen refuses to write one without.
        description = title
    links = links or Links()
    name = EXTENSIONS[fmt]

    def url(path: str | None) -> str:
        return f"{base}{path}/{name}" if path is not None else ""

    history = tuple(
        Link(rel, url(path))
        for rel, path in (
            ("next", links.next),
            ("prev-archive", links.prev_archive),
            ("next-archive", links.next_archive),
            ("current", links.current),
        )
        if path is not None
    )
    return Feed(
        id=feed_id,
        title=title,
        description=description,
        home_url=home,
        self_url=url(scope_prefix(scope) + page_path),
        rss_url=base + scope.feed_path("rss"),
        atom_url=base + scope.feed_path("atom"),
        json_url=base + scope.feed_path("json"),
        language=settings["site.language"],
        updated=_when(scope.last_modified(state) if updated is None else updated, settings),
        ttl_minutes=settings["feeds.ttl_minutes"],
        icon=settings["site.icon"],
        logo=settings["site.logo"],
        authors=(_publication(settings),),
        items=tuple(items),
        history=history,
        archive=links.archive,
        complete=links.complete,
        next_url=url(links.json_next),
        subscription_url=base + scope.feed_path(fmt),
        hubs=settings.hubs if not page_path else (),
    )


def link_header(settings: Settings, self_url: str) -> str:
    """The HTTP Link header of a feed: one rel=hub per hub and exactly one rel=self
    (W3C WebSub 4); empty when no hub is configured, so the response is as before."""
    if not settings.hubs:
        return ""
    return ", ".join([*(f'<{hub}>; rel="hub"' for hub in settings.hubs), f'<{self_url}>; rel="self"'])


def html_summary(text: str) -> str:
    """Plain text as HTML, for RSS description, which readers render as HTML."""
    return html.escape(text, quote=False)
