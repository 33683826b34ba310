"""Subscriber observations: noted per request in a dict, written in batches off
the request path.

A request costs one dict assignment (the same client polling again only moves
its time). Every `flush_seconds` the batch is swapped for an empty one and
written to the statistics file in a worker thread; shutdown (SIGTERM included)
writes the last batch, so nothing seen is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

from feedserver.audience.agents import classify
from feedserver.audience.store import connect, write_batch

logger = logging.getLogger("feedserver.audience")


class SubscriberRecorder:
    """Notes who fetched which feed; `observe` is the only call on the request path."""

    MAX_PENDING = 100_000  # distinct (feed, client) pairs between two flushes: bounded memory

    def __init__(self, path: Path, window: int, flush_seconds: float, clock: Callable[[], float]) -> None:
        self.path = path
        self.window = window
        self.flush_seconds = flush_seconds
        self.clock = clock
        # (feed path, client address, User-Agent as sent) -> last seen; filled by middleware.Observer
        self.pending: dict[tuple[str, str, bytes], float] = {}
        self.dropped = 0  # observations not kept because the batch was full
        self.written = 0
        self._conn: sqlite3.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._writing: asyncio.Future[int] | None = None  # the batch being written, in a worker thread
        self._failing: str | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="feedserver subscriber batches")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.flush_seconds)
            await self.flush()

    async def flush(self) -> None:
        """Write what was seen since the last flush (a failed batch is kept for the next)."""
        batch, self.pending = self.pending, {}
        if not batch:
            return
        # Shielded: stopping the loop mid-write must not leave a thread writing
        # on the connection while the last batch is written (stop() waits for it).
        self._writing = asyncio.ensure_future(asyncio.to_thread(self._write, batch, int(self.clock())))
        try:
            self.written += await asyncio.shield(self._writing)
        except (sqlite3.Error, OSError) as exc:
            if str(exc) != self._failing:
                logger.error("cannot write subscriber statistics to %s: %s (retrying)", self.path, exc)
            self._failing = str(exc)
            for key, seen in batch.items():  # put back, newer observations first
                if len(self.pending) >= self.MAX_PENDING:
                    break
                self.pending.setdefault(key, seen)
            return
        if self._failing is not None:
            logger.warning("subscriber statistics written again to %s", self.path)
            self._failing = None

    def _write(self, batch: dict[tuple[str, str, bytes], float], now: int) -> int:
        # The file is created only when there is something to count (curl,
        # crawlers and browsers alone leave no file behind).
        if not any(classify(agent.decode("latin-1")) for _feed, _address, agent in batch):
            return 0
        if self._conn is None:
            self._conn = connect(self.path)
        return write_batch(self._conn, batch, now, self.window)

    async def stop(self) -> None:
        """Stop the loop and write the last batch."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._writing is not None and not self._writing.done():
            with contextlib.suppress(sqlite3.Error, OSError):
                await self._writing
        await self.flush()
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await asyncio.to_thread(conn.close)
