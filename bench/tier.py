"""The caching tier and read replicas (issue 11), measured side by side in one run.

    python bench/tier.py [--seconds 5] [--rounds 2] [--quick]

1. wrk through nginx with the shipped config/nginx/feedserver.conf (cache HITs)
   against nginx serving the same bytes as a static file, identity and gzip:
   the ratio, goal >= 0.75x.
2. The revalidation path: a 304 from the origin, with and without the check
   before a 304 (cache.check_before_not_modified).
3. Write-to-client delay through the tier: without purge (s-maxage 10 s here;
   the bound scales with it) and with the purge hook (s-maxage 1 hour).
4. Replica lag: a CMS writing 8 articles a second into the primary, Litestream
   replicating to a file:// replica, config/litestream/follow.sh following it, a
   feedserver on the copy: when each article first shows in the replica's feed.
5. The read pool: a query on a held connection vs a connection opened per query
   (database.hold_connections false, as on a replica).

Not part of the test suite; every process it starts is stopped when it ends.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pwd
import shutil
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from harness import (
    Processes,
    fetch,
    free_port,
    interleaved,
    log,
    nginx_binary,
    run_wrk,
    start_feedserver,
    start_nginx,
    table,
    wait_http,
    workdir,
)

REPO = Path(__file__).resolve().parents[1]
SHIPPED_NGINX = REPO / "config" / "nginx" / "feedserver.conf"
FEED = "/feed.rss"
SECTION = "berita/tiongkok"


def build_db(path: Path) -> None:
    subprocess.run([sys.executable, "-m", "feedserver", "demo-db", str(path)], check=True, capture_output=True)


def start_tier_nginx(procs: Processes, upstreams: list[str], name: str = "tier", port: int | None = None) -> str:
    """nginx with the shipped site config, placeholders replaced by ports and paths only."""
    prefix = procs.workdir / name
    prefix.mkdir()
    port = port or free_port()
    site = SHIPPED_NGINX.read_text()
    for key, value in {
        "LISTEN": f"127.0.0.1:{port}",
        "UPSTREAM_1": upstreams[0].removeprefix("http://"),
        "UPSTREAM_2": upstreams[1].removeprefix("http://"),
        "CACHE_DIR": str(prefix / "cache"),
    }.items():
        site = site.replace(f"@{key}@", value)
    (prefix / "feedserver.conf").write_text(site)
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};\n" if os.geteuid() == 0 else ""
    temp = "\n".join(f"    {kind}_temp_path {prefix / kind};" for kind in ("proxy", "fastcgi", "uwsgi", "scgi"))
    (prefix / "nginx.conf").write_text(
        f"{user}worker_processes 1;\ndaemon off;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log warn;\n"
        "events { worker_connections 4096; }\nhttp {\n    access_log off;\n"
        f"    client_body_temp_path {prefix / 'body'};\n{temp}\n    include {prefix / 'feedserver.conf'};\n}}\n"
    )
    binary = nginx_binary()
    assert binary is not None
    proc = procs.start(name, [binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(prefix / "e.log")])
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/robots.txt", proc)
    return base


def part_hit_vs_static(procs: Processes, db: Path, seconds: float, rounds: int) -> list[list[object]]:
    origins = [start_feedserver(procs, f"origin{n}", db)[0] for n in (1, 2)]
    tier = start_tier_nginx(procs, origins)
    identity = fetch(tier + FEED, {"Accept-Encoding": "identity"}).body
    gzipped = fetch(tier + FEED, {"Accept-Encoding": "gzip"}).body
    static, static_proc = start_nginx(procs, {"feed.xml": identity, "feed-gz.xml": gzipped}, "application/xml")
    configs = {
        "tier identity": (tier + FEED, ["Accept-Encoding: identity"]),
        "static identity": (static + "/feed.xml", []),
        "tier gzip": (tier + FEED, ["Accept-Encoding: gzip"]),
        "static gzip": (static + "/feed-gz.xml", []),
    }
    for url, headers in configs.values():  # warm: every tier copy is a HIT from here on
        fetch(url, dict(h.split(": ") for h in headers))
    rps: dict[str, list[float]] = {label: [] for label in configs}
    for label in interleaved(list(configs), rounds):
        url, headers = configs[label]
        result = run_wrk(label, url, seconds, 1, 64, headers)
        rps[label].append(result.rps)
        log(f"{label}: {result.rps:,.0f} req/s")
    best = {label: max(values) for label, values in rps.items()}
    rows = []
    for encoding, size in (("identity", len(identity)), ("gzip", len(gzipped))):
        ratio = best[f"tier {encoding}"] / best[f"static {encoding}"]
        rows.append(
            [encoding, size, f"{best[f'tier {encoding}']:,.0f}", f"{best[f'static {encoding}']:,.0f}", f"{ratio:.2f}x"]
        )
    procs.stop(static_proc)
    return rows


def part_revalidation(procs: Processes, db: Path, seconds: float) -> list[list[object]]:
    rows = []
    for check in (True, False):
        base, proc = start_feedserver(
            procs, f"revalidate-{check}", db, settings={"cache.check_before_not_modified": check}
        )
        etag = fetch(base + FEED, {"Accept-Encoding": "gzip"}).headers["etag"]
        result = run_wrk(
            f"304 check={check}",
            base + FEED,
            seconds,
            1,
            64,
            ["Accept-Encoding: gzip", f"If-None-Match: {etag}"],
            proc.pid,
        )
        rows.append(
            [
                f"check_before_not_modified = {str(check).lower()}",
                f"{result.rps:,.0f}",
                f"{result.p50_ms:.2f}",
                f"{result.p99_ms:.2f}",
            ]
        )
        procs.stop(proc)
    return rows


STATUSES: dict[str, int] = {}  # X-Cache-Status of the polls in part 3


def newest_ids(url: str) -> list[str]:
    reply = fetch(url, {"Accept-Encoding": "identity"})
    status = reply.headers.get("x-cache-status", "-")
    STATUSES[status] = STATUSES.get(status, 0) + 1
    body = reply.body.decode()
    return [item["id"].rsplit(":article/", 1)[-1] for item in json.loads(body)["items"]]


def publish(db: Path, article_id: str) -> float:
    """One CMS write with plain sqlite3, as the CMS would; returns when it committed."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout = 5000")
        stamp = int(time.time()) - 1
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO articles (id, url, section, title, summary, content_html, published_at, updated_at, status) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'published')",
            (
                article_id,
                f"https://example.id/{SECTION}/{article_id}",
                SECTION,
                f"Bench {article_id} 测试",
                "Ringkasan.",
                "<p>Isi.</p>",
                stamp,
                stamp,
            ),
        )
        conn.execute("COMMIT")
        return time.monotonic()
    finally:
        conn.close()


def part_write_delay(procs: Processes, db: Path, writes: int) -> list[list[object]]:
    rows = []
    for label, settings, count, purge in (
        ("no purge, s-maxage 10 s", {"cache.s_maxage_seconds": 10}, writes, False),
        ("purge hook, s-maxage 3600 s", {"cache.s_maxage_seconds": 3600}, writes * 2, True),
    ):
        tier_port = free_port()
        if purge:
            refresh = f"http://127.0.0.1:{tier_port}/_feedserver_refresh"
            settings = {
                **settings,
                "cache.purge_url": f"{refresh}/gzip{{path}}\n{refresh}/identity{{path}}",
                "cache.purge_method": "GET",
                "cache.purge_delay_seconds": 2.5,
                "cache.purge_lock_path": str(procs.workdir / f"purge-{tier_port}.lock"),
            }
        origins = [start_feedserver(procs, f"delay{n}-{tier_port}", db, settings=settings)[0] for n in (1, 2)]
        tier = start_tier_nginx(procs, origins, f"tier-{tier_port}", tier_port)
        url = f"{tier}/section/{SECTION}/feed.json"
        delays = []
        STATUSES.clear()
        for n in range(count):
            newest_ids(url)
            time.sleep(0.7 * (n % 4))  # writes at different moments of the copy's lifetime
            article = f"delay-{tier_port}-{n}"
            written = publish(db, article)
            while article not in newest_ids(url)[:1]:
                time.sleep(0.05)
            delays.append(time.monotonic() - written)
            log(f"{label}: write {n + 1} shown after {delays[-1]:.2f} s")
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(STATUSES.items()))
        rows.append([label, len(delays), f"{statistics.median(delays):.2f}", f"{max(delays):.2f}", statuses])
    return rows


def part_replica_lag(procs: Processes, db: Path, seconds: float) -> list[list[object]]:
    litestream = shutil.which("litestream") or str(Path(sys.executable).with_name("litestream"))
    copy = procs.workdir / "replica-host" / "cms.sqlite"
    copy.parent.mkdir()
    env = {
        "CMS_DATABASE": str(db),
        "LITESTREAM_REPLICA_URL": (procs.workdir / "bucket").as_uri(),
        "FEEDSERVER_DATABASE": str(copy),
        "LITESTREAM": litestream,
    }
    procs.start("replicate", [litestream, "replicate", "-config", str(REPO / "config/litestream/primary.yml")], env)
    while not any((procs.workdir / "bucket").rglob("*.ltx")):
        time.sleep(0.1)
    procs.start("follow", ["bash", str(REPO / "config/litestream/follow.sh")], env)
    while not copy.exists():
        time.sleep(0.1)
    base, _ = start_feedserver(
        procs, "replica", copy, settings={"database.hold_connections": False, "cache.refresh_seconds": 0.2}
    )
    url = f"{base}/section/{SECTION}/feed.json"
    written: dict[str, float] = {}
    seen: dict[str, float] = {}
    done = threading.Event()

    def poll() -> None:
        while not done.is_set() or len(seen) < len(written):
            now = time.monotonic()
            for article in newest_ids(url):
                if article in written and article not in seen:
                    seen[article] = now
            if done.is_set() and time.monotonic() > stop_at + 30:
                break
            time.sleep(0.05)

    stop_at = time.monotonic() + seconds
    poller = threading.Thread(target=poll)
    poller.start()
    n = 0
    while time.monotonic() < stop_at:
        article = f"lag-{n:05d}"
        written[article] = publish(db, article)
        n += 1
        time.sleep(max(0.0, 0.125 - (time.monotonic() - written[article])))
    done.set()
    poller.join()
    lags = sorted(seen[a] - written[a] for a in seen)
    p99 = lags[min(len(lags) - 1, int(len(lags) * 0.99))]
    return [[len(written), len(seen), f"{statistics.median(lags):.2f}", f"{p99:.2f}", f"{lags[-1]:.2f}"]]


def part_pool(db: Path, queries: int) -> list[list[object]]:
    from feedserver.db import ReadPool

    async def run(hold: bool) -> float:
        pool = ReadPool(db, 2, 5.0, 3.0, hold=hold)
        await pool.open()
        try:
            started = time.perf_counter()
            for _ in range(queries):
                await pool.fetchall("SELECT id FROM articles ORDER BY published_at DESC LIMIT 50")
            return (time.perf_counter() - started) / queries * 1000
        finally:
            await pool.close()

    held, opened = asyncio.run(run(True)), asyncio.run(run(False))
    return [["held (default)", f"{held:.3f}"], ["opened per query (replica)", f"{opened:.3f}"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--writes", type=int, default=4)
    parser.add_argument("--lag-seconds", type=float, default=20)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--part", type=int, action="append", help="run only these parts (1-5)")
    args = parser.parse_args()
    parts = set(args.part or range(1, 6))
    with workdir(args.keep) as work, Processes(work) as procs:
        db = work / "cms.sqlite"
        build_db(db)
        if 1 in parts:
            log("part 1: HIT through nginx vs static")
            hits = part_hit_vs_static(procs, db, args.seconds, args.rounds)
            print(table(["encoding", "bytes", "tier HIT req/s", "static req/s", "ratio (goal >= 0.75x)"], hits))
        if 2 in parts:
            log("part 2: 304 from the origin")
            print(table(["origin", "req/s", "p50 ms", "p99 ms"], part_revalidation(procs, db, args.seconds)))
        if 3 in parts:
            log("part 3: write-to-client delay through the tier")
            print(
                table(
                    ["setup", "writes", "median s", "worst s", "X-Cache-Status of the polls"],
                    part_write_delay(procs, db, args.writes),
                )
            )
        if 4 in parts:
            log("part 4: replica lag at 8 writes/s")
            rows = part_replica_lag(procs, db, args.lag_seconds)
            print(table(["written", "seen", "median s", "p99 s", "max s"], rows))
        if 5 in parts:
            log("part 5: read pool")
            print(table(["connections", "ms per query"], part_pool(db, 500)))


if __name__ == "__main__":
    main()
