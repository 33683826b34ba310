"""The per-request part of the audience.

`Observer` is told of every feed or document answered: a cache hit calls it
inline from the fast path (app.CacheFastPath, through http.send_rendered)
before anything is sent, and `AudienceMiddleware` calls it for everything else
when the response starts. It bumps a counter (route kind, status, format),
notes a feed's client for the subscriber counts and applies the polling limit:
dict lookups and increments, no I/O and no lock, so a hit stays within a few
microseconds of the bare fast path (bench/, part 1). The route kind comes from
the path alone, so it works for any feed URL (site, section, tag, author: they
all end in feed.rss, feed.atom or feed.json) and for a 304, which carries no
Content-Type.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from feedserver.audience.clients import ClientAddress
from feedserver.audience.metrics import Metrics
from feedserver.audience.polling import PollingLimit
from feedserver.audience.recorder import SubscriberRecorder
from feedserver.http import send_too_many

FEED_FILES = {"feed.rss": "rss", "feed.atom": "atom", "feed.json": "json"}
FIXED = {
    "/": ("home", "html"),
    "/robots.txt": ("robots", "text"),
    "/healthz": ("health", "text"),
    "/feeds.opml": ("opml", "opml"),
    "/openapi.json": ("openapi", "json"),
}
COUNTED = (200, 304, 429)  # answers a subscriber got (a 429 is still a subscriber polling)
HISTORY = ("archive", "page")  # .../archive/YYYY-MM/feed.rss, .../page/<cursor>/feed.rss (RFC 5005)


def is_history(path: str) -> bool:
    """A feed's archive or paged history: read once to catch up, not subscribed to."""
    parts = path.rsplit("/", 3)
    return len(parts) == 4 and parts[1] in HISTORY


def route_kind(path: str) -> tuple[str, str]:
    """(kind, format) of a path: a bounded pair of labels whatever the path."""
    name = path[path.rfind("/") + 1 :]
    fmt = FEED_FILES.get(name)
    if fmt is not None:
        return ("history" if is_history(path) else "feed"), fmt
    fixed = FIXED.get(path)
    if fixed is not None:
        return fixed
    if name.endswith(".xml") and (name.startswith("sitemap") or name.startswith("news-sitemap")):
        return "sitemap", "xml"
    return "other", "-"


class Observer:
    """What is done for each answer; `__call__` is an http.HitObserver."""

    def __init__(
        self,
        clients: ClientAddress,
        clock: Callable[[], float],
        recorder: SubscriberRecorder | None,
        limit: PollingLimit | None,
        metrics: Metrics | None,
    ) -> None:
        self.clients = clients
        self.trusted = bool(clients.networks)
        self.clock = clock
        self.recorder = recorder
        self.limit = limit
        self.metrics = metrics
        self._formats: dict[str, str] = {}  # path -> feed format, "" for other documents (bounded)
        self._format_of = self._formats.get

    def _format(self, path: str) -> str:
        """A subscribed feed's format; "" for anything else (history pages included)."""
        fmt = "" if is_history(path) else FEED_FILES.get(path[path.rfind("/") + 1 :], "")
        if len(self._formats) >= 10_000:
            self._formats.clear()
        self._formats[path] = fmt
        return fmt

    def __call__(self, scope: Scope, status: int, user_agent: bytes, forwarded_for: bytes | None, now: float) -> int:
        path: str = scope["path"]
        fmt = self._format_of(path)
        if fmt is None:
            fmt = self._format(path)
        metrics = self.metrics
        if not fmt:
            if metrics is not None:
                key = (*route_kind(path), status)
                counts = metrics.requests
                counts[key] = counts.get(key, 0) + 1
            return 0
        client = scope.get("client")  # optional in the ASGI spec
        address = client[0] if client else ""
        if forwarded_for is not None and self.trusted:
            address = self.clients.resolve_header(address, forwarded_for)
        wait = 0
        limit = self.limit
        if status == 200 and limit is not None and scope["method"] == "GET":
            wait = limit.retry_after(hash((address, user_agent, path)), now)
            if wait:
                status = 429
        if metrics is not None:
            key = ("feed", fmt, status)
            counts = metrics.requests
            counts[key] = counts.get(key, 0) + 1
            if wait:
                metrics.limited += 1
        recorder = self.recorder
        if recorder is not None and status in COUNTED:
            pending = recorder.pending
            if len(pending) < recorder.MAX_PENDING:
                pending[(path, address, user_agent)] = now
            else:
                recorder.dropped += 1
        return wait


class AudienceMiddleware:
    """Everything that is not a cache hit: /metrics, misses, errors, other routes."""

    def __init__(self, app: ASGIApp, observe: Observer, metrics: Metrics | None, metrics_token: str) -> None:
        self.app = app
        self.observe = observe
        self.metrics = metrics
        self._authorization = f"Bearer {metrics_token}".encode() if metrics_token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == "/metrics" and self.metrics is not None and self._authorized(scope):
            await self.metrics.respond(send)
            return
        refused = False

        async def observed(message: Message) -> None:
            nonlocal refused
            if message["type"] == "http.response.start":
                user_agent, forwarded_for = b"", None
                for key, value in scope["headers"]:
                    if key == b"user-agent":
                        user_agent = value
                    elif key == b"x-forwarded-for":
                        forwarded_for = value
                now = self.observe.clock()
                wait = self.observe(scope, message["status"], user_agent, forwarded_for, now)
                if wait:
                    refused = True
                    await send_too_many(send, wait)
                    return
            elif refused:
                return  # the document's body is not sent after a 429
            await send(message)

        await self.app(scope, receive, observed)

    def _authorized(self, scope: Scope) -> bool:
        expected = self._authorization
        if expected is None:
            return False
        for key, value in scope["headers"]:
            if key == b"authorization":
                return hmac.compare_digest(bytes(value), expected)
        return False
