"""The change check: notices CMS writes, replaced files and scheduled articles coming due.

It runs in the background every `cache.refresh_seconds`, never per request,
on a dedicated connection (PRAGMA data_version is only comparable on the same
connection). A file renamed over the database is invisible to open
connections, so the file's identity is watched too, and the pool reopened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import aiosqlite

from feedserver.db import FileIdentity, connect_reader
from feedserver.queries import data_version, site_state
from feedserver.service import FeedService

logger = logging.getLogger("feedserver.changes")


class ChangeWatcher:
    def __init__(self, service: FeedService) -> None:
        self.service = service
        self.interval = float(service.settings["cache.refresh_seconds"])
        self._conn: aiosqlite.Connection | None = None
        self._data_version: int | None = None
        self._file: FileIdentity | None = None
        self._task: asyncio.Task[None] | None = None
        self.checks = 0
        self.reloads = 0

    async def start(self, background: bool = True) -> None:
        """Connect; with `background`, check every interval (tests call check() themselves)."""
        await self._connect()
        if background:
            self._task = asyncio.create_task(self._run(), name="feedserver change watcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._disconnect()

    async def _connect(self) -> None:
        path = self.service.settings.database_path
        self._file = FileIdentity.of(path)
        self._conn, _ = await connect_reader(path, self.service.settings["database.busy_timeout_seconds"])
        self._data_version = await data_version(self._conn)

    async def _disconnect(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(Exception):
                await conn.close()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.check()
            except Exception:
                logger.exception("change check failed")

    async def check(self) -> bool:
        """One look: returns True when the site state was reloaded."""
        self.checks += 1
        service = self.service
        now = service.now()
        current = FileIdentity.of(service.settings.database_path)
        changed = False
        if self._file is None or current is None or not self._file.same_file(current):
            logger.info("database file %s was replaced; reopening", service.settings.database_path)
            await self._reopen()
            changed = True
        elif current != self._file:
            self._file = current
            changed = True
        assert self._conn is not None
        version = await data_version(self._conn)
        if version != self._data_version:
            self._data_version = version
            changed = True
        upcoming = service.state.next_publish_at
        if upcoming is not None and now >= upcoming:
            changed = True  # a scheduled article is due: no write announces it
        if not changed:
            return False
        self.reloads += 1
        state = await site_state(service.pool, now)
        await service.apply_state(state)
        return True

    async def _reopen(self) -> None:
        await self._disconnect()
        await self.service.reopen()
        await self._connect()
