"""A deliberately broken feed site for `feedserver check`: a real HTTP server on
127.0.0.1 (stdlib http.server in a thread), each path with one known fault.

`PROBLEMS` lists what the check must name for each path. Item ids of /feed.rss
change between runs (a run starts with a GET of /), as a CMS migration that
rebuilt its ids would.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NOW = datetime.now(UTC)
READER_PREFIXES = ("newsboat", "NetNewsWire")

# (path, severity, words the message must contain)
PROBLEMS = [
    ("/feed.rss", "error", "duplicate item ids"),
    ("/feed.rss", "warning", "relative URL"),
    ("/feed.rss", "warning", "in the future"),
    ("/feed.rss", "warning", "out of order"),
    ("/feed.rss", "warning", "no self link"),
    ("/feed.rss", "warning", "no ETag or Last-Modified"),
    ("/feed.atom", "error", "schema (Atom RELAX NG)"),
    ("/feed.atom", "error", "self link is"),
    ("/feed.json", "error", "schema (JSON Feed 1.1)"),
    ("/ill/feed.rss", "error", "ill-formed XML"),
    ("/gone/feed.rss", "error", "HTTP 503"),
    ("/challenge/feed.rss", "error", "HTTP 403 for newsboat (the browser got 200, an HTML page"),
    ("/html/feed.rss", "error", "HTML where a feed was expected"),
    ("/gzip/feed.rss", "error", "gzip broken"),
    ("/stale/feed.rss", "error", "304 to a validator it never sent"),
    ("/never304/feed.rss", "warning", "never 304"),
    ("/big/feed.rss", "warning", "larger than"),
    ("/opml-only/feed.rss", "warning", "in the future"),
    ("/sitemap.xml", "error", "relative loc"),
    ("/sitemap.xml", "error", "schema (sitemaps.org XSD)"),
]


def rss(base: str, path: str, items: list[tuple[str, str, datetime]], self_link: bool = True, extra: str = "") -> bytes:
    entries = "".join(
        f"<item><title>Berita {guid} 北京</title><link>{link}</link>"
        f'<guid isPermaLink="false">{guid}</guid><pubDate>{format_datetime(moment)}</pubDate>'
        f"<description>{extra}</description></item>"
        for guid, link, moment in items
    )
    atom_self = f'<atom:link href="{base}{path}" rel="self" type="application/rss+xml"/>' if self_link else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">'
        f"<channel><title>Rusak</title><link>{base}/</link><description>Situs rusak</description>{atom_self}"
        f"{entries}</channel></rss>"
    ).encode()


class BrokenSite:
    def __init__(self) -> None:
        self.runs = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def good_rss(self, path: str) -> bytes:
        items = [(f"g-{n}", f"{self.base}/artikel/{n}", NOW - timedelta(hours=n + 1)) for n in range(3)]
        return rss(self.base, path, items)

    def document(self, path: str, user_agent: str) -> tuple[int, str, bytes, dict[str, str]]:
        """(status, media type, body, extra headers) for a GET of `path`."""
        base, rss_type = self.base, "application/rss+xml"
        if path == "/":
            self.runs += 1
            links = "".join(
                f'<li><a href="{p}">{p}</a></li>'
                for p in (
                    "/feed.atom",
                    "/feed.json",
                    "/ill/feed.rss",
                    "/gone/feed.rss",
                    "/challenge/feed.rss",
                    "/html/feed.rss",
                    "/gzip/feed.rss",
                    "/stale/feed.rss",
                    "/never304/feed.rss",
                    "/big/feed.rss",
                )
            )
            html = (
                "<!doctype html><html><head><title>Rusak</title>"
                '<link rel="alternate" type="application/rss+xml" href="/feed.rss"></head>'
                f"<body><ul>{links}</ul></body></html>"
            )
            return 200, "text/html", html.encode(), {}
        if path == "/robots.txt":
            return 200, "text/plain", f"User-agent: *\nAllow: /\nSitemap: {base}/sitemap.xml\n".encode(), {}
        if path == "/feeds.opml":
            opml = (
                f'<opml version="2.0"><head/><body><outline text="x" xmlUrl="{base}/opml-only/feed.rss"/></body></opml>'
            )
            return 200, "text/x-opml", opml.encode(), {}
        if path == "/sitemap.xml":
            body = (
                '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                "<url><loc>/artikel/1</loc><prioritas>1</prioritas></url></urlset>"
            )
            return 200, "application/xml", body.encode(), {}
        if path == "/feed.rss":
            ids = [f"r{self.runs}-a", f"r{self.runs}-a", f"r{self.runs}-b", f"r{self.runs}-c"]
            moments = [NOW - timedelta(hours=2), NOW - timedelta(hours=3), NOW + timedelta(days=2), NOW]
            items = [(i, f"{base}/artikel/{n}", m) for n, (i, m) in enumerate(zip(ids, moments, strict=True))]
            extra = "&lt;p&gt;&lt;img src=&quot;gambar/peta.jpg&quot;&gt;&lt;/p&gt;"
            return 200, rss_type, rss(base, path, items, self_link=False, extra=extra), {"no-validators": "1"}
        if path == "/feed.atom":
            body = (
                '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
                f"<title>Rusak</title><id>tag:rusak,2025:feed</id><updated>{NOW.isoformat()}</updated>"
                f'<link rel="self" href="{base}/lain.atom"/><author><name>R</name></author>'
                f"<entry><title>Tanpa id</title><updated>{NOW.isoformat()}</updated></entry></feed>"
            )
            return 200, "application/atom+xml", body.encode(), {}
        if path == "/feed.json":
            body = {"version": "https://jsonfeed.org/version/1.1", "feed_url": f"{base}/feed.json", "items": [{}]}
            return 200, "application/feed+json", json.dumps(body).encode(), {}
        if path == "/ill/feed.rss":
            return 200, rss_type, b"<rss version='2.0'><channel><title>Rusak</channel></rss>", {}
        if path == "/gone/feed.rss":
            return 503, "text/plain", b"Service unavailable\n", {}
        if path == "/challenge/feed.rss" and user_agent.startswith(READER_PREFIXES):
            return 403, "text/html", b"<!doctype html><html><body>Checking your browser...</body></html>", {}
        if path == "/html/feed.rss":
            return 200, "text/html", b"<!doctype html><html><body>Just a moment...</body></html>", {}
        if path == "/big/feed.rss":
            items = [(f"b-{n}", f"{base}/artikel/{n}", NOW - timedelta(hours=n + 1)) for n in range(40)]
            return 200, rss_type, rss(base, path, items), {}
        if path == "/opml-only/feed.rss":
            return 200, rss_type, rss(base, path, [("o-1", f"{base}/artikel/o", NOW + timedelta(days=3))]), {}
        if path in ("/challenge/feed.rss", "/gzip/feed.rss", "/stale/feed.rss", "/never304/feed.rss"):
            return 200, rss_type, self.good_rss(path), {}
        return 404, "text/plain", b"Not found\n", {}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                status, media_type, body, extra = site.document(self.path, self.headers.get("User-Agent", ""))
                headers = {"Content-Type": media_type}
                if status == 200 and "no-validators" not in extra:
                    headers["ETag"] = '"v1"'
                    if self.path == "/stale/feed.rss" and self.headers.get("If-None-Match"):
                        status = 304  # any validator at all: a 304 that never changes
                    elif self.path != "/never304/feed.rss" and self.headers.get("If-None-Match") == '"v1"':
                        status = 304
                if status == 200 and "gzip" in (self.headers.get("Accept-Encoding") or ""):
                    if self.path == "/gzip/feed.rss":
                        body = b"\x1f\x8b\x08\x00" + b"not really gzip"
                    else:
                        body = gzip.compress(body)
                    headers["Content-Encoding"] = "gzip"
                if status == 304:
                    body = b""
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


@contextlib.contextmanager
def broken_site() -> Iterator[BrokenSite]:
    site = BrokenSite()
    thread = threading.Thread(target=site.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        site.server.shutdown()
        site.server.server_close()
        thread.join()
