"""Which documents a server publishes, found the way clients find them: the
front page's autodiscovery links and feed links, robots.txt's Sitemap lines
(then the indexes they name), and /feeds.opml where it exists. Only URLs on
the checked origin are followed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree

from feedserver.check.schemas import PARSER

FEED_TYPES = {"application/rss+xml", "application/atom+xml", "application/feed+json", "application/json"}
FEED_FILES = (".rss", ".atom", ".json", "/feed", ".xml")


@dataclass
class Found:
    """Discovered URLs by kind, in the order first seen."""

    feeds: list[str] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)

    def add(self, kind: str, url: str) -> None:
        target = self.feeds if kind == "feed" else self.sitemaps
        if url not in target:
            target.append(url)


def same_origin(url: str, base: str) -> bool:
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


def from_home(html: bytes, page_url: str, base: str, found: Found) -> None:
    try:
        root: Any = lxml.html.fromstring(html)
    except (etree.ParserError, ValueError):
        return
    for link in root.iter("link"):
        rels = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").split(";")[0].strip().lower()
        if "alternate" in rels and kind in FEED_TYPES and link.get("href"):
            url = urljoin(page_url, link.get("href"))
            if same_origin(url, base):
                found.add("feed", url)
    for anchor in root.iter("a"):
        href = anchor.get("href")
        if not href:
            continue
        url = urljoin(page_url, href)
        name = urlsplit(url).path.rpartition("/")[2]
        if same_origin(url, base) and name in ("feed.rss", "feed.atom", "feed.json"):
            found.add("feed", url)


def from_robots(text: str, base: str, found: Found) -> None:
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() == "sitemap" and same_origin(value.strip(), base):
            found.add("sitemap", value.strip())


def from_opml(body: bytes, page_url: str, base: str, found: Found) -> str | None:
    """Add the feeds an OPML file lists; returns why it could not be read, or None."""
    try:
        root: Any = etree.fromstring(body, PARSER)
    except etree.XMLSyntaxError as exc:
        return f"ill-formed XML: {exc}"
    if root.tag != "opml":
        return f"not OPML: the root element is {root.tag}"
    for outline in root.iter("outline"):
        href = outline.get("xmlUrl")
        if href:
            url = urljoin(page_url, href)
            if same_origin(url, base):
                found.add("feed", url)
    return None
