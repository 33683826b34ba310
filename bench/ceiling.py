"""Part 1: the serving ceiling against feedserver, the same ~60 KB bytes everywhere.

feedserver serves the demo site (`feedserver demo-db`) with `feeds.items`
chosen so the site's RSS feed is closest to 60 KB. Its body, gzip body and
headers are captured and served unchanged by nginx (static file), a bare ASGI
callable and a bare Starlette route on the same uvicorn. wrk runs every
configuration with the same settings in interleaved rounds (A B C ... C B A).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import (
    BENCH_SITE,
    PYTHON,
    BenchError,
    Processes,
    WrkResult,
    feedserver_cli,
    fetch,
    free_port,
    interleaved,
    log,
    run_wrk,
    start_feedserver,
    start_nginx,
    table,
    verdict,
    wait_http,
)

TARGET_BYTES = 60_000
BENCH = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Config:
    label: str
    group: str  # "200", "304" or "gzip": ratios are taken against the bare ASGI row of the group
    url: str
    headers: tuple[str, ...]
    pid: int


def build_demo(directory: Path) -> Path:
    database = directory / "demo.sqlite"
    subprocess.run([*feedserver_cli(), "demo-db", str(database)], check=True, capture_output=True)
    return database


def site_feed_size(database: Path, items: int) -> int:
    """Bytes of the site RSS feed with `feeds.items` = items, rendered in-process."""
    from feedserver.config import load_settings
    from feedserver.documents import FeedDocument
    from feedserver.feeds import FeedScope
    from feedserver.service import FeedService

    async def render() -> int:
        settings = load_settings(
            overrides={
                "database.path": str(database),
                "feeds.items": items,
                "site.base_url": "https://example.id",
                **BENCH_SITE,
            }
        )
        service = FeedService(settings)
        await service.open()
        try:
            rendered = await service.serve(FeedDocument(FeedScope.site(), "rss", service.items))
            return len(rendered.body)
        finally:
            await service.close()

    return asyncio.run(render())


def items_for_size(database: Path, target: int) -> tuple[int, int]:
    """The feeds.items whose site RSS is closest to `target` bytes, and that size."""
    low, high = 1, 500
    sizes: dict[int, int] = {}
    while low < high:
        middle = (low + high) // 2
        sizes[middle] = site_feed_size(database, middle)
        if sizes[middle] < target:
            low = middle + 1
        else:
            high = middle
    for n in (low - 1, low):
        if n >= 1 and n not in sizes:
            sizes[n] = site_feed_size(database, n)
    best = min((n for n in (low - 1, low) if n >= 1), key=lambda n: abs(sizes[n] - target))
    return best, sizes[best]


def capture(base: str, directory: Path) -> dict[str, Any]:
    """feedserver's site feed: identity and gzip bytes, each variant's headers, the ETags."""
    plain = fetch(base + "/feed.rss")
    gz = fetch(base + "/feed.rss", {"Accept-Encoding": "gzip"})
    if plain.status != 200 or gz.status != 200 or gz.headers.get("content-encoding") != "gzip":
        raise BenchError(f"feedserver did not serve its feed as expected: {plain.status}, {gz.status}")
    not_modified = fetch(base + "/feed.rss", {"If-None-Match": plain.headers["etag"]})
    if not_modified.status != 304:
        raise BenchError(f"feedserver answered {not_modified.status} to its own ETag")
    (directory / "body").write_bytes(plain.body)
    (directory / "body.gz").write_bytes(gz.body)

    def pairs(headers: dict[str, str]) -> list[list[str]]:
        # What the server adds itself (date) and what depends on the connection
        # (urllib asks for "Connection: close") is not part of the document.
        hop = ("date", "server", "connection", "keep-alive", "transfer-encoding")
        return [[name, value] for name, value in headers.items() if name not in hop]

    (directory / "headers.json").write_text(
        json.dumps(
            {
                "identity": pairs(plain.headers),
                "gzip": pairs(gz.headers),
                "not_modified": pairs(not_modified.headers),
            }
        )
    )
    return {"etag": plain.headers["etag"], "body": plain.body, "gzip_body": gz.body}


def start_bare(procs: Processes, kind: str, directory: Path) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    proc = procs.start(f"bare-{kind}", [PYTHON, str(BENCH / "bare.py"), kind, str(directory), str(port)])
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/feed.rss", proc)
    return base, proc


def check_same_bytes(urls: dict[str, str], body: bytes) -> None:
    expected = hashlib.sha256(body).hexdigest()
    for name, url in urls.items():
        got = fetch(url).body
        if hashlib.sha256(got).hexdigest() != expected:
            raise BenchError(f"{name} does not serve the captured bytes ({len(got)} vs {len(body)} bytes)")


def run(procs: Processes, seconds: float, threads: int, connections: int, rounds: int) -> dict[str, Any]:
    work = procs.workdir / "ceiling"
    work.mkdir()
    log("part 1: building the demo database and sizing its site feed")
    database = build_demo(work)
    items, size = items_for_size(database, TARGET_BYTES)
    log(f"part 1: feeds.items = {items} gives a {size:,}-byte site RSS feed")
    settings: dict[str, object] = {"feeds.items": items, "stats.path": str(work / "stats-default.sqlite")}
    fs1, fs1_proc = start_feedserver(procs, "feedserver-1w", database, 1, settings)
    fs2, fs2_proc = start_feedserver(procs, "feedserver-2w", database, 2, settings)
    # Everything of feedserver.audience on: subscriber counting, metrics, the
    # polling limit (high enough never to refuse wrk, but checked on every
    # request) and a trusted proxy whose X-Forwarded-For is read.
    all_on = {
        **settings,
        "stats.path": str(work / "stats.sqlite"),
        "metrics.token": "bench",
        "polling.max_unconditional_per_hour": 1_000_000_000,
        "server.trusted_proxies": "127.0.0.1",
    }
    fson, fson_proc = start_feedserver(procs, "feedserver-all-on", database, 1, all_on)
    captured = capture(fs1, work)
    if fetch(fs2 + "/feed.rss").body != captured["body"]:
        raise BenchError("the 2-worker feedserver serves other bytes than the 1-worker one")
    nginx, nginx_proc = start_nginx(procs, {"feed.rss": captured["body"]}, "application/rss+xml")
    asgi, asgi_proc = start_bare(procs, "asgi", work)
    star, star_proc = start_bare(procs, "starlette", work)
    check_same_bytes(
        {"nginx": nginx + "/feed.rss", "bare ASGI": asgi + "/feed.rss", "Starlette": star + "/feed.rss"},
        captured["body"],
    )
    if fetch(asgi + "/gzip").body != captured["gzip_body"]:
        raise BenchError("the bare ASGI app does not serve feedserver's gzip bytes")
    etag = f"If-None-Match: {captured['etag']}"
    reader = ("User-Agent: newsboat/2.36.0 (Linux x86_64)", "X-Forwarded-For: 198.51.100.7")
    configs = [
        Config("nginx static", "200", nginx + "/feed.rss", (), nginx_proc.pid),
        Config("bare ASGI", "200", asgi + "/feed.rss", (), asgi_proc.pid),
        Config("bare Starlette route", "200", star + "/feed.rss", (), star_proc.pid),
        Config("feedserver warm 200", "200", fs1 + "/feed.rss", (), fs1_proc.pid),
        Config("feedserver warm 200, 2 workers", "200", fs2 + "/feed.rss", (), fs2_proc.pid),
        Config("feedserver warm 200, audience on", "200", fson + "/feed.rss", reader, fson_proc.pid),
        Config("bare ASGI 304", "304", asgi + "/304", (), asgi_proc.pid),
        Config("feedserver 304 (If-None-Match)", "304", fs1 + "/feed.rss", (etag,), fs1_proc.pid),
        Config("feedserver 304, 2 workers", "304", fs2 + "/feed.rss", (etag,), fs2_proc.pid),
        Config("feedserver 304, audience on", "304", fson + "/feed.rss", (etag, *reader), fson_proc.pid),
        Config("bare ASGI gzip bytes", "gzip", asgi + "/gzip", (), asgi_proc.pid),
        Config(
            "feedserver gzip (Accept-Encoding)", "gzip", fs1 + "/feed.rss", ("Accept-Encoding: gzip",), fs1_proc.pid
        ),
    ]
    by_label = {c.label: c for c in configs}
    for config in configs:  # warm-up, not recorded: first connections, the first render, the page cache
        run_wrk(config.label, config.url, 1, threads, connections, config.headers)
    results: dict[str, list[WrkResult]] = {c.label: [] for c in configs}
    order = interleaved([c.label for c in configs], rounds)
    for n, label in enumerate(order, 1):
        config = by_label[label]
        result = run_wrk(label, config.url, seconds, threads, connections, config.headers, config.pid)
        log(f"part 1 [{n}/{len(order)}] {label}: {result.rps:,.0f} req/s, wrk CPU {result.wrk_cpu:.2f}")
        results[label].append(result)
    return report(configs, results, items, size, len(captured["gzip_body"]))


def report(
    configs: list[Config], results: dict[str, list[WrkResult]], items: int, size: int, gzip_size: int
) -> dict[str, Any]:
    summary: dict[str, dict[str, float]] = {}
    for config in configs:
        runs = results[config.label]
        summary[config.label] = {
            # A neighbour on a shared machine only ever takes throughput away:
            # the best round is the figure, the mean is shown beside it.
            "rps": max(r.rps for r in runs),
            "rps_mean": statistics.mean(r.rps for r in runs),
            "rps_min": min(r.rps for r in runs),
            "p99_ms": statistics.median(r.p99_ms for r in runs),
            "wrk_cpu": max(r.wrk_cpu for r in runs),
            "server_cpu": statistics.mean(r.server_cpu for r in runs),
            "other_cpu": max(r.other_cpu for r in runs),
            "errors": sum(r.errors for r in runs),
        }
    ceilings = {"200": "bare ASGI", "304": "bare ASGI 304", "gzip": "bare ASGI gzip bytes"}
    rows = []
    for config in configs:
        s = summary[config.label]
        ratio = s["rps"] / summary[ceilings[config.group]]["rps"]
        s["vs_bare_asgi"] = ratio
        s["vs_nginx"] = s["rps"] / summary["nginx static"]["rps"]
        flags = []
        if s["wrk_cpu"] >= 0.9:
            flags.append("wrk saturated: lower bound")
        if s["other_cpu"] >= 0.3:
            flags.append("busy machine")
        if s["errors"]:
            flags.append(f"{s['errors']:.0f} errors")
        rows.append(
            [
                config.label,
                s["rps"],
                s["rps_mean"],
                f"{s['rps_min']:,.0f}-{s['rps']:,.0f}",
                s["p99_ms"],
                f"{ratio:.2f}x",
                f"{s['vs_nginx']:.2f}x",
                f"{s['wrk_cpu']:.2f}",
                f"{s['server_cpu']:.2f}",
                f"{s['other_cpu']:.2f}",
                "; ".join(flags),
            ]
        )
    print(f"\nPart 1: serving ceiling (site RSS feed, {size:,} bytes, gzip {gzip_size:,} bytes, feeds.items={items})")
    headers = [
        "configuration",
        "req/s (best)",
        "mean",
        "range",
        "p99 ms",
        "vs bare ASGI",
        "vs nginx",
        "wrk CPU",
        "server CPU",
        "other CPU",
        "notes",
    ]
    print(table(headers, rows))
    targets = [
        ("warm feed >= 0.8x bare ASGI", summary["feedserver warm 200"]["vs_bare_asgi"], 0.8),
        ("304 >= 0.8x bare-ASGI 304", summary["feedserver 304 (If-None-Match)"]["vs_bare_asgi"], 0.8),
        ("gzip >= 0.8x bare ASGI gzip bytes", summary["feedserver gzip (Accept-Encoding)"]["vs_bare_asgi"], 0.8),
        ("warm feed, audience on >= 0.8x bare ASGI", summary["feedserver warm 200, audience on"]["vs_bare_asgi"], 0.8),
        ("304, audience on >= 0.8x bare-ASGI 304", summary["feedserver 304, audience on"]["vs_bare_asgi"], 0.8),
    ]
    print(table(["target", "ratio", ""], [[name, f"{v:.2f}x", verdict(v, t)] for name, v, t in targets]))
    return {"feed_bytes": size, "gzip_bytes": gzip_size, "feeds_items": items, "summary": summary}
