"""The change check: CMS writes, replaced files and scheduled
articles reach the feeds, only the affected feeds re-render, and feed dates never
go backwards.

Writes go through a separate sqlite3 connection as the CMS's would (tests/cms.py);
the clock moves instead of the test sleeping.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

import feedserver.cache
from feedserver.db import DatabaseUnavailable
from tests.cms import cms_connection, publish, remove
from tests.conftest import FakeClock, article, make_settings, section, serve, write_records
from tests.readers import FEED_PATHS, article_ids, feed_date, fmt_of, http_date, parse, titles

IDENTITY = {"Accept-Encoding": "identity"}
SECTIONS = ("berita", "berita/tiongkok", "berita/asia", "ekonomi", "budaya")


@pytest.fixture
def site(db_path: Path, now: datetime) -> Path:
    """Every section has articles, all at least an hour old; one is scheduled in ten minutes."""
    records: list[dict[str, Any]] = [section(slug) for slug in SECTIONS]
    for n in range(15):
        slug = SECTIONS[n % len(SECTIONS)]
        records.append(article(f"a-{n:02d}", now - timedelta(hours=n + 1), section=slug))
    records.append(article("nanti", now + timedelta(minutes=10), section="ekonomi"))
    records.append(article("konsep", now - timedelta(minutes=5), section="ekonomi", status="draft"))
    write_records(db_path, records)
    return db_path


async def ids(client: httpx.AsyncClient, path: str) -> list[str]:
    response = await client.get(path, headers=IDENTITY)
    assert response.status_code == 200, path
    return article_ids(response.content, fmt_of(path))


def section_paths(slug: str) -> list[str]:
    return [f"/section/{slug}{p}" for p in FEED_PATHS]


# --- writes become visible ------------------------------------------------------------


@pytest.mark.anyio
async def test_cms_write_is_visible_after_a_check(site: Path, clock: FakeClock, now: datetime) -> None:
    async with serve(make_settings(site), clock) as (client, app):
        watched = [*FEED_PATHS, *section_paths("ekonomi")]
        before = {path: await client.get(path, headers=IDENTITY) for path in watched}
        assert await app.state.watcher.check() is False  # nothing happened yet

        with cms_connection(site, clock) as conn:
            publish(conn, "baru", now - timedelta(seconds=30), section="ekonomi")
        for path in watched:  # cached, and no check has run: still the old version
            assert "baru" not in await ids(client, path)

        assert await app.state.watcher.check() is True
        for path in watched:
            response = await client.get(path, headers=IDENTITY)
            assert article_ids(response.content, fmt_of(path))[0] == "baru", path
            assert response.headers["etag"] != before[path].headers["etag"]
            stale = await client.get(path, headers={**IDENTITY, "If-None-Match": before[path].headers["etag"]})
            assert stale.status_code == 200
        assert await app.state.watcher.check() is False


@pytest.mark.anyio
async def test_check_without_change_does_no_work(site: Path, clock: FakeClock) -> None:
    async with serve(make_settings(site), clock) as (client, app):
        service = app.state.service
        for path in (*FEED_PATHS, "/"):
            await client.get(path)
        renders, queries = service.cache.renders, service.pool.queries
        for _ in range(5):
            assert await app.state.watcher.check() is False
        assert (service.cache.renders, service.pool.queries) == (renders, queries)


@pytest.mark.anyio
async def test_background_check_shows_a_write_within_the_configured_delay(
    site: Path, clock: FakeClock, now: datetime
) -> None:
    refresh = 0.2
    # The bound: one refresh interval for the check to come round, plus time for
    # the check and the re-render themselves (generous, for a loaded machine).
    bound = refresh + 2.0
    async with serve(make_settings(site, cache__refresh_seconds=refresh), clock, watch=True) as (client, app):
        assert "baru" not in await ids(client, "/feed.json")
        with cms_connection(site, clock) as conn:
            publish(conn, "baru", now - timedelta(seconds=30), section="budaya")
        written = time.monotonic()
        while True:
            elapsed = time.monotonic() - written
            visible = "baru" in await ids(client, "/feed.json")
            if visible or elapsed > bound:
                break
            await asyncio.sleep(refresh / 4)
        assert visible, f"the write was not visible {elapsed:.2f} s after it (refresh_seconds = {refresh})"
        assert app.state.watcher.checks >= 1


# --- only affected feeds re-render --------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("written", "affected", "unaffected"),
    [
        ("ekonomi", ["ekonomi"], ["berita", "berita/tiongkok", "budaya"]),
        ("berita/tiongkok", ["berita", "berita/tiongkok"], ["berita/asia", "ekonomi"]),
    ],
)
async def test_a_change_rerenders_only_the_feeds_it_affects(
    site: Path, clock: FakeClock, now: datetime, written: str, affected: list[str], unaffected: list[str]
) -> None:
    async with serve(make_settings(site), clock) as (client, app):
        cache = app.state.service.cache
        affected_paths = [*FEED_PATHS, *(p for slug in affected for p in section_paths(slug))]
        unaffected_paths = [p for slug in unaffected for p in section_paths(slug)]
        for path in (*affected_paths, *unaffected_paths):
            await client.get(path)
        entries = dict(cache.entries)
        renders = cache.renders

        with cms_connection(site, clock) as conn:
            publish(conn, "baru", now - timedelta(seconds=30), section=written)
        assert await app.state.watcher.check() is True

        assert cache.renders == renders + len(affected_paths)  # eagerly, once each
        for path in affected_paths:
            assert cache.entries[path] is not entries[path], path
            assert "baru" in await ids(client, path), path
        for path in unaffected_paths:
            assert cache.entries[path] is entries[path], path
            assert "baru" not in await ids(client, path), path
        assert cache.renders == renders + len(affected_paths)  # serving them rendered nothing more


# --- scheduled articles -------------------------------------------------------------------


@pytest.mark.anyio
async def test_future_article_appears_when_its_time_comes_without_a_write(
    site: Path, clock: FakeClock, now: datetime
) -> None:
    async with serve(make_settings(site), clock) as (client, app):
        watched = [*FEED_PATHS, *section_paths("ekonomi")]
        for path in watched:
            assert "nanti" not in await ids(client, path)
        clock.now = now.timestamp() + 10 * 60 - 1
        assert await app.state.watcher.check() is False
        for path in watched:
            assert "nanti" not in await ids(client, path)
        clock.advance(1)  # its publish time: visible from this second on
        assert await app.state.watcher.check() is True
        for path in watched:
            assert (await ids(client, path))[0] == "nanti", path
        for path in section_paths("budaya"):
            assert "nanti" not in await ids(client, path)
        assert "konsep" not in await ids(client, "/feed.json")  # drafts never


# --- dates never go backwards ---------------------------------------------------------------


async def dates(client: httpx.AsyncClient, path: str) -> tuple[datetime, datetime | None, httpx.Response]:
    response = await client.get(path, headers=IDENTITY)
    assert response.status_code == 200, path
    return http_date(response.headers["last-modified"]), feed_date(response.content, fmt_of(path)), response


@pytest.mark.anyio
@pytest.mark.parametrize("how", ["deleted", "delete-row", "draft"])
@pytest.mark.parametrize(
    ("target", "watched"),
    [
        # The newest article of a section with others left in it.
        ("ekonomi", [*FEED_PATHS, *section_paths("ekonomi")]),
        # The only article of a subsection: the subsection empties; its parent and the site must not date back.
        ("berita/baru", [*FEED_PATHS, *section_paths("berita"), *section_paths("berita/baru")]),
    ],
)
async def test_removing_the_newest_article_never_makes_a_feed_older(
    site: Path, clock: FakeClock, now: datetime, how: str, target: str, watched: list[str]
) -> None:
    async with serve(make_settings(site), clock) as (client, app):
        clock.advance(60)
        with cms_connection(site, clock) as conn:
            publish(conn, "terbaru", datetime.fromtimestamp(clock.now), section=target)
        assert await app.state.watcher.check() is True
        before = {path: await dates(client, path) for path in watched}
        for path in watched:
            assert "terbaru" in await ids(client, path), path

        clock.advance(60)
        with cms_connection(site, clock) as conn:
            remove(conn, "terbaru", how)
        assert await app.state.watcher.check() is True
        for path in watched:
            modified, built, response = await dates(client, path)
            old_modified, old_built, old_response = before[path]
            assert "terbaru" not in article_ids(response.content, fmt_of(path)), path
            assert modified >= old_modified, path
            if built is not None:
                assert old_built is not None
                assert built >= old_built, path
                assert built == modified, path
            # A client that only sends If-Modified-Since must see the removal.
            revalidated = await client.get(
                path, headers={**IDENTITY, "If-Modified-Since": old_response.headers["last-modified"]}
            )
            assert revalidated.status_code == 200, path
            assert revalidated.content == response.content, path


@pytest.mark.anyio
async def test_empty_section_is_a_valid_feed_dated_by_the_site(db_path: Path, clock: FakeClock, now: datetime) -> None:
    write_records(
        db_path,
        [
            section("berita"),
            section("opini", description="Belum ada tulisan."),
            article("a-1", now - timedelta(days=2), section="berita"),
            article("konsep", now - timedelta(hours=1), section="opini", status="draft"),
            article("dihapus", now - timedelta(hours=1), section="opini", status="deleted"),
            article("nanti", now + timedelta(days=1), section="opini"),
        ],
    )
    async with serve(make_settings(db_path), clock) as (client, _app):
        site_modified = http_date((await client.get("/feed.rss")).headers["last-modified"])
        assert site_modified.year > 2000
        for path in section_paths("opini"):
            response = await client.get(path, headers=IDENTITY)
            assert response.status_code == 200, path
            fmt = fmt_of(path)
            document = parse(response.content, fmt)
            if fmt == "json":
                assert document["items"] == []
                assert document["title"]
            else:
                assert document.entries == []
                assert feed_date(response.content, fmt) == site_modified, path
            assert http_date(response.headers["last-modified"]) == site_modified, path


# --- a replaced database file ---------------------------------------------------------------


def replace_database(db_path: Path, records: list[dict[str, Any]], changed_at: int | None = None) -> None:
    """Build a new database beside the served one and rename it over it, as a deploy would."""
    fresh = db_path.with_name("fresh.sqlite")
    write_records(fresh, records)
    if changed_at is not None:
        with cms_connection(fresh) as conn:
            conn.execute("UPDATE sections SET changed_at = ?", (changed_at,))
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    os.replace(fresh, db_path)


@pytest.mark.anyio
async def test_database_replaced_by_rename_is_served(site: Path, clock: FakeClock, now: datetime) -> None:
    async with serve(make_settings(site), clock) as (client, app):
        before = {path: await ids(client, path) for path in (*FEED_PATHS, *section_paths("ekonomi"))}
        assert "a-00" in before["/feed.json"] and "a-03" in before["/section/ekonomi/feed.json"]
        replace_database(
            site,
            [section("ekonomi"), article("pengganti", now - timedelta(minutes=1), section="ekonomi")],
        )
        assert await app.state.watcher.check() is True
        for path in (*FEED_PATHS, *section_paths("ekonomi")):
            assert await ids(client, path) == ["pengganti"], path
        for path in section_paths("budaya"):  # a section the new file does not have
            assert (await client.get(path)).status_code == 404
        assert (await client.get("/healthz")).status_code == 200
        assert await app.state.watcher.check() is False


@pytest.mark.anyio
async def test_replaced_file_with_the_same_stamps_is_rerendered(db_path: Path, clock: FakeClock, now: datetime) -> None:
    """A file rebuilt from the same data in the same second has the same section stamps:
    after a rename, nothing cached from the old file can be trusted."""
    stamp = int(now.timestamp()) - 3600

    def records(title: str) -> list[dict[str, Any]]:
        return [section("ekonomi"), article("a-1", now - timedelta(hours=2), section="ekonomi", title=title)]

    write_records(db_path, records("Judul lama"))
    with cms_connection(db_path) as conn:
        conn.execute("UPDATE sections SET changed_at = ?", (stamp,))
    async with serve(make_settings(db_path), clock) as (client, app):
        paths = [*FEED_PATHS, *section_paths("ekonomi")]
        for path in paths:
            response = await client.get(path, headers=IDENTITY)
            assert titles(response.content, fmt_of(path)) == ["Judul lama"]
        replace_database(db_path, records("Judul baru"), changed_at=stamp)
        assert await app.state.watcher.check() is True
        for path in paths:
            response = await client.get(path, headers=IDENTITY)
            assert titles(response.content, fmt_of(path)) == ["Judul baru"], path


# --- robustness of the check -------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_failed_reload_is_retried_at_the_next_check(
    site: Path, clock: FakeClock, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with serve(make_settings(site), clock) as (client, app):
        assert "baru" not in await ids(client, "/feed.json")
        service = app.state.service
        real_next_state = service.next_state
        failures = []

        async def flaky_next_state(now: int, whole: bool = False) -> Any:
            if not failures:
                failures.append(now)
                raise DatabaseUnavailable("database is locked")
            return await real_next_state(now, whole)

        monkeypatch.setattr(service, "next_state", flaky_next_state)
        with cms_connection(site, clock) as conn:
            publish(conn, "baru", now - timedelta(seconds=30), section="budaya")
        assert await app.state.watcher.check() is False  # a CMS lock: only a delay
        assert failures
        assert "baru" not in await ids(client, "/feed.json")
        assert await app.state.watcher.check() is True
        assert "baru" in await ids(client, "/feed.json")


@pytest.mark.anyio
async def test_a_write_during_a_cold_render_is_not_lost(
    site: Path, clock: FakeClock, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check that lands while a cold render is being hashed and compressed finds no
    cache entry to refresh; the render must not then store the old version as current."""
    started, release = threading.Event(), threading.Event()
    real_make_rendered = feedserver.cache.make_rendered

    def slow_make_rendered(*args: Any) -> Any:
        started.set()
        assert release.wait(10)
        return real_make_rendered(*args)

    async with serve(make_settings(site), clock) as (client, app):
        monkeypatch.setattr(feedserver.cache, "make_rendered", slow_make_rendered)
        cold = asyncio.create_task(client.get("/feed.json", headers=IDENTITY))
        assert await asyncio.to_thread(started.wait, 10)
        with cms_connection(site, clock) as conn:
            publish(conn, "baru", now - timedelta(seconds=30), section="budaya")
        assert await app.state.watcher.check() is True
        release.set()
        first = await cold
        assert first.status_code == 200
        monkeypatch.undo()
        assert "baru" in await ids(client, "/feed.json")


@pytest.mark.anyio
@pytest.mark.parametrize("second_write", ["publish", "edit", "delete"])
async def test_writes_within_one_second_are_all_seen(
    site: Path, clock: FakeClock, now: datetime, second_write: str
) -> None:
    """Change stamps have whole seconds; a CMS saving twice in one second, with a
    check in between, must still have its second save served."""
    async with serve(make_settings(site), clock) as (client, app):
        watched = [*FEED_PATHS, *section_paths("budaya")]
        for path in watched:
            await client.get(path)
        clock.advance(60)
        with cms_connection(site, clock) as conn:
            publish(conn, "pertama", datetime.fromtimestamp(clock.now), section="budaya", title="Versi satu")
            assert await app.state.watcher.check() is True
            for path in watched:
                assert "pertama" in await ids(client, path), path
            if second_write == "publish":  # the same second, on the same clock
                publish(conn, "kedua", datetime.fromtimestamp(clock.now), section="budaya")
            elif second_write == "edit":
                conn.execute("UPDATE articles SET title = 'Versi dua' WHERE id = 'pertama'")
            else:
                remove(conn, "pertama", "deleted")
        assert await app.state.watcher.check() is True
        for path in watched:
            response = await client.get(path, headers=IDENTITY)
            shown = dict(
                zip(article_ids(response.content, fmt_of(path)), titles(response.content, fmt_of(path)), strict=True)
            )
            if second_write == "publish":
                assert "kedua" in shown, path
            elif second_write == "edit":
                assert shown["pertama"] == "Versi dua", path
            else:
                assert "pertama" not in shown, path
