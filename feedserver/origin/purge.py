"""The purge hook: after a change, tell the shared cache to drop what it touched.

Off the request path: the change check hands the affected keys to `Purger.changed`,
which only queues them; a background task waits `cache.purge_delay_seconds` (so
every worker and replica has the new version before the cache refetches), then
sends one request per key (`{key}` templates) or per document path (`{path}`
templates, for caches that purge by URL), each retried with doubling backoff.

Once per change with several workers: only the process holding an exclusive
flock on `cache.purge_lock_path` sends. The first worker to see a change takes
the lock and keeps it for its life; the others see the same change from the same
file and stay quiet. If that worker dies the kernel releases the lock and the
next change elects another. With replicas on several hosts, configure the hook
on one host only (see the README's operations section).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import fcntl
import logging
import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO
from urllib.parse import quote

from feedserver.config import Settings
from feedserver.origin.keys import ALL, affected_keys
from feedserver.origin.paths import paths_for_keys
from feedserver.state import SiteState

logger = logging.getLogger("feedserver.purge")
TOKEN_ENV = "FEEDSERVER_PURGE_TOKEN"
RETRYABLE = {408, 425, 429, 500, 502, 503, 504}


class Purger:
    def __init__(self, settings: Settings, token: str | None = None) -> None:
        self.templates: tuple[str, ...] = settings["cache.purge_url"]
        self.method: str = settings["cache.purge_method"]
        self.delay = float(settings["cache.purge_delay_seconds"])
        self.attempts = int(settings["cache.purge_retries"])
        self.lock_path = Path(settings["cache.purge_lock_path"])
        self.token = token if token is not None else os.environ.get(TOKEN_ENV, "")
        self.backoff = 0.5  # seconds before the first retry; doubles each time
        self._queue: asyncio.Queue[list[str]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._lock_file: IO[bytes] | None = None
        # Its own threads: on the default executor, purge requests waiting on a
        # cache that is refetching from this very process would hold every
        # thread its renders need (a deadlock until the request timeout).
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self.sent: list[str] = []  # URLs purged (for tests and the log)
        self.failed: list[str] = []

    @property
    def enabled(self) -> bool:
        return bool(self.templates)

    def start(self) -> None:
        if self.enabled:
            self._executor = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="feedserver-purge")
            self._task = asyncio.create_task(self._run(), name="feedserver purge")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def is_leader(self) -> bool:
        """True when this process holds the purge lock (taken on first call if free)."""
        if self._lock_file is not None:
            return True
        handle = open(self.lock_path, "ab")  # noqa: SIM115 -- held open for the process's life
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._lock_file = handle
        return True

    def changed(self, old: SiteState, new: SiteState, replaced: bool = False) -> None:
        """Queue the purges for a change from `old` to `new` (a replaced file: everything)."""
        if not self.enabled or not self.is_leader():
            return
        keys = [ALL] if replaced else affected_keys(old, new)
        if not keys:
            return
        urls: list[str] = []
        if any("{key}" in t for t in self.templates):
            urls += [t.replace("{key}", quote(k, safe="/")) for t in self.templates if "{key}" in t for k in keys]
        if any("{path}" in t for t in self.templates):
            paths = paths_for_keys(keys, old, new)
            urls += [t.replace("{path}", p) for t in self.templates if "{path}" in t for p in paths]
        self._queue.put_nowait(urls)

    async def _run(self) -> None:
        while True:
            urls = await self._queue.get()
            await asyncio.sleep(self.delay)
            while not self._queue.empty():  # changes that came meanwhile: one purge each
                urls += [u for u in self._queue.get_nowait() if u not in urls]
            started = time.monotonic()
            results = await asyncio.gather(*(self._purge(url) for url in dict.fromkeys(urls)))
            logger.info("purged %d of %d URLs in %.2f s", sum(results), len(results), time.monotonic() - started)

    async def _purge(self, url: str) -> bool:
        wait = self.backoff
        for attempt in range(1, self.attempts + 1):
            try:
                status = await asyncio.get_running_loop().run_in_executor(self._executor, self._send, url)
            except OSError as exc:
                status, reason = 0, str(exc)
            else:
                reason = f"HTTP {status}"
            # 404: the cache held no copy (nginx's and Varnish's answer), which is success too.
            if 200 <= status < 300 or status == 404:
                self.sent.append(url)
                return True
            if status and status not in RETRYABLE:
                break
            if attempt < self.attempts:
                await asyncio.sleep(wait)
                wait *= 2
        logger.warning("purge %s %s failed: %s", self.method, url, reason)
        self.failed.append(url)
        return False

    def _send(self, url: str) -> int:
        request = urllib.request.Request(url, method=self.method)
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
                return int(response.status)
        except urllib.error.HTTPError as exc:
            exc.close()
            return int(exc.code)
