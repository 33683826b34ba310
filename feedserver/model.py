"""The neutral feed model: a feed and its items as plain frozen data.

Built once per render from the database rows and the settings (see
`feedserver.feeds.build_feed`); each format's writer only writes it out, as in
Django's feedgenerator. Text here is already safe for XML 1.0 and every URL is
absolute.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Person:
    name: str
    url: str = ""
    email: str = ""


@dataclass(frozen=True)
class Image:
    url: str
    caption: str = ""
    credit: str = ""
    width: int | None = None
    height: int | None = None
    mime_type: str = ""


@dataclass(frozen=True)
class Category:
    term: str
    label: str = ""
    scheme: str = ""


@dataclass(frozen=True)
class SectionRef:
    """A section as every format shows it: its path (the slug), title and page."""

    path: str
    title: str
    url: str  # the section's page (site.section_url)


@dataclass(frozen=True)
class FeedItem:
    guid: str  # one id for RSS guid, Atom id and JSON Feed id (tag: URI)
    url: str
    title: str
    summary: str
    content_html: str  # empty when the feed is summary-only
    published: datetime
    updated: datetime
    authors: tuple[Person, ...]
    categories: tuple[Category, ...]  # the section first, then the tags
    tags: tuple[str, ...]
    image: Image | None
    language: str
    source: str
    reading_time_minutes: int
    # The article's section and its parents, the article's own first, then each
    # parent up to the root (berita/tiongkok, berita).
    section_trail: tuple[SectionRef, ...] = ()

    @property
    def section(self) -> SectionRef | None:
        return self.section_trail[0] if self.section_trail else None


@dataclass(frozen=True)
class Link:
    """A feed-level link of RFC 5005 (next, prev-archive, next-archive, current)."""

    rel: str
    href: str


@dataclass(frozen=True)
class Feed:
    id: str  # stable Atom feed id
    title: str
    description: str
    home_url: str  # the page the feed is about (site or section front page)
    self_url: str  # this document's own URL
    rss_url: str
    atom_url: str
    json_url: str
    language: str
    updated: datetime  # newest change in scope, never the clock
    ttl_minutes: int
    icon: str
    logo: str
    authors: tuple[Person, ...]
    items: tuple[FeedItem, ...]
    history: tuple[Link, ...] = ()  # RFC 5005 links to the rest of the feed's history
    archive: bool = False  # an archive document (fh:archive): a whole month that is over
    complete: bool = False  # a complete feed (fh:complete): every live article of the scope is here
    next_url: str = ""  # JSON Feed next_url: the next document of the history chain
    subscription_url: str = ""  # the subscription document (JSON Feed feed_url); "" means self_url
    hubs: tuple[str, ...] = ()  # WebSub hubs advertised beside self_url (W3C WebSub 4)
