"""Part 4: the warm-feed load of part 1 while a CMS process writes several times a second.

The demo site with the ~60 KB site feed of part 1. wrk loads `/feed.rss` in
interleaved quiet and writer rounds (Q W W Q ...); in a writer round
`cms_writer.py` commits adds and edits (`BEGIN IMMEDIATE`) at --writes-per-second
into the same database for the whole wrk run. The server is feedserver's app
with `feedserver serve`'s uvicorn options (`counted_server.py`), which writes
the app's own counters when stopped: renders per change come from them.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from ceiling import TARGET_BYTES, build_demo, items_for_size
from harness import (
    PYTHON,
    BenchError,
    Processes,
    WrkResult,
    feedserver_env,
    fetch,
    free_port,
    interleaved,
    log,
    run_wrk,
    table,
    verdict,
    wait_http,
)

from feedserver.config import load_settings

BENCH = Path(__file__).resolve().parent
WRITES_PER_SECOND = 8.0
# Documents kept warm besides the loaded one: each write affects the site's
# three feeds and its section's (and parent section's) feeds.
WARM_PATHS = (
    "/feed.rss",
    "/feed.atom",
    "/feed.json",
    "/section/berita/feed.rss",
    "/section/berita/tiongkok/feed.rss",
    "/section/ekonomi/feed.rss",
    "/section/budaya/feed.json",
)


def run(procs: Processes, seconds: float, threads: int, connections: int, rounds: int, quick: bool) -> dict[str, Any]:
    work = procs.workdir / "writer"
    work.mkdir()
    database = build_demo(work)
    items, size = items_for_size(database, TARGET_BYTES)
    port = free_port()
    counters_path = work / "counters.json"
    env = feedserver_env(database, port, 1, {"feeds.items": items})
    server = procs.start("counted-server", [PYTHON, str(BENCH / "counted_server.py"), str(counters_path)], env=env)
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/healthz", server)
    for path in WARM_PATHS:
        if fetch(base + path).status != 200:
            raise BenchError(f"{path} is not served")
    refresh = float(load_settings(environ=env)["cache.refresh_seconds"])
    run_wrk("warm-up", base + "/feed.rss", 1, threads, connections)
    results: dict[str, list[WrkResult]] = {"quiet": [], "writer": []}
    writes: list[dict[str, Any]] = []
    order = interleaved(["quiet", "writer"], max(rounds, 2))
    for n, label in enumerate(order, 1):
        writer = None
        if label == "writer":
            writer = subprocess.Popen(
                [
                    PYTHON,
                    str(BENCH / "cms_writer.py"),
                    str(database),
                    "--rate",
                    str(WRITES_PER_SECOND),
                    "--seconds",
                    str(seconds + 0.5),
                    "--seed",
                    str(n),
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            time.sleep(0.25)  # the first write lands before wrk starts
        try:
            result = run_wrk(label, base + "/feed.rss", seconds, threads, connections, (), server.pid)
        except BaseException:
            if writer is not None:
                writer.kill()
                writer.wait()
            raise
        finally:
            if writer is not None and writer.returncode is None:
                out, _ = writer.communicate(timeout=seconds + 30)
                if writer.returncode != 0:
                    raise BenchError(f"the CMS writer failed ({writer.returncode})")
                writes.append(json.loads(out))
        results[label].append(result)
        log(f"part 4 [{n}/{len(order)}] {label}: {result.rps:,.0f} req/s, p99 {result.p99_ms:.2f} ms")
        time.sleep(refresh + 0.5)  # the last write is applied before the next round
    procs.stop(server)
    if not counters_path.exists():
        raise BenchError("the counted server did not write its counters")
    counters = json.loads(counters_path.read_text())
    return report(results, writes, counters, items, size, seconds, refresh)


def report(
    results: dict[str, list[WrkResult]],
    writes: list[dict[str, Any]],
    counters: dict[str, Any],
    items: int,
    size: int,
    seconds: float,
    refresh: float,
) -> dict[str, Any]:
    summary = {}
    for label, runs in results.items():
        summary[label] = {
            # Best round for throughput (a neighbour only takes it away), median for latency.
            "rps": max(r.rps for r in runs),
            "rps_mean": statistics.mean(r.rps for r in runs),
            "p50_ms": statistics.median(r.p50_ms for r in runs),
            "p99_ms": statistics.median(r.p99_ms for r in runs),
            "p99_ms_all": [r.p99_ms for r in runs],
            "wrk_cpu": max(r.wrk_cpu for r in runs),
            "server_cpu": statistics.mean(r.server_cpu for r in runs),
            "other_cpu": max(r.other_cpu for r in runs),
            "errors": sum(r.errors for r in runs),
        }
    commits = sum(w["commits"] for w in writes)
    write_seconds = sum(w["seconds"] for w in writes)
    documents = len(counters["cached_documents"])
    renders = counters["renders"] - documents  # minus the first render of each warmed document
    reloads = counters["reloads"]
    per_reload = renders / reloads if reloads else 0.0
    by_document = counters.get("renders_by_document", {})
    # Re-renders of the busiest document per change check that saw a change: 1 at most.
    worst = max(((n - 1) / reloads for n in by_document.values()), default=0.0) if reloads else 0.0
    rows = [
        [
            label,
            s["rps"],
            s["rps_mean"],
            s["p50_ms"],
            s["p99_ms"],
            f"{s['wrk_cpu']:.2f}",
            f"{s['server_cpu']:.2f}",
            f"{s['other_cpu']:.2f}",
            f"{s['errors']:.0f}",
        ]
        for label, s in summary.items()
    ]
    print(
        f"\nPart 4: warm site feed ({size:,} bytes, feeds.items={items}) under a CMS writer "
        f"({commits} commits in {write_seconds:.0f} s = {commits / max(write_seconds, 1e-9):.1f} writes/s, "
        f"change check every {refresh:g} s)"
    )
    print(
        table(
            [
                "load",
                "req/s (best)",
                "mean",
                "p50 ms",
                "p99 ms (median)",
                "wrk CPU",
                "server CPU",
                "other CPU (max)",
                "errors",
            ],
            rows,
        )
    )
    print(
        table(
            [
                "commits",
                "change checks",
                "reloads (saw a change)",
                "commits per reload",
                "documents cached",
                "re-renders",
                "re-renders per reload",
                "busiest document: re-renders per reload",
            ],
            [
                [
                    commits,
                    counters["checks"],
                    reloads,
                    f"{commits / reloads:.1f}" if reloads else "-",
                    documents,
                    renders,
                    f"{per_reload:.2f}",
                    f"{worst:.2f}",
                ]
            ],
        )
    )
    rps_ratio = summary["writer"]["rps"] / summary["quiet"]["rps"]
    p99_ratio = summary["writer"]["p99_ms"] / summary["quiet"]["p99_ms"]
    targets = [
        ("writer req/s >= 0.8x quiet", rps_ratio, 0.8, True),
        ("writer p99 <= 2x quiet", p99_ratio, 2.0, False),
        ("re-renders of any document per reload <= 1 (one worker)", worst, 1.0, False),
    ]
    print(table(["target", "ratio", ""], [[n, f"{v:.2f}x", verdict(v, t, hi)] for n, v, t, hi in targets]))
    return {
        "summary": summary,
        "writes": writes,
        "counters": counters,
        "renders_after_warmup": renders,
        "ratios": {name: value for name, value, _, _ in targets},
    }
