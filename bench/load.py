"""Load under writes: many pollers, a CMS writing, bounded in time.

    python bench/load.py [--seconds 30] [--pollers 64] [--writes-per-second 5] [--refresh 1.0] [--json]

Starts `feedserver serve` on 127.0.0.1 over the demo site, then for --seconds
(at most 60): --pollers concurrent clients poll every feed, section feed and
sitemap with conditional GETs (If-None-Match from their last 200), while a
writer process adds and edits articles --writes-per-second times a second,
each in its own `BEGIN IMMEDIATE` transaction, printing when each one
committed. A watcher polls the site's JSON Feed and notes when each write
shows. The server's resident memory is sampled throughout.

Reports requests, errors, p50/p99 latency, how long each write took to show,
and the server's memory in the first and the last third of the run. Exits 1
when there was an error, a write that did not show within the configured
delay (cache.refresh_seconds plus --visibility-slack), memory that grew by
more than --max-growth-mb between the thirds, or a shutdown that did not exit 0.
Everything runs on this machine; every process started here is stopped in a
`finally`. tests/test_load.py runs a short version.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
BASE_URL = "https://example.id"
MAX_SECONDS = 60
SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


# --- the writer (its own process: `load.py --writer DB ...`) -----------------------------------


def run_writer(db_path: str, seconds: float, rate: float) -> int:
    """Add and edit articles `rate` times a second; print one JSON line per commit:
    {"op": "add"|"edit", "id", "title", "at": commit time (epoch seconds)}."""
    conn = sqlite3.connect(db_path, isolation_level=None, timeout=10)
    conn.execute("PRAGMA busy_timeout = 10000")
    sections = [slug for (slug,) in conn.execute("SELECT slug FROM sections ORDER BY slug")]
    added: list[str] = []
    end = time.monotonic() + seconds
    n = 0
    try:
        while time.monotonic() < end:
            started = time.monotonic()
            now = int(time.time())
            if n % 3 == 2 and added:
                article_id = added[-2] if len(added) > 1 else added[-1]  # an edit of a recent article
                title = f"Beban {article_id} (suntingan {n})"
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("UPDATE articles SET title = ?, updated_at = ? WHERE id = ?", (title, now, article_id))
                conn.execute("COMMIT")
                op = "edit"
            else:
                article_id = f"beban-{n:05d}"
                title = f"Beban {article_id}"
                section = sections[n % len(sections)]
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(
                    "INSERT INTO articles (id, url, section, title, summary, content_html, published_at, "
                    "updated_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'published')",
                    (
                        article_id,
                        f"{BASE_URL}/{section}/{article_id}",
                        section,
                        title,
                        f"Ringkasan {article_id}.",
                        f"<p>Isi {article_id}: 北京 &amp; Jakarta.</p>" * 20,
                        now,
                        now,
                    ),
                )
                conn.execute("COMMIT")
                added.append(article_id)
                op = "add"
            print(json.dumps({"op": op, "id": article_id, "title": title, "at": time.time()}), flush=True)
            n += 1
            time.sleep(max(0.0, 1 / rate - (time.monotonic() - started)))
    finally:
        conn.close()
    return 0


# --- the server -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def start_server(db_path: Path, workdir: Path, refresh: float) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDSERVER_")}
    env.update(
        {
            "FEEDSERVER_CONFIG": str(REPO / "config" / "feedserver.toml"),
            "FEEDSERVER_DATABASE_PATH": str(db_path),
            "FEEDSERVER_SITE_BASE_URL": BASE_URL,
            "FEEDSERVER_CACHE_REFRESH_SECONDS": str(refresh),
        }
    )
    log = workdir / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "feedserver", "serve", "--host", HOST, "--port", str(port)],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://{HOST}:{port}"
    deadline = time.monotonic() + 20
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}):\n{log.read_text(errors='replace')}")
        if time.monotonic() > deadline:
            stop(process)
            raise RuntimeError(f"no /healthz within 20 s:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return process, url, log
        except httpx.TransportError:
            pass
        time.sleep(0.05)


def stop(process: subprocess.Popen[bytes], timeout: float = 20) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    return process.wait(timeout)


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process (Linux /proc), in MiB."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def document_paths(db_path: Path, url: str) -> list[str]:
    """Every feed of the site and its sections, the front page, robots.txt and every sitemap."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        slugs = [slug for (slug,) in conn.execute("SELECT slug FROM sections ORDER BY slug")]
    finally:
        conn.close()
    paths = ["/", "/robots.txt", "/feed.rss", "/feed.atom", "/feed.json"]
    paths += [f"/section/{slug}/feed.{fmt}" for slug in slugs for fmt in ("rss", "atom", "json")]
    for index in ("/sitemap.xml", "/news-sitemap.xml"):
        response = httpx.get(url + index, timeout=10)
        if response.status_code != 200:
            continue
        paths.append(index)
        root = ElementTree.fromstring(response.content)
        for loc in root.iter(f"{SITEMAP_NS}loc"):
            if root.tag == f"{SITEMAP_NS}sitemapindex" and loc.text and loc.text.startswith(BASE_URL + "/"):
                paths.append(loc.text[len(BASE_URL) :])
    return paths


# --- the load ------------------------------------------------------------------------------------


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)


async def poller(index: int, url: str, paths: list[str], stop_at: float, tally: Tally) -> None:
    etags: dict[str, str] = {}
    position = index * 7 * 2
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=httpx.Limits(max_connections=1)) as client:
        while time.monotonic() < stop_at:
            # Each path twice in a row, the second time conditional: a poller that
            # only came back after a full round of every path would send no
            # conditional request at all in a short run on a slow machine.
            path = paths[(position // 2) % len(paths)]
            position += 1
            headers = {"If-None-Match": etags[path]} if path in etags else {}
            started = time.perf_counter()
            try:
                response = await client.get(path, headers=headers)
            except httpx.HTTPError as exc:
                tally.errors.append(f"{path}: {exc!r}")
                continue
            tally.latencies.append(time.perf_counter() - started)
            tally.statuses[response.status_code] += 1
            if response.status_code == 200:
                etags[path] = response.headers["etag"]
            elif response.status_code != 304:
                tally.errors.append(f"{path}: {response.status_code} {response.text[:120]}")


def watch_visibility(url: str, writes: queue.Queue[dict[str, Any]], done: threading.Event) -> dict[str, Any]:
    """Poll /feed.json (in its own thread, so the pollers cannot starve it); for every
    write the writer reported, how long after its commit it first showed. A write
    shows when the feed has its article with its title, or with the title of a later
    write to the same article (an add edited before the feed was read again)."""
    titles: dict[str, list[str]] = {}  # article id -> titles written, in order
    pending: list[dict[str, Any]] = []
    delays: list[float] = []
    etag = ""
    with httpx.Client(base_url=url, timeout=30) as client:
        while True:
            while not writes.empty():
                write = writes.get_nowait()
                titles.setdefault(write["id"], []).append(write["title"])
                pending.append(write)
            finished = done.is_set() and writes.empty()
            response = client.get("/feed.json", headers={"If-None-Match": etag} if etag else {})
            seen_at = time.time()
            if response.status_code == 200:
                etag = response.headers["etag"]
                shown = {
                    item["id"].rsplit(":article/", 1)[-1]: item.get("title", "") for item in response.json()["items"]
                }
                still = []
                for write in pending:
                    history = titles[write["id"]]
                    title = shown.get(write["id"])
                    mine = len(history) - 1 - history[::-1].index(write["title"])
                    if title in history and history.index(title) >= mine:
                        delays.append(seen_at - write["at"])
                    else:
                        still.append(write)
                pending = still
            if finished and (not pending or time.time() > done_at(pending)):
                return {"delays": delays, "not_shown": [w["id"] for w in pending]}
            time.sleep(0.05)


def done_at(pending: list[dict[str, Any]]) -> float:
    return float(max(write["at"] for write in pending)) + 10  # give up on a write 10 s after it


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def thirds(samples: list[tuple[float, float]], seconds: float, started: float) -> tuple[float, float]:
    first = [mb for at, mb in samples if at - started < seconds / 3]
    last = [mb for at, mb in samples if at - started >= 2 * seconds / 3]
    # On a busy machine the first sample may come after the first third: compare
    # with the earliest one then, never with 0 (which read as 60+ MB of growth).
    first = first or [mb for _, mb in samples[:1]]
    return statistics.fmean(first or [0.0]), statistics.fmean(last or first or [0.0])


def run(args: argparse.Namespace) -> dict[str, Any]:
    from feedserver.cli import build_demo_database

    with tempfile.TemporaryDirectory(prefix="feedserver-load-") as directory:
        workdir = Path(directory)
        db_path = workdir / "site.sqlite"
        build_demo_database(db_path, BASE_URL)
        server, url, log = start_server(db_path, workdir, args.refresh)
        writer: subprocess.Popen[str] | None = None
        try:
            paths = document_paths(db_path, url)
            for path in paths:  # warm: the run measures polling, not first renders
                httpx.get(url + path, timeout=30)
            writes: queue.Queue[dict[str, Any]] = queue.Queue()
            writer_done = threading.Event()
            writer = subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--writer",
                    str(db_path),
                    "--seconds",
                    str(args.seconds),
                    "--writes-per-second",
                    str(args.writes_per_second),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
            written: list[dict[str, Any]] = []

            def read_writes() -> None:
                assert writer is not None and writer.stdout is not None
                for line in writer.stdout:
                    write = json.loads(line)
                    written.append(write)
                    writes.put(write)
                writer_done.set()

            reader = threading.Thread(target=read_writes, daemon=True)
            reader.start()
            memory: list[tuple[float, float]] = []
            started = time.monotonic()
            stop_at = started + args.seconds
            tally = Tally()

            async def load() -> None:
                async def sample_memory() -> None:
                    while time.monotonic() < stop_at:
                        mb = rss_mb(server.pid)
                        if mb is not None:
                            memory.append((time.monotonic(), mb))
                        await asyncio.sleep(0.25)

                tasks = [asyncio.create_task(poller(i, url, paths, stop_at, tally)) for i in range(args.pollers)]
                tasks.append(asyncio.create_task(sample_memory()))
                await asyncio.gather(*tasks)

            seen: dict[str, Any] = {}
            watcher = threading.Thread(
                target=lambda: seen.update(watch_visibility(url, writes, writer_done)), daemon=True
            )
            watcher.start()
            asyncio.run(load())
            watcher.join(60)
            visibility = seen or {"delays": [], "not_shown": ["(the watcher did not finish)"]}
            reader.join(30)
            writer_code = writer.wait(30)
            elapsed = time.monotonic() - started
        finally:
            if writer is not None and writer.poll() is None:
                stop(writer)  # type: ignore[arg-type]
            exit_code = stop(server)
        first_mb, last_mb = thirds(memory, args.seconds, started)
        delays = visibility["delays"]
        bound = args.refresh + args.visibility_slack
        report = {
            "seconds": round(elapsed, 1),
            "pollers": args.pollers,
            "paths": len(paths),
            "requests": sum(tally.statuses.values()) + len(tally.errors),
            "requests_per_second": round(sum(tally.statuses.values()) / args.seconds),
            "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
            "errors": len(tally.errors),
            "error_samples": tally.errors[:5],
            "latency_ms": {
                "p50": round(percentile(tally.latencies, 0.50) * 1000, 2),
                "p99": round(percentile(tally.latencies, 0.99) * 1000, 2),
                "max": round(max(tally.latencies, default=0) * 1000, 2),
            },
            "writes": len(written),
            "adds": sum(1 for w in written if w["op"] == "add"),
            "edits": sum(1 for w in written if w["op"] == "edit"),
            "writer_exit": writer_code,
            "visible": len(delays),
            "not_visible": visibility["not_shown"],
            "visibility_s": {
                "p50": round(percentile(delays, 0.5), 3),
                "max": round(max(delays, default=0), 3),
                "bound": bound,
            },
            "memory_mb": {"first_third": round(first_mb, 1), "last_third": round(last_mb, 1), "samples": len(memory)},
            "server_exit": exit_code,
            "server_log_tracebacks": log.read_text(errors="replace").count("Traceback") if log.exists() else -1,
        }
    failures = []
    if report["errors"]:
        failures.append(f"{report['errors']} errors")
    if report["not_visible"] or report["visibility_s"]["max"] > bound:
        failures.append(f"writes not visible within {bound} s")
    if last_mb - first_mb > args.max_growth_mb:
        failures.append(f"memory grew {last_mb - first_mb:.1f} MB")
    if exit_code != 0 or writer_code != 0:
        failures.append(f"server exit {exit_code}, writer exit {writer_code}")
    report["failures"] = failures
    report["path_list"] = paths
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0, help=f"load duration (at most {MAX_SECONDS})")
    parser.add_argument("--pollers", type=int, default=64)
    parser.add_argument("--writes-per-second", type=float, default=5.0)
    parser.add_argument("--refresh", type=float, default=1.0, help="the server's cache.refresh_seconds")
    parser.add_argument("--visibility-slack", type=float, default=2.0, help="seconds past --refresh a write may take")
    parser.add_argument("--max-growth-mb", type=float, default=30.0, help="allowed RSS growth, first to last third")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON line")
    parser.add_argument("--writer", metavar="DB", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.writer:
        return run_writer(args.writer, args.seconds, args.writes_per_second)
    if not 0 < args.seconds <= MAX_SECONDS:
        parser.error(f"--seconds must be within (0, {MAX_SECONDS}]")
    report = run(args)
    if args.json:
        print(json.dumps(report))
    else:
        latency, visibility, memory = report["latency_ms"], report["visibility_s"], report["memory_mb"]
        print(f"{report['requests']} requests in {report['seconds']} s ({report['requests_per_second']}/s) by ", end="")
        print(f"{report['pollers']} pollers over {report['paths']} paths; statuses {report['statuses']}")
        print(f"errors: {report['errors']} {report['error_samples']}")
        print(f"latency: p50 {latency['p50']} ms, p99 {latency['p99']} ms, max {latency['max']} ms")
        print(f"writes: {report['writes']} ({report['adds']} adds, {report['edits']} edits), ", end="")
        print(f"visible {report['visible']}: p50 {visibility['p50']} s, max {visibility['max']} s ", end="")
        print(f"(bound {visibility['bound']} s)")
        print(f"server RSS: {memory['first_third']} MB first third, {memory['last_third']} MB last third")
        verdict = "FAILED: " + "; ".join(report["failures"]) if report["failures"] else "ok"
        print(f"server exit: {report['server_exit']}; {verdict}")
    return 1 if report["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
