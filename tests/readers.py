"""What a feed reader sees in a response: the parsed document, its item ids, its date."""

from __future__ import annotations

import json
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import feedparser

FEED_PATHS = ("/feed.rss", "/feed.atom", "/feed.json")


def fmt_of(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def parse(content: bytes, fmt: str) -> Any:
    """The parsed document; fails the test unless it is well-formed."""
    if fmt == "json":
        return json.loads(content)
    parsed = feedparser.parse(content)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return parsed


def item_ids(content: bytes, fmt: str) -> list[str]:
    """Item ids in document order (RSS guid, Atom id, JSON Feed id)."""
    document = parse(content, fmt)
    if fmt == "json":
        return [item["id"] for item in document["items"]]
    return [entry.id for entry in document.entries]


def article_ids(content: bytes, fmt: str) -> list[str]:
    """The CMS's article ids behind the item ids (`tag:host,date:article/<id>`)."""
    return [item_id.rsplit(":article/", 1)[-1] for item_id in item_ids(content, fmt)]


def titles(content: bytes, fmt: str) -> list[str]:
    document = parse(content, fmt)
    if fmt == "json":
        return [item["title"] for item in document["items"]]
    return [entry.title for entry in document.entries]


def feed_date(content: bytes, fmt: str) -> datetime | None:
    """RSS lastBuildDate or Atom updated (JSON Feed has no feed date)."""
    document = parse(content, fmt)
    if fmt == "rss":
        return parsedate_to_datetime(document.feed.updated)
    if fmt == "atom":
        return datetime.fromisoformat(document.feed.updated)
    return None


def http_date(value: str) -> datetime:
    return parsedate_to_datetime(value)
