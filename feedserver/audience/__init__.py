"""Know the audience and keep readers polite: subscriber counts, Prometheus
metrics and the polling limit, all fed by one ASGI wrapper (`middleware`).

The core knows nothing of this package: the app wraps itself in `Audience.wrap`
and starts and stops it in its lifespan; the metrics read the counters the
cache, the change check and the service keep anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from starlette.types import ASGIApp

from feedserver.audience.agents import Aggregator, Reader, classify
from feedserver.audience.clients import ClientAddress
from feedserver.audience.metrics import Metrics
from feedserver.audience.middleware import AudienceMiddleware, Observer, route_kind
from feedserver.audience.polling import PollingLimit
from feedserver.audience.recorder import SubscriberRecorder
from feedserver.audience.store import FeedCount, load_counts
from feedserver.changes import ChangeWatcher
from feedserver.config import Settings
from feedserver.service import FeedService

__all__ = [
    "Aggregator",
    "Audience",
    "AudienceMiddleware",
    "FeedCount",
    "Reader",
    "classify",
    "load_counts",
    "route_kind",
    "stats_path",
    "stats_problem",
    "window_seconds",
]


def stats_path(settings: Settings) -> Path | None:
    """The statistics file (relative to the working directory, like database.path), or None: off."""
    value = str(settings["stats.path"]).strip()
    return Path(value) if value else None


def stats_problem(settings: Settings) -> str | None:
    """Why stats.path cannot be used, or None (checked before the server starts)."""
    path = stats_path(settings)
    if path is None:
        return None
    if path.resolve() == settings.database_path.resolve():
        return f"stats.path {path} is the CMS database: the server writes only a file of its own"
    if not path.parent.is_dir():
        return f"stats.path {path}: the folder {path.parent} does not exist"
    return None


def window_seconds(settings: Settings) -> int:
    return int(settings["stats.window_days"]) * 86400


class Audience:
    """The parts the settings turn on, and their background tasks."""

    def __init__(
        self, settings: Settings, service: FeedService, watcher: ChangeWatcher, clock: Callable[[], float]
    ) -> None:
        self.clock = clock
        self.clients = ClientAddress(settings["server.trusted_proxies"])
        path = stats_path(settings)
        window = window_seconds(settings)
        self.recorder = (
            SubscriberRecorder(path, window, settings["stats.flush_seconds"], clock) if path is not None else None
        )
        per_hour = int(settings["polling.max_unconditional_per_hour"])
        self.limit = PollingLimit(per_hour) if per_hour > 0 else None
        self.token = str(settings["metrics.token"])
        self.metrics = Metrics(service, watcher, path, window, settings["metrics.top_feeds"]) if self.token else None

        self.observe = Observer(self.clients, clock, self.recorder, self.limit, self.metrics)

    @property
    def hit_observer(self) -> Observer | None:
        """What the fast path calls on a hit; None when every part is off."""
        return self.observe if (self.recorder or self.limit or self.metrics) else None

    def wrap(self, app: ASGIApp) -> AudienceMiddleware:
        """The wrapper for what is not a cache hit (hits call `observe` inline)."""
        return AudienceMiddleware(app, self.observe, self.metrics, self.token)

    def start(self) -> None:
        if self.recorder is not None:
            self.recorder.start()
        if self.metrics is not None:
            self.metrics.start()

    async def stop(self) -> None:
        """Write the last batch of observations and the last metric values."""
        if self.recorder is not None:
            await self.recorder.stop()
        if self.metrics is not None:
            await self.metrics.stop()
