"""Part 5: what subscriber counting, metrics and the polling limit add to a cache hit.

In-process, no sockets: the app's ASGI callable is called with a GET of the
warm site feed and a send that drops the messages, so only the hit path itself
is timed (uvicorn's HTTP parsing, which part 1 includes, is the same for every
row and left out). Rows, interleaved in rounds (A B C D D C B A ...), best
round per row:

- bare ASGI: a callable sending the very headers and bytes of the cached
  feed (the floor of any hit);
- feedserver with the audience off (`stats.path` empty, no token, no limit);
- feedserver with its defaults (subscriber counting on);
- feedserver with everything on: counting, `/metrics`, the polling limit
  (never reached) and a trusted proxy, the request carrying a newsboat
  User-Agent and an X-Forwarded-For.

Each with a 200 (no validator) and a 304 (If-None-Match with the ETag). The
figure to read is the microseconds a row adds to "audience off", in CPU time
of the calling thread (a busy neighbour does not inflate it).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from harness import BENCH_SITE, Processes, log, table

from feedserver.app import create_app
from feedserver.cli import build_demo_database
from feedserver.config import load_settings

READER = [(b"user-agent", b"newsboat/2.36.0 (Linux x86_64)"), (b"x-forwarded-for", b"198.51.100.7")]
COMMON = [(b"host", b"127.0.0.1:8000"), (b"accept", b"*/*")]


@contextlib.asynccontextmanager
async def running(app: Any) -> AsyncIterator[None]:
    """The app's lifespan, entered and left (httpx-free: raw ASGI messages)."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    task = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, outbox.put)
    )
    await inbox.put({"type": "lifespan.startup"})
    await outbox.get()
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def drop(message: dict[str, Any]) -> None:
    pass


def scope(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "GET",
        "path": "/feed.rss",
        "raw_path": b"/feed.rss",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
    }


async def per_call(app: Any, request: dict[str, Any], calls: int) -> float:
    """Microseconds of this thread's CPU time per call: on a shared machine a
    neighbour takes wall time, not the CPU time the calls themselves need."""
    started = time.thread_time()
    for _ in range(calls):
        await app(request, receive, drop)
    return (time.thread_time() - started) / calls * 1e6


def run(procs: Processes, quick: bool = False) -> dict[str, Any]:
    work = procs.workdir / "audience"
    work.mkdir()
    database = work / "demo.sqlite"
    build_demo_database(database, "https://example.id")
    return asyncio.run(measure(database, work, calls=5_000 if quick else 10_000, rounds=5 if quick else 31))


async def measure(database: Path, work: Path, calls: int, rounds: int) -> dict[str, Any]:
    base = {"database.path": str(database), "site.base_url": "https://example.id", "feeds.items": 32, **BENCH_SITE}
    variants = {
        "audience off": {"stats.path": ""},
        "defaults (counting on)": {"stats.path": str(work / "stats-default.sqlite")},
        "everything on": {
            "stats.path": str(work / "stats-all.sqlite"),
            "metrics.token": "bench",
            "polling.max_unconditional_per_hour": 1_000_000_000,
            "server.trusted_proxies": "127.0.0.1",
        },
    }
    apps = {
        name: create_app(load_settings(overrides={**base, **extra}), watch=False) for name, extra in variants.items()
    }
    async with contextlib.AsyncExitStack() as stack:
        for app in apps.values():
            await stack.enter_async_context(running(app))
            await app(scope(COMMON), receive, drop)  # the first GET renders; every later one is a hit
        rendered = apps["audience off"].state.service.cache.get("/feed.rss")
        etag = rendered.etag.encode()

        async def bare(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if any(k == b"if-none-match" for k, _ in scope["headers"]):
                await send({"type": "http.response.start", "status": 304, "headers": rendered.not_modified_headers})
                await send({"type": "http.response.body", "body": b""})
                return
            await send({"type": "http.response.start", "status": 200, "headers": rendered.headers})
            await send({"type": "http.response.body", "body": rendered.identity})

        rows = {"bare ASGI": bare, **apps}
        requests = {"200": scope(COMMON + READER), "304": scope([*COMMON, *READER, (b"if-none-match", etag)])}
        best: dict[tuple[str, str], float] = {}
        for n in range(rounds):
            order = list(rows) if n % 2 == 0 else list(reversed(rows))
            for name in order:
                for kind, request in requests.items():
                    figure = await per_call(rows[name], request, calls)
                    best[(name, kind)] = min(best.get((name, kind), figure), figure)
            log(f"part 5: round {n + 1}/{rounds} done")
    return report(list(rows), best, calls, rounds)


def report(names: list[str], best: dict[tuple[str, str], float], calls: int, rounds: int) -> dict[str, Any]:
    rows = []
    for name in names:
        row: list[object] = [name]
        for kind in ("200", "304"):
            figure = best[(name, kind)]
            added = figure - best[("audience off", kind)]
            row += [f"{figure:.2f}", "-" if name in ("bare ASGI", "audience off") else f"{added:+.2f}"]
        rows.append(row)
    print(f"\nPart 5: a cache hit in-process, microseconds per request (best of {rounds} rounds of {calls:,})")
    print(table(["configuration", "200 us", "added", "304 us", "added"], rows))
    return {f"{name} {kind}": value for (name, kind), value in best.items()}
