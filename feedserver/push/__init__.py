"""Push instead of poll: WebSub publishing and a built-in hub, IndexNow, RFC 3229 delta feeds.

Talks to the core through the change reports of the service
(feedserver.events), the documents and the settings; its routes and its
middleware are added by the app. `Push` is the one object the app holds.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from feedserver.config import BUILTIN_HUB_PATH
from feedserver.http import InstanceManipulation
from feedserver.push.delivery import Deliverer
from feedserver.push.delta import DeltaFeeds, DeltaHistory
from feedserver.push.hub import Hub
from feedserver.push.indexnow import IndexNow
from feedserver.push.publisher import Publisher
from feedserver.push.store import PushStore
from feedserver.service import FeedService

__all__ = ["Push"]


class Push:
    """The push capabilities that the settings turn on, wired to one service."""

    def __init__(self, service: FeedService) -> None:
        self.service = service
        settings = service.settings
        versions = settings["feeds.delta_versions"]
        self.history = DeltaHistory(versions, settings["cache.max_entries"]) if versions else None
        self.enabled = bool(settings.hubs or settings["indexnow.key"])
        self.store: PushStore | None = None
        self.deliverer: Deliverer | None = None
        self.publisher: Publisher | None = None
        self.hub: Hub | None = None
        self.indexnow: IndexNow | None = None
        if self.history is not None:
            service.listeners.append(self.history.on_change)

    @property
    def routes(self) -> list[BaseRoute]:
        routes: list[BaseRoute] = []
        if self.service.settings["websub.builtin_hub"]:
            routes.append(Route(BUILTIN_HUB_PATH, self._hub_endpoint, methods=["POST"], include_in_schema=False))
        if self.service.settings["indexnow.key"]:
            routes.append(Route("/{name}.txt", self._key_file, methods=["GET", "HEAD"], include_in_schema=False))
        return routes

    async def _hub_endpoint(self, request: Request) -> Response:
        assert self.hub is not None
        return await self.hub.endpoint(request)

    async def _key_file(self, request: Request) -> Response:
        assert self.indexnow is not None
        return await self.indexnow.key_file(request)

    @property
    def delta_feeds(self) -> InstanceManipulation | None:
        """The cache-hit path's answer to `A-IM: feed`, when deltas are on."""
        return None if self.history is None else DeltaFeeds(self.history).answer

    async def start(self, deliver: bool = True) -> None:
        """Open the state file and start the delivery loop (`deliver=False`: tests run rounds themselves)."""
        if not self.enabled:
            return
        settings = self.service.settings
        self.store = await asyncio.to_thread(PushStore, settings.push_state_path)
        self.deliverer = Deliverer(self.store, settings, self.service.clock)
        self.publisher = Publisher(self.service, self.store, self.deliverer)
        self.service.listeners.append(self.publisher.on_change)
        if settings["websub.builtin_hub"]:
            self.hub = Hub(self.service, self.store, self.deliverer)
        if settings["indexnow.key"]:
            self.indexnow = IndexNow(self.service, self.store, self.deliverer)
        if deliver:
            self.deliverer.start()

    async def stop(self) -> None:
        if self.deliverer is not None:
            await self.deliverer.stop()
        if self.store is not None:
            self.store.close()
