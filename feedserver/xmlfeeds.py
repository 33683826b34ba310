"""RSS 2.0 and Atom 1.0 writers for the feed model, through feedgen.

feedgen is told everything that would otherwise make the bytes vary (build
date, generator), entries are appended in model order (its `add_entry`
prepends by default), and `NewsExtension` adds what feedgen lacks: the hero
image (RSS enclosure, Atom link rel="enclosure", media:content with caption and
credit), the section tree (media:category), the source credit (dc:source),
dc:creator, and the rel/type attributes that feedgen 1.0.0 drops from an Atom
entry's links. Every element is one the W3C Feed Validation Service knows
(an unknown namespace is a warning there): tests/test_feed_formats.py.
"""

from __future__ import annotations

from typing import Any

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from feedserver import __version__
from feedserver.feeds import html_summary
from feedserver.model import Feed, FeedItem

MEDIA_NS = "http://search.yahoo.com/mrss/"
DC_NS = "http://purl.org/dc/elements/1.1/"
ATOM_NS = "http://www.w3.org/2005/Atom"
FH_NS = "http://purl.org/syndication/history/1.0"  # RFC 5005 section 4
GENERATOR_URI = "https://github.com/feedserver/feedserver"


class NewsExtension(BaseExtension):  # type: ignore[misc]
    """Declares the namespaces of the elements NewsEntryExtension writes, and writes
    the feed's history (RFC 5005): feedgen writes only rel="self" into RSS."""

    def __init__(self) -> None:
        self.feed: Feed | None = None

    def extend_ns(self) -> dict[str, str]:
        namespaces = {"media": MEDIA_NS, "dc": DC_NS}
        if self.feed is not None and (self.feed.archive or self.feed.complete):
            namespaces["fh"] = FH_NS
        return namespaces

    def extend_rss(self, rss: Any) -> Any:
        feed = self.feed
        assert feed is not None
        channel = rss[0]
        # After the atom:link rel="self" feedgen wrote, before the items.
        position = next(i for i, child in enumerate(channel) if child.tag == f"{{{ATOM_NS}}}link") + 1
        elements = [etree.Element(f"{{{ATOM_NS}}}link", href=link.href, rel=link.rel) for link in feed.history]
        for element in elements:
            element.set("type", "application/rss+xml")
        # WebSub's hubs (W3C WebSub 4), beside the self link.
        elements.extend(etree.Element(f"{{{ATOM_NS}}}link", href=hub, rel="hub") for hub in feed.hubs)
        if feed.archive or feed.complete:
            elements.append(etree.Element(f"{{{FH_NS}}}{'archive' if feed.archive else 'complete'}"))
        for offset, element in enumerate(elements):
            channel.insert(position + offset, element)
        return rss

    def extend_atom(self, atom: Any) -> Any:
        feed = self.feed
        assert feed is not None
        if feed.archive or feed.complete:
            # Metadata before the entries (RFC 4287 4.1.1; the W3C validator's MisplacedMetadata).
            first_entry = next((i for i, child in enumerate(atom) if child.tag == f"{{{ATOM_NS}}}entry"), len(atom))
            marker = "archive" if feed.archive else "complete"
            atom.insert(first_entry, etree.Element(f"{{{FH_NS}}}{marker}"))
        return atom


# RSS Best Practices Profile, "enclosure": a length that cannot be known is 0.
UNKNOWN_LENGTH = "0"


def _media_content(entry: Any, item: FeedItem) -> None:
    """The hero image with its size, caption and credit (Media RSS 1.5.1, media:content)."""
    image = item.image
    if image is None:
        return
    content = etree.SubElement(entry, f"{{{MEDIA_NS}}}content", url=image.url, medium="image")
    if image.mime_type:
        content.set("type", image.mime_type)
    if image.width and image.height:
        content.set("width", str(image.width))
        content.set("height", str(image.height))
    if image.caption:
        etree.SubElement(content, f"{{{MEDIA_NS}}}description", type="plain").text = image.caption
    if image.credit:
        etree.SubElement(content, f"{{{MEDIA_NS}}}credit").text = image.credit


def _source(entry: Any, item: FeedItem) -> None:
    """The source credit as dc:source (DCMI: a related resource the article derives from).
    Not RSS <source>, which names a feed the item was republished from, by URL."""
    if item.source:
        etree.SubElement(entry, f"{{{DC_NS}}}source").text = item.source


class NewsEntryExtension(BaseEntryExtension):  # type: ignore[misc]
    """Per-item elements feedgen has no (correct) support for."""

    def __init__(self) -> None:
        self.item: FeedItem | None = None

    def extend_rss(self, entry: Any) -> Any:
        item = self.item
        assert item is not None
        for author in item.authors:
            etree.SubElement(entry, f"{{{DC_NS}}}creator").text = author.name
        image = item.image
        if image is not None and image.mime_type:
            # RSS 2.0 requires url, length and type; readers that show
            # enclosures (newsboat, sfeed) show the image. A type nobody
            # knows leaves the image to media:content alone.
            etree.SubElement(entry, "enclosure", url=image.url, length=UNKNOWN_LENGTH, type=image.mime_type)
        _media_content(entry, item)
        # The section's path (its text: a hierarchic location, Media RSS
        # media:category) and title (label), and each parent's.
        for section in item.section_trail:
            etree.SubElement(
                entry, f"{{{MEDIA_NS}}}category", scheme=item.categories[0].scheme, label=section.title
            ).text = section.path
        _source(entry, item)
        return entry

    def extend_atom(self, entry: Any) -> Any:
        item = self.item
        assert item is not None
        # feedgen 1.0.0 builds an entry's <link> but loses rel and type.
        for link in entry.iter("link"):
            link.set("rel", "alternate")
            link.set("type", "text/html")
        image = item.image
        if image is not None:
            # RFC 4287 section 4.2.7.2: rel="enclosure"; length is optional and
            # advisory, so it is left out rather than guessed.
            enclosure = etree.SubElement(entry, "link", rel="enclosure", href=image.url)
            if image.mime_type:
                enclosure.set("type", image.mime_type)
        _media_content(entry, item)
        _source(entry, item)
        return entry


def _generator(feed: Feed) -> FeedGenerator:
    fg = FeedGenerator()
    fg.register_extension("news", NewsExtension, NewsEntryExtension)
    fg.news.feed = feed
    fg.id(feed.id)
    fg.title(feed.title)
    fg.subtitle(feed.description)  # also the RSS channel description
    # feedgen makes the last link added the RSS channel <link>, which must be
    # the page the feed is about (RSS 2.0 "link"), not the feed: self first.
    for link in feed.history:  # Atom only: NewsExtension writes them into RSS
        fg.link(href=link.href, rel=link.rel, type="application/atom+xml")
    fg.link(href=feed.self_url, rel="self", type=_SELF_TYPES[feed.self_url.rsplit(".", 1)[-1]])
    for hub in feed.hubs:
        fg.link(href=hub, rel="hub")  # Atom only: NewsExtension writes them into RSS
    fg.link(href=feed.home_url, rel="alternate", type="text/html")
    fg.language(feed.language)
    fg.lastBuildDate(feed.updated)  # also Atom updated; never the clock
    fg.ttl(feed.ttl_minutes)
    fg.generator("feedserver", __version__, GENERATOR_URI)
    for author in feed.authors:
        fg.author(_person(author))
    if feed.icon:
        fg.icon(feed.icon)
    if feed.logo:
        fg.logo(feed.logo)  # also the RSS channel image
    for item in feed.items:
        entry = fg.add_entry(order="append")
        entry.id(item.guid)  # RSS guid with isPermaLink="false"
        entry.title(item.title)
        entry.link(href=item.url, rel="alternate", type="text/html")
        entry.published(item.published)  # also RSS pubDate
        entry.updated(item.updated)
        for author in item.authors:
            entry.author(_person(author))
        for category in item.categories:
            entry.category(_category(category.term, category.label, category.scheme))
        entry.news.item = item
        if item.content_html:
            entry.content(item.content_html, type="html")  # Atom content, RSS content:encoded
        if item.summary:
            # Atom summary and RSS description: readers render both as HTML,
            # so the plain-text summary goes in escaped.
            entry.summary(html_summary(item.summary), type="html")
    return fg


_SELF_TYPES = {"rss": "application/rss+xml", "atom": "application/atom+xml", "json": "application/feed+json"}


def _person(person: Any) -> dict[str, str]:
    # No e-mail: feedgen would then also write an RSS <author>, which beside
    # dc:creator the W3C validator flags (DuplicateItemSemantics), and a
    # byline needs no address in a public feed.
    data = {"name": person.name}
    if person.url:
        data["uri"] = person.url
    return data


def _category(term: str, label: str, scheme: str) -> dict[str, str]:
    data = {"term": term}
    if label:
        data["label"] = label
    if scheme:
        data["scheme"] = scheme
    return data


def _hex_references(xml: bytes) -> bytes:
    """Write '&' and '<' as &#x26; and &#x3C; (the RSS Advisory Board's profile).

    The W3C validator reads "S&P500" or "x<y" in a plain-text title as HTML
    (ContainsHTML, CharacterData) unless they are written this way. lxml
    writes them only as &amp; and &lt; (feedgen writes no CDATA here), so the
    swap leaves every parsed value as it was.
    """
    return xml.replace(b"&amp;", b"&#x26;").replace(b"&lt;", b"&#x3C;")


def render_rss(feed: Feed) -> bytes:
    return _hex_references(bytes(_generator(feed).rss_str(pretty=False)))


def render_atom(feed: Feed) -> bytes:
    return _hex_references(bytes(_generator(feed).atom_str(pretty=False)))
