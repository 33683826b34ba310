"""Every query behind a feed render is served by an index or by rowid: no full scan
of articles, no temporary B-tree for an ORDER BY (but the merge of a
section feed's per-section lists, at most `feeds.items` rows each), and the full rows of a feed's
articles are looked up by rowid. Checked with EXPLAIN QUERY PLAN on the exact
SQL and parameters the server ran (issue 5: left to itself, the planner served
the rows query from the status index, which reads the whole index at a million
articles: a plan, not a timing, keeps that from coming back)."""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FakeClock, article, make_settings, section, serve, write_records

pytestmark = pytest.mark.anyio
FULL_SCAN = re.compile(r"\bSCAN (a|articles)\b")


def plan(db_path: Path, sql: str, params: Any) -> list[str]:
    conn = sqlite3.connect(db_path)
    try:
        return [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
    finally:
        conn.close()


async def test_feed_queries_use_indexes_and_rowids(db_path: Path, now: datetime, clock: FakeClock) -> None:
    sections = ["berita", "berita/tiongkok", "berita/asia", "ekonomi"]
    records: list[dict[str, Any]] = [section(s) for s in sections]
    records += [article(f"a-{n}", now - timedelta(hours=n), section=sections[n % len(sections)]) for n in range(12)]
    records += [article("later", now + timedelta(hours=2)), article("gone", now, status="deleted")]
    write_records(db_path, records)
    ran: list[tuple[str, Any]] = []
    async with serve(make_settings(db_path), clock) as (client, app):
        service = app.state.service
        original = service.pool.fetchall

        async def recording(sql: str, params: Any = ()) -> list[sqlite3.Row]:
            ran.append((sql, params))
            return await original(sql, params)

        service.pool.fetchall = recording
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
