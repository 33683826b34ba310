"""Sitemaps at a million articles, side by side in one run:

- the sitemap index, one full 50,000-URL article sitemap and the Google News
  sitemap, through HTTP from a real `feedserver serve` (uvicorn): the first
  request after start (cold: empty document cache; the OS page cache is warm)
  and the median of later ones (warm), gzip accepted as crawlers do;
- the floor for each: a plain sqlite3 keyset query of the same columns and a
  string template, in this process, no HTTP, no gzip (and with gzip);
- the server's memory (VmRSS) after start, after those three, and after every
  sitemap file the index and the news sitemap list; its peak (VmHWM);
- the archive's own cost in this process: the full load the server does at
  start, and the reload after one write (what the change check pays).

    python bench/make_big_db.py                  # once: bench/data/big-1m.sqlite
    python bench/sitemaps.py [--db PATH] [--quick]

Targets (this 2-core machine): a full child under 0.5 s cold, the
index and the news sitemap under 100 ms cold, memory growth under 50 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import http.client
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from zlib_ng import gzip_ng

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))


from feedserver.archive import ArchiveState, load_archive  # noqa: E402
from feedserver.config import load_settings  # noqa: E402
from feedserver.db import ReadPool  # noqa: E402

BASE_URL = "https://example.id"
TZ = ZoneInfo("Asia/Jakarta")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def proc_status(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


class Client:
    """One keep-alive HTTP/1.1 connection; returns (milliseconds, status, body as sent)."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def get(self, path: str, gzip_ok: bool = True) -> tuple[float, int, bytes]:
        headers = {"Accept-Encoding": "gzip" if gzip_ok else "identity"}
        started = time.perf_counter()
        self.conn.request("GET", path, headers=headers)
        response = self.conn.getresponse()
        body = response.read()
        return (time.perf_counter() - started) * 1000, response.status, body


def start_server(db: Path, port: int) -> tuple[subprocess.Popen[bytes], float]:
    env = {
        **os.environ,
        "FEEDSERVER_CONFIG": str(REPO / "config" / "feedserver.toml"),
        "FEEDSERVER_DATABASE_PATH": str(db),
        "FEEDSERVER_SITE_BASE_URL": BASE_URL,
        "FEEDSERVER_SERVER_PORT": str(port),
    }
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "feedserver", "serve"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    while True:
        if process.poll() is not None:
            raise SystemExit(f"feedserver exited: {process.stderr.read().decode()[-2000:] if process.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                pass
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return process, time.perf_counter() - started
        except OSError:
            time.sleep(0.05)


# --- the floor: sqlite3 and a string template, nothing else -----------------------------------


def w3c(stamp: int) -> str:
    return datetime.fromtimestamp(stamp, TZ).isoformat(timespec="seconds")


def floor_child(conn: sqlite3.Connection, start: int, stop: int, now: int) -> bytes:
    rows = conn.execute(
        "SELECT a.url, max(a.updated_at, a.published_at), a.image_url FROM articles a "
        "WHERE a.status = 'published' AND a.published_at >= ? AND a.published_at < ? AND a.published_at <= ? "
        "ORDER BY a.published_at, a.id LIMIT 50000",
        (start, stop, now),
    ).fetchall()
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n']
    for url, lastmod, image in rows:
        image_part = f"<image:image><image:loc>{image}</image:loc></image:image>" if image else ""
        parts.append(f"<url><loc>{url}</loc><lastmod>{w3c(lastmod)}</lastmod>{image_part}</url>\n")
    parts.append("</urlset>\n")
    return "".join(parts).encode()


def floor_index(conn: sqlite3.Connection, months: list[tuple[str, int, int]], now: int) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
    ]
    for name, start, stop in months:
        count, lastmod = conn.execute(
            "SELECT count(*), max(max(a.updated_at, a.published_at)) FROM articles a WHERE a.status = 'published' "
            "AND a.published_at >= ? AND a.published_at < ? AND a.published_at <= ?",
            (start, stop, now),
        ).fetchone()
        if count:
            parts.append(
                f"<sitemap><loc>{BASE_URL}/sitemap-{name}.xml</loc><lastmod>{w3c(lastmod)}</lastmod></sitemap>\n"
            )
    parts.append("</sitemapindex>\n")
    return "".join(parts).encode()


def floor_news(conn: sqlite3.Connection, now: int) -> bytes:
    rows = conn.execute(
        "SELECT a.url, a.published_at, a.title FROM articles a WHERE a.status = 'published' "
        "AND a.published_at > ? AND a.published_at <= ? ORDER BY a.published_at DESC, a.id DESC LIMIT 1000",
        (now - 2 * 86400, now),
    ).fetchall()
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n']
    for url, published, title in rows:
        parts.append(
            f"<url><loc>{url}</loc><news:news><news:publication><news:name>Kabar</news:name>"
            f"<news:language>id</news:language></news:publication><news:publication_date>{w3c(published)}"
            f"</news:publication_date><news:title>{title}</news:title></news:news></url>\n"
        )
    parts.append("</urlset>\n")
    return "".join(parts).encode()


def timed(function: Any, repeats: int) -> tuple[float, float, Any]:
    """(first run ms, median of the later runs ms, result)."""
    times, result = [], None
    for _ in range(repeats + 1):
        started = time.perf_counter()
        result = function()
        times.append((time.perf_counter() - started) * 1000)
    return times[0], statistics.median(times[1:]), result


# --- the archive in this process ------------------------------------------------------------------


async def archive_costs(db: Path) -> tuple[ArchiveState, float, float]:
    """The archive's full load (as at the server's start) and its reload after one write."""
    settings = load_settings(REPO / "config" / "feedserver.toml", environ={}, overrides={"database.path": str(db)})
    pool = ReadPool(db, 1, 600, 10)
    await pool.open()
    try:
        now = int(time.time())
        started = time.perf_counter()
        archive = await load_archive(pool, settings, now, None)
        cold = (time.perf_counter() - started) * 1000
        writer = sqlite3.connect(db, isolation_level=None)
        writer.execute(
            "INSERT INTO articles (id, url, section, title, published_at, updated_at, status) "
            "VALUES ('bench-probe', ?, 'berita', 'probe', ?, ?, 'published')",
            (f"{BASE_URL}/berita/bench-probe", now - 1, now - 1),
        )
        started = time.perf_counter()
        await load_archive(pool, settings, now + 1, archive)
        reload = (time.perf_counter() - started) * 1000
        writer.execute("DELETE FROM articles WHERE id = 'bench-probe'")
        writer.close()
        return archive, cold, reload
    finally:
        await pool.close()


def table(headers: list[str], rows: list[list[object]]) -> str:
    cells = [headers, *[[f"{v:,.1f}" if isinstance(v, float) else str(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="Sitemaps at a million articles.")
    parser.add_argument("--db", type=Path, default=BENCH / "data" / "big-1m.sqlite")
    parser.add_argument("--quick", action="store_true", help="fewer warm repeats")
    args = parser.parse_args()
    repeats = 3 if args.quick else 10
    db: Path = args.db
    if not db.is_file():
        raise SystemExit(f"{db} does not exist: run bench/make_big_db.py first")

    archive, archive_cold, archive_reload = asyncio.run(archive_costs(db))
    full = max(archive.files.values(), key=lambda f: f.count)
    child = f"/sitemap-{full.name}.xml"
    news_pages = archive.news.pages

    port = free_port()
    server, startup = start_server(db, port)
    try:
        pid = server.pid
        rss_start = proc_status(pid, "VmRSS")
        client = Client(port)
        rows: list[list[object]] = []
        measured: dict[str, tuple[float, float, int, int]] = {}
        for label, path in (
            ("index", "/sitemap.xml"),
            (f"child ({full.count:,} URLs)", child),
            ("news", "/news-sitemap.xml"),
        ):
            cold, status, body = client.get(path)
            assert status == 200, (path, status)
            warm = statistics.median(client.get(path)[0] for _ in range(repeats))
            identity = statistics.median(client.get(path, gzip_ok=False)[0] for _ in range(max(1, repeats // 3)))
            plain = gzip.decompress(body)
            measured[label] = (cold, warm, len(plain), len(body))
            rows.append([label, path, f"{len(plain):,}", f"{len(body):,}", cold, warm, identity])
        if news_pages > 1:
            cold, status, body = client.get("/news-sitemap-1.xml")
            warm = statistics.median(client.get("/news-sitemap-1.xml")[0] for _ in range(repeats))
            identity = statistics.median(client.get("/news-sitemap-1.xml", gzip_ok=False)[0] for _ in range(3))
            rows.append(
                [
                    "news page 1",
                    "/news-sitemap-1.xml",
                    f"{len(gzip.decompress(body)):,}",
                    f"{len(body):,}",
                    cold,
                    warm,
                    identity,
                ]
            )
        rss_three = proc_status(pid, "VmRSS")
        index = gzip.decompress(client.get("/sitemap.xml")[2]).decode()
        paths = [loc.split(BASE_URL, 1)[1] for loc in index.split("<loc>")[1:] for loc in [loc.split("</loc>")[0]]]
        paths += [f"/news-sitemap-{n}.xml" for n in range(1, news_pages + 1)] if news_pages > 1 else []
        first_fetch = []
        started = time.perf_counter()
        for path in paths:
            ms, status, _ = client.get(path)
            assert status == 200, (path, status)
            first_fetch.append(ms)
        every = (time.perf_counter() - started) * 1000
        rss_all = proc_status(pid, "VmRSS")
        hwm = proc_status(pid, "VmHWM")
    finally:
        server.terminate()
        server.wait(timeout=30)

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    now = int(time.time())
    month_ranges: list[tuple[str, int, int]] = []
    for day in sorted({d.replace(day=1) for d in archive.days}):
        start, stop = archive.calendar.month_range(day)
        month_ranges.append((f"articles-{day:%Y-%m}", start, stop))
    floors = {
        "index": lambda: floor_index(conn, month_ranges, now),
        f"child ({full.count:,} URLs)": lambda: floor_child(conn, full.start, full.stop, now),
        "news": lambda: floor_news(conn, now),
    }
    floor_rows = []
    for label, function in floors.items():
        cold, warm, content = timed(function, repeats)
        started = time.perf_counter()
        gzip_ng.compress(content, 6, mtime=0)  # the compressor the server uses
        gz = (time.perf_counter() - started) * 1000
        server_cold, server_warm, _, _ = measured[label]
        floor_rows.append([label, server_cold, server_warm, cold, warm, gz])
    conn.close()

    articles = sqlite3.connect(f"file:{db}?mode=ro", uri=True).execute("SELECT count(*) FROM articles").fetchone()[0]
    print(f"\nSitemaps: {articles:,} articles ({db.name}, {db.stat().st_size / 2**30:.1f} GiB); milliseconds")
    print(
        f"{len(archive.files)} article sitemaps + sections; "
        f"news window {len(archive.news.keys):,} articles, {news_pages} page(s)\n"
    )
    print(
        table(
            [
                "document",
                "path",
                "bytes",
                "gzip bytes",
                "cold (first GET, gzip)",
                f"warm (median of {repeats}, gzip)",
                "warm identity",
            ],
            rows,
        )
    )
    print()
    print(
        table(
            ["document", "server cold", "server warm", "floor cold (sqlite3 + template)", "floor warm", "+ gzip -6"],
            floor_rows,
        )
    )
    print()
    print(
        table(
            [
                "server memory (MB)",
                "after start",
                "after the three",
                f"after all {len(paths)} files",
                "growth",
                "peak (VmHWM)",
            ],
            [["VmRSS", rss_start, rss_three, rss_all, rss_all - rss_start, hwm]],
        )
    )
    print()
    print(
        table(
            ["archive (in this process)", "ms"],
            [
                ["server start to /healthz (includes the full archive load)", startup * 1000],
                ["full archive load (cold, all days)", archive_cold],
                ["reload after one write (what a change check pays)", archive_reload],
                [f"every sitemap file once ({len(paths)}), first fetch", every],
                ["slowest first fetch of a child", max(first_fetch)],
            ],
        )
    )


if __name__ == "__main__":
    main()
