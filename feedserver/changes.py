"""The change check: notices CMS writes, replaced files and scheduled articles coming due.

It runs in the background every `cache.refresh_seconds`, never per request,
on a dedicated connection (PRAGMA data_version is only comparable on the same
connection). A file renamed over the database is invisible to open
connections, so the file's identity is watched too, and the pool reopened.

It is also where faults are noticed: a missing, unreadable, corrupt or too new
database sets the service's `problem` (logged once, shown by /healthz), cached
documents keep being served, and every later check tries again, so the server
recovers by itself once the database is good. A lock held by the CMS is only a
delay: the check is retried on the next tick and the cached copies stay.

Without `database.hold_connections` (a Litestream read replica, where an open
connection stops the follower) there is no connection to ask `data_version`:
the database file's and its sidecars' stat (`-wal`, and the `-txid` file that
`litestream restore -f` rewrites after applying each transaction) tell instead.
`probe()` is the cheap form of the check, run before answering a 304.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import aiosqlite

from feedserver.db import DatabaseUnavailable, FileIdentity, connect_reader
from feedserver.queries import data_version
from feedserver.service import FeedService

logger = logging.getLogger("feedserver.changes")


class ChangeWatcher:
    def __init__(self, service: FeedService) -> None:
        self.service = service
        self.interval = float(service.settings["cache.refresh_seconds"])
        self._conn: aiosqlite.Connection | None = None
        self._data_version: int | None = None
        self._file: FileIdentity | None = None
        self._sidecars: tuple[FileIdentity | None, ...] = ()
        self._hold = bool(service.settings["database.hold_connections"])
        self._lock = asyncio.Lock()  # the background check and probes never interleave
        self._probe_task: asyncio.Task[bool] | None = None
        self._task: asyncio.Task[None] | None = None
        self._pending = False  # a change seen but not yet fully applied: retry it
        self._last_error: str | None = None
        self._locked = False  # the last check met a CMS lock (logged when it starts and ends)
        self.checks = 0
        self.reloads = 0
        self.last_ok_at: float | None = None  # clock time of the last check that could read the database

    async def connect(self) -> None:
        """Take the baseline (data_version, file identity). Call it before the
        service loads its first state: a commit in between is then seen by the
        first check instead of being taken as the baseline and missed."""
        await self._connect()

    def run_in_background(self) -> None:
        """Check every interval from now on (tests call check() themselves instead)."""
        self._task = asyncio.create_task(self._run(), name="feedserver change watcher")

    async def stop(self) -> None:
        if self._probe_task is not None:
            self._probe_task.cancel()
            with contextlib.suppress(BaseException):
                await self._probe_task
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._disconnect()

    async def _connect(self) -> None:
        path = self.service.settings.database_path
        self._file = FileIdentity.of(path)
        self._sidecars = sidecars(path, self._hold)
        if not self._hold:
            if self._file is None:
                raise DatabaseUnavailable(f"cannot open database {path}: it does not exist")
            return
        try:
            self._conn, _ = await connect_reader(path, self.service.settings["database.busy_timeout_seconds"])
            self._data_version = await data_version(self._conn)
        except Exception as exc:
            await self._disconnect()
            raise DatabaseUnavailable(f"cannot open database {path}: {exc}") from None

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
            except Exception:  # never let the loop die; the next tick tries again
                logger.exception("change check failed")

    async def probe(self) -> bool:
        """True when the database moved since the last check.

        Run before a 304 (cache.check_before_not_modified): a cache revalidating
        just after a write must not be told, for another s-maxage, that its old
        copy is current (app.CacheFastPath then answers with a 304 that is fresh
        only until the next check has surely run). The look costs a few stat
        calls and, with held connections, one PRAGMA data_version; concurrent
        revalidations share one look. It starts no check: under a steady stream
        of writes that would add checks to the background ones.
        """
        task = self._probe_task
        if task is None or task.done():
            task = self._probe_task = asyncio.create_task(self._look(), name="feedserver change probe")
        return await asyncio.shield(task)

    async def _look(self) -> bool:
        if self._lock.locked():
            moved = True  # a check is under way: what it finds is not served yet
        else:
            async with self._lock:
                moved = await self._moved()
        return moved

    async def _moved(self) -> bool:
        path = self.service.settings.database_path
        if FileIdentity.of(path) != self._file or sidecars(path, self._hold) != self._sidecars or self._pending:
            return True
        if self._conn is None:
            return self._hold  # held connections, but none open: the check reconnects
        try:
            return await data_version(self._conn) != self._data_version
        except Exception:
            return True  # let the full check judge and report it

    async def check(self) -> bool:
        """One look: returns True when the site state was reloaded and applied."""
        async with self._lock:
            return await self._check_locked()

    async def _check_locked(self) -> bool:
        self.checks += 1
        try:
            reloaded = await self._check()
        except DatabaseUnavailable as exc:
            self._pending = True
            if exc.is_lock:
                # Logged once per lock, not once per check.
                if not self._locked:
                    logger.warning("database locked by another process (%s); serving cached copies, retrying", exc)
                self._locked = True
                return False
            self.service.set_problem(str(exc))
            return False
        except Exception as exc:
            # A bug, or data no writer should produce: keep serving what is
            # cached, retry next tick, and say so once per distinct error.
            self._pending = True
            if repr(exc) != self._last_error:
                logger.exception("change check failed; serving cached copies, retrying")
            self._last_error = repr(exc)
            return False
        self._last_error = None
        self.last_ok_at = self.service.clock()
        if self._locked:
            logger.info("database lock released")
            self._locked = False
        self.service.clear_problem()
        return reloaded

    async def _check(self) -> bool:
        service = self.service
        path = service.settings.database_path
        now = service.now()
        current = FileIdentity.of(path)
        if current is None:
            raise DatabaseUnavailable(f"database {path} does not exist")
        changed = self._pending or service.stale
        if (self._hold and self._conn is None) or self._file is None or not self._file.same_file(current):
            if self._conn is not None or (not self._hold and self._file is not None):
                logger.info("database file %s was replaced; reopening", path)
            await self._disconnect()
            await service.reopen()
            await self._connect()
            changed = True
        elif current != self._file:
            self._file = current
            changed = True
        current_sidecars = sidecars(path, self._hold)
        if current_sidecars != self._sidecars:
            self._sidecars = current_sidecars
            changed = True
        if self._conn is not None:
            try:
                version = await data_version(self._conn)
            except Exception as exc:
                raise DatabaseUnavailable(f"database error: {exc}") from None
            if version != self._data_version:
                self._data_version = version
                changed = True
        upcoming = service.state.next_change_at
        if upcoming is not None and now >= upcoming:
            changed = True  # a scheduled article is due, or one leaves the news window: no write announces it
        if not changed and not service.problem:
            return False
        self._pending = True
        await service.pool.check_schema()
        await service.refresh(now)
        self._pending = False
        self.reloads += 1
        return True


def sidecars(path: Path, hold: bool) -> tuple[FileIdentity | None, ...]:
    """Litestream's `-txid` file (rewritten by `restore -f` after each transaction it
    applies) and, with no connection held to ask data_version, the write-ahead log."""
    target = path.resolve()  # through a symlink (config/litestream/follow.sh swaps one): SQLite's names
    txid = FileIdentity.of(Path(f"{target}-txid"))
    return (txid,) if hold else (txid, FileIdentity.of(Path(f"{target}-wal")))
