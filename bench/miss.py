"""Part 2: a cache miss per format, in-process, against the render-and-gzip floor.

A 50-item site feed over articles of 3-6 KB of HTML each (corpus.py). The miss
is `FeedService.serve` with the document cache cleared: the queries, building
the items, the format writer, gzip and the ETag hash, as the server does it
(worker thread included). "Cold" also clears the item cache (every item built
from its row); "warm items" keeps it (an article already built for another
feed or an earlier version: the common case after a write).

The floors have no database and no framework: the same 50 items as a prebuilt
feed model written by our writers (feedgen for RSS and Atom, orjson for JSON
Feed) plus gzip at the same level; and a minimal plain feedgen feed of the
same items (no extension, fewer fields) plus gzip.
"""

from __future__ import annotations

import asyncio
import hashlib
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from corpus import build_database
from feedgen.feed import FeedGenerator
from harness import BENCH_SITE, Processes, log, table, verdict
from zlib_ng import gzip_ng  # the compressor the server uses (feedserver/cache.py)

from feedserver.config import load_settings
from feedserver.documents import WRITERS, FeedDocument
from feedserver.feeds import FeedScope, build_feed, build_item
from feedserver.model import Feed
from feedserver.queries import articles_by_pk, newest_article_keys
from feedserver.service import FeedService

FORMATS = ("rss", "atom", "json")
ITEMS = 50


def plain_feedgen(feed: Feed, fmt: str) -> bytes:
    """The least feedgen needs for these items: no extension, no media, no dc:creator."""
    fg = FeedGenerator()
    fg.id(feed.id)
    fg.title(feed.title)
    fg.subtitle(feed.description)
    fg.link(href=feed.home_url, rel="alternate")
    fg.language(feed.language)
    fg.lastBuildDate(feed.updated)
    for item in feed.items:
        entry = fg.add_entry(order="append")
        entry.id(item.guid)
        entry.title(item.title)
        entry.link(href=item.url)
        entry.published(item.published)
        entry.updated(item.updated)
        entry.author({"name": item.authors[0].name})
        entry.content(item.content_html, type="html")
        entry.summary(item.summary)
    return bytes(fg.rss_str(pretty=False) if fmt == "rss" else fg.atom_str(pretty=False))


def timed(function: Callable[[], Any]) -> float:
    started = time.perf_counter()
    function()
    return (time.perf_counter() - started) * 1000


async def atimed(coroutine: Any) -> float:
    started = time.perf_counter()
    await coroutine
    return (time.perf_counter() - started) * 1000


async def render_only(document: FeedDocument, service: FeedService) -> bytes:
    body = await document.render(service.pool, service.settings, service.state)
    return body.materialize()


async def measure(database: Path, repeats: int) -> dict[str, Any]:
    settings = load_settings(
        overrides={
            "database.path": str(database),
            "feeds.items": ITEMS,
            "site.base_url": "https://example.id",
            **BENCH_SITE,
        }
    )
    level = settings["cache.gzip_level"]
    service = FeedService(settings)
    await service.open()
    try:
        state = service.state
        keys = await newest_article_keys(service.pool, None, state.now, ITEMS)
        rows = await articles_by_pk(service.pool, [k.pk for k in keys], state.now, True)
        items = [build_item(rows[k.pk], settings, state.sections) for k in keys]
        feeds = {fmt: build_feed(FeedScope.site(), fmt, items, state, settings) for fmt in FORMATS}
        sizes: dict[str, dict[str, int]] = {}
        for fmt in FORMATS:
            body = WRITERS[fmt](feeds[fmt])
            sizes[fmt] = {"bytes": len(body), "gzip": len(gzip_ng.compress(body, level, mtime=0))}
        content = statistics.mean(len(i.content_html.encode()) for i in items)
        samples: dict[str, list[float]] = {}

        def add(name: str, value: float) -> None:
            samples.setdefault(name, []).append(value)

        for n in range(repeats):
            for fmt in FORMATS if n % 2 == 0 else reversed(FORMATS):
                document = FeedDocument(FeedScope.site(), fmt, service.items)
                service.cache.entries.clear()
                service.items.clear()
                add(f"{fmt} miss, cold items", await atimed(service.serve(document)))
                service.cache.entries.clear()
                add(f"{fmt} miss, warm items", await atimed(service.serve(document)))
                # Render only: the queries, the items and the writer, no gzip or hash.
                service.items.clear()
                add(f"{fmt} render, cold items", await atimed(render_only(document, service)))
                add(f"{fmt} render, warm items", await atimed(render_only(document, service)))
                feed = feeds[fmt]
                add(f"{fmt} floor", timed(lambda f=feed, w=WRITERS[fmt]: gzip_ng.compress(w(f), level, mtime=0)))  # type: ignore[misc]
                if fmt != "json":
                    add(
                        f"{fmt} plain feedgen floor",
                        timed(lambda f=feed, x=fmt: gzip_ng.compress(plain_feedgen(f, x), level, mtime=0)),  # type: ignore[misc]
                    )
                # The parts of a cold miss, one by one (for the profile, not the targets).
                add(f"{fmt} part: keys query", await atimed(newest_article_keys(service.pool, None, state.now, ITEMS)))
                add(
                    f"{fmt} part: rows query",
                    await atimed(articles_by_pk(service.pool, [k.pk for k in keys], state.now, True)),
                )
                add(
                    f"{fmt} part: build items",
                    timed(lambda: [build_item(rows[k.pk], settings, state.sections) for k in keys]),
                )
                body = WRITERS[fmt](feed)
                add(f"{fmt} part: writer", timed(lambda f=feed, w=WRITERS[fmt]: w(f)))  # type: ignore[misc]
                add(f"{fmt} part: gzip", timed(lambda b=body: gzip_ng.compress(b, level, mtime=0)))  # type: ignore[misc]
                add(f"{fmt} part: hash", timed(lambda b=body: hashlib.blake2b(b, digest_size=18).digest()))  # type: ignore[misc]
        return {
            "median_ms": {name: statistics.median(values) for name, values in samples.items()},
            "sizes": sizes,
            "content_bytes_mean": content,
            "gzip_level": level,
            "repeats": repeats,
        }
    finally:
        await service.close()


def run(procs: Processes, quick: bool) -> dict[str, Any]:
    database = build_database(procs.workdir / "miss.sqlite", 80)
    repeats = 5 if quick else 30
    log(f"part 2: {repeats} interleaved repeats per format")
    result = asyncio.run(measure(database, repeats))
    report(result)
    return result


def report(result: dict[str, Any]) -> None:
    ms = result["median_ms"]
    rows = []
    for fmt in FORMATS:
        floor = ms[f"{fmt} floor"]
        plain = ms.get(f"{fmt} plain feedgen floor")
        size = result["sizes"][fmt]
        rows.append(
            [
                {"rss": "RSS", "atom": "Atom", "json": "JSON Feed"}[fmt],
                f"{size['bytes']:,} / {size['gzip']:,}",
                ms[f"{fmt} miss, cold items"],
                ms[f"{fmt} miss, warm items"],
                floor,
                plain if plain is not None else "-",
                f"{ms[f'{fmt} miss, cold items'] / floor:.2f}x",
                f"{ms[f'{fmt} miss, warm items'] / floor:.2f}x",
                f"{ms[f'{fmt} miss, cold items'] / plain:.2f}x" if plain else "-",
            ]
        )
    print(
        f"\nPart 2: cache miss, {ITEMS}-item site feed, full content "
        f"(mean {result['content_bytes_mean']:,.0f} bytes of HTML per article), gzip level {result['gzip_level']}; "
        f"median of {result['repeats']}, milliseconds"
    )
    headers = [
        "format",
        "bytes / gzip",
        "miss cold",
        "miss warm items",
        "floor: writer+gzip",
        "floor: plain feedgen+gzip",
        "cold/floor",
        "warm/floor",
        "cold/plain",
    ]
    print(table(headers, rows))
    parts = ["keys query", "rows query", "build items", "writer", "gzip", "hash"]
    print(
        table(
            ["parts of a miss (ms)", *parts, "render cold (no gzip)", "render warm items (no gzip)"],
            [
                [
                    fmt,
                    *(ms[f"{fmt} part: {p}"] for p in parts),
                    ms[f"{fmt} render, cold items"],
                    ms[f"{fmt} render, warm items"],
                ]
                for fmt in FORMATS
            ],
        )
    )
    json_speed = ms["rss miss, cold items"] / ms["json miss, cold items"]
    json_warm = ms["rss miss, warm items"] / ms["json miss, warm items"]
    json_render = ms["rss render, cold items"] / ms["json render, cold items"]
    json_render_warm = ms["rss render, warm items"] / ms["json render, warm items"]
    targets = [
        ("RSS miss (cold) <= 1.2x floor", ms["rss miss, cold items"] / ms["rss floor"], 1.2, False),
        ("Atom miss (cold) <= 1.2x floor", ms["atom miss, cold items"] / ms["atom floor"], 1.2, False),
        ("RSS miss (warm items) <= 1.2x floor", ms["rss miss, warm items"] / ms["rss floor"], 1.2, False),
        ("Atom miss (warm items) <= 1.2x floor", ms["atom miss, warm items"] / ms["atom floor"], 1.2, False),
        ("JSON Feed >= 5x faster than RSS (cold)", json_speed, 5.0, True),
        ("JSON Feed >= 5x faster than RSS (warm items)", json_warm, 5.0, True),
        ("JSON Feed render (no gzip) >= 5x faster than RSS (cold)", json_render, 5.0, True),
        ("JSON Feed render (no gzip) >= 5x faster than RSS (warm items)", json_render_warm, 5.0, True),
    ]
    print(table(["target", "ratio", ""], [[n, f"{v:.2f}x", verdict(v, t, hi)] for n, v, t, hi in targets]))
    result["ratios"] = {name: value for name, value, _, _ in targets}
