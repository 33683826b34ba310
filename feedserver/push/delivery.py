"""The delivery loop: sends what the outbox holds, with retry and backoff, in one process only.

Every worker runs this loop, but only the one holding an exclusive flock on
`<push.state_path>.lock` sends; the others wait to take the lock over (the
kernel frees it when its holder dies). Jobs are rows of the state file with a
unique key per change (feedserver.push.store), so a change seen by several
workers is sent once, and a hub that is down for hours loses nothing: the row
stays, each failure doubles its delay (`push.retry_seconds` up to
`push.retry_max_seconds`) until `push.max_attempts`.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import Awaitable, Callable
from enum import Enum

import httpx

from feedserver.config import Settings
from feedserver.push.store import Job, PushStore

logger = logging.getLogger("feedserver.push")


class Outcome(Enum):
    DONE = "done"
    RETRY = "retry"
    DROP = "drop"  # failed for good (a callback that refused): not retried


Handler = Callable[[httpx.AsyncClient, Job], Awaitable[Outcome]]
BatchHandler = Callable[[httpx.AsyncClient, list[Job]], Awaitable[Outcome]]
Chore = Callable[[], Awaitable[None]]
CONCURRENCY = 16  # requests in flight at once


def outcome_of(response: httpx.Response) -> Outcome:
    """2xx is done; 5xx, 408 and 429 are worth retrying; other 4xx will not get better."""
    if response.is_success:
        return Outcome.DONE
    if response.status_code >= 500 or response.status_code in (408, 429):
        return Outcome.RETRY
    return Outcome.DROP


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))


class Deliverer:
    def __init__(self, store: PushStore, settings: Settings, clock: Callable[[], float]) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.handlers: dict[str, Handler] = {}
        self.batch_handlers: dict[str, tuple[BatchHandler, int]] = {}
        self.chores: list[Chore] = []  # leader-only work run before each round (expiry, IndexNow's scan)
        self.poll_seconds = float(settings["cache.refresh_seconds"])
        self._lock_file: int | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.client = httpx.AsyncClient(
            timeout=settings["websub.callback_timeout_seconds"],
            follow_redirects=False,
            headers={"User-Agent": "feedserver (+" + settings.base_url + "/)"},
        )
        self.sent = 0  # requests made, for tests and the figures in the README

    @property
    def leader(self) -> bool:
        return self._lock_file is not None

    def try_lead(self) -> bool:
        """Take the delivery lock if no other worker holds it."""
        if self._lock_file is None:
            path = str(self.store.path) + ".lock"
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                return False
            self._lock_file = fd
        return True

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="feedserver push delivery")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.client.aclose()
        if self._lock_file is not None:
            os.close(self._lock_file)  # releases the flock: another worker may lead
            self._lock_file = None

    async def _run(self) -> None:
        while True:
            wait = self.poll_seconds
            try:
                if await self.round() >= 0:
                    next_due = await asyncio.to_thread(self.store.next_due)
                    if next_due is not None:
                        wait = min(wait, max(0.0, next_due - self.clock()))
            except Exception:  # never let the loop die; the rows stay for the next round
                logger.exception("push delivery round failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def round(self) -> int:
        """As the leader: run the chores, then send every job that is due; the number of
        jobs handled, or -1 when another worker leads."""
        if not self.try_lead():
            return -1
        for chore in self.chores:
            await chore()
        await asyncio.to_thread(self.store.purge, self.clock())
        handled = 0
        limit = max((size for _, size in self.batch_handlers.values()), default=1000)  # a full batch at once
        while jobs := await asyncio.to_thread(self.store.due, self.clock(), limit):
            handled += await self._send(jobs)
            if len(jobs) < limit:
                break
        return handled

    async def _send(self, jobs: list[Job]) -> int:
        semaphore = asyncio.Semaphore(CONCURRENCY)
        groups: list[list[Job]] = []
        batched: dict[tuple[str, str], list[Job]] = {}
        for job in jobs:
            if job.kind in self.batch_handlers:
                batched.setdefault((job.kind, job.target), []).append(job)
            else:
                groups.append([job])
        for (kind, _), group in batched.items():
            size = self.batch_handlers[kind][1]
            groups.extend(group[i : i + size] for i in range(0, len(group), size))

        failed: dict[str, int] = {}

        async def one(group: list[Job]) -> None:
            async with semaphore:
                kind = group[0].kind
                try:
                    if kind in self.batch_handlers:
                        outcome = await self.batch_handlers[kind][0](self.client, group)
                    else:
                        outcome = await self.handlers[kind](self.client, group[0])
                except httpx.HTTPError as exc:
                    logger.debug("push %s to %s failed: %r", kind, group[0].target, exc)
                    outcome = Outcome.RETRY
                if outcome is not Outcome.DONE:
                    failed[kind] = failed.get(kind, 0) + 1
                self.sent += 1
                await self._settle(group, outcome)

        await asyncio.gather(*(one(group) for group in groups))
        if failed:  # one line per round, not one per request
            logger.info(
                "push: %s requests did not succeed (retried with backoff, or dropped if refused)", _counts(failed)
            )
        return len(jobs)

    async def _settle(self, jobs: list[Job], outcome: Outcome) -> None:
        attempts = jobs[0].attempts + 1
        if outcome is Outcome.RETRY and attempts >= self.settings["push.max_attempts"]:
            logger.warning("push %s to %s given up after %d attempts", jobs[0].kind, jobs[0].target, attempts)
            outcome = Outcome.DROP
        if outcome is Outcome.RETRY:
            delay = min(
                self.settings["push.retry_seconds"] * 2 ** (attempts - 1), self.settings["push.retry_max_seconds"]
            )
            await asyncio.to_thread(self.store.retry, [j.id for j in jobs], self.clock() + delay)
        else:
            await asyncio.to_thread(self.store.done, [j.id for j in jobs], self.clock())
