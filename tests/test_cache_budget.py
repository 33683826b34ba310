"""The cache's bounds: one byte budget over every document, least recently used
dropped first, and a dropped version's validators kept so an unchanged document
is revalidated (304) without a render."""

from __future__ import annotations

import asyncio
import gzip
import random
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from feedserver.body import Body
from feedserver.cache import DocumentCache
from tests.cms import cms_connection, publish
from tests.conftest import FakeClock, article, make_settings, section, serve, write_records
from tests.readers import article_ids

SECTIONS = [f"rubrik-{n:02d}" for n in range(14)]


@pytest.fixture
def site(db_path: Path, now: datetime) -> Path:
    records = [section(slug) for slug in SECTIONS]
    records += [article(f"a-{n}", now - timedelta(hours=n + 1), section=slug) for n, slug in enumerate(SECTIONS)]
    write_records(db_path, records)
    return db_path


def paths() -> list[str]:
    return [f"/section/{slug}/feed.rss" for slug in SECTIONS]


@pytest.mark.anyio
async def test_a_dropped_but_unchanged_feed_is_revalidated_without_a_render(
    site: Path, clock: FakeClock, now: datetime
) -> None:
    async with serve(make_settings(site, cache__max_entries=10), clock) as (client, app):
        cache = app.state.service.cache
        first = {path: await client.get(path) for path in paths()}
        assert len(cache.entries) == 10 and cache.evictions == len(SECTIONS) - 10
        dropped = [path for path in paths() if path not in cache.entries]
        assert dropped == paths()[:4]  # the least recently used
        renders = cache.renders
        clock.advance(5)  # If-Modified-Since in the future is ignored: the import wrote "now" a moment ago
        for path in dropped:
            for encoding in ("gzip", "identity"):
                etag = first[path].headers["etag"] if encoding == "gzip" else None
                headers = {"Accept-Encoding": encoding}
                if etag is None:
                    headers["If-Modified-Since"] = first[path].headers["last-modified"]
                else:
                    headers["If-None-Match"] = etag
                response = await client.get(path, headers=headers)
                assert response.status_code == 304, (path, encoding)
                assert response.headers["etag"].endswith('-gz"') == (encoding == "gzip")
                assert response.headers["cache-control"].startswith("public")
        assert cache.renders == renders
        # Without a validator the client needs the bytes: rendered again.
        assert (await client.get(dropped[0])).status_code == 200
        assert cache.renders == renders + 1

        # A write to a dropped feed's scope: its old validators no longer answer.
        with cms_connection(site, clock) as conn:
            publish(conn, "baru", now - timedelta(minutes=1), section=SECTIONS[1])
        assert await app.state.watcher.check() is True
        response = await client.get(dropped[1], headers={"If-None-Match": first[dropped[1]].headers["etag"]})
        assert response.status_code == 200 and article_ids(response.content, "rss")[0] == "baru"


# What Chromium sends when it navigates (tests/test_pages.py): it gets the browser variant.
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


@pytest.mark.anyio
async def test_a_dropped_feed_revalidates_each_variant_by_its_own_etag(site: Path, clock: FakeClock) -> None:
    """The validators kept for a dropped version carry the browser variant's ETags too
    (feedserver.cache.Validators): a browser's copy is answered 304 with its own ETag,
    never relabelled with the reader variant's, and without a render."""
    async with serve(make_settings(site, cache__max_entries=10), clock) as (client, app):
        cache = app.state.service.cache
        identity = {"Accept-Encoding": "identity"}
        browser = {path: await client.get(path, headers={**identity, "Accept": BROWSER_ACCEPT}) for path in paths()}
        reader = {path: await client.get(path, headers=identity) for path in paths()}
        dropped = [path for path in paths() if path not in cache.entries]
        assert dropped
        renders = cache.renders
        for path in dropped:
            etag = browser[path].headers["etag"]
            assert etag.endswith('-xsl"') and etag != reader[path].headers["etag"]
            again = await client.get(path, headers={**identity, "Accept": BROWSER_ACCEPT, "If-None-Match": etag})
            assert again.status_code == 304 and again.headers["etag"] == etag, path
        assert cache.renders == renders
        # A reader holding the browser's ETag does not hold its own variant: the bytes
        # under its own type and ETag.
        crossed = await client.get(
            dropped[0], headers={**identity, "If-None-Match": browser[dropped[0]].headers["etag"]}
        )
        assert crossed.status_code == 200 and crossed.headers["etag"] == reader[dropped[0]].headers["etag"]


@pytest.mark.anyio
async def test_a_hit_keeps_a_feed_cached(site: Path, clock: FakeClock) -> None:
    async with serve(make_settings(site, cache__max_entries=10), clock) as (client, app):
        cache = app.state.service.cache
        for path in paths()[:10]:
            await client.get(path)
        await client.get(paths()[0])  # used: now the most recent
        for path in paths()[10:12]:
            await client.get(path)
        assert paths()[0] in cache.entries
        assert paths()[1] not in cache.entries and paths()[2] not in cache.entries


@pytest.mark.anyio
async def test_feeds_keep_only_their_gzip_copy(site: Path, clock: FakeClock) -> None:
    async with serve(make_settings(site), clock) as (client, app):
        plain = await client.get(paths()[0], headers={"Accept-Encoding": "identity"})
        entry = app.state.service.cache.entries[paths()[0]]
        assert entry.body is None and entry.size == len(entry.gzip_body)
        assert gzip.decompress(entry.gzip_body) == plain.content
        assert int(plain.headers["content-length"]) == len(plain.content)


def test_one_byte_budget_bounds_every_document() -> None:
    """Small and large documents together stay within max_bytes; large ones go first."""
    cache = DocumentCache(1000, "public", 1, max_bytes=20_000, identity_max_bytes=0, large_bytes=5_000)

    async def fill() -> None:
        for n in range(30):
            size = 6_000 if n % 5 == 0 else 1_500

            async def render(n: int = n, size: int = size) -> tuple[Body, object]:
                return Body(random.Random(n).randbytes(size), 0, "x/y"), n

            await cache.render(f"/{n}", render)

    asyncio.run(fill())
    assert cache.bytes <= 20_000
    assert cache.bytes == sum(entry.size for entry in cache.entries.values())
    small = [key for key in cache.entries if int(key[1:]) % 5]
    # Every small document since the last large one is kept: the large ones went first.
    assert small[-4:] == ["/26", "/27", "/28", "/29"]
    assert set(cache.evicted) == {f"/{n}" for n in range(30)} - set(cache.entries)
