"""WebSub publishing: turn each change report into outbox jobs.

For every feed a change moved: one `publish` ping per configured hub (W3C
WebSub 6: `hub.mode=publish`, `hub.url=<feed URL>`, form-encoded), and, with
the built-in hub, one `deliver` job per live subscription of that feed, with
the new feed body stored once. Nothing is sent here: the listener only writes
rows (their unique keys make the second worker's rows no-ops) and wakes the
delivery loop, so no request and no change check waits on a hub.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

from feedserver.config import BUILTIN_HUB_PATH
from feedserver.events import ChangeReport
from feedserver.push.delivery import Deliverer, Outcome, outcome_of
from feedserver.push.store import Job, PushStore
from feedserver.push.topics import changed_feeds, version_of
from feedserver.service import FeedService

logger = logging.getLogger("feedserver.push")


class Publisher:
    def __init__(self, service: FeedService, store: PushStore, deliverer: Deliverer) -> None:
        self.service = service
        self.store = store
        self.deliverer = deliverer
        settings = service.settings
        self.hubs: tuple[str, ...] = settings["websub.hubs"]
        self.builtin = bool(settings["websub.builtin_hub"])
        deliverer.handlers["publish"] = self.ping

    async def on_change(self, report: ChangeReport) -> None:
        if not self.hubs and not self.builtin:
            return
        feeds = changed_feeds(report, self.service.items)
        if not feeds:
            return
        base = self.service.settings.base_url
        now = self.service.clock()
        jobs: list[tuple[str, str, str, str, dict[str, Any]]] = []
        for document in feeds:
            topic = base + document.key
            version = version_of(document, report.new)
            jobs.extend(("publish", hub, topic, version, {}) for hub in self.hubs)
        if self.builtin:
            subscribed = await asyncio.to_thread(self.store.subscribed_topics, now)
            for document in feeds:
                topic = base + document.key
                if topic not in subscribed:
                    continue
                # The version to distribute: from the cache, rendered now if no reader asked for it yet.
                rendered = await self.service.serve(document)
                content_type = dict(rendered.headers)[b"content-type"].decode()
                await asyncio.to_thread(self.store.add_content, topic, rendered.etag, content_type, rendered.identity)
                for subscription in await asyncio.to_thread(self.store.subscriptions, topic, now):
                    jobs.append(("deliver", subscription.callback, topic, rendered.etag, {}))
        if await asyncio.to_thread(self.store.enqueue, jobs, now):
            self.deliverer.wake()

    async def ping(self, client: httpx.AsyncClient, job: Job) -> Outcome:
        """Tell a hub the feed changed. W3C WebSub 6 leaves the form to the hub; this is
        the one public hubs (and websub.rocks) take: hub.mode=publish, hub.url."""
        if job.target not in self.hubs:
            return Outcome.DROP  # queued before a restart that took this hub out of websub.hubs
        response = await client.post(job.target, data={"hub.mode": "publish", "hub.url": job.topic})
        outcome = outcome_of(response)
        if outcome is not Outcome.DONE:
            logger.debug("hub %s answered %d to the ping for %s", job.target, response.status_code, job.topic)
        return outcome


def builtin_hub_url(base_url: str) -> str:
    return base_url + BUILTIN_HUB_PATH
