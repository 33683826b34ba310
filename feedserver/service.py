"""The running server's state: settings, database pool, site state and cache.

One `FeedService` lives in the app for its whole life (created in the
lifespan). Routes ask it for documents; the change watcher hands it new site
states, and it re-renders exactly the cached documents whose signature moved.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Hashable

from feedserver.cache import Body, DocumentCache, Rendered
from feedserver.config import Settings
from feedserver.db import ReadPool
from feedserver.documents import Document
from feedserver.queries import SiteState, site_state

logger = logging.getLogger("feedserver")


def cache_control(settings: Settings) -> str:
    return (
        f"public, max-age={settings['cache.max_age_seconds']}, "
        f"stale-while-revalidate={settings['cache.stale_while_revalidate_seconds']}, "
        f"stale-if-error={settings['cache.stale_if_error_seconds']}"
    )


class FeedService:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.pool = self._new_pool()
        self.cache = DocumentCache(settings["cache.max_entries"], cache_control(settings), settings["cache.gzip_level"])
        self.documents: dict[str, Document] = {}
        self._state: SiteState | None = None
        self.problem: str | None = None  # why the database cannot be served now, if it cannot

    def set_problem(self, reason: str) -> None:
        """Record that the database is unavailable; logged once per distinct reason."""
        if reason != self.problem:
            logger.error("database unavailable: %s (serving cached copies; retrying)", reason)
        self.problem = reason

    def clear_problem(self) -> None:
        if self.problem is not None:
            logger.warning("database available again (was: %s)", self.problem)
        self.problem = None

    @property
    def state(self) -> SiteState:
        assert self._state is not None, "FeedService.open() was not awaited"
        return self._state

    def now(self) -> int:
        return int(self.clock())

    async def open(self) -> None:
        await self.pool.open()
        self._state = await site_state(self.pool, self.now())

    async def close(self) -> None:
        await self.pool.close()

    def _new_pool(self) -> ReadPool:
        settings = self.settings
        return ReadPool(
            settings.database_path,
            settings["database.readers"],
            settings["database.query_timeout_seconds"],
            settings["database.busy_timeout_seconds"],
        )

    async def reopen(self) -> None:
        """Open a fresh pool on the file now at the path (it was replaced), then drop the old one."""
        pool = self._new_pool()
        await pool.open()
        old, self.pool = self.pool, pool
        await old.close()

    async def serve(self, document: Document) -> Rendered:
        """The current version of `document`, rendered at most once per version."""
        self.documents.setdefault(document.key, document)
        return await self.cache.get_or_render(document.key, lambda: self._render(document))

    async def _render(self, document: Document) -> tuple[Body, Hashable]:
        # Render against the newest state; if a newer one arrived while this
        # ran, the result may already be stale: render again with it.
        while True:
            state = self.state
            body = await document.render(self.pool, self.settings, state)
            if self.state is state or document.signature(self.state) == document.signature(state):
                return body, document.signature(state)

    async def _rerender(self, document: Document) -> Rendered:
        return await self.cache.render(document.key, lambda: self._render(document))

    async def apply_state(self, state: SiteState) -> int:
        """Adopt a new site state and re-render the cached documents it changed.

        Returns how many were re-rendered. Documents that no longer exist (a
        removed section) are dropped.
        """
        self._state = state
        stale = []
        for key, entry in list(self.cache.entries.items()):
            document = self.documents.get(key)
            if document is None or not document.exists(state):
                self.cache.discard(key)
                self.documents.pop(key, None)
            elif document.signature(state) != entry.signature:
                stale.append(document)
        if stale:
            results = await asyncio.gather(*(self._rerender(d) for d in stale), return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException):
                    raise result  # the watcher retries; entries that failed keep their old version
        return len(stale)
