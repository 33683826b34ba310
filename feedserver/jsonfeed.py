"""JSON Feed 1.1 writer for the feed model (https://www.jsonfeed.org/version/1.1/).

What JSON Feed has no field for (the image's caption and credit, the section
tree, the source credit, the reading time) goes in one custom object per item,
`_feedserver`, named by the spec's rule for extensions ("Extensions": a leading
underscore, then a letter; readers that do not know it ignore it) and carrying
an `about` URL that documents it (the README's "JSON Feed extension").
"""

from __future__ import annotations

from typing import Any

import orjson

from feedserver.model import Feed, FeedItem, Person, SectionRef

VERSION = "https://jsonfeed.org/version/1.1"
EXTENSION = "_feedserver"
EXTENSION_ABOUT = "https://github.com/feedserver/feedserver#json-feed-extension"


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
    data[EXTENSION] = _extension(item)
    return data


def _section(section: SectionRef) -> dict[str, str]:
    return {"path": section.path, "title": section.title, "url": section.url}


def _extension(item: FeedItem) -> dict[str, Any]:
    data: dict[str, Any] = {"about": EXTENSION_ABOUT}
    if item.section is not None:
        data["section"] = {**_section(item.section), "parents": [_section(s) for s in item.section_trail[1:]]}
    if item.source:
        data["source"] = item.source
    data["reading_time_minutes"] = item.reading_time_minutes
    if item.image is not None:
        image = item.image
        described: dict[str, Any] = {"url": image.url}
        if image.caption:
            described["caption"] = image.caption
        if image.credit:
            described["credit"] = image.credit
        if image.mime_type:
            described["type"] = image.mime_type
        if image.width and image.height:
            described["width"], described["height"] = image.width, image.height
        data["image"] = described
    return data


def render_json(feed: Feed) -> bytes:
    data: dict[str, Any] = {
        "version": VERSION,
        "title": feed.title,
        "home_page_url": feed.home_url,
        # The subscription document's URL on every page of its history: it
        # identifies the feed (JSON Feed 1.1, feed_url).
        "feed_url": feed.subscription_url or feed.self_url,
        "description": feed.description,
        "language": feed.language,
    }
    if feed.logo:
        data["icon"] = feed.logo
    if feed.icon:
        data["favicon"] = feed.icon
    data["authors"] = [_author(a) for a in feed.authors]
    if feed.next_url:
        data["next_url"] = feed.next_url  # older items: pages, then the archives (RFC 5005 in JSON)
    if feed.hubs:
        data["hubs"] = [{"type": "WebSub", "url": hub} for hub in feed.hubs]
    data["items"] = [_item(item) for item in feed.items]
    return orjson.dumps(data)
