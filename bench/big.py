"""Part 3: a million articles.

The database is built by `make_big_db.py` (into bench/data/, once; later runs
reuse it) and the sitemap figures (index, one full 50,000-URL child, the news
sitemap, cold and warm, memory, the floor) come from `sitemaps.py`; both are
run from here when present. This file adds the section feeds at that size and
the server's memory after serving every sitemap:

- the feed query alone (`newest_article_keys`, in this process, on a fresh
  read-only pool: first call and median of later ones) for the biggest
  section, a parent section (one index range per subsection, merged) and the
  site;
- those feeds through HTTP from `feedserver serve`: the first request after
  the server started (cold: empty caches, so query + render + gzip; the OS
  page cache is warm, since nothing here drops it) and the median of later
  requests (warm hits);
- only when sitemaps.py is missing (it reports memory itself): the server's
  resident memory (VmRSS) after start, after the feeds, and after fetching the
  sitemap index, every file it lists and the news sitemap, gzip accepted as
  crawlers do; the growth is the difference.

--quick uses whatever database bench/data/ holds, or builds 100,000 articles.
"""

from __future__ import annotations

import asyncio
import gzip
import re
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness import BENCH, PYTHON, BenchError, Processes, fetch, log, start_feedserver, table, tree_rss_mb, verdict

DATA = BENCH / "data"
WARM_REPEATS = 20
MEMORY_GROWTH_LIMIT_MB = 50.0


FULL = DATA / "big-1m.sqlite"
SMALL = DATA / "big-100k.sqlite"


def find_database(explicit: Path | None, quick: bool) -> Path | None:
    if explicit is not None:
        return explicit if explicit.is_file() else None
    if FULL.is_file():
        return FULL
    return SMALL if quick and SMALL.is_file() else None


def build_database(quick: bool) -> Path | None:
    """Run make_big_db.py (1,000,000 articles; 100,000 with --quick) into bench/data/."""
    script = BENCH / "make_big_db.py"
    if not script.exists():
        log("part 3: bench/make_big_db.py is missing: no million-article database")
        return None
    out, count = (SMALL, 100_000) if quick else (FULL, 1_000_000)
    log(f"part 3: building {out} ({count:,} articles) with make_big_db.py, once; later runs reuse it")
    subprocess.run([PYTHON, str(script), "--articles", str(count), "--out", str(out)], check=True, timeout=3600)
    return out if out.is_file() else None


def run_sitemaps_script(database: Path, quick: bool) -> str | None:
    """sitemaps.py's own report, when the script exists."""
    script = BENCH / "sitemaps.py"
    if not script.exists():
        log("part 3: bench/sitemaps.py is not there yet: sitemap figures below are only memory and first-fetch times")
        return None
    argv = [PYTHON, str(script), "--db", str(database), *(["--quick"] if quick else [])]
    log(f"part 3: {' '.join(argv[1:])}")
    done = subprocess.run(argv, capture_output=True, text=True, timeout=3600, check=False)
    sys.stdout.write(done.stdout)
    if done.returncode != 0:
        raise BenchError(f"sitemaps.py failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


def pick_sections(database: Path) -> tuple[str | None, str | None]:
    """The biggest section without subsections, and the parent section with the most
    articles in its subtree."""
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        counts = dict(
            conn.execute(
                "SELECT section, count(*) FROM articles WHERE status = 'published' GROUP BY section"
            ).fetchall()
        )
    finally:
        conn.close()
    parents = {s.rsplit("/", 1)[0] for s in counts if "/" in s}
    leaves = [s for s in counts if s not in parents]
    subtree = {p: sum(n for s, n in counts.items() if s == p or s.startswith(p + "/")) for p in parents}
    biggest = max(leaves, key=lambda s: counts[s]) if leaves else None
    return biggest, max(subtree, key=lambda p: subtree[p]) if subtree else None


def timed_get(url: str, headers: dict[str, str] | None = None) -> tuple[float, int, int]:
    started = time.perf_counter()
    reply = fetch(url, headers)
    return (time.perf_counter() - started) * 1000, reply.status, len(reply.body)


def crawl_sitemaps(base: str) -> dict[str, float]:
    """Fetch the sitemap index, the news sitemap and every file they list, once each,
    gzip accepted; returns each path's time to first (cold) answer in milliseconds."""
    times: dict[str, float] = {}
    todo = ["/sitemap.xml", "/news-sitemap.xml"]
    while todo:
        path = todo.pop(0)
        if path in times:
            continue
        started = time.perf_counter()
        reply = fetch(base + path, {"Accept-Encoding": "gzip"})
        elapsed = (time.perf_counter() - started) * 1000
        if reply.status == 404 and path == "/news-sitemap.xml":
            continue
        if reply.status != 200:
            raise BenchError(f"{path} answered {reply.status}")
        times[path] = elapsed
        body = gzip.decompress(reply.body) if reply.headers.get("content-encoding") == "gzip" else reply.body
        if b"<sitemapindex" in body[:500]:
            todo += [urlsplit(loc.decode()).path for loc in re.findall(rb"<loc>([^<]+)</loc>", body)]
    return times


async def query_times(database: Path, scopes: list[tuple[str, str | None]]) -> dict[str, tuple[float, float]]:
    """newest_article_keys per scope on a fresh pool: (first call, median of later calls) in ms."""
    from feedserver.config import load_settings
    from feedserver.db import ReadPool
    from feedserver.feeds import FeedScope
    from feedserver.state import load_site_state

    settings = load_settings(overrides={"database.path": str(database)}, required=False)
    pool = ReadPool(database, 1, 60.0, 3.0)
    await pool.open()
    try:
        state = await load_site_state(pool, int(time.time()))
        times = {}
        for label, section in scopes:
            slugs = FeedScope.of_section(section).section_slugs(state)
            samples = []
            for _ in range(1 + WARM_REPEATS):
                started = time.perf_counter()
                await newest_keys(pool, slugs, state.now, settings["feeds.items"])
                samples.append((time.perf_counter() - started) * 1000)
            times[label] = (samples[0], statistics.median(samples[1:]))
        return times
    finally:
        await pool.close()


async def newest_keys(pool: Any, slugs: list[str] | None, now: int, limit: int) -> None:
    from feedserver.queries import newest_article_keys

    await newest_article_keys(pool, slugs, now, limit)


def run(procs: Processes, explicit: Path | None, quick: bool) -> dict[str, Any]:
    database = find_database(explicit, quick) or build_database(quick)
    if database is None:
        raise BenchError("no million-article database (bench/make_big_db.py, or --big-db PATH)")
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    articles = int(conn.execute("SELECT count(*) FROM articles").fetchone()[0])
    conn.close()
    log(f"part 3: {database} ({articles:,} articles, {database.stat().st_size / 2**30:.1f} GiB)")
    result: dict[str, Any] = {"database": str(database), "articles": articles}
    sitemaps_report = run_sitemaps_script(database, quick)
    result["sitemaps_script"] = sitemaps_report is not None

    section, parent = pick_sections(database)
    scopes: list[tuple[str, str | None]] = [("site feed", None)]
    if section:
        scopes.append((f"section feed ({section})", section))
    if parent and parent != section:
        scopes.append((f"parent section feed ({parent})", parent))
    queries = asyncio.run(query_times(database, scopes))

    base, server = start_feedserver(procs, "feedserver-big", database)
    rss_start = tree_rss_mb(server.pid)
    rows = []
    feeds: dict[str, Any] = {}
    for label, scope in scopes:
        path = "/feed.rss" if scope is None else f"/section/{scope}/feed.rss"
        cold, status, size = timed_get(base + path)
        if status != 200:
            raise BenchError(f"{path} answered {status}")
        warm = statistics.median(timed_get(base + path)[0] for _ in range(WARM_REPEATS))
        query_cold, query_warm = queries[label]
        feeds[label] = {"query_first_ms": query_cold, "query_ms": query_warm, "cold_ms": cold, "warm_ms": warm}
        rows.append([label, f"{size:,}", query_cold, query_warm, cold, warm])
    result["feeds"] = feeds
    print(f"\nPart 3: {articles:,} articles ({database.name}): section feeds, milliseconds")
    print(
        table(
            [
                "feed (RSS, 50 items)",
                "bytes",
                "query, first",
                "query, warm",
                "HTTP cold (query+render+gzip)",
                f"HTTP warm (median of {WARM_REPEATS})",
            ],
            rows,
        )
    )
    if sitemaps_report is None:
        result.update(sitemap_memory(base, server.pid, rss_start))
    procs.stop(server)
    return result


def sitemap_memory(base: str, pid: int, rss_start: float) -> dict[str, Any]:
    """Fetch every sitemap once and report the server's memory growth (when sitemaps.py does not)."""
    rss_feeds = tree_rss_mb(pid)
    sitemap_times = crawl_sitemaps(base)
    rss_sitemaps = tree_rss_mb(pid)
    growth = rss_sitemaps - rss_feeds
    rows = [[f"{path} (gzip)", ms] for path, ms in sitemap_times.items()]
    print(table(["sitemap", "first request ms"], rows))
    print(
        table(
            [
                "server memory (VmRSS, MB)",
                "start",
                "after feeds",
                f"after {len(sitemap_times)} sitemap files",
                "growth",
            ],
            [["feedserver serve", rss_start, rss_feeds, rss_sitemaps, growth]],
        )
    )
    print(
        table(
            ["target", "value", ""],
            [
                [
                    f"memory growth after every sitemap < {MEMORY_GROWTH_LIMIT_MB:.0f} MB",
                    f"{growth:.1f} MB",
                    verdict(growth, MEMORY_GROWTH_LIMIT_MB, False),
                ]
            ],
        )
    )
    return {
        "sitemap_first_fetch_ms": sitemap_times,
        "rss_mb": {"start": rss_start, "after_feeds": rss_feeds, "after_sitemaps": rss_sitemaps},
        "memory_growth_mb": growth,
    }
