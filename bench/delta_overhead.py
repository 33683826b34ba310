"""What RFC 3229 delta support costs a cache hit that does not ask for a delta.

Two apps over one database, deltas on (`feeds.delta_versions = 5`, the feed
with a version in its history, so the middleware looks at the headers) and off,
called in-process with raw ASGI messages (no sockets: the cost is all Python)
in interleaved rounds. Prints the time per hit of each and their ratio.

    python bench/delta_overhead.py [--requests 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from feedserver.app import create_app
from tests.conftest import article, lifespan, make_settings, section, write_records

HEADERS = [
    (b"host", b"example.id"),
    (b"user-agent", b"Mozilla/5.0 (compatible; FeedReader/1.0)"),
    (b"accept", b"application/rss+xml, */*"),
    (b"accept-encoding", b"gzip, br"),
    (b"connection", b"keep-alive"),
    (b"if-none-match", b'"not-this-one"'),
]


async def hits(app: Any, count: int) -> float:
    scope = {"type": "http", "method": "GET", "path": "/feed.rss", "headers": HEADERS, "query_string": b""}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        pass

    start = time.perf_counter()
    for _ in range(count):
        await app(scope, receive, send)
    return (time.perf_counter() - start) / count


async def main(requests: int, rounds: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="delta-bench-"))
    db = folder / "site.sqlite"
    now = datetime.now(UTC)
    write_records(db, [section("berita"), *(article(f"a-{n}", now - timedelta(hours=n)) for n in range(1, 51))])
    apps = {
        "deltas on": create_app(make_settings(db, feeds__delta_versions=5), watch=False),
        "deltas off": create_app(make_settings(db, feeds__delta_versions=0), watch=False),
    }
    async with lifespan(apps["deltas on"]), lifespan(apps["deltas off"]):
        for app in apps.values():
            await hits(app, 1)
        conn = sqlite3.connect(db)
        conn.execute("UPDATE articles SET title = 'Judul baru 新' WHERE id = 'a-1'")
        conn.commit()
        conn.close()
        for app in apps.values():
            await app.state.watcher.check()
        assert "/feed.rss" in apps["deltas on"].state.push.history.feeds
        times: dict[str, list[float]] = {name: [] for name in apps}
        for n in range(rounds):
            order = list(apps) if n % 2 == 0 else list(reversed(apps))
            for name in order:
                times[name].append(await hits(apps[name], requests))
    best = {name: min(values) for name, values in times.items()}
    for name, value in best.items():
        print(f"{name:11} {value * 1e6:7.2f} µs per hit")
    print(f"ratio on/off: {best['deltas on'] / best['deltas off']:.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.requests, arguments.rounds))
