"""What the browser variant of RSS and Atom costs a cache hit (in-process).

The hit fast path (app.CacheFastPath -> http.send_rendered) now also reads
`Accept` and, for a document with a browser variant, judges it (memoised per
distinct header). This times hits of /feed.rss with a reader's headers and a
browser's, and /feed.json (one variant, so no judging) as the control, in
interleaved rounds, and prints each as a ratio to the control. Raw ASGI calls,
no sockets: the difference is all in the fast path.

    python bench/variants.py [--hits 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from feedserver.app import create_app
from tests.conftest import lifespan, make_settings, seeded_records, write_records

CHROMIUM = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
CASES = {
    "json, reader (control)": ("/feed.json", [(b"accept-encoding", b"gzip")]),
    "rss, no Accept": ("/feed.rss", [(b"accept-encoding", b"gzip")]),
    "rss, reader Accept": (
        "/feed.rss",
        [(b"accept", b"application/rss+xml, */*;q=0.1"), (b"accept-encoding", b"gzip")],
    ),
    "rss, browser Accept": ("/feed.rss", [(b"accept", CHROMIUM.encode()), (b"accept-encoding", b"gzip, br")]),
}


async def hits(app: Any, path: str, headers: list[tuple[bytes, bytes]], count: int) -> float:
    """Seconds per hit."""
    scope = {"type": "http", "method": "GET", "path": path, "headers": headers, "query_string": b""}
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    start = time.perf_counter()
    for _ in range(count):
        await app(scope, receive, send)
    elapsed = time.perf_counter() - start
    assert sent[0]["status"] == 200
    return elapsed / count


async def main(count: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "bench.sqlite"
        write_records(db, seeded_records(datetime.now(UTC), count=200))
        app = create_app(make_settings(db), watch=False)
        async with lifespan(app):
            for path, headers in CASES.values():
                await hits(app, path, headers, 10)  # render and cache
            times: dict[str, list[float]] = {name: [] for name in CASES}
            order = list(CASES)
            for round_ in range(rounds):
                for name in order if round_ % 2 == 0 else reversed(order):
                    times[name].append(await hits(app, *CASES[name], count))
    control = statistics.median(times[order[0]])
    print(f"{'case':<26} {'us/hit':>8} {'vs control':>11}")
    for name in order:
        median = statistics.median(times[name])
        print(f"{name:<26} {median * 1e6:>8.2f} {median / control:>10.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hits", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.hits, arguments.rounds))
