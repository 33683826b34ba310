"""JSON Feed 1.1 writer for the feed model (https://www.jsonfeed.org/version/1.1/)."""

from __future__ import annotations

from typing import Any

import orjson

from feedserver.model import Feed, FeedItem, Person

VERSION = "https://jsonfeed.org/version/1.1"


def _author(person: Person) -> dict[str, str]:
    data = {"name": person.name}
    if person.url:
        data["url"] = person.url
    return data


def _item(item: FeedItem) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": item.guid,
        "url": item.url,
        "title": item.title,
    }
    if item.summary:
        data["summary"] = item.summary
    # content_html is required unless content_text is given: summary-only
    # feeds carry the summary as text.
    if item.content_html:
        data["content_html"] = item.content_html
    else:
        data["content_text"] = item.summary or item.title
    if item.image is not None:
        data["image"] = item.image.url
    data["date_published"] = item.published.isoformat()
    data["date_modified"] = item.updated.isoformat()
    data["authors"] = [_author(a) for a in item.authors]
    if item.tags:
        data["tags"] = list(item.tags)
    data["language"] = item.language
    return data


def render_json(feed: Feed) -> bytes:
    data: dict[str, Any] = {
        "version": VERSION,
        "title": feed.title,
        "home_page_url": feed.home_url,
        "feed_url": feed.self_url,
        "description": feed.description,
        "language": feed.language,
    }
    if feed.logo:
        data["icon"] = feed.logo
    if feed.icon:
        data["favicon"] = feed.icon
    data["authors"] = [_author(a) for a in feed.authors]
    if feed.hubs:
        data["hubs"] = [{"type": "WebSub", "url": hub} for hub in feed.hubs]
    data["items"] = [_item(item) for item in feed.items]
    return orjson.dumps(data)
