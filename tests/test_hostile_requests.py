"""Hostile requests: every route probed with malformed
targets, headers and query strings. Never a 5xx, never a foreign host in any URL, no
cache entry for a variant; and the server's connections cannot write the database.

Request targets a client would normalise (`..`, invalid UTF-8, raw control bytes,
absolute-form) go byte for byte over a socket to a real uvicorn; the cache's
contents are checked in-process, over the very same list.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from feedserver.db import DatabaseUnavailable, connect_reader, prepare_connection
from tests.conftest import BASE_URL, FakeClock, article, make_settings, section, serve, write_records
from tests.uvicorn_process import RunningServer, raw_get, raw_request, running_server

EVIL = "attacker.example"
FEEDS = ["/feed.rss", "/feed.atom", "/feed.json"]
DOCUMENTS = [
    "/",
    *FEEDS,
    *(f"/section/{slug}/feed.{fmt}" for slug in ("berita", "berita/tiongkok") for fmt in ("rss", "atom", "json")),
    "/robots.txt",
    "/sitemap.xml",
    "/news-sitemap.xml",
]
# Targets sent verbatim: traversal, percent-encoded junk, invalid UTF-8 (raw and
# encoded), NUL and other control bytes, overlong UTF-8, absolute and asterisk
# forms, fragments, path parameters, and very long paths and queries.
RAW_TARGETS: list[bytes] = [
    b"/section/../../etc/passwd",
    b"/section/berita/../../../../etc/passwd",
    b"/section/..%2f..%2f..%2fetc%2fpasswd",
    b"/%2e%2e/%2e%2e/etc/passwd",
    b"/section/%2e%2e/%2e%2e/feed.rss",
    b"/section/berita/..%00/feed.rss",
    b"/section/%c0%ae%c0%ae/feed.rss",
    b"/section/%ff%fe/feed.json",
    b"/section/\xff\xfe/feed.json",
    b"/section/berita\xc3\x28/feed.rss",
    b"/feed.rss%00",
    b"/feed.rss%",
    b"/feed.rss%zz",
    b"/sitemap-%ff.xml",
    b"/sitemap-articles-2025-13-99.xml",
    b"/sitemap-articles-0000-00.xml",
    b"/sitemap-articles-9999-12-31-999999.xml",
    b"/news-sitemap-0.xml",
    b"/news-sitemap-99999999999999999999.xml",
    b"/news-sitemap-%2e%2e.xml",
    b"/robots.txt/../feed.rss",
    b"/feed.rss;jsessionid=1",
    b"/FEED.RSS",
    b"/feed.rss#fragment",
    b"//feed.rss",
    b"///etc/passwd",
    b"/section//feed.rss",
    b"/section/\x01\x02/feed.rss",
    b"http://attacker.example/feed.rss",
    b"https://attacker.example:443/section/berita/feed.atom",
    b"*",
    b"/healthz/../healthz",
    b"/healthz?" + b"x" * 50_000,
    b"/feed.atom?" + b"a=1&" * 10_000,
    b"/feed.json?a=1&a=2&a=%ff&b[]=x&=&&;;",
    b"/section/" + b"a/" * 5_000 + b"feed.rss",
    b"/" + b"x" * 100_000,
    b"/%" + b"%25" * 10_000,
]
ODD_HEADERS: list[dict[str, str]] = [
    {"If-Modified-Since": "garbage"},
    {"If-Modified-Since": ""},
    {"If-Modified-Since": "Mon, 32 Foo 2025 99:99:99 GMT"},
    {"If-Modified-Since": "Fri, 31 Dec 9999 23:59:59 GMT"},
    {"If-Modified-Since": "Sat, 01 Jan 10000 00:00:00 GMT"},
    {"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"},
    {"If-Modified-Since": "-1"},
    {"If-Modified-Since": "9" * 5000},
    {"If-None-Match": "*"},
    {"If-None-Match": '"'},
    {"If-None-Match": "W/"},
    {"If-None-Match": "," * 5000},
    {"If-None-Match": '"a", W/"b", garbage', "If-Modified-Since": "Fri, 31 Dec 9999 23:59:59 GMT"},
    {"Accept-Encoding": "gzip;q=abc"},
    {"Accept-Encoding": "gzip;q=-1"},
    {"Accept-Encoding": "gzip;q=1e999"},
    {"Accept-Encoding": "gzip;q=nan"},
    {"Accept-Encoding": "*;q=0, identity;q=0"},
    {"Accept-Encoding": "GZIP"},
    {"Accept-Encoding": "br, zstd, compress, deflate"},
    {"Accept-Encoding": ";;;;,,,,=;q"},
    {"Accept-Encoding": "x" * 8000},
    {"Range": "bytes=0-10"},
    {"Range": "bytes=-1,5-,garbage"},
    {"Expect": "100-continue"},
    {"Cookie": "a=" + "b" * 4000},
]


def hostile_site(db_path: Path, now: datetime) -> Path:
    write_records(
        db_path,
        [
            section("berita"),
            section("berita/tiongkok"),
            *(article(f"a-{n}", now - timedelta(hours=n + 1)) for n in range(8)),
            article("b-1", now - timedelta(hours=2), section="berita", image={"url": f"{BASE_URL}/b.jpg"}),
        ],
    )
    return db_path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("hostile")
    db_path = hostile_site(workdir / "site.sqlite", datetime.now().astimezone().replace(microsecond=0))
    with running_server(db_path, workdir) as running:
        yield running


def assert_server_survived(server: RunningServer) -> None:
    assert server.alive()
    assert "Traceback" not in server.output(), server.output()[-5000:]
    assert httpx.get(server.url + "/healthz", timeout=5).status_code == 200


@pytest.mark.e2e
def test_malformed_targets_are_never_a_server_error(server: RunningServer) -> None:
    for target in RAW_TARGETS:
        status, headers, body = raw_get(server.url, target)
        assert 200 <= status < 500, (target[:80], status, body[:200])
        assert b"root:" not in body, target[:80]
        assert EVIL not in str(headers) and EVIL.encode() not in body, target[:80]
        if target.startswith(b"/section/") and b".." in target:
            assert status >= 400, target[:80]
    assert_server_survived(server)


@pytest.mark.e2e
def test_odd_headers_on_every_route_are_never_a_server_error(server: RunningServer) -> None:
    with server.client() as client:
        plain = {path: client.get(path, headers={"Accept-Encoding": "identity"}) for path in DOCUMENTS}
        for path in [*DOCUMENTS, "/healthz", "/section/nope/feed.rss", "/sitemap-nope.xml"]:
            for headers in ODD_HEADERS:
                response = client.get(path, headers=headers)
                assert response.status_code < 500, (path, headers, response.status_code)
                if path in plain and response.status_code == 200:
                    # Whatever the negotiation, the bytes are the document's.
                    assert response.content == plain[path].content, (path, headers)
                if "Fri, 31 Dec 9999" in headers.get("If-Modified-Since", "") and path in plain:
                    assert response.status_code == 200, (path, headers)  # a date in the future is ignored
    # Raw header bytes no client would send: latin-1 junk, and a header value with a NUL.
    for extra in (
        b"If-Modified-Since: \xff\xfe\xfd\r\n",
        b"Accept-Encoding: gz\xffip\r\n",
        b"X-Odd: a\x00b\r\n",
        b"Content-Length: 5\r\n",  # promised, never sent: the server must not wait forever
        b"Content-Length: -1\r\n",
        b"Transfer-Encoding: chunked\r\n",
    ):
        status, _, _ = raw_get(server.url, b"/feed.rss", extra)
        assert status < 500, (extra, status)
    assert_server_survived(server)


@pytest.mark.e2e
def test_query_strings_give_the_same_document(server: RunningServer) -> None:
    """Unknown and repeated parameters change nothing: same bytes, same validators."""
    with server.client() as client:
        for path in DOCUMENTS:
            plain = client.get(path)
            for query in ("?utm_source=x&utm_source=y", "?page=2&page=3&limit=999999", "?format=atom", "?a=%ff%00"):
                response = client.get(path + query)
                assert response.status_code == 200, (path, query)
                assert response.content == plain.content, (path, query)
                assert response.headers["etag"] == plain.headers["etag"], (path, query)


@pytest.mark.e2e
def test_methods_other_than_get_and_head_are_refused(server: RunningServer) -> None:
    with server.client() as client:
        for method in ("POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND"):
            for path in ("/feed.rss", "/section/berita/feed.atom", "/sitemap.xml", "/healthz"):
                response = client.request(method, path, content=b"x" * 1000)
                assert 400 <= response.status_code < 500, (method, path, response.status_code)
    status, _, _ = raw_request(server.url, b"BREW /feed.rss HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status < 500


@pytest.mark.e2e
def test_a_foreign_host_never_reaches_a_url(tmp_path: Path, db_path: Path, now: datetime) -> None:
    """Host, X-Forwarded-Host, X-Forwarded-Proto and Forwarded set to another site, on
    the first request for each document (the one that renders it) and after."""
    hostile_site(db_path, now)
    headers = {
        "Host": EVIL,
        "X-Forwarded-Host": EVIL,
        "X-Forwarded-Proto": "gopher",
        "X-Forwarded-For": "203.0.113.9",
        "Forwarded": f"for=203.0.113.9;host={EVIL};proto=http",
        "X-Original-URL": f"http://{EVIL}/",
        "X-Rewrite-URL": f"http://{EVIL}/",
    }
    with running_server(db_path, tmp_path) as server, server.client() as client:
        paths = [*DOCUMENTS, "/section/nope/feed.rss", "/feed.rss/", "/section", "/nothing", "/healthz"]
        for _ in range(2):  # cold, then from the cache
            for path in paths:
                for encoding in ("identity", "gzip"):
                    response = client.get(path, headers={**headers, "Accept-Encoding": encoding})
                    assert response.status_code < 500, path
                    assert EVIL not in str(response.headers), path
                    assert EVIL.encode() not in response.content, path  # httpx decoded any gzip
                    if response.status_code == 200 and path != "/healthz":
                        assert BASE_URL.encode() in response.content, path
        # The absolute form names a host in the request line itself.
        for target in (f"http://{EVIL}/feed.atom".encode(), f"http://{EVIL}/sitemap.xml".encode()):
            status, response_headers, body = raw_get(server.url, target, f"X-Forwarded-Host: {EVIL}\r\n".encode())
            assert status < 500
            assert EVIL not in str(response_headers)
            assert EVIL.encode() not in body
        assert_server_survived(server)


# --- in-process: what the cache holds, and the read-only connections ----------------------


async def asgi_get(app: Any, raw_path: bytes, headers: list[tuple[bytes, bytes]]) -> int:
    """One GET through the ASGI app with a raw path, as uvicorn would hand it over."""
    from urllib.parse import unquote_to_bytes

    path = unquote_to_bytes(raw_path.split(b"?", 1)[0]).decode("utf-8", "replace")
    query = raw_path.split(b"?", 1)[1] if b"?" in raw_path else b""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": raw_path.split(b"?", 1)[0],
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("127.0.0.1", 1234),
        "server": ("127.0.0.1", 80),
    }
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(scope, receive, send)
    return statuses[0]


@pytest.mark.anyio
async def test_no_hostile_request_makes_a_cache_entry(db_path: Path, now: datetime, clock: FakeClock) -> None:
    hostile_site(db_path, now)
    async with serve(make_settings(db_path), clock) as (_client, app):
        cache = app.state.service.cache
        targets = [t for t in RAW_TARGETS if t.startswith(b"/")]
        targets += [d.encode() + q for d in DOCUMENTS for q in (b"?utm=1", b"?a=1&a=2", b"?x=" + b"y" * 3000)]
        for target in targets:
            for headers in ODD_HEADERS[:8]:
                pairs = [(k.lower().encode(), v.encode("latin-1")) for k, v in headers.items()]
                assert await asgi_get(app, target, pairs) < 500, target[:80]
        assert set(cache.entries) <= set(DOCUMENTS), set(cache.entries) - set(DOCUMENTS)


def snapshot(db_path: Path) -> str:
    digest = hashlib.sha256()
    for suffix in ("", "-wal"):
        path = Path(f"{db_path}{suffix}")
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()


WRITES = [
    "INSERT INTO sections (slug, title, description) VALUES ('peretas', 'Peretas', '')",
    "UPDATE articles SET title = 'diubah'",
    "DELETE FROM articles",
    "CREATE TABLE peretas (x)",
    "DROP TABLE articles",
    "PRAGMA user_version = 42",
]


@pytest.mark.anyio
async def test_the_server_connections_cannot_write_the_database(
    db_path: Path, now: datetime, clock: FakeClock, tmp_path: Path
) -> None:
    """Through the pool, and through a connection made the way the pool and the change
    check make theirs; and each of the two locks alone (mode=ro, query_only) holds."""
    hostile_site(db_path, now)
    with sqlite3.connect(db_path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    before = snapshot(db_path)
    async with serve(make_settings(db_path), clock) as (client, app):
        assert (await client.get("/feed.rss")).status_code == 200
        for sql in WRITES:
            with pytest.raises(DatabaseUnavailable, match=r"readonly|read-only|query_only"):
                await app.state.service.pool.fetchall(sql)

        reader, _ = await connect_reader(db_path, 1.0)
        try:
            for sql in WRITES:
                with pytest.raises(sqlite3.OperationalError, match="readonly"):
                    await reader.execute(sql)
        finally:
            await reader.close()

        import aiosqlite

        # query_only alone, on a connection opened read-write:
        writable = await aiosqlite.connect(db_path, isolation_level=None)
        try:
            await prepare_connection(writable, 1.0)
            for sql in WRITES:
                with pytest.raises(sqlite3.OperationalError, match="readonly"):
                    await writable.execute(sql)
        finally:
            await writable.close()
        # mode=ro alone, without query_only:
        uri_only = await aiosqlite.connect(f"file:{db_path}?mode=ro", uri=True, isolation_level=None)
        try:
            for sql in WRITES:
                with pytest.raises(sqlite3.OperationalError, match="readonly"):
                    await uri_only.execute(sql)
        finally:
            await uri_only.close()
        assert (await client.get("/feed.atom")).status_code == 200
    assert snapshot(db_path) == before
    assert not any(p.name.startswith("peretas") for p in tmp_path.iterdir())


def test_gzip_variants_decode_to_the_identity_bytes(db_path: Path, now: datetime) -> None:
    """Any Accept-Encoding that gets gzip gets the identity document, compressed."""

    async def run() -> None:
        hostile_site(db_path, now)
        async with serve(make_settings(db_path), FakeClock(now.timestamp())) as (client, _app):
            for path in DOCUMENTS:
                identity = await client.get(path, headers={"Accept-Encoding": "identity"})
                for accept in ("gzip", "GZIP", "x-gzip", "*", "gzip;q=0.001", "br;q=1, gzip;q=0.5"):
                    async with client.stream("GET", path, headers={"Accept-Encoding": accept}) as response:
                        raw = b"".join([chunk async for chunk in response.aiter_raw()])
                    assert response.headers.get("content-encoding") == "gzip", (path, accept)
                    assert gzip.decompress(raw) == identity.content, (path, accept)

    asyncio.run(run())
