"""What a strict validator and a reader see in one feed: RSS 2.0, Atom 1.0 or
JSON Feed 1.1 read into one neutral shape, then the same rules for all three
(schema, self link, duplicate ids, relative URLs, future dates, order)."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import lxml.html
from lxml import etree

import feedserver.check.schemas as schemas
from feedserver.check.report import Report

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
MEDIA = "{http://search.yahoo.com/mrss/}content"
JSON_FEED_1_1 = "https://jsonfeed.org/version/1.1"
SKEW_SECONDS = 300  # clocks differ a little; later than this is the future


@dataclass
class Item:
    id: str | None
    link: str | None
    published: datetime | None
    urls: list[str] = field(default_factory=list)  # URL fields that must be absolute
    html: list[str] = field(default_factory=list)  # HTML content whose links must be absolute


@dataclass
class ParsedFeed:
    format: str
    self_link: str | None
    items: list[Item]


def _date(text: str | None, rfc822: bool) -> datetime | None:
    if not text:
        return None
    try:
        moment = parsedate_to_datetime(text.strip()) if rfc822 else datetime.fromisoformat(text.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _text(element: Any, path: str) -> str | None:
    found = element.find(path)
    return found.text if found is not None and found.text is not None else None


def read_rss(root: Any, url: str, report: Report) -> ParsedFeed:
    channel = root.find("channel")
    if root.get("version") != "2.0":
        report.error(url, f"schema: rss version is {root.get('version')!r}, not '2.0'")
    if channel is None:
        report.error(url, "schema: rss has no channel")
        return ParsedFeed("rss", None, [])
    for required in ("title", "link", "description"):
        if channel.find(required) is None:
            report.error(url, f"schema: channel has no {required} (RSS 2.0 requires it)")
    self_link = next((e.get("href") for e in channel.findall(f"{ATOM}link") if e.get("rel") == "self"), None)
    items = []
    for n, element in enumerate(channel.findall("item"), 1):
        if element.find("title") is None and element.find("description") is None:
            report.error(url, f"schema: item {n} has neither title nor description (RSS 2.0 requires one)")
        guid = element.find("guid")
        link = _text(element, "link")
        item = Item(guid.text if guid is not None else link, link, _date(_text(element, "pubDate"), rfc822=True))
        item.urls += [u for u in (link,) if u]
        if guid is not None and guid.get("isPermaLink", "true") == "true" and guid.text:
            item.urls.append(guid.text)
        item.urls += [e.get("url") for e in (*element.findall("enclosure"), *element.findall(MEDIA)) if e.get("url")]
        item.html += [t for t in (_text(element, CONTENT), _text(element, "description")) if t]
        items.append(item)
    return ParsedFeed("rss", self_link, items)


def read_atom(root: Any, url: str, report: Report) -> ParsedFeed:
    for error in schemas.xml_errors(schemas.atom(), root):
        report.error(url, f"schema (Atom RELAX NG): {error}")
    self_link = next((e.get("href") for e in root.findall(f"{ATOM}link") if e.get("rel") == "self"), None)
    items = []
    for entry in root.findall(f"{ATOM}entry"):
        links = [e.get("href") for e in entry.findall(f"{ATOM}link") if e.get("href")]
        alternate = next(
            (e.get("href") for e in entry.findall(f"{ATOM}link") if e.get("rel", "alternate") == "alternate"), None
        )
        published = _text(entry, f"{ATOM}published") or _text(entry, f"{ATOM}updated")
        item = Item(_text(entry, f"{ATOM}id"), alternate, _date(published, rfc822=False), urls=links)
        for name in ("content", "summary"):
            element = entry.find(f"{ATOM}{name}")
            if element is not None and element.get("type") == "html" and element.text:
                item.html.append(element.text)
        items.append(item)
    return ParsedFeed("atom", self_link, items)


def read_json(document: Any, url: str, report: Report) -> ParsedFeed:
    for error in list(schemas.json_feed().iter_errors(document))[:3]:
        where = "/".join(str(p) for p in error.absolute_path) or "(top)"
        report.error(url, f"schema (JSON Feed 1.1): {where}: {error.message}")
    if not isinstance(document, dict):
        return ParsedFeed("json", None, [])
    if document.get("version") != JSON_FEED_1_1:
        report.warning(url, f"JSON Feed version is {document.get('version')!r}, not {JSON_FEED_1_1}")
    items = []
    for entry in document.get("items") or []:
        if not isinstance(entry, dict):
            continue
        link = entry.get("url") if isinstance(entry.get("url"), str) else None
        item = Item(str(entry["id"]) if "id" in entry else None, link, _date(entry.get("date_published"), rfc822=False))
        item.urls += [u for u in (link, entry.get("external_url"), entry.get("image")) if isinstance(u, str)]
        if isinstance(entry.get("content_html"), str):
            item.html.append(entry["content_html"])
        items.append(item)
    feed_url = document.get("feed_url")
    return ParsedFeed("json", feed_url if isinstance(feed_url, str) else None, items)


def parse_feed(body: bytes, url: str, report: Report) -> ParsedFeed | None:
    """Parse and validate a feed of any of the three formats; None when it cannot be read."""
    if body.lstrip()[:1] in (b"{", b"["):
        try:
            return read_json(json.loads(body), url, report)
        except ValueError as exc:
            report.error(url, f"ill-formed JSON: {exc}")
            return None
    try:
        root = etree.fromstring(body, schemas.PARSER)
    except etree.XMLSyntaxError as exc:
        report.error(url, f"ill-formed XML: {exc}")
        return None
    if root.tag == "rss":
        return read_rss(root, url, report)
    if root.tag == f"{ATOM}feed":
        return read_atom(root, url, report)
    report.error(url, f"not a feed: the root element is {root.tag}")
    return None


def _relative(link: str) -> bool:
    link = link.strip()
    if not link or link.startswith("#"):
        return False
    scheme = urlsplit(link).scheme.lower()
    return scheme == "" and not link.startswith(("mailto:", "data:", "tel:"))


def _html_links(html: str) -> list[str]:
    try:
        fragment = lxml.html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):
        return []
    links = [link for _element, _attribute, link, _pos in fragment.iterlinks()]
    for element in fragment.iter():
        srcset = element.get("srcset") if isinstance(element.tag, str) else None
        if srcset:
            links += [part.strip().split(" ")[0] for part in srcset.split(",") if part.strip()]
    return links


def check_items(feed: ParsedFeed, url: str, now: float, report: Report) -> None:
    if feed.self_link is None:
        report.warning(url, "no self link (atom:link rel=self, Atom link rel=self, JSON feed_url)")
    elif feed.self_link != url:
        report.error(url, f"self link is {feed.self_link}, not the feed's own URL")
    ids = Counter(item.id for item in feed.items if item.id)
    duplicates = sorted(i for i, n in ids.items() if n > 1)
    if duplicates:
        report.error(url, f"duplicate item ids in one feed: {', '.join(duplicates[:5])}")
    missing = sum(1 for item in feed.items if not item.id)
    if missing:
        report.error(url, f"{missing} item(s) without an id: readers cannot tell them apart")
    links = [link for item in feed.items for link in item.urls]
    links += [link for item in feed.items for html in item.html for link in _html_links(html)]
    relative = [link for link in links if _relative(link)]
    if relative:
        report.warning(
            url, f"{len(relative)} relative URL(s) in items (readers resolve them wrongly), e.g. {relative[0]!r}"
        )
    future = [item for item in feed.items if item.published and item.published.timestamp() > now + SKEW_SECONDS]
    if future:
        report.warning(url, f"{len(future)} item(s) dated in the future, e.g. {future[0].id} at {future[0].published}")
    dated = [item for item in feed.items if item.published]
    for newer, older in itertools.pairwise(dated):
        assert newer.published and older.published
        if older.published > newer.published:
            report.warning(url, f"items out of order by publish date: {older.id} ({older.published}) after {newer.id}")
            break
