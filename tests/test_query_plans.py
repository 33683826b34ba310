"""Every query behind the feeds and the sitemaps (the state load that decides the
index, an article sitemap, the news sitemap) is served by an index or by rowid:
no full scan of articles, no temporary B-tree for an ORDER BY. Checked with
EXPLAIN QUERY PLAN on the exact SQL and parameters the server ran, so scale
cannot rot silently (left to itself, the planner once served a feed's
rows query from the status index, reading the whole index at a million
articles)."""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FakeClock, article, make_settings, section, serve, write_records
from tests.sitemap_checks import crawl

pytestmark = pytest.mark.anyio
FULL_SCAN = re.compile(r"\bSCAN (a|articles)\b")


def plan(db_path: Path, sql: str, params: Any) -> list[str]:
    conn = sqlite3.connect(db_path)
    try:
        return [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
    finally:
        conn.close()


def record_queries(service: Any) -> list[tuple[str, Any]]:
    """Make the service's pool record every query it runs, with its parameters."""
    ran: list[tuple[str, Any]] = []
    original = service.pool.fetchall

    async def recording(sql: str, params: Any = ()) -> list[sqlite3.Row]:
        ran.append((sql, params))
        return await original(sql, params)

    service.pool.fetchall = recording
    return ran


async def test_sitemap_queries_use_indexes(db_path: Path, now: datetime, clock: FakeClock) -> None:
    day = now - timedelta(days=40)
    records = [article(f"old-{n}", day + timedelta(minutes=n)) for n in range(7)]
    records += [article(f"new-{n}", now - timedelta(hours=n)) for n in range(5)]
    records += [article("later", now + timedelta(hours=2)), article("gone", day, status="deleted")]
    write_records(db_path, records)
    settings = make_settings(db_path, sitemaps__page_size=3, sitemaps__news_page_size=2)
    async with serve(settings, clock) as (client, app):
        service = app.state.service
        ran = record_queries(service)
        # A cold load of the archive (the index's inputs), then every sitemap file.
        service._replaced = True
        await service.apply_state(await service.load_state(service.now()))
        assert len((await crawl(client)).files) > 4  # index, sections, days, numbered pages
        assert len((await crawl(client, "/news-sitemap.xml")).files) == 4
        # A reload after a write and a scheduled article coming due: the incremental path.
        write_records(db_path, [article("new-9", now - timedelta(minutes=5))])
        clock.advance(3 * 3600)
        assert await app.state.watcher.check()
    touched = [(sql, params) for sql, params in ran if "articles" in sql or "sitemap_hours" in sql]
    kinds = {
        "range stats": "WITH r(start, stop)",
        "page keys": "SELECT a.published_at, a.id FROM articles a WHERE a.status = 'published' AND a.published_at >=",
        "article rows": "SELECT a.published_at, a.id, a.url, a.updated_at, a.image_url",
        "article rows after a key": "(a.published_at, a.id) > (:after_at, :after_id)",
        "news window": "a.id FROM articles a WHERE a.status = 'published' AND a.published_at <= :now AND",
        "news rows": "SELECT a.published_at, a.id, a.url, a.title, a.language",
        "news rows before a key": "(a.published_at, a.id) < (:before_at, :before_id)",
        "stamps": "FROM sitemap_hours WHERE version >",
        "came due": "a.published_at > :after AND a.published_at <= :until",
    }
    for kind, text in kinds.items():
        assert any(text in sql for sql, _ in touched), f"no {kind} query was run"
    for sql, params in touched:
        lines = plan(db_path, sql, params)
        assert not [line for line in lines if FULL_SCAN.search(line)], (sql, lines)
        assert not [line for line in lines if "TEMP B-TREE" in line], (sql, lines)
        if "FROM articles" in sql:
            assert any(re.search(r"SEARCH a USING (COVERING )?INDEX", line) for line in lines), (sql, lines)


async def test_feed_queries_use_indexes_and_rowids(db_path: Path, now: datetime, clock: FakeClock) -> None:
    sections = ["berita", "berita/tiongkok", "berita/asia", "ekonomi"]
    records: list[dict[str, Any]] = [section(s) for s in sections]
    records += [article(f"a-{n}", now - timedelta(hours=n), section=sections[n % len(sections)]) for n in range(12)]
    records += [article("later", now + timedelta(hours=2)), article("gone", now, status="deleted")]
    write_records(db_path, records)
    async with serve(make_settings(db_path), clock) as (client, app):
        ran = record_queries(app.state.service)
        for path in ("/feed.rss", "/section/berita/feed.atom", "/section/ekonomi/feed.json"):
            assert (await client.get(path)).status_code == 200, path
    feed_queries = [(sql, params) for sql, params in ran if "FROM articles" in sql]
    rows_queries = [(sql, params) for sql, params in feed_queries if "a.pk IN" in sql]
    assert feed_queries and rows_queries
    for sql, params in feed_queries:
        lines = plan(db_path, sql, params)
        assert not [line for line in lines if FULL_SCAN.search(line)], (sql, lines)
        if ":s0" not in sql:  # a section feed merges its sections' first rows, at most `limit` each
            assert not [line for line in lines if "TEMP B-TREE" in line], (sql, lines)
    for sql, params in rows_queries:
        lines = plan(db_path, sql, params)
        assert any("SEARCH a USING INTEGER PRIMARY KEY" in line for line in lines), (sql, lines)


async def test_tag_author_feeds_and_the_change_check_read_by_index(
    db_path: Path, now: datetime, clock: FakeClock
) -> None:
    """A tag's feed reads its links by index, then each article by rowid (the sort is
    over that tag's articles only); the change check reads the feed stamps past its
    version, and only the sections, tags, authors and links they name."""
    records: list[dict[str, Any]] = [section("berita"), section("ekonomi")]
    records += [
        article(
            f"a-{n}",
            now - timedelta(hours=n),
            section=("berita", "ekonomi")[n % 2],
            tags=[f"t{n % 3}", "semua"],
            authors=[{"name": f"Penulis {n % 2}"}],
        )
        for n in range(12)
    ]
    records.append(article("later", now + timedelta(hours=1), tags=["t1"]))
    write_records(db_path, records)
    async with serve(make_settings(db_path), clock) as (client, app):
        ran = record_queries(app.state.service)
        for path in ("/tag/t1/feed.rss", "/tag/semua/feed.atom", "/author/penulis-0/feed.json"):
            assert (await client.get(path)).status_code == 200, path
        write_records(db_path, [article("a-1", now - timedelta(minutes=1), tags=["t2"])])
        clock.advance(2 * 3600)
        assert await app.state.watcher.check()
    kinds = {
        "tag feed": "FROM article_tags l CROSS JOIN articles a",
        "author feed": "FROM article_authors l CROSS JOIN articles a",
        "stamps": "FROM feed_stamps WHERE version >",
        "changed tags": "FROM tags t LEFT JOIN feed_stamps s",
        "changed authors": "FROM authors t LEFT JOIN feed_stamps s",
        "changed sections": "FROM sections s WHERE s.slug IN",
        "came due": "a.published_at > :after AND a.published_at <= :until",
        "links of due articles": "FROM article_tags WHERE article_pk IN",
    }
    for kind, text in kinds.items():
        assert any(text in sql for sql, _ in ran), f"no {kind} query was run"
    scan = re.compile(r"\bSCAN (a|articles|l|article_tags|article_authors|t|tags|authors|s|sections|feed_stamps)\b")
    for sql, params in ran:
        lines = plan(db_path, sql, params)
        assert not [line for line in lines if scan.search(line)], (sql, lines)
        if "CROSS JOIN" in sql:
            assert any("SEARCH l USING COVERING INDEX" in line for line in lines), (sql, lines)
            assert any("SEARCH a USING INTEGER PRIMARY KEY" in line for line in lines), (sql, lines)
