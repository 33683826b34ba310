"""Build the neutral feed model for a scope (the site or one section subtree).

This is where settings meet rows: item ids, absolute URLs, the time zone, the
fallback author and the XML-safe text are decided here, once for all formats.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from feedserver.config import Settings
from feedserver.model import Category, Feed, FeedItem, Image, Person
from feedserver.queries import ArticleRow, SectionState, SiteState
from feedserver.text import absolute_url, absolutize_html, uri, xml_safe

FORMATS = ("rss", "atom", "json")
EXTENSIONS = {"rss": "feed.rss", "atom": "feed.atom", "json": "feed.json"}


@dataclass(frozen=True)
class Scope:
    """What a feed covers: the whole site (section None) or a section and its subsections."""

    section: str | None

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
        triggers), so the date never goes backwards. An empty scope takes the
        site's newest change; an empty site 0.
        """
        slugs = self.section_slugs(state)
        states = state.sections.values() if slugs is None else [state.sections[s] for s in slugs]
        stamps = [max(s.changed_at, s.newest_published or 0) for s in states if s.newest_published is not None]
        if stamps:
            return max(stamps)
        if self.section is not None:
            return Scope(None).last_modified(state)
        return max((s.changed_at for s in states), default=0)

    def signature(self, state: SiteState) -> tuple[object, ...]:
        """Changes whenever the feed's bytes may change: its sections and its date."""
        slugs = self.section_slugs(state)
        states = state.sections.values() if slugs is None else [state.sections[s] for s in slugs]
        return (
            tuple(sorted((s.slug, s.title, s.description, s.changed_at, s.newest_published) for s in states)),
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
    return datetime.fromtimestamp(timestamp, settings.timezone)


def _publication(settings: Settings) -> Person:
    return Person(xml_safe(settings["site.publication_name"]), settings.base_url + "/")


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


def build_feed(scope: Scope, fmt: str, rows: list[ArticleRow], state: SiteState, settings: Settings) -> Feed:
    base = settings.base_url
    site_title = xml_safe(settings["site.title"])
    if scope.section is None:
        title, description = site_title, xml_safe(settings["site.description"])
        home = base + "/"
        feed_id = tag_uri(settings, "feed")
    else:
        section = state.sections[scope.section]
        title = xml_safe(f"{section.title} – {settings['site.title']}")
        description = xml_safe(section.description or f"{section.title}: {settings['site.description']}")
        home = f"{base}/{scope.section}"
        feed_id = tag_uri(settings, f"section/{scope.section}")
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
        items=tuple(build_item(row, settings, state.sections) for row in rows),
    )


def html_summary(text: str) -> str:
    """Plain text as HTML, for RSS description, which readers render as HTML."""
    return html.escape(text, quote=False)
