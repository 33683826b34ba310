"""Schema version 1 to 2: a version-1 database (built from the version-1 schema as it
was released, tests/data/schema-v1.sql) is refused with a reason until `init-db`
migrates it; the migration keeps every row and every feed's date, and the CMS
writing version-1 rows afterwards (no slugs) is served tag and author feeds.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from feedserver.cli import main
from feedserver.db import SCHEMA_VERSION
from tests.cms import cms_connection
from tests.conftest import BASE_URL, FakeClock, make_settings, serve
from tests.readers import article_ids, feed_date

V1_SCHEMA = Path(__file__).parent / "data" / "schema-v1.sql"
CONTENT = ("sections", "articles", "tags", "authors", "article_tags", "article_authors", "sitemap_hours")


def build_v1(db_path: Path, now: datetime) -> None:
    """A version-1 database with rows written as a version-1 CMS writes them."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(f"BEGIN;\n{V1_SCHEMA.read_text()}\nPRAGMA user_version = 1;\nCOMMIT;")
        conn.execute("BEGIN")
        for n, (section, tags, author) in enumerate(
            [
                ("berita/tiongkok", ["北京", "Ekonomi"], "Sari Wijaya"),
                ("ekonomi", ["背景"], "王芳"),
                ("ekonomi", ["北京"], "Sari Wijaya"),
            ]
        ):
            stamp = int((now - timedelta(hours=3 - n)).timestamp())
            conn.execute(
                "INSERT INTO articles (id, url, section, title, published_at, updated_at, status) "
                "VALUES (?, ?, ?, ?, ?, ?, 'published')",
                (f"v1-{n}", f"{BASE_URL}/{section}/v1-{n}", section, f"Artikel lama {n} 北京", stamp, stamp),
            )
            pk = conn.execute("SELECT pk FROM articles WHERE id = ?", (f"v1-{n}",)).fetchone()[0]
            for position, tag in enumerate(tags):
                conn.execute("INSERT OR IGNORE INTO tags (name) VALUES (?)", (tag,))
                conn.execute("INSERT INTO article_tags SELECT ?, ?, pk FROM tags WHERE name = ?", (pk, position, tag))
            conn.execute("INSERT OR IGNORE INTO authors (name) VALUES (?)", (author,))
            conn.execute("INSERT INTO article_authors SELECT ?, 0, pk FROM authors WHERE name = ?", (pk, author))
        conn.execute("COMMIT")
    finally:
        conn.close()


def content(db_path: Path) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(db_path) as conn:
        found = {}
        for table in CONTENT:
            names = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
            v1_columns = [n for n in names if n not in ("slug", "slug_source")]
            found[table] = sorted(conn.execute(f"SELECT {', '.join(v1_columns)} FROM {table}"))
        return found


def test_the_v1_schema_file_is_version_1() -> None:
    text = V1_SCHEMA.read_text()
    assert "schema version 1" in text and "feed_stamps" not in text and "slug_source" not in text


@pytest.mark.anyio
async def test_a_v1_database_is_refused_until_init_db_migrates_it(
    db_path: Path, now: datetime, clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    build_v1(db_path, now)
    before = content(db_path)

    # The server refuses to start on it (`feedserver serve` exits 2 with this line).
    with pytest.raises(RuntimeError, match="schema version 1; run feedserver init-db to migrate it"):
        async with serve(make_settings(db_path), clock):
            pass

    assert main(["init-db", str(db_path)]) == 0
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        # Derived slugs come from the names the rows had when migrated.
        assert sorted(conn.execute("SELECT name, slug, slug_source FROM tags")) == [
            ("Ekonomi", None, "Ekonomi"),
            ("北京", None, "北京"),
            ("背景", None, "背景"),
        ]
    # Every row as it was: no revision bumped, no feed's date moved.
    assert content(db_path) == before
    schema = content(db_path)
    assert main(["init-db", str(db_path)]) == 0  # again: nothing to do
    assert content(db_path) == schema

    async with serve(make_settings(db_path), clock) as (client, app):
        assert (await client.get("/healthz")).status_code == 200
        beijing_9 = "beijing-" + str(dict(before_tags(db_path))["背景"])
        expected = {
            "/tag/beijing/feed.atom": ["v1-2", "v1-0"],
            f"/tag/{beijing_9}/feed.atom": ["v1-1"],
            "/tag/ekonomi/feed.atom": ["v1-0"],
            "/author/sari-wijaya/feed.atom": ["v1-2", "v1-0"],
            "/author/wangfang/feed.atom": ["v1-1"],
        }
        for path, ids in expected.items():
            response = await client.get(path)
            assert response.status_code == 200, path
            assert article_ids(response.content, "atom") == ids, path
        site = await client.get("/feed.atom")
        with sqlite3.connect(db_path) as conn:
            newest = max(
                max(changed, published or 0)
                for changed, published in conn.execute(
                    "SELECT s.changed_at, (SELECT max(published_at) FROM articles a WHERE a.section = s.slug) "
                    "FROM sections s"
                )
            )
        assert feed_date(site.content, "atom") == datetime.fromtimestamp(newest, feed_date(site.content, "atom").tzinfo)

        # The CMS goes on writing version-1 rows (no slug): served with a derived slug.
        with cms_connection(db_path, clock) as conn:
            conn.execute("BEGIN IMMEDIATE")
            stamp = int((now - timedelta(minutes=5)).timestamp())
            conn.execute(
                "INSERT INTO articles (id, url, section, title, published_at, updated_at, status) "
                "VALUES ('v1-new', ?, 'ekonomi', 'Baru', ?, ?, 'published')",
                (f"{BASE_URL}/ekonomi/v1-new", stamp, stamp),
            )
            conn.execute("INSERT INTO tags (name) VALUES ('Pasar Modal')")
            conn.execute(
                "INSERT INTO article_tags SELECT (SELECT pk FROM articles WHERE id = 'v1-new'), 0, pk "
                "FROM tags WHERE name IN ('Pasar Modal')"
            )
            conn.execute(
                "INSERT INTO article_tags SELECT (SELECT pk FROM articles WHERE id = 'v1-new'), 1, pk "
                "FROM tags WHERE name = '北京'"
            )
            conn.execute("COMMIT")
        assert await app.state.watcher.check() is True
        assert article_ids((await client.get("/tag/pasar-modal/feed.atom")).content, "atom") == ["v1-new"]
        assert article_ids((await client.get("/tag/beijing/feed.atom")).content, "atom")[0] == "v1-new"


def before_tags(db_path: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(db_path) as conn:
        return [(str(name), int(pk)) for name, pk in conn.execute("SELECT name, pk FROM tags")]
