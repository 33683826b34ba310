"""Bugs an independent review of the first version found, each pinned by a test
that failed before its fix: renames the CMS makes, embargoed and draft articles
leaking through metadata, a document vanishing mid-render, a stale version kept
after a failed re-render, a write at start-up, and parents the CMS never declared."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import feedserver.cache
import feedserver.documents
from feedserver.app import create_app
from feedserver.db import DatabaseUnavailable
from tests.cms import cms_connection, publish
from tests.conftest import FakeClock, article, hold_feed_renders, make_settings, section, serve, write_records
from tests.readers import article_ids

pytestmark = pytest.mark.anyio
IDENTITY = {"Accept-Encoding": "identity"}


def small_site(db_path: Path, now: datetime) -> None:
    write_records(
        db_path,
        [
            section("berita"),
            section("berita/tiongkok"),
            section("ekonomi"),
            article("a1", now - timedelta(hours=2)),
            article("e1", now - timedelta(hours=3), section="ekonomi"),
        ],
    )


async def test_a_section_renamed_by_the_cms_moves_the_feed_date(db_path: Path, now: datetime, clock: FakeClock) -> None:
    """New bytes under an old Last-Modified would give a client that sends only
    If-Modified-Since a 304 for content it has not seen."""
    small_site(db_path, now)
    async with serve(make_settings(db_path), clock) as (client, app):
        before = await client.get("/section/ekonomi/feed.rss", headers=IDENTITY)
        clock.advance(60)
        with cms_connection(db_path, clock) as conn:
            conn.execute("UPDATE sections SET title = 'Bisnis' WHERE slug = 'ekonomi'")
        assert await app.state.watcher.check()
        after = await client.get(
            "/section/ekonomi/feed.rss", headers={**IDENTITY, "If-Modified-Since": before.headers["last-modified"]}
        )
        assert after.status_code == 200 and b"Bisnis" in after.content


async def test_a_tag_renamed_by_the_cms_reaches_the_feeds(db_path: Path, now: datetime, clock: FakeClock) -> None:
    small_site(db_path, now)
    async with serve(make_settings(db_path), clock) as (client, app):
        await client.get("/feed.json", headers=IDENTITY)
        with cms_connection(db_path, clock) as conn:
            conn.execute("UPDATE tags SET name = 'china' WHERE name = 'tiongkok'")
        assert await app.state.watcher.check()
        assert b'"china"' in (await client.get("/feed.json", headers=IDENTITY)).content


@pytest.mark.parametrize("slug", ["berita/tiongkok", "eksklusif/merger-bank-x"], ids=["existing", "new"])
async def test_scheduling_an_embargoed_article_changes_no_feed(
    db_path: Path, now: datetime, clock: FakeClock, slug: str
) -> None:
    """A new date or ETag would tell every reader that something is coming; a new
    section's name, feed or link would tell them what. The section an embargoed
    article implies exists only once that article is live."""
    small_site(db_path, now)
    due = now + timedelta(days=1)
    async with serve(make_settings(db_path), clock) as (client, app):
        paths = ["/feed.rss", "/section/berita/feed.rss", "/", "/sitemap.xml", "/sitemap-sections.xml"]
        before = {path: await client.get(path, headers=IDENTITY) for path in paths}
        clock.advance(120)
        with cms_connection(db_path, clock) as conn:
            publish(conn, "embargo", due, section=slug)
        await app.state.watcher.check()
        for path in paths:
            after = await client.get(path, headers=IDENTITY)
            assert after.headers["etag"] == before[path].headers["etag"], path
            assert after.headers["last-modified"] == before[path].headers["last-modified"], path
        if slug.startswith("eksklusif"):
            for hidden in (slug, "eksklusif"):
                assert (await client.get(f"/section/{hidden}/feed.rss")).status_code == 404, hidden
        clock.now = due.timestamp()  # its time comes: no write announces it
        assert await app.state.watcher.check()
        assert "embargo" in article_ids((await client.get(f"/section/{slug}/feed.json")).content, "json")
        assert f"/section/{slug}/feed.rss" in (await client.get("/")).text


async def test_a_draft_in_a_new_section_does_not_show_that_section(
    db_path: Path, now: datetime, clock: FakeClock
) -> None:
    write_records(db_path, [section("berita"), article("a", now - timedelta(hours=1), section="berita")])
    async with serve(make_settings(db_path), clock) as (client, app):
        with cms_connection(db_path, clock) as conn:
            publish(conn, "secret", now - timedelta(minutes=1), section="eksklusif/merger-bank-x", status="draft")
        await app.state.watcher.check()
        assert "merger-bank-x" not in (await client.get("/", headers=IDENTITY)).text
        assert (await client.get("/section/eksklusif/merger-bank-x/feed.rss")).status_code == 404
        with cms_connection(db_path, clock) as conn:  # published: now the section exists
            conn.execute("UPDATE articles SET status = 'published' WHERE id = 'secret'")
        assert await app.state.watcher.check()
        assert (await client.get("/section/eksklusif/merger-bank-x/feed.rss")).status_code == 200


async def test_a_parent_the_cms_never_declared_has_a_feed(db_path: Path, now: datetime, clock: FakeClock) -> None:
    """The contract: "the parent follows from the path" (README, database contract)."""
    write_records(db_path, [section("berita")])
    async with serve(make_settings(db_path), clock) as (client, app):
        with cms_connection(db_path, clock) as conn:
            publish(conn, "gol", now - timedelta(minutes=5), section="olahraga/sepakbola")
        await app.state.watcher.check()
        parent = await client.get("/section/olahraga/feed.json")
        assert parent.status_code == 200
        assert article_ids(parent.content, "json") == ["gol"]
        assert (await client.get("/section/olah/feed.json")).status_code == 404  # a prefix is not a parent


async def test_a_section_removed_during_a_cold_render_is_no_500(
    db_path: Path, now: datetime, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_records(
        db_path, [section("ekonomi"), section("berita"), article("e1", now - timedelta(hours=1), section="ekonomi")]
    )
    async with serve(make_settings(db_path), clock) as (client, app):
        entered, gate = hold_feed_renders(monkeypatch)
        cold = asyncio.create_task(client.get("/section/ekonomi/feed.rss", headers=IDENTITY))
        await entered.wait()
        with cms_connection(db_path, clock) as conn:
            conn.execute("DELETE FROM articles WHERE section = 'ekonomi'")
            conn.execute("DELETE FROM sections WHERE slug = 'ekonomi'")
        assert await app.state.watcher.check()
        gate.set()
        # The section is gone: a 404, and nothing cached that the fast path would
        # go on serving with a 200.
        assert (await cold).status_code == 404
        assert "/section/ekonomi/feed.rss" not in app.state.service.cache.entries
        assert (await client.get("/section/ekonomi/feed.rss", headers=IDENTITY)).status_code == 404


async def test_a_failed_re_render_is_retried_by_the_next_check(
    db_path: Path, now: datetime, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check lands while a cold render compresses; the request's own catch-up
    re-render meets a CMS lock. The old version must not stay until the next write."""
    write_records(db_path, [section("budaya"), article("a", now - timedelta(hours=1), section="budaya")])
    started, release = threading.Event(), threading.Event()
    real = feedserver.cache.make_rendered

    def slow(*args: Any) -> Any:
        started.set()
        assert release.wait(10)
        return real(*args)

    async with serve(make_settings(db_path), clock) as (client, app):
        service = app.state.service
        monkeypatch.setattr(feedserver.cache, "make_rendered", slow)
        cold = asyncio.create_task(client.get("/feed.json", headers=IDENTITY))
        assert await asyncio.to_thread(started.wait, 10)
        with cms_connection(db_path, clock) as conn:
            publish(conn, "baru", now - timedelta(seconds=30), section="budaya")
        assert await app.state.watcher.check()
        monkeypatch.undo()
        real_fetch = service.pool.fetchall

        async def locked(*args: Any, **kwargs: Any) -> Any:
            raise DatabaseUnavailable("database error: database is locked")

        service.pool.fetchall = locked  # the CMS holds its lock for a moment
        release.set()
        assert (await cold).status_code == 200
        service.pool.fetchall = real_fetch  # and lets go; no further write
        clock.advance(5)
        await app.state.watcher.check()
        assert "baru" in article_ids((await client.get("/feed.json", headers=IDENTITY)).content, "json")


async def test_a_write_while_the_server_starts_is_seen(db_path: Path, now: datetime, clock: FakeClock) -> None:
    """The lifespan takes the watcher's baseline before loading the first state,
    so a commit in between is a change for the first check, not the baseline."""
    small_site(db_path, now)
    app = create_app(make_settings(db_path), clock=clock, watch=False)
    service, watcher = app.state.service, app.state.watcher
    await watcher.connect()  # what the lifespan does first
    try:
        with cms_connection(db_path, clock) as conn:
            publish(conn, "baru", now - timedelta(seconds=30))
        await service.open()
        assert await watcher.check()  # the commit came after the baseline: a change
    finally:
        await watcher.stop()
        await service.close()
