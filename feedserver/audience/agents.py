"""Who is asking for a feed, from its User-Agent: an aggregator fetching for many
subscribers, one person's reader, or something that is no subscriber at all.

Aggregators say how many of their users follow a feed ("457 subscribers"), some
with a feed id when one URL is known to them under several feeds ("feed-id:1234").
Individual readers (newsboat, NetNewsWire, Miniflux...) are one subscriber per
client. Browsers, crawlers, link previews, monitors and HTTP tools such as curl
are not subscribers. The classification is pure and cached per distinct string.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

# Aggregators known by name: a string naming one but giving no count is not
# theirs (their fetchers always report one), so it is not counted at all.
AGGREGATORS = {
    "feedly": "Feedly",
    "inoreader": "Inoreader",
    "feedbin": "Feedbin",
    "newsblur": "NewsBlur",
    "theoldreader": "The Old Reader",
    "the old reader": "The Old Reader",
    "bazqux": "BazQux",
    "feedspot": "Feedspot",
    "bloglovin": "Bloglovin",
    "feedwrangler": "Feed Wrangler",
    "netvibes": "Netvibes",
    "digg feed fetcher": "Digg Reader",
    "tiny tiny rss": "Tiny Tiny RSS",
    "commafeed": "CommaFeed",
    "feedhq": "FeedHQ",
    "feedpress": "FeedPress",
}

# One person's reader: counted once per client address and User-Agent.
READERS = {
    "newsboat": "newsboat",
    "newsbeuter": "newsboat",
    "netnewswire": "NetNewsWire",
    "miniflux": "Miniflux",
    "freshrss": "FreshRSS",
    "feedparser": "feedparser",
    "liferea": "Liferea",
    "akregator": "Akregator",
    "quiterss": "QuiteRSS",
    "newsflash": "NewsFlash",
    "thunderbird": "Thunderbird",
    "reeder": "Reeder",
    "readkit": "ReadKit",
    "vienna": "Vienna",
    "feeder": "Feeder",
    "rss2email": "rss2email",
    "rssowl": "RSSOwl",
    "nextcloud-news": "Nextcloud News",
    "yarr": "yarr",
    "newsraft": "Newsraft",
    "elfeed": "Elfeed",
    "canto": "Canto",
    "sfeed": "sfeed",
    "fluent reader": "Fluent Reader",
    "readyou": "Read You",
    "unread": "Unread",
    "lire": "lire",
    "fiery feeds": "Fiery Feeds",
    "newsify": "Newsify",
    "feedflow": "FeedFlow",
    "capyreader": "Capy Reader",
}

# Not subscribers: crawlers, link previews, monitors, HTTP tools and libraries.
NOT_SUBSCRIBERS = re.compile(
    r"bot\b|bot/|crawler|spider|slurp|facebookexternalhit|facebookcatalog|whatsapp|embedly|"
    r"preview|validator|monitor|uptime|pingdom|statuscake|site24x7|datadog|checkly|"
    r"feedserver-check|curl/|wget/|httpie|python-requests|python-urllib|python-httpx|aiohttp|"
    r"go-http-client|okhttp|libwww-perl|java/|apache-httpclient|node-fetch|axios|headlesschrome|"
    r"lighthouse|scrapy|postman",
    re.IGNORECASE,
)
BROWSER = re.compile(r"^mozilla/\d.*(gecko|webkit|trident|chrome|safari|firefox|edg/)", re.IGNORECASE)
COUNT = re.compile(r"\b(\d{1,9})\s+(?:subscribers?|readers?|users?)\b", re.IGNORECASE)
FEED_ID = re.compile(r"\bfeed[-_ ]?id\s*[:=]\s*([A-Za-z0-9._-]{1,64})", re.IGNORECASE)
COMPATIBLE = re.compile(r"\(compatible;\s*([^;/)]+)", re.IGNORECASE)
PRODUCT = re.compile(r"^\s*([A-Za-z][A-Za-z0-9 ._-]{0,40}?)\s*(?:/|\(|;| - |$)")
OTHER_READER = "other readers"


@dataclass(frozen=True)
class Aggregator:
    """A service fetching for `subscribers` of its users (under `feed_id`, "" if none)."""

    name: str
    subscribers: int
    feed_id: str


@dataclass(frozen=True)
class Reader:
    """One person's reader; `name` is a known reader or OTHER_READER."""

    name: str


Agent = Aggregator | Reader


def _lookup(lowered: str, table: dict[str, str]) -> str | None:
    for needle, name in table.items():
        if needle in lowered:
            return name
    return None


def _product_name(user_agent: str) -> str:
    """The service's name as the string gives it: the compatible token, else the first product."""
    match = COMPATIBLE.search(user_agent) or PRODUCT.match(user_agent)
    name = match.group(1).strip() if match else ""
    return name[:40] or "unknown"


@functools.lru_cache(maxsize=4096)
def classify(user_agent: str) -> Agent | None:
    """What this User-Agent is as a subscriber, or None when it counts as none."""
    text = user_agent.strip()
    if not text:
        return None
    lowered = text.lower()
    if "feedserver-check" in lowered:
        return None  # `feedserver check` fetching as each reader: not a subscriber
    count = COUNT.search(text)
    aggregator = _lookup(lowered, AGGREGATORS)
    if count is not None:
        feed_id = FEED_ID.search(text)
        name = aggregator or _product_name(text)
        return Aggregator(name, int(count.group(1)), feed_id.group(1) if feed_id else "")
    if aggregator is not None:
        return None  # an aggregator's name without its count: a probe or a spoof
    reader = _lookup(lowered, READERS)
    if reader is not None:
        return Reader(reader)
    if NOT_SUBSCRIBERS.search(text) or BROWSER.search(text):
        return None
    return Reader(OTHER_READER)
