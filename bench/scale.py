"""Thousands of feeds: 3,000 sections, 5,000 tags and 500 authors, every feed polled.

    python bench/scale.py                  # about 5 minutes, plus the database the first time
    python bench/scale.py --seconds 5      # shorter runs
    python bench/scale.py --articles 6000  # a smaller database

One feedserver worker (feedserver's app with `feedserver serve`'s uvicorn
options, plus a counters route and an event-loop lag probe: see `serve`) on a
database of the given size; wrk (one thread, 64 connections, gzip) replays
request lists from a file. Runs, side by side in one server:

1. warm: the 300 most popular documents, all cached: the hit ceiling;
2. Zipf: all 25,503 feed documents, popularity Zipf (s = 1), first to fill the
   cache, then measured: hit rate (1 - renders / requests), req/s against warm
   (goal >= 0.5x), memory per worker and per cached document;
3. writes (8 connections: latency, not saturation): the warm list again,
   quiet, then while a CMS process commits edits
   to random articles (each touches a section chain, three tags, an author and
   the site): p99 of the hits against quiet (goal <= 2x), and the event loop's
   lag (how late a 10 ms timer fires) meanwhile: the stall a change check
   causes.

Figures go to standard output and bench/results/scale-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

SECTIONS, TAGS, AUTHORS = 3000, 5000, 500
PARENTS = 100  # top-level sections, each with SECTIONS / PARENTS - 1 subsections
WARM = 300
LUA = """
local paths = {}
local i = 0
init = function(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  i = math.random(#paths)
end
request = function()
  i = i + 1
  if i > #paths then i = 1 end
  return wrk.format("GET", paths[i])
end
"""


# --- the database ------------------------------------------------------------------------------


def section_slugs() -> list[str]:
    per = SECTIONS // PARENTS
    slugs = []
    for p in range(PARENTS):
        slugs.append(f"kanal-{p:03d}")
        slugs += [f"kanal-{p:03d}/rubrik-{c:02d}" for c in range(per - 1)]
    return slugs


def build(path: Path, articles: int, seed: int = 11) -> None:
    """Sections, tags and authors as above; every tag and author on some article."""
    from corpus import article_html

    from feedserver.importer import import_records

    rng = random.Random(seed)
    now = datetime.now(UTC)
    slugs = section_slugs()
    records: list[dict[str, Any]] = [{"type": "section", "slug": s, "title": f"Rubrik {s}"} for s in slugs]
    for n in range(articles):
        tags = {f"Topik {n % TAGS} 话题", f"Topik {rng.randrange(TAGS)} 话题", f"Topik {rng.randrange(TAGS)} 话题"}
        section = slugs[n % SECTIONS] if n < SECTIONS else rng.choice(slugs)
        records.append(
            {
                "id": f"s-{n:06d}",
                "url": f"https://example.id/{section}/s-{n:06d}",
                "section": section,
                "title": f"Berita {n} tentang 北京 dan ekonomi",
                "summary": "Ringkasan singkat berita tentang Tiongkok.",
                "content_html": article_html(rng, n, rng.randint(1500, 3000)),
                "authors": [{"name": f"Penulis {n % AUTHORS}"}],
                "tags": sorted(tags),
                "published_at": (now - timedelta(minutes=2 + 3 * n)).isoformat(),
                "status": "published",
            }
        )
    lines = [json.dumps(r, ensure_ascii=False).encode() for r in records]
    result = import_records(path, "<scale bench>", lines)
    if result.errors:
        raise RuntimeError("; ".join(result.errors[:5]))


def document_paths() -> list[str]:
    from feedserver.slugs import slugify

    scopes = ["/"]
    scopes += [f"/section/{s}/" for s in section_slugs()]
    scopes += [f"/tag/{slugify(f'Topik {n} 话题')}/" for n in range(TAGS)]
    scopes += [f"/author/{slugify(f'Penulis {n}')}/" for n in range(AUTHORS)]
    return [f"{scope}feed.{fmt}" for scope in scopes for fmt in ("rss", "atom", "json")]


def zipf_requests(paths: list[str], count: int, rng: random.Random) -> list[str]:
    ranked = paths[:]
    rng.shuffle(ranked)
    weights, total = [], 0.0
    for rank in range(1, len(ranked) + 1):
        total += 1.0 / rank
        weights.append(total)
    return rng.choices(ranked, cum_weights=weights, k=count)


# --- the server ----------------------------------------------------------------------------------


def serve() -> int:
    """The app with a counters route (/__bench) and a loop-lag probe."""
    import gc
    import os

    import uvicorn
    from harness import tree_rss_mb

    from feedserver.app import create_app
    from feedserver.config import load_settings
    from feedserver.server import uvicorn_options

    gc_pauses: list[float] = []
    gc_started = [0.0]

    def gc_timer(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter()
        elif info.get("generation") == 2:
            gc_pauses.append(time.perf_counter() - gc_started[0])

    gc.callbacks.append(gc_timer)
    settings = load_settings()
    app = create_app(settings)
    state = app.state  # type: ignore[attr-defined]
    lags: list[float] = []
    checks: list[float] = []
    watcher = state.watcher
    check = watcher.check

    async def timed_check() -> bool:
        started = time.perf_counter()
        try:
            return await check()
        finally:
            checks.append(time.perf_counter() - started)

    watcher.check = timed_check

    async def probe() -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append(time.perf_counter() - started - 0.01)

    probe_task: list[asyncio.Task[None]] = []

    async def wrapper(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/__bench":
            if not probe_task:
                probe_task.append(asyncio.create_task(probe()))
            service = state.service
            cache = service.cache
            body = json.dumps(
                {
                    "renders": cache.renders,
                    "evictions": cache.evictions,
                    "entries": len(cache.entries),
                    "cache_bytes": cache.bytes,
                    "evicted_validators": len(cache.evicted),
                    "rss_mb": tree_rss_mb(os.getpid()),
                    "lags": lags[-20000:],
                    "checks": checks[-2000:],
                    "reloads": watcher.reloads,
                    "gc_full_pauses": gc_pauses[-200:],
                }
            ).encode()
            query = scope["query_string"].decode()
            if query.startswith("switch="):
                sys.setswitchinterval(float(query.split("=", 1)[1]))
            if query == "reset" or query.startswith("switch="):
                lags.clear()
                checks.clear()
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
            )
            await send({"type": "http.response.body", "body": body})
            return
        await app(scope, receive, send)

    options = {**uvicorn_options(settings), "workers": 1}
    uvicorn.Server(uvicorn.Config(wrapper, **options)).run()
    return 0


# --- the run -------------------------------------------------------------------------------------


def counters(base: str, reset: bool = False, switch: float | None = None) -> dict[str, Any]:
    from harness import fetch

    query = f"?switch={switch}" if switch is not None else "?reset" if reset else ""
    return dict(json.loads(fetch(base + "/__bench" + query).body))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def writer(database: Path, stop: threading.Event, rate: float, done: list[int]) -> None:
    """Edits random published articles, each in its own transaction, `rate` a second."""
    rng = random.Random(3)
    conn = sqlite3.connect(database, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 5000")
    count = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    while not stop.wait(1.0 / rate):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "UPDATE articles SET title = ? WHERE id = ?",
            (f"Diperbarui {time.time():.3f}", f"s-{rng.randrange(count):06d}"),
        )
        conn.execute("COMMIT")
        done.append(1)
    conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--articles", type=int, default=15000)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--fill-seconds", type=float, default=150.0, help="requests over every document first")
    parser.add_argument("--writes-per-second", type=float, default=5.0)
    parser.add_argument(
        "--max-mb",
        type=int,
        default=192,
        help="cache.max_bytes in MiB (default: room for every feed of this site, README: sizing the cache)",
    )
    parser.add_argument("--connections", type=int, default=8, help="wrk connections while measuring latency")
    args = parser.parse_args(argv)
    if args.serve:
        return serve()

    from harness import (
        PYTHON,
        Processes,
        ensure_tools,
        feedserver_env,
        free_port,
        log,
        run_wrk,
        save_json,
        table,
        wait_http,
        workdir,
    )

    ensure_tools(need_nginx=False)
    data = BENCH / "data"
    data.mkdir(exist_ok=True)
    database = data / f"scale-{SECTIONS}-{TAGS}-{AUTHORS}-{args.articles}.sqlite"
    if not database.exists():
        log(f"building {database.name} (once)")
        started = time.monotonic()
        partial = database.with_suffix(".partial")
        for leftover in data.glob(partial.name + "*"):
            leftover.unlink()
        build(partial, args.articles)
        # A file renamed with its write-ahead log elsewhere is another file: leave WAL first.
        conn = sqlite3.connect(partial)
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.close()
        partial.rename(database)
        conn = sqlite3.connect(database)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.close()
        log(f"built in {time.monotonic() - started:.0f} s")
    paths = document_paths()
    rng = random.Random(7)
    ranked = zipf_requests(paths, 400_000, rng)
    popular = [p for p, _ in __import__("collections").Counter(ranked).most_common(WARM)]
    results: dict[str, Any] = {"documents": len(paths), "articles": args.articles}

    with workdir() as work, Processes(work) as procs:
        (work / "paths.lua").write_text(LUA)
        (work / "warm.txt").write_text("\n".join(popular) + "\n")
        (work / "zipf.txt").write_text("\n".join(ranked) + "\n")
        (work / "all.txt").write_text("\n".join(rng.sample(paths, len(paths))) + "\n")
        port = free_port()
        env = feedserver_env(
            database, port, settings={"cache.refresh_seconds": 1.0, "cache.max_bytes": args.max_mb << 20}
        )
        results["max_bytes"] = args.max_mb << 20
        proc = procs.start("server", [PYTHON, str(Path(__file__).resolve()), "--serve"], env=env)
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/healthz", proc, timeout=300)
        idle = counters(base)
        log(f"server up: {idle['rss_mb']:.0f} MB")

        def wrk(label: str, listing: str, seconds: float, connections: int = 64) -> Any:
            return run_wrk(
                label,
                base + "/",
                seconds,
                1,
                connections,
                headers=["Accept-Encoding: gzip"],
                server_pid=proc.pid,
                script=(work / "paths.lua", work / listing),
            )

        log("warm: filling the popular documents")
        wrk("fill warm", "warm.txt", 3)
        before = counters(base)
        warm = wrk("warm", "warm.txt", args.seconds)
        after = counters(base)
        results["warm"] = {**warm.__dict__, "renders": after["renders"] - before["renders"]}

        log("Zipf: every document once, then Zipf (a server that has run for a while)")
        wrk("fill all", "all.txt", args.fill_seconds)
        wrk("fill zipf", "zipf.txt", args.seconds)
        before = counters(base)
        zipf = wrk("zipf", "zipf.txt", args.seconds)
        after = counters(base)
        renders = after["renders"] - before["renders"]
        results["zipf"] = {
            **zipf.__dict__,
            "renders": renders,
            "hit_rate": 1 - renders / max(1, zipf.requests),
            "ratio_to_warm": zipf.rps / warm.rps,
            "entries": after["entries"],
            "cache_bytes": after["cache_bytes"],
            "bytes_per_cached_document": after["cache_bytes"] / max(1, after["entries"]),
            "evicted_validators": after["evicted_validators"],
            "rss_mb": after["rss_mb"],
            "rss_idle_mb": idle["rss_mb"],
        }

        def writes_phase(switch: float) -> dict[str, Any]:
            """Quiet, then with the CMS writing, with this GIL switch interval in the server."""
            log(f"writes (switch interval {switch * 1000:g} ms): quiet, then with a CMS writing")
            counters(base, switch=switch)
            wrk("refill warm", "warm.txt", 3)
            counters(base, reset=True)
            quiet = wrk("quiet", "warm.txt", args.seconds, args.connections)
            quiet_counters = counters(base, reset=True)
            stop, done = threading.Event(), []
            thread = threading.Thread(target=writer, args=(database, stop, args.writes_per_second, done))
            thread.start()
            try:
                busy = wrk("writes", "warm.txt", args.seconds, args.connections)
            finally:
                stop.set()
                thread.join()
            busy_counters = counters(base)
            return {
                "switch_interval_ms": switch * 1000,
                "quiet": quiet.__dict__,
                "busy": busy.__dict__,
                "writes": len(done),
                "p99_ratio": busy.p99_ms / quiet.p99_ms,
                "loop_lag_p99_ms_quiet": 1000 * percentile(quiet_counters["lags"], 0.99),
                "loop_lag_p99_ms_writes": 1000 * percentile(busy_counters["lags"], 0.99),
                "loop_lag_max_ms_writes": 1000 * max(busy_counters["lags"] or [0.0]),
                "check_p50_ms": 1000 * percentile(busy_counters["checks"], 0.5),
                "check_max_ms": 1000 * max(busy_counters["checks"] or [0.0]),
                "checks": len(busy_counters["checks"]),
                "gc_full_pauses_ms": [round(1000 * p, 1) for p in busy_counters["gc_full_pauses"]],
            }

        results["writes"] = writes_phase(0.005)  # CPython's default
        results["writes_1ms"] = writes_phase(0.001)

    z = results["zipf"]
    print(
        table(
            ["figure", "value", "goal"],
            [
                ["documents (feeds)", results["documents"], ""],
                ["warm req/s (300 cached)", f"{warm.rps:.0f}", ""],
                ["Zipf req/s (all feeds)", f"{zipf.rps:.0f}", ""],
                ["Zipf / warm", f"{z['ratio_to_warm']:.2f}x", ">= 0.5x"],
                ["Zipf hit rate", f"{100 * z['hit_rate']:.1f} %", ""],
                ["cached documents", z["entries"], ""],
                ["cache bytes per document", f"{z['bytes_per_cached_document'] / 1024:.1f} KiB", ""],
                ["worker RSS idle / after Zipf", f"{z['rss_idle_mb']:.0f} / {z['rss_mb']:.0f} MB", ""],
                *(
                    row
                    for key in ("writes", "writes_1ms")
                    for row in (
                        [
                            f"[{results[key]['switch_interval_ms']:g} ms switch] hits p99 quiet / writes",
                            f"{results[key]['quiet']['p99_ms']:.2f} / {results[key]['busy']['p99_ms']:.2f} ms",
                            "",
                        ],
                        [
                            f"[{results[key]['switch_interval_ms']:g} ms switch] p99 ratio",
                            f"{results[key]['p99_ratio']:.2f}x",
                            "<= 2x",
                        ],
                        [
                            f"[{results[key]['switch_interval_ms']:g} ms switch] writes, loop lag p99 q / w, max",
                            f"{results[key]['writes']}, {results[key]['loop_lag_p99_ms_quiet']:.1f} / "
                            f"{results[key]['loop_lag_p99_ms_writes']:.1f}, "
                            f"{results[key]['loop_lag_max_ms_writes']:.1f} ms",
                            "",
                        ],
                        [
                            f"[{results[key]['switch_interval_ms']:g} ms switch] change check p50 / max",
                            f"{results[key]['check_p50_ms']:.0f} / {results[key]['check_max_ms']:.0f} ms",
                            "",
                        ],
                    )
                ),
                [
                    "full GC pauses (whole run)",
                    ", ".join(f"{p:.0f}" for p in results["writes_1ms"]["gc_full_pauses_ms"]) + " ms",
                    "",
                ],
            ],
        )
    )
    out = BENCH / "results" / f"scale-{time.strftime('%Y%m%d-%H%M%S')}.json"
    save_json(out, results)
    log(f"figures in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
