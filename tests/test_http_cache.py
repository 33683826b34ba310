"""HTTP for cached feeds: conditional GET, HEAD, gzip, strong
ETags, render and query counts, single flight, bad requests, the Host header, /healthz.

Every validator a test sends back is one the server just sent.
"""

from __future__ import annotations

import asyncio
import gzip
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from pathlib import Path
from typing import Any

import httpx
import pytest

from feedserver.db import SCHEMA_VERSION
from tests.cms import cms_connection
from tests.conftest import BASE_URL, FakeClock, article, make_settings, section, serve, write_records
from tests.readers import FEED_PATHS, fmt_of, http_date, parse

SECTION_PATHS = tuple(f"/section/berita{p}" for p in FEED_PATHS) + tuple(
    f"/section/berita/tiongkok{p}" for p in FEED_PATHS
)
DOCUMENT_PATHS = (*FEED_PATHS, *SECTION_PATHS, "/")
IDENTITY = {"Accept-Encoding": "identity"}
# RFC 9110 15.4.5: the headers a 200 would carry that a cache updates on a 304; the
# surrogate keys and CDN-Cache-Control too, so a revalidated copy keeps them.
NOT_MODIFIED_HEADERS = {"etag", "cache-control", "vary", "cdn-cache-control", "surrogate-key", "cache-tag"}


def vary_of(path: str) -> str:
    """RSS and Atom also vary by Accept (a browser gets them as application/xml: test_pages.py)."""
    return "Accept, Accept-Encoding" if path.endswith((".rss", ".atom")) else "Accept-Encoding"


@pytest.fixture
def site(db_path: Path, now: datetime) -> Path:
    """A small site, all of it in the past, so moving the clock changes no feed."""
    records: list[dict[str, Any]] = [
        section("berita"),
        section("berita/tiongkok"),
        section("ekonomi"),
        section("opini"),
    ]
    for n in range(12):
        slug = ("berita", "berita/tiongkok", "ekonomi")[n % 3]
        records.append(article(f"a-{n:02d}", now - timedelta(hours=n + 1), section=slug))
    write_records(db_path, records)
    return db_path


async def get(client: httpx.AsyncClient, path: str, **headers: str) -> httpx.Response:
    return await client.get(path, headers={**IDENTITY, **headers})


async def raw_get(
    client: httpx.AsyncClient, path: str, method: str = "GET", **headers: str
) -> tuple[httpx.Response, bytes]:
    """The response and its body as sent (httpx would otherwise gunzip it)."""
    async with client.stream(method, path, headers=headers) as response:
        body = b"".join([chunk async for chunk in response.aiter_raw()])
    return response, body


async def asgi_get(app: Any, path: str, raw_path: bytes, headers: list[tuple[bytes, bytes]] = ()) -> tuple[int, bytes]:
    """Call the app with a request target exactly as a server would hand it over
    (httpx normalises `..` and encodings away before the app sees them)."""
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": raw_path,
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    await app(scope, receive, send)
    start = next(m for m in messages if m["type"] == "http.response.start")
    return start["status"], b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")


# --- conditional GET ----------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("path", DOCUMENT_PATHS)
async def test_etag_sent_back_gives_304_with_only_cache_headers(site: Path, clock: FakeClock, path: str) -> None:
    async with serve(make_settings(site), clock) as (client, _app):
        first = await get(client, path)
        assert first.status_code == 200
        etag = first.headers["etag"]
        again = await get(client, path, **{"If-None-Match": etag})
        assert again.status_code == 304
        assert again.content == b""
        assert set(again.headers) == NOT_MODIFIED_HEADERS
        assert again.headers["etag"] == etag
        assert again.headers["cache-control"] == first.headers["cache-control"]
        assert again.headers["vary"] == vary_of(path)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("template", "status"),
    [
        ("{etag}", 304),
        ('"other", {etag}', 304),
        ('"other",{etag} , "more"', 304),
        ("W/{etag}", 304),
        ('W/"other", W/{etag}', 304),
        ("*", 304),
        ('"other"', 200),
        ('W/"other", "again"', 200),
        ("{unquoted}", 200),
        ("", 200),
    ],
)
async def test_if_none_match_is_a_list_compared_weakly(
    site: Path, clock: FakeClock, template: str, status: int
) -> None:
    async with serve(make_settings(site), clock) as (client, _app):
        first = await get(client, "/feed.rss")
        etag = first.headers["etag"]
        value = template.format(etag=etag, unquoted=etag.strip('"'))
        response = await get(client, "/feed.rss", **{"If-None-Match": value})
        assert response.status_code == status
        if status == 200:
            assert response.content == first.content


@pytest.mark.anyio
async def test_if_modified_since(site: Path, clock: FakeClock) -> None:
    async with serve(make_settings(site), clock) as (client, _app):
        first = await get(client, "/feed.atom")
        last_modified = first.headers["last-modified"]
        moment = http_date(last_modified).timestamp()
        clock.advance(3600)  # an hour on: dates between the feed's and now are valid

        async def status(value: str, **more: str) -> int:
            response = await get(client, "/feed.atom", **{"If-Modified-Since": value, **more})
            if response.status_code == 304:
                assert response.content == b""
                assert set(response.headers) == NOT_MODIFIED_HEADERS
            else:
                assert response.content == first.content
            return response.status_code

        assert await status(last_modified) == 304
        assert await status(formatdate(moment + 30, usegmt=True)) == 304  # later, still in the past
        assert await status(formatdate(moment - 1, usegmt=True)) == 200
        assert await status(formatdate(0, usegmt=True)) == 200
        for malformed in ("yesterday", "Mon, 99 Foo 2025 99:99:99 GMT", "", "0", "\x01"):
            assert await status(malformed) == 200, malformed
        future = formatdate(clock.now + 3600, usegmt=True)  # invalid (RFC 9110 13.1.3): ignored
        assert await status(future) == 200
        # If-None-Match wins over If-Modified-Since, both ways.
        assert await status(last_modified, **{"If-None-Match": '"stale"'}) == 200
        stale_date = formatdate(moment - 3600, usegmt=True)
        assert await status(stale_date, **{"If-None-Match": first.headers["etag"]}) == 304


@pytest.mark.anyio
async def test_last_modified_and_cache_control(site: Path, clock: FakeClock) -> None:
    settings = make_settings(site, cache__max_age_seconds=123, cache__stale_while_revalidate_seconds=456)
    async with serve(settings, clock) as (client, _app):
        for path in DOCUMENT_PATHS:
            response = await get(client, path)
            assert response.status_code == 200
            directives = dict(
                (part.strip().partition("=")[0], part.strip().partition("=")[2])
                for part in response.headers["cache-control"].split(",")
            )
            assert directives["max-age"] == "123"
            assert directives["stale-while-revalidate"] == "456"
            assert "no-store" not in directives and "private" not in directives
            assert response.headers["vary"] == vary_of(path)
            modified = http_date(response.headers["last-modified"])
            assert datetime(2000, 1, 1, tzinfo=UTC) < modified <= datetime.now(UTC)  # the data's date, not 1970
            fmt = fmt_of(path)
            if fmt in ("rss", "atom"):
                document = parse(response.content, fmt)
                built = (
                    http_date(document.feed.updated) if fmt == "rss" else datetime.fromisoformat(document.feed.updated)
                )
                assert built == modified, path  # one date: the feed's and the response's


# --- HEAD and gzip ------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("encoding", ["identity", "gzip"])
async def test_head_has_get_headers_and_no_body(site: Path, clock: FakeClock, encoding: str) -> None:
    async with serve(make_settings(site), clock) as (client, _app):
        for path in ("/feed.json", "/section/berita/feed.rss", "/"):
            cold, cold_body = await raw_get(client, path, "HEAD", **{"Accept-Encoding": encoding})  # a miss
            full, body = await raw_get(client, path, "GET", **{"Accept-Encoding": encoding})
            warm, warm_body = await raw_get(client, path, "HEAD", **{"Accept-Encoding": encoding})  # a hit
            assert full.status_code == cold.status_code == warm.status_code == 200
            assert cold_body == warm_body == b""
            assert int(full.headers["content-length"]) == len(body) > 0
            assert dict(cold.headers) == dict(full.headers) == dict(warm.headers)
            conditional = await client.head(
                path, headers={"Accept-Encoding": encoding, "If-None-Match": full.headers["etag"]}
            )
            assert conditional.status_code == 304
            assert conditional.content == b""


@pytest.mark.anyio
@pytest.mark.parametrize("path", [*FEED_PATHS, "/section/berita/tiongkok/feed.atom", "/"])
async def test_gzip_body_is_the_identity_bytes(site: Path, clock: FakeClock, path: str) -> None:
    async with serve(make_settings(site), clock) as (client, _app):
        plain, plain_body = await raw_get(client, path, **{"Accept-Encoding": "identity"})
        zipped, zipped_body = await raw_get(client, path, **{"Accept-Encoding": "gzip"})
        assert "content-encoding" not in plain.headers
        assert zipped.headers["content-encoding"] == "gzip"
        assert gzip.decompress(zipped_body) == plain_body
        assert int(zipped.headers["content-length"]) == len(zipped_body) < len(plain_body)
        assert plain.headers["vary"] == zipped.headers["vary"] == vary_of(path)
        assert plain.headers["content-type"] == zipped.headers["content-type"]
        assert plain.headers["last-modified"] == zipped.headers["last-modified"]
        # Two representations, two strong ETags; each one revalidates.
        assert plain.headers["etag"] != zipped.headers["etag"]
        again = await client.get(path, headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["etag"]})
        assert again.status_code == 304
        assert again.headers["etag"] == zipped.headers["etag"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("accept_encoding", "gzipped"),
    [
        ("gzip", True),
        ("GZIP", True),
        ("gzip, deflate, br", True),
        ("deflate, gzip;q=0.5", True),
        ("x-gzip", True),
        ("*", True),
        ("br;q=1, *;q=0.1", True),
        ("gzip;q=0", False),
        ("gzip;q=0.0, identity", False),
        ("*;q=0, identity", False),
        ("gzip;q=0, *", False),
        ("identity", False),
        ("br, deflate", False),
        ("", False),
    ],
)
async def test_accept_encoding_negotiation(site: Path, clock: FakeClock, accept_encoding: str, gzipped: bool) -> None:
    async with serve(make_settings(site), clock) as (client, _app):
        _, identity_body = await raw_get(client, "/feed.rss", **{"Accept-Encoding": "identity"})
        response, body = await raw_get(client, "/feed.rss", **{"Accept-Encoding": accept_encoding})
        assert response.status_code == 200
        assert response.headers["vary"] == vary_of("/feed.rss")
        if gzipped:
            assert response.headers["content-encoding"] == "gzip"
            assert gzip.decompress(body) == identity_body
        else:
            assert "content-encoding" not in response.headers
            assert body == identity_body


@pytest.mark.anyio
async def test_strong_etag_is_the_same_across_workers_and_restarts(site: Path, clock: FakeClock) -> None:
    """Two app instances (two workers, or a restart an hour later) give the same bytes and ETags."""
    paths = [*FEED_PATHS, *SECTION_PATHS, "/"]
    seen: list[dict[str, tuple[str, str, bytes]]] = []
    for instance_clock in (clock, FakeClock(clock.now + 3600)):
        async with serve(make_settings(site), instance_clock) as (client, _app):
            answers = {}
            for path in paths:
                plain, plain_body = await raw_get(client, path, **{"Accept-Encoding": "identity"})
                zipped, _ = await raw_get(client, path, **{"Accept-Encoding": "gzip"})
                assert not plain.headers["etag"].startswith("W/")
                assert plain.headers["etag"].startswith('"') and plain.headers["etag"].endswith('"')
                answers[path] = (plain.headers["etag"], zipped.headers["etag"], plain_body)
            seen.append(answers)
    assert seen[0] == seen[1]
    assert len({etag for etag, _, _ in seen[0].values()}) == len(paths)  # derived from the bytes, so all differ


# --- render, query and compression counts ----------------------------------------------


@pytest.mark.anyio
async def test_second_request_renders_nothing_and_queries_nothing(site: Path, clock: FakeClock) -> None:
    async with serve(make_settings(site), clock) as (client, app):
        service = app.state.service
        for path in DOCUMENT_PATHS:
            first = await get(client, path)
            assert first.status_code == 200
            renders, queries, compressions = service.cache.renders, service.pool.queries, service.cache.compressions
            for headers in ({}, {"If-None-Match": first.headers["etag"]}, {"Accept-Encoding": "gzip"}):
                response = await client.get(path, headers={**IDENTITY, **headers})
                assert response.status_code in (200, 304)
            head = await client.head(path, headers=IDENTITY)
            assert head.status_code == 200
            assert service.cache.renders == renders, path
            assert service.pool.queries == queries, path
            assert service.cache.compressions == compressions, path


@pytest.mark.anyio
async def test_gzip_runs_once_per_version(site: Path, clock: FakeClock) -> None:
    async with serve(make_settings(site), clock) as (client, app):
        cache = app.state.service.cache
        before = cache.compressions
        bodies = set()
        for _ in range(20):
            _, body = await raw_get(client, "/feed.json", **{"Accept-Encoding": "gzip"})
            bodies.add(body)
        assert cache.compressions == before + 1
        assert len(bodies) == 1


@pytest.mark.anyio
async def test_concurrent_cold_requests_render_once(site: Path, clock: FakeClock) -> None:
    async with serve(make_settings(site), clock) as (client, app):
        cache = app.state.service.cache
        paths = ["/section/berita/feed.atom", "/feed.rss"]
        requests = [get(client, path) for _ in range(50) for path in paths]
        responses = await asyncio.gather(*requests)
        assert cache.renders == len(paths)
        assert cache.compressions == len(paths)
        for path in paths:
            answers = [r for r in responses if r.url.path == path]
            assert len(answers) == 50
            assert {r.status_code for r in answers} == {200}
            assert len({r.content for r in answers}) == 1
            assert len({r.headers["etag"] for r in answers}) == 1


# --- bad requests -------------------------------------------------------------------


@pytest.mark.anyio
async def test_unknown_section_is_a_short_404(site: Path, clock: FakeClock) -> None:
    async with serve(make_settings(site), clock) as (client, app):
        for path in (
            "/section/olahraga/feed.rss",
            "/section/berita/eropa/feed.json",
            "/section/ekonomi/makro/feed.atom",
        ):
            response = await get(client, path)
            assert response.status_code == 404, path
            assert response.headers["content-type"].startswith("text/plain")
            assert 0 < len(response.text) < 200
            assert "Traceback" not in response.text
        assert set(app.state.service.cache.entries) == set()


BAD_PATHS = [
    "/section/berita/feed.xml",
    "/section/berita/feed",
    "/section/berita",  # a page ends in / (and no redirect: it would be built from Host)
    "/section/",
    "/section",
    "/section/BERITA/feed.rss",
    "/section/Berita/Tiongkok/feed.atom",
    "/section/berita//tiongkok/feed.rss",
    "/section/berita/tiongkok/feed.rss/",
    "/section/berita/tiongkok/feed.RSS",
    "/section/-berita/feed.rss",
    "/section/berita%00/feed.rss",
    "/section/%ff%fe/feed.json",
    "/section/%E2%80%AE/feed.atom",
    "/section/%2e%2e/%2e%2e/feed.rss",
    "/section/berita%20tiongkok/feed.rss",
    "/section/berita/tiongkok/feed.rss%00",
    "/feed.rss%00",
    "/feed.rss/",
    "/feed.xml",
    "/feeds.rss",
    "/section/" + "a/" * 2000 + "feed.rss",
    "/section/" + "x" * 5000 + "/feed.json",
    "/%zz",
    "/section/%/feed.rss",
]


@pytest.mark.anyio
async def test_malformed_paths_are_4xx(site: Path, clock: FakeClock) -> None:
    async with serve(make_settings(site), clock) as (client, app):
        for path in BAD_PATHS:
            response = await get(client, path)
            assert 400 <= response.status_code < 500, (path, response.status_code)
        # Targets a real server hands over verbatim (httpx would normalise them first).
        for path in (
            "/section/../../etc/passwd",
            "/section/berita/../../feed.rss",
            "/section/./berita/feed.rss",
            "//feed.rss",
        ):
            status, body = await asgi_get(app, path, path.encode())
            assert 400 <= status < 500, (path, status)
            assert b"root:" not in body
        for method in ("POST", "PUT", "DELETE"):
            response = await client.request(method, "/feed.rss")
            assert 400 <= response.status_code < 500, method
        assert set(app.state.service.cache.entries) == set()


@pytest.mark.anyio
async def test_host_header_never_reaches_the_output(site: Path, clock: FakeClock) -> None:
    evil = "attacker.example"
    headers = {
        "Host": evil,
        "X-Forwarded-Host": evil,
        "X-Forwarded-Proto": "gopher",
        "Forwarded": f"host={evil};proto=http",
    }
    async with serve(make_settings(site), clock) as (client, _app):
        for path in DOCUMENT_PATHS:  # cold: these requests render the documents
            response = await client.get(path, headers={**IDENTITY, **headers})
            assert response.status_code == 200, path
            assert evil.encode() not in response.content, path
            assert evil not in str(response.headers), path
            fmt = fmt_of(path)
            if path == "/":
                continue
            document = parse(response.content, fmt)
            if fmt == "json":
                urls = [document["home_page_url"], document["feed_url"], *(item["url"] for item in document["items"])]
            else:
                urls = [link.href for link in document.feed.links]
                urls += [link.href for entry in document.entries for link in entry.links]
            assert urls
            assert all(url.startswith(BASE_URL + "/") for url in urls), urls
        # Nor into an error or a redirect (Starlette's slash redirects build Location from Host).
        for path in ("/section/nope/feed.rss", "/section", "/feed.rss/", "/section/berita/feed.json/"):
            response = await client.get(path, headers=headers)
            assert 400 <= response.status_code < 500, (path, response.status_code)
            assert evil not in response.text, path
            assert evil not in str(response.headers), path


@pytest.mark.anyio
async def test_query_strings_do_not_make_cache_entries(site: Path, clock: FakeClock) -> None:
    async with serve(make_settings(site), clock) as (client, app):
        cache = app.state.service.cache
        plain = await get(client, "/feed.rss")
        entries, renders = len(cache.entries), cache.renders
        for n in range(30):
            response = await get(client, f"/feed.rss?utm_source=x{n}&page={n}&_={n}")
            assert response.status_code == 200
            assert response.content == plain.content
        cold = await get(client, "/section/ekonomi/feed.json?x=1")  # a miss with a query string
        assert cold.status_code == 200
        assert (await get(client, "/section/ekonomi/feed.json?x=2")).content == cold.content
        assert len(cache.entries) == entries + 1
        assert cache.renders == renders + 1
        assert set(cache.entries) == {"/feed.rss", "/section/ekonomi/feed.json"}


# --- /healthz -----------------------------------------------------------------------


@pytest.mark.anyio
async def test_healthz(site: Path, clock: FakeClock) -> None:
    async with serve(make_settings(site), clock) as (client, app):
        healthy = await client.get("/healthz")
        assert healthy.status_code == 200
        assert healthy.headers["cache-control"] == "no-store"
        feed = await get(client, "/feed.rss")
        assert feed.status_code == 200

        with cms_connection(site) as conn:
            conn.execute("PRAGMA user_version = 99")
        unhealthy = await client.get("/healthz")
        assert unhealthy.status_code == 503
        assert "99" in unhealthy.text and "schema version" in unhealthy.text
        assert unhealthy.headers["cache-control"] == "no-store"
        # The server keeps running: the change check and every route still answer.
        # The rendered feed is served from the cache, one never rendered is a 503
        # with Retry-After, and an unknown section still a 404.
        await app.state.watcher.check()
        for path in DOCUMENT_PATHS:
            response = await get(client, path)
            if path == "/feed.rss":
                assert response.status_code == 200 and response.content == feed.content
            else:
                assert response.status_code == 503, (path, response.status_code)
                assert response.headers["retry-after"]
        assert (await get(client, "/section/nope/feed.rss")).status_code == 404
        assert (await client.get("/healthz")).status_code == 503

        with cms_connection(site) as conn:
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        await app.state.watcher.check()
        assert (await client.get("/healthz")).status_code == 200
        assert (await get(client, "/feed.rss")).content == feed.content
