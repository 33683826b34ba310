"""HTTP as a reader does it: plain GETs with a chosen User-Agent and headers,
the body exactly as sent (no transparent gunzip: whether gzip works is one of
the things checked), redirects followed."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message

BROWSER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
# The readers most subscribers use. Each carries "feedserver-check" so that a
# server counting subscribers (feedserver.audience) does not count the check.
READERS = (
    "newsboat/2.36.0 (Linux x86_64) feedserver-check",
    "NetNewsWire (RSS Reader; https://netnewswire.com/) feedserver-check",
    "Mozilla/5.0 (compatible; Miniflux/2.1.3; +https://miniflux.app) feedserver-check",
    "Feedly/1.0 (+http://www.feedly.com/fetcher.html; like FeedFetcher-Google) feedserver-check",
    "Mozilla/5.0 (compatible; Inoreader/1.0; +http://www.inoreader.com/feed-fetcher) feedserver-check",
)


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    status: int
    headers: Message
    body: bytes  # as sent on the wire

    def header(self, name: str) -> str:
        return str(self.headers.get(name, ""))

    @property
    def media_type(self) -> str:
        return self.header("Content-Type").split(";")[0].strip().lower()


class Unreachable(Exception):
    """No HTTP answer at all (refused, timed out, bad address)."""


def fetch(url: str, user_agent: str, headers: dict[str, str] | None = None, timeout: float = 30) -> Fetched:
    request = urllib.request.Request(url, headers={"User-Agent": user_agent, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Fetched(response.geturl(), response.status, response.headers, response.read())
    except urllib.error.HTTPError as exc:  # 304 and every 4xx/5xx: an answer, not a failure
        with exc:
            return Fetched(exc.geturl() or url, exc.code, exc.headers, exc.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise Unreachable(f"{url}: {reason}") from None
