"""The ASGI application: Starlette routes behind a fast path for cache hits.

Almost every request a feed server gets is for bytes it already has. The fast
path answers those straight from the cache with raw ASGI messages, skipping
routing and request objects; everything else (misses, errors, other routes)
goes through Starlette.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Sequence

from starlette.applications import Starlette
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from feedserver.audience import Audience
from feedserver.changes import ChangeWatcher
from feedserver.config import Settings, load_settings
from feedserver.http import HitObserver, InstanceManipulation, is_fresh, read_headers, send_rendered
from feedserver.push import Push
from feedserver.routes import ROUTES
from feedserver.service import FeedService

logger = logging.getLogger("feedserver")


class CacheFastPath:
    """Serve GET/HEAD cache hits directly; pass everything else to the app.

    A hit that would be a 304 first asks the change watcher whether the
    database moved since its last check (`probe`, with
    cache.check_before_not_modified). If it did, the 304 is fresh only until
    that check has surely run (`cache.refresh_seconds` + 1 s): a shared cache
    revalidating right after a write then asks again within seconds and gets
    the new version, instead of keeping the old copy for another s-maxage. The
    request never waits for a check.
    """

    def __init__(
        self,
        app: ASGIApp,
        service: FeedService,
        watcher: ChangeWatcher | None = None,
        observe: HitObserver | None = None,
        on_a_im: InstanceManipulation | None = None,
    ) -> None:
        self.app = app
        self.service = service
        self.observe = observe  # subscriber counts, metrics and the polling limit (feedserver.audience)
        self.on_a_im = on_a_im  # RFC 3229 delta feeds (feedserver.push.delta), when on
        self.watcher = watcher if service.settings["cache.check_before_not_modified"] else None
        seconds = math.ceil(service.settings["cache.refresh_seconds"]) + 1
        directives = f"max-age={seconds}, s-maxage={seconds}"
        self.brief = [
            (b"cache-control", f"public, {directives}".encode()),
            (b"cdn-cache-control", directives.encode()),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            rendered = self.service.cache.get(scope["path"])
            if rendered is not None:
                now = self.service.clock()
                request = read_headers(scope)
                brief = None
                if self.watcher is not None and is_fresh(rendered, request, now) and await self._probe():
                    brief = self.brief
                await send_rendered(rendered, scope, send, now, self.observe, self.on_a_im, brief, request)
                return
        await self.app(scope, receive, send)

    async def _probe(self) -> bool:
        assert self.watcher is not None
        try:
            return await self.watcher.probe()
        except Exception:  # the background check reports faults; the cached copy still answers
            logger.exception("change probe failed")
            return False


def create_demo_app() -> CacheFastPath:
    """The app of `serve --demo`: also a page for each demo article at its URL's
    path (feedserver.demopage), so an item clicked in a reader shows the story."""
    from feedserver.demopage import DEMO_ROUTES

    return create_app(extra_routes=DEMO_ROUTES)


def create_app(
    settings: Settings | None = None,
    clock: Callable[[], float] = time.time,
    watch: bool = True,
    extra_routes: Sequence[BaseRoute] = (),
) -> CacheFastPath:
    """Build the app. `clock` is injectable so tests move time instead of sleeping;
    `watch=False` leaves the change check to the test (`app.state.watcher.check()`);
    `extra_routes` are tried after every route of the server's own."""
    settings = settings or load_settings()
    service = FeedService(settings, clock)
    watcher = ChangeWatcher(service)
    push = Push(service)  # WebSub, IndexNow and delta feeds, as the settings ask
    audience = Audience(settings, service, watcher, clock)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await watcher.connect()
        try:
            await service.open()
        except BaseException:
            await watcher.stop()  # its connection's thread would keep the process alive
            await service.close()
            raise
        await push.start(deliver=watch)
        service.purger.start()
        if watch:
            watcher.run_in_background()
        audience.start()
        logger.info("serving %s from %s", settings.base_url, settings.database_path)
        try:
            yield
        finally:
            await audience.stop()  # the last batch of subscriber observations is written here
            await watcher.stop()
            await push.stop()
            await service.purger.stop()
            await service.close()

    starlette = Starlette(routes=[*ROUTES, *push.routes, *extra_routes], lifespan=lifespan)
    # No slash redirects: Starlette builds their Location from the Host header,
    # and absolute URLs must come from site.base_url only. A feed URL
    # with a stray slash is malformed: 404.
    starlette.router.redirect_slashes = False
    starlette.state.service = service
    starlette.state.watcher = watcher
    starlette.state.push = push
    starlette.state.audience = audience
    # Counting, metrics and the polling limit: hits tell the audience inline,
    # everything else (misses, errors, /metrics) passes through its wrapper.
    app = CacheFastPath(audience.wrap(starlette), service, watcher, audience.hit_observer, push.delta_feeds)
    app.state = starlette.state  # type: ignore[attr-defined]
    return app
