"""Prometheus metrics at /metrics, multiprocess-safe (prometheus-client).

The request path only bumps plain dict and int counters (the middleware's
`requests`, the cache's `hits`); a background task moves the deltas into the
prometheus-client objects every second, and a scrape does it once more first.
With several workers, PROMETHEUS_MULTIPROC_DIR (set by `feedserver serve`)
makes every worker write its values to files there, and the worker that
answers a scrape adds them all up. Label sets are bounded: route kinds and
formats are fixed lists, statuses are HTTP's, and subscriber gauges exist for
the top `metrics.top_feeds` feeds plus one "(other)".
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from starlette.types import Send

from feedserver.audience.store import load_counts
from feedserver.changes import ChangeWatcher
from feedserver.service import FeedService

RENDER_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
OTHER_FEEDS = "(other)"


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class _Families:
    """What a scrape shows: the collected metrics plus those computed at scrape time."""

    def __init__(self, sources: Iterable[Callable[[], Iterable[Metric]]]) -> None:
        self.sources = list(sources)

    def collect(self) -> Iterator[Metric]:
        for source in self.sources:
            yield from source()


class Metrics:
    SYNC_SECONDS = 1.0

    def __init__(
        self,
        service: FeedService,
        watcher: ChangeWatcher,
        stats_path: Path | None,
        window: int,
        top_feeds: int,
    ) -> None:
        self.service = service
        self.watcher = watcher
        self.stats_path = stats_path
        self.window = window
        self.top_feeds = top_feeds
        self.requests: dict[tuple[str, str, int], int] = {}  # (kind, format, status): bumped per request
        self.limited = 0
        self._seen = {"hits": 0, "renders": 0, "evictions": 0, "checks": 0, "reloads": 0, "errors": 0, "limited": 0}
        self._task: asyncio.Task[None] | None = None
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.m_requests = Counter(
            "feedserver_requests",
            "Requests by route kind, status and format.",
            ["kind", "status", "format"],
            registry=r,
        )
        self.m_hits = Counter("feedserver_cache_hits", "Documents served from the cache.", registry=r)
        self.m_misses = Counter("feedserver_cache_misses", "Documents rendered (misses and re-renders).", registry=r)
        self.m_evictions = Counter(
            "feedserver_cache_evictions", "Documents dropped for the cache's bounds.", registry=r
        )
        self.m_entries = Gauge("feedserver_cache_entries", "Documents cached.", registry=r, multiprocess_mode="livesum")
        self.m_render = Histogram(
            "feedserver_render_seconds",
            "Time to render, compress and hash one version.",
            buckets=RENDER_BUCKETS,
            registry=r,
        )
        self.m_checks = Counter("feedserver_change_checks", "Background change checks run.", registry=r)
        self.m_reloads = Counter("feedserver_change_reloads", "Change checks that found a change.", registry=r)
        self.m_lag = Gauge(
            "feedserver_change_lag_seconds",
            "Seconds since the last successful change check (a write shows within this plus cache.refresh_seconds).",
            registry=r,
            multiprocess_mode="livemax",
        )
        self.m_db_errors = Counter(
            "feedserver_database_errors", "Change checks that found the database unavailable.", registry=r
        )
        self.m_limited = Counter(
            "feedserver_polling_limited", "Requests answered 429 by the polling limit.", registry=r
        )

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="feedserver metrics")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.SYNC_SECONDS)
            self.sync()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.sync()
        if multiprocess_dir():
            mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]

    def _delta(self, name: str, value: int) -> int:
        delta = value - self._seen[name]
        self._seen[name] = value
        return max(delta, 0)

    def sync(self) -> None:
        """Move what the request path and the core counted into prometheus-client."""
        requests, self.requests = self.requests, {}
        for (kind, fmt, status), count in requests.items():
            self.m_requests.labels(kind, str(status), fmt).inc(count)
        cache = self.service.cache
        self.m_hits.inc(self._delta("hits", cache.hits))
        self.m_misses.inc(self._delta("renders", cache.renders))
        self.m_evictions.inc(self._delta("evictions", cache.evictions))
        self.m_entries.set(len(cache.entries))
        times, cache.render_times = cache.render_times, []
        for seconds in times:
            self.m_render.observe(seconds)
        self.m_checks.inc(self._delta("checks", self.watcher.checks))
        self.m_reloads.inc(self._delta("reloads", self.watcher.reloads))
        if self.watcher.last_ok_at is not None:
            self.m_lag.set(max(0.0, self.service.clock() - self.watcher.last_ok_at))
        self.m_db_errors.inc(self._delta("errors", self.service.database_errors))
        self.m_limited.inc(self._delta("limited", self.limited))

    def _subscribers(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(
            "feedserver_subscribers",
            f"Subscribers per feed (aggregators' reports plus readers) over stats.window_days; top {self.top_feeds}.",
            labels=["feed"],
        )
        if self.stats_path is not None:
            counts = load_counts(self.stats_path, int(self.service.clock()), self.window)
            for count in counts[: self.top_feeds]:
                family.add_metric([count.feed], count.subscribers)
            rest = counts[self.top_feeds :]
            if rest:
                family.add_metric([OTHER_FEEDS], sum(c.subscribers for c in rest))
        yield family

    def _collected(self) -> list[Metric]:
        directory = multiprocess_dir()
        if directory:
            collector = MultiProcessCollector(None, path=directory)  # type: ignore[no-untyped-call]
            return list(collector.collect())  # type: ignore[no-untyped-call]
        return list(self.registry.collect())

    def render(self) -> bytes:
        """The exposition text (runs in a worker thread: it reads files)."""
        families = self._collected()
        served = not_modified = 0.0
        for family in families:
            if family.name == "feedserver_requests":
                for sample in family.samples:
                    if sample.name.endswith("_total") and sample.labels.get("kind") == "feed":
                        status = sample.labels.get("status")
                        if status in ("200", "304"):
                            served += sample.value
                        if status == "304":
                            not_modified += sample.value
        ratio = GaugeMetricFamily(
            "feedserver_not_modified_ratio", "Share of feed fetches answered 304 Not Modified (since start)."
        )
        ratio.add_metric([], not_modified / served if served else 0.0)
        return generate_latest(_Families([lambda: families, lambda: [ratio], self._subscribers]))

    async def respond(self, send: Send) -> None:
        self.sync()
        body = await asyncio.to_thread(self.render)
        headers = [
            (b"content-type", CONTENT_TYPE_LATEST.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
