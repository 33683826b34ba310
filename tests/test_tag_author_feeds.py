"""Tag and author feeds: served in the three formats with the section feeds' rules,
slugs that are stable, URL-safe and distinct, and change detection that reaches them.

Rows come through the real importer and, as a CMS writes them, through plain
sqlite3 (tests/cms.py); the clock moves instead of the test sleeping.
"""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from feedserver.slugs import MAX_LENGTH, SLUG_RE, SlugRow, resolve, slugify
from tests.cms import cms_connection, publish
from tests.conftest import BASE_URL, FakeClock, article, make_settings, section, serve, write_records
from tests.readers import article_ids, feed_date
from tests.test_feed_formats import check_atom, check_json, check_rss

CHECKS = {"rss": check_rss, "atom": check_atom, "json": check_json}


def paths(kind: str, slug: str) -> dict[str, str]:
    return {fmt: f"/{kind}/{slug}/feed.{fmt}" for fmt in ("rss", "atom", "json")}


def tag_pk(db_path: Path, name: str) -> int:
    with sqlite3.connect(db_path) as conn:
        return int(conn.execute("SELECT pk FROM tags WHERE name = ?", (name,)).fetchone()[0])


@pytest.fixture
def site(db_path: Path, now: datetime) -> Path:
    hour = timedelta(hours=1)
    write_records(
        db_path,
        [
            section("berita/tiongkok", "Tiongkok"),
            section("ekonomi", "Ekonomi"),
            article("a-1", now - 5 * hour, tags=["北京", "Ekonomi & Bisnis"], authors=[{"name": "Sari Wijaya"}]),
            article(
                "a-2",
                now - 4 * hour,
                section="ekonomi",
                tags=["背景", {"name": "Xi Jinping 习近平", "slug": "xi-jinping"}],
                authors=[{"name": "Budi Santoso", "url": f"{BASE_URL}/penulis/budi", "slug": "budi"}],
            ),
            article("a-3", now - 3 * hour, tags=["北京"], authors=[{"name": "Sari Wijaya"}, {"name": "王芳"}]),
            article("konsep", now - 2 * hour, status="draft", tags=["rahasia"], authors=[{"name": "Penulis Rahasia"}]),
            article("nanti", now + hour, tags=["北京", "embargo"], authors=[{"name": "Sari Wijaya"}]),
        ],
    )
    return db_path


# --- slugs --------------------------------------------------------------------------------


def test_slugify_gives_lower_case_ascii_words_joined_by_hyphens() -> None:
    assert slugify("北京") == "beijing"
    assert slugify("Ekonomi & Bisnis") == "ekonomi-bisnis"
    assert slugify("Xi Jinping 习近平") == "xi-jinping-xijinping"
    assert slugify("Đà Nẵng") == "da-nang"
    assert slugify("---") == ""
    long = slugify("kata " * 40)
    assert len(long) <= MAX_LENGTH and SLUG_RE.match(long) and not long.endswith("-")


def test_collisions_are_settled_the_same_way_whatever_the_order() -> None:
    rows = [
        SlugRow(9, None, "背景"),
        SlugRow(3, None, "北京"),
        SlugRow(5, "beijing-9", "x"),  # a stored slug that is another's derived form
        SlugRow(7, None, "!!!"),
        SlugRow(8, "Ekonomi Bisnis", "y"),  # stored outside the scheme: served canonical
    ]
    expected = {3: "beijing", 9: "beijing-9-x", 5: "beijing-9", 7: "7", 8: "ekonomi-bisnis"}
    assert resolve(rows) == expected
    assert resolve(reversed(rows)) == expected
    assert all(SLUG_RE.match(slug) for slug in expected.values())


# --- the feeds ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_tag_and_author_feeds_list_their_live_articles_in_every_format(site: Path, clock: FakeClock) -> None:
    beijing_9 = f"beijing-{tag_pk(site, '背景')}"
    expected = {
        ("tag", "beijing"): ["a-3", "a-1"],
        ("tag", beijing_9): ["a-2"],
        ("tag", "xi-jinping"): ["a-2"],
        ("tag", "ekonomi-bisnis"): ["a-1"],
        ("author", "sari-wijaya"): ["a-3", "a-1"],
        ("author", "budi"): ["a-2"],
        ("author", "wangfang"): ["a-3"],
    }
    async with serve(make_settings(site), clock) as (client, _):
        for (kind, slug), ids in expected.items():
            for fmt, path in paths(kind, slug).items():
                response = await client.get(path)
                assert response.status_code == 200, path
                assert (
                    response.headers["content-type"].split(";")[0]
                    == {
                        "rss": "application/rss+xml",
                        "atom": "application/atom+xml",
                        "json": "application/feed+json",
                    }[fmt]
                )
                CHECKS[fmt](response.content)
                assert article_ids(response.content, fmt) == ids, path
                again = await client.get(path, headers={"If-None-Match": response.headers["etag"]})
                assert again.status_code == 304
        # The feed is about its tag: its title, its own URL, the page it links to.
        feed = check_json((await client.get("/tag/beijing/feed.json")).content)
        assert feed["title"].startswith("北京 – ")
        assert feed["feed_url"] == f"{BASE_URL}/tag/beijing/feed.json"
        assert feed["home_page_url"] == f"{BASE_URL}/tag/beijing/"
        budi = check_json((await client.get("/author/budi/feed.json")).content)
        assert budi["home_page_url"] == f"{BASE_URL}/penulis/budi"
        assert budi["title"].startswith("Budi Santoso – ")


@pytest.mark.anyio
@pytest.mark.parametrize(
    "path",
    [
        "/tag/rahasia/feed.rss",  # only on a draft: its name stays private
        "/author/penulis-rahasia/feed.rss",
        "/tag/embargo/feed.rss",  # only on a scheduled article
        "/tag/tidak-ada/feed.rss",
        "/tag/Beijing/feed.rss",  # not a slug: slugs are lower case
        "/tag/beijing--x/feed.rss",
        "/author/%E7%8E%8B/feed.rss",
        "/tag/beijing/feed.xml",
        "/tag/beijing/feed.rss/",
    ],
)
async def test_unknown_private_and_malformed_slugs_are_404(site: Path, clock: FakeClock, path: str) -> None:
    async with serve(make_settings(site), clock) as (client, _):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert len(response.text) < 200


@pytest.mark.anyio
async def test_a_scheduled_article_reaches_its_tag_and_author_feeds_when_due(
    site: Path, clock: FakeClock, now: datetime
) -> None:
    async with serve(make_settings(site), clock) as (client, app):
        before = await client.get("/tag/beijing/feed.atom")
        assert (await client.get("/tag/embargo/feed.atom")).status_code == 404
        clock.advance(3600 + 1)
        assert await app.state.watcher.check() is True
        for path in ("/tag/beijing/feed.atom", "/tag/embargo/feed.atom", "/author/sari-wijaya/feed.atom"):
            response = await client.get(path)
            assert response.status_code == 200, path
            assert article_ids(response.content, "atom")[0] == "nanti", path
        after = await client.get("/tag/beijing/feed.atom")
        assert after.headers["etag"] != before.headers["etag"]
        assert feed_date(after.content, "atom") == now + timedelta(hours=1)


@pytest.mark.anyio
async def test_cms_rows_without_slugs_get_derived_slugs_that_survive_a_rename(
    site: Path, clock: FakeClock, now: datetime
) -> None:
    async with serve(make_settings(site), clock) as (client, app):
        with cms_connection(site, clock) as conn:
            publish(conn, "cms-1", now - timedelta(minutes=30), section="ekonomi")
            conn.execute("BEGIN IMMEDIATE")
            pk = conn.execute("SELECT pk FROM articles WHERE id = 'cms-1'").fetchone()[0]
            conn.execute("INSERT INTO tags (name) VALUES ('上海 Expo')")
            conn.execute("INSERT INTO authors (name) VALUES ('Dewi Lestari')")
            conn.execute(
                "INSERT INTO article_tags (article_pk, position, tag_pk) "
                "SELECT ?, 0, pk FROM tags WHERE name = '上海 Expo'",
                (pk,),
            )
            conn.execute(
                "INSERT INTO article_authors (article_pk, position, author_pk) "
                "SELECT ?, 0, pk FROM authors WHERE name = 'Dewi Lestari'",
                (pk,),
            )
            conn.execute("COMMIT")
        assert await app.state.watcher.check() is True
        for path in ("/tag/shanghai-expo/feed.json", "/author/dewi-lestari/feed.json"):
            response = await client.get(path)
            assert response.status_code == 200, path
            assert article_ids(response.content, "json") == ["cms-1"]

        with cms_connection(site, clock) as conn:
            conn.execute("UPDATE tags SET name = 'Expo Shanghai' WHERE name = '上海 Expo'")
        assert await app.state.watcher.check() is True
        renamed = check_json((await client.get("/tag/shanghai-expo/feed.json")).content)
        assert renamed["title"].startswith("Expo Shanghai – ")
        assert (await client.get("/tag/expo-shanghai/feed.json")).status_code == 404

        # A slug written later by the CMS moves the feed there.
        with cms_connection(site, clock) as conn:
            conn.execute("UPDATE tags SET slug = 'expo' WHERE name = 'Expo Shanghai'")
        assert await app.state.watcher.check() is True
        assert (await client.get("/tag/expo/feed.json")).status_code == 200
        assert (await client.get("/tag/shanghai-expo/feed.json")).status_code == 404


@pytest.mark.anyio
async def test_links_added_and_removed_by_the_cms_reach_both_tags(site: Path, clock: FakeClock) -> None:
    async with serve(make_settings(site), clock) as (client, app):
        first = await client.get("/tag/ekonomi-bisnis/feed.rss")
        assert article_ids(first.content, "rss") == ["a-1"]
        assert article_ids((await client.get("/tag/xi-jinping/feed.rss")).content, "rss") == ["a-2"]
        with cms_connection(site, clock) as conn:
            conn.execute("BEGIN IMMEDIATE")
            a1 = conn.execute("SELECT pk FROM articles WHERE id = 'a-1'").fetchone()[0]
            conn.execute("DELETE FROM article_tags WHERE article_pk = ? AND position = 1", (a1,))
            conn.execute(
                "INSERT INTO article_tags (article_pk, position, tag_pk) SELECT ?, 1, pk FROM tags WHERE slug = ?",
                (a1, "xi-jinping"),
            )
            conn.execute("COMMIT")
        assert await app.state.watcher.check() is True
        assert article_ids((await client.get("/tag/xi-jinping/feed.rss")).content, "rss") == ["a-2", "a-1"]
        # No live article left: the tag's feed is gone.
        assert (await client.get("/tag/ekonomi-bisnis/feed.rss")).status_code == 404


@pytest.mark.anyio
async def test_a_section_rename_reaches_the_tag_feeds_of_its_articles(site: Path, clock: FakeClock) -> None:
    async with serve(make_settings(site), clock) as (client, app):
        before = await client.get("/tag/xi-jinping/feed.rss")
        assert "Ekonomi" in before.text
        with cms_connection(site, clock) as conn:
            conn.execute("UPDATE sections SET title = 'Ekonomi 经济' WHERE slug = 'ekonomi'")
        assert await app.state.watcher.check() is True
        after = await client.get("/tag/xi-jinping/feed.rss")
        assert "Ekonomi 经济" in after.text and after.headers["etag"] != before.headers["etag"]


# --- import -------------------------------------------------------------------------------


def test_import_refuses_a_slug_that_is_another_tags(site: Path, now: datetime, tmp_path: Path) -> None:
    from feedserver.importer import import_records

    line = article("b-1", now, tags=[{"name": "Lain", "slug": "beijing"}])
    import json

    result = import_records(site, "x.jsonl", [json.dumps(line).encode()])
    assert result.errors == ["x.jsonl:1: tags: slug 'beijing' is already tag '北京''s"]
    bad = article("b-2", now, tags=[{"name": "Lain", "slug": "Bukan Slug"}])
    result = import_records(site, "x.jsonl", [json.dumps(bad).encode()])
    assert result.errors and "tags[0].slug" in result.errors[0]


def test_import_gives_and_keeps_slugs(site: Path, now: datetime) -> None:
    def slugs() -> dict[str, Any]:
        with sqlite3.connect(site) as conn:
            return dict(conn.execute("SELECT name, slug FROM tags"))

    assert slugs()["Xi Jinping 习近平"] == "xi-jinping"
    assert slugs()["北京"] is None  # derived by the server
    # The same tag named again without a slug keeps the one it has.
    write_records(site, [article("b-3", now, tags=["Xi Jinping 习近平"])])
    assert slugs()["Xi Jinping 习近平"] == "xi-jinping"
    write_records(site, [article("b-3", now, tags=[{"name": "北京", "slug": "peking"}])])
    assert slugs()["北京"] == "peking"


# --- at scale: a write re-renders only what it touches -------------------------------------

TAGS, AUTHORS = 3000, 500


@pytest.fixture
def many_terms(db_path: Path, now: datetime) -> Path:
    """3,000 tags and 500 authors: article n has tag n and tag n+1, and author n mod 500."""
    sections = ["berita", "berita/tiongkok", "ekonomi", "budaya"]
    records: list[dict[str, Any]] = [section(s) for s in sections]
    for n in range(TAGS):
        records.append(
            article(
                f"m-{n:04d}",
                now - timedelta(minutes=10 + n),
                section=sections[n % len(sections)],
                tags=[f"Topik {n} 话题", f"Topik {(n + 1) % TAGS} 话题"],
                authors=[{"name": f"Penulis {n % AUTHORS}"}],
            )
        )
    write_records(db_path, records)
    return db_path


@pytest.mark.anyio
async def test_a_write_leaves_every_other_tag_and_author_feed_untouched(
    many_terms: Path, clock: FakeClock, now: datetime
) -> None:
    settings = make_settings(many_terms, feeds__items=5, cache__max_entries=20000, cache__max_bytes=1 << 30)
    async with serve(settings, clock) as (client, app):
        service = app.state.service
        term_paths = [f"/tag/topik-{n}-huati/feed.rss" for n in range(TAGS)]
        term_paths += [f"/author/penulis-{n}/feed.rss" for n in range(AUTHORS)]
        etags = {}
        all_paths = [*term_paths, "/feed.rss", "/section/ekonomi/feed.rss", "/section/budaya/feed.rss"]
        for first in range(0, len(all_paths), 100):
            batch = all_paths[first : first + 100]
            for path, response in zip(batch, await asyncio.gather(*(client.get(p) for p in batch)), strict=True):
                assert response.status_code == 200, path
                etags[path] = response.headers["etag"]
        entries = dict(service.cache.entries)
        renders, queries = service.cache.renders, service.pool.queries

        # m-0042 is in section ekonomi (42 % 4 == 2), tags 42 and 43, author 42.
        with cms_connection(many_terms, clock) as conn:
            conn.execute("UPDATE articles SET title = 'Judul baru 新标题' WHERE id = 'm-0042'")
        assert await app.state.watcher.check() is True

        touched = {
            "/feed.rss",
            "/section/ekonomi/feed.rss",
            "/tag/topik-42-huati/feed.rss",
            "/tag/topik-43-huati/feed.rss",
            "/author/penulis-42/feed.rss",
        }
        assert service.cache.renders - renders == len(touched)
        # What the check read is what the write touched, not what is cached.
        assert service.pool.queries - queries < 30
        for path, entry in entries.items():
            if path in touched:
                assert service.cache.entries[path] is not entry, path
                if "/tag/" in path or "/author/" in path:
                    assert "Judul baru 新标题" in (await client.get(path)).text, path
            else:
                assert service.cache.entries[path] is entry, path
        renders = service.cache.renders
        for path, etag in etags.items():
            response = await client.get(path, headers={"If-None-Match": etag, "Accept-Encoding": "identity"})
            if path not in touched:
                assert response.status_code == 304, path
            elif "/tag/" in path or "/author/" in path:
                assert response.status_code == 200, path
        assert service.cache.renders == renders
