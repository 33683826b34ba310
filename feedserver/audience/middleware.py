"""The per-request part of the audience: one ASGI wrapper around the whole app.

For every request it bumps a counter (route kind, status, format); for a feed
it also notes the client for the subscriber counts and applies the polling
limit. All of it is dict lookups and increments, with no I/O and no lock, so
a cache hit stays within a few microseconds of the bare fast path (bench/,
part 1). The route kind comes from the path alone, so it works for any feed
URL (site, section, tag, author: they all end in feed.rss, feed.atom or
feed.json) and for a 304, which carries no Content-Type.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from feedserver.audience.clients import ClientAddress
from feedserver.audience.metrics import Metrics
from feedserver.audience.polling import PollingLimit
from feedserver.audience.recorder import SubscriberRecorder

FEED_FILES = {"feed.rss": "rss", "feed.atom": "atom", "feed.json": "json"}
FIXED = {
    "/": ("home", "html"),
    "/robots.txt": ("robots", "text"),
    "/healthz": ("health", "text"),
    "/feeds.opml": ("opml", "opml"),
    "/openapi.json": ("openapi", "json"),
}
TOO_MANY = b"Too many full fetches of this feed; send If-None-Match or If-Modified-Since, or wait.\n"


def route_kind(path: str) -> tuple[str, str]:
    """(kind, format) of a path: a bounded pair of labels whatever the path."""
    name = path.rpartition("/")[2]
    fmt = FEED_FILES.get(name)
    if fmt is not None:
        return "feed", fmt
    fixed = FIXED.get(path)
    if fixed is not None:
        return fixed
    if name.endswith(".xml") and (name.startswith("sitemap") or name.startswith("news-sitemap")):
        return "sitemap", "xml"
    return "other", "-"


class AudienceMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        clients: ClientAddress,
        clock: Callable[[], float],
        recorder: SubscriberRecorder | None = None,
        limit: PollingLimit | None = None,
        metrics: Metrics | None = None,
        metrics_token: str = "",
    ) -> None:
        self.app = app
        self.clients = clients
        self.clock = clock
        self.recorder = recorder
        self.limit = limit
        self.metrics = metrics
        self._authorization = f"Bearer {metrics_token}".encode() if metrics_token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == "/metrics" and self.metrics is not None and self._authorized(scope):
            await self.metrics.respond(send)
            return
        kind, fmt = route_kind(path)
        metrics = self.metrics
        if kind != "feed":
            if metrics is None:
                await self.app(scope, receive, send)
                return

            async def counted(message: Message) -> None:
                if message["type"] == "http.response.start":
                    key = (kind, message["status"], fmt)
                    requests = metrics.requests
                    requests[key] = requests.get(key, 0) + 1
                await send(message)

            await self.app(scope, receive, counted)
            return
        await self._feed(scope, receive, send, path, fmt)

    def _authorized(self, scope: Scope) -> bool:
        expected = self._authorization
        if expected is None:
            return False
        for key, value in scope["headers"]:
            if key == b"authorization":
                return hmac.compare_digest(bytes(value), expected)
        return False

    async def _feed(self, scope: Scope, receive: Receive, send: Send, path: str, fmt: str) -> None:
        user_agent = ""
        forwarded = None
        for key, value in scope["headers"]:
            if key == b"user-agent":
                user_agent = value.decode("latin-1")
            elif key == b"x-forwarded-for":
                forwarded = value.decode("latin-1")
        client = scope.get("client")
        address = self.clients.resolve(client[0] if client else "", forwarded)
        now = self.clock()
        limit = self.limit if scope["method"] == "GET" else None
        metrics = self.metrics
        recorder = self.recorder
        refused = False

        async def observed(message: Message) -> None:
            nonlocal refused
            if message["type"] == "http.response.start":
                status = message["status"]
                if status == 200 and limit is not None:
                    wait = limit.retry_after(hash((address, user_agent, path)), now)
                    if wait:
                        refused = True
                        status = 429
                        await send(
                            {
                                "type": "http.response.start",
                                "status": 429,
                                "headers": [
                                    (b"content-type", b"text/plain; charset=utf-8"),
                                    (b"content-length", str(len(TOO_MANY)).encode()),
                                    (b"retry-after", str(wait).encode()),
                                    (b"cache-control", b"no-store"),
                                ],
                            }
                        )
                        await send({"type": "http.response.body", "body": TOO_MANY})
                if metrics is not None:
                    key = ("feed", status, fmt)
                    requests = metrics.requests
                    requests[key] = requests.get(key, 0) + 1
                    if refused:
                        metrics.limited += 1
                if recorder is not None and status in (200, 304, 429):
                    recorder.observe(path, address, user_agent, now)
                if refused:
                    return
            elif refused:
                return  # the document's body is not sent after a 429
            await send(message)

        await self.app(scope, receive, observed)
