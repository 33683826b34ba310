"""The ASGI application: Starlette routes behind a fast path for cache hits.

Almost every request a feed server gets is for bytes it already has. The fast
path answers those straight from the cache with raw ASGI messages, skipping
routing and request objects; everything else (misses, errors, other routes)
goes through Starlette.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence

from starlette.applications import Starlette
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from feedserver.audience import Audience
from feedserver.changes import ChangeWatcher
from feedserver.config import Settings, load_settings
from feedserver.http import HitObserver, InstanceManipulation, send_rendered
from feedserver.push import Push
from feedserver.routes import ROUTES
from feedserver.service import FeedService

logger = logging.getLogger("feedserver")


class CacheFastPath:
    """Serve GET/HEAD cache hits directly; pass everything else to the app."""

    def __init__(
        self,
        app: ASGIApp,
        service: FeedService,
        observe: HitObserver | None = None,
        on_a_im: InstanceManipulation | None = None,
    ) -> None:
        self.app = app
        self.service = service
        self.observe = observe  # subscriber counts, metrics and the polling limit (feedserver.audience)
        self.on_a_im = on_a_im  # RFC 3229 delta feeds (feedserver.push.delta), when on

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            rendered = self.service.cache.get(scope["path"])
            if rendered is not None:
                await send_rendered(rendered, scope, send, self.service.clock(), self.observe, self.on_a_im)
                return
        await self.app(scope, receive, send)


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
    app = CacheFastPath(audience.wrap(starlette), service, audience.hit_observer, push.delta_feeds)
    app.state = starlette.state  # type: ignore[attr-defined]
    return app
