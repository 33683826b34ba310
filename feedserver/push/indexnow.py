"""IndexNow (https://www.indexnow.org/documentation): tell search engines which article URLs changed.

The delivery loop's leader keeps a record, in the state file, of the live
article URLs it last saw (by UTC hour of publish time, with their lastmod).
After each change it rereads only the hours whose sitemap stamps moved, and
those in which a scheduled article came due (the same marks the sitemaps use),
and queues each URL that appeared, changed or stopped being live, once per
change (unique key: URL and lastmod, or URL and the stamp that removed it).
The queue is sent as the protocol's JSON body, up to 10,000 URLs a POST, with
retry and backoff. Drafts and embargoed articles are never live, so never
sent; a URL off the site's host is never sent either (the key covers one host).
The first run only records the archive as it is: nothing is submitted for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from feedserver.listing import site_origin
from feedserver.push.delivery import Deliverer, Outcome, outcome_of
from feedserver.push.store import Job, PushStore
from feedserver.queries import published_between, sitemap_max_version, sitemap_rows, sitemap_stamps
from feedserver.service import FeedService

logger = logging.getLogger("feedserver.push")
BATCH = 10_000  # the protocol's limit per POST
HOUR = 3600
READ_BATCH = 5000
END_OF_TIME = 253402300800  # year 10000: past every time the contract allows


class IndexNow:
    def __init__(self, service: FeedService, store: PushStore, deliverer: Deliverer) -> None:
        self.service = service
        self.store = store
        self.deliverer = deliverer
        settings = service.settings
        self.key: str = settings["indexnow.key"]
        self.endpoint: str = settings["indexnow.endpoint"]
        self.origin = site_origin(settings.base_url)
        self.host = urlsplit(settings.base_url).hostname or ""
        self.base_url = settings.base_url
        self._seen: tuple[int, int] | None = None  # (stamp version, now) scanned last in this process
        deliverer.batch_handlers["indexnow"] = (self.submit, BATCH)
        deliverer.chores.append(self.scan)

    async def key_file(self, request: Request) -> Response:
        """The key file (the protocol's way of proving the host is ours)."""
        if request.path_params["name"] != self.key:
            return PlainTextResponse("Not found.\n", status_code=404)
        return PlainTextResponse(self.key, headers={"Cache-Control": "public, max-age=86400"})

    async def _live_batches(self, start: int, stop: int, now: int) -> AsyncIterator[dict[str, tuple[int, int]]]:
        """url -> (hour, lastmod) of the live articles on our host published in [start, stop),
        a batch at a time (the whole archive does not fit in memory as a dict)."""
        after = None
        while True:
            rows = await sitemap_rows(self.service.pool, start, stop, now, self.origin, after, READ_BATCH)
            yield {
                row.url: (row.published_at - row.published_at % HOUR, max(row.updated_at, row.published_at))
                for row in rows
            }
            if len(rows) < READ_BATCH:
                return
            after = (rows[-1].published_at, rows[-1].id)

    async def _live(self, start: int, stop: int, now: int) -> dict[str, tuple[int, int]]:
        live: dict[str, tuple[int, int]] = {}
        async for batch in self._live_batches(start, stop, now):
            live.update(batch)
        return live

    async def scan(self) -> None:
        """Queue the URLs that changed since the last scan (leader only, before each round)."""
        if self.service.problem:
            return
        pool = self.service.pool
        now = self.service.state.now
        version = await sitemap_max_version(pool)
        if self._seen == (version, now):
            return
        last_version = await asyncio.to_thread(self.store.mark, "indexnow.version")
        last_now = await asyncio.to_thread(self.store.mark, "indexnow.now")
        marks = {"indexnow.version": version, "indexnow.now": now}
        jobs: list[tuple[str, str, str, str, dict[str, Any]]] = []
        if last_version is None or last_now is None or version < last_version:
            # First run, or another database file: record what is live, submit nothing.
            await asyncio.to_thread(self.store.clear_index)
            async for batch in self._live_batches(0, END_OF_TIME, now):
                await asyncio.to_thread(self.store.record_index, batch, [], {}, [], now)
            await asyncio.to_thread(self.store.record_index, {}, [], marks, [], now)  # marks last: a crash restarts it
            self._seen = (version, now)
            return
        hours = {stamp.hour_start for stamp in await sitemap_stamps(pool, last_version)}
        hours.update(moment - moment % HOUR for moment in await published_between(pool, last_now, now))
        live = {}
        for hour in sorted(hours):
            live.update(await self._live(hour, hour + HOUR, now))
        before = await asyncio.to_thread(self.store.indexed, sorted(hours))
        for url, (_, lastmod) in live.items():
            if url not in before or before[url][1] != lastmod:
                jobs.append(("indexnow", self.endpoint, url, str(lastmod), {}))
        gone = [url for url in before if url not in live]
        jobs.extend(("indexnow", self.endpoint, url, f"gone-{version}", {}) for url in gone)
        await asyncio.to_thread(self.store.record_index, live, gone, marks, jobs, self.service.clock())
        self._seen = (version, now)

    async def submit(self, client: httpx.AsyncClient, jobs: list[Job]) -> Outcome:
        """One POST of up to 10,000 URLs, the JSON body of the protocol."""
        body = {
            "host": self.host,
            "key": self.key,
            "keyLocation": f"{self.base_url}/{self.key}.txt",
            "urlList": [job.topic for job in jobs],
        }
        response = await client.post(
            self.endpoint, json=body, headers={"Content-Type": "application/json; charset=utf-8"}
        )
        outcome = outcome_of(response)
        if outcome is not Outcome.DONE:
            logger.debug("IndexNow %s answered %d for %d URLs", self.endpoint, response.status_code, len(jobs))
        return outcome
