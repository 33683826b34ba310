"""Rows the CMS writes that the importer would have refused, each written here the
way a CMS does: its own sqlite3 connection, plain SQL, INSERT OR REPLACE, wrong
types, empty strings.

Schema version 2 and later refuse them. A database written before still holds
them (init-db migrates a file without touching its rows), as does one whose
refusing triggers a writer dropped: the server reads around them: the row is
left out, logged once with its id and counted by /healthz, and every other
document stays current and valid. The server reads only the current schema
version, so these tests write the rows into a current database with those
triggers dropped.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import lxml.html
import pytest

from feedserver.cli import main
from feedserver.db import SCHEMA_VERSION
from feedserver.documents import FeedDocument
from feedserver.feeds import FeedScope
from feedserver.service import RENDER_ATTEMPTS
from feedserver.state import SiteState, load_site_state
from feedserver.text import uri
from tests.cms import cms_connection
from tests.conftest import (
    BASE_URL,
    FakeClock,
    article,
    hold_feed_renders,
    make_settings,
    section,
    serve,
    write_records,
)
from tests.readers import FEED_PATHS, article_ids, fmt_of
from tests.sitemap_checks import SM, assert_valid, crawl
from tests.test_feed_formats import check_atom, check_json, check_rss, links_in
from tests.uvicorn_process import free_port, server_environment

pytestmark = pytest.mark.anyio
IDENTITY = {"Accept-Encoding": "identity"}
V1_SCHEMA = Path(__file__).parent / "data" / "schema-v1.sql"
CHECKS = {"rss": check_rss, "atom": check_atom, "json": check_json}


REFUSING_TRIGGERS = (
    "articles_refuse_insert",
    "articles_refuse_update",
    "sections_refuse_insert",
    "sections_refuse_update",
)


def version_1_database(path: Path) -> Path:
    """An empty database of schema version 1, as feedserver 0.1's init-db made it."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(V1_SCHEMA.read_text(encoding="utf-8") + "\nPRAGMA user_version = 1;")
    finally:
        conn.close()
    return path


def unguarded_database(path: Path) -> Path:
    """A database of the current schema without the triggers that refuse bad rows:
    it takes the rows a version-1 database may hold (and init-db keeps)."""
    assert main(["init-db", str(path)]) == 0
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for trigger in REFUSING_TRIGGERS:
            assert conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = ?", (trigger,)
            ).fetchone()
            conn.execute(f"DROP TRIGGER {trigger}")
    finally:
        conn.close()
    return path


def stamp(moment: datetime) -> int:
    return int(moment.timestamp())


def write(
    conn: sqlite3.Connection,
    article_id: str,
    section: str,
    published_at: object,
    title: object = None,
    updated_at: object = None,
    status: str = "published",
    verb: str = "INSERT",
    url: str | None = None,
) -> None:
    """One article as a CMS saves it, with whatever types it has at hand."""
    conn.execute(
        f"{verb} INTO articles (id, url, section, title, summary, content_html, published_at, updated_at, status) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            article_id,
            url or f"{BASE_URL}/{section}/{article_id}",
            section,
            f"Kabar {article_id} 北京" if title is None else title,
            f"Ringkasan {article_id}.",
            f"<p>Isi {article_id}.</p>",
            published_at,
            published_at if updated_at is None else updated_at,
            status,
        ),
    )


async def feed_ids(client: Any, path: str) -> list[str]:
    """The article ids a feed lists, after checking it with its consumers."""
    response = await client.get(path, headers=IDENTITY)
    assert response.status_code == 200, (path, response.status_code, response.text[:200])
    CHECKS[fmt_of(path)](response.content)
    return article_ids(response.content, fmt_of(path))


def logged(caplog: pytest.LogCaptureFixture, text: str) -> int:
    return sum(text in record.getMessage() for record in caplog.records)


# --- schema version 2 refuses them --------------------------------------------------------

REFUSED = {
    "a TEXT publish time": ({"published_at": "2026-11-30 08:00:00"}, "published_at"),
    "a REAL publish time": ({"published_at": 1764489600.5}, "published_at"),
    "a REAL update time": ({"updated_at": 1764489600.5}, "updated_at"),
    "an empty title": ({"title": ""}, "title"),
    "a blank title": ({"title": " \t\n"}, "title"),
    "a slug with a space": ({"section": "Luar Negeri"}, "slug"),
    "an upper-case slug": ({"section": "Dunia"}, "slug"),
    "a slug with an empty level": ({"section": "dunia//asia"}, "slug"),
}


@pytest.mark.parametrize("fields", REFUSED.values(), ids=REFUSED.keys())
def test_the_schema_refuses_a_row_that_breaks_the_contract(
    db_path: Path, now: datetime, fields: tuple[dict[str, Any], str]
) -> None:
    values, column = fields
    write_records(db_path, [section("berita"), article("ada", now - timedelta(hours=1), section="berita")])
    row: dict[str, Any] = {"section": "berita", "published_at": stamp(now - timedelta(minutes=5)), **values}
    with cms_connection(db_path) as conn:
        with pytest.raises(sqlite3.IntegrityError, match=column.replace("slug", "(section|slug)")):
            write(conn, "baru", **row)
        assert conn.execute("SELECT count(*) FROM articles WHERE id = 'baru'").fetchone()[0] == 0
        # Changing a good row the same way is refused too.
        column_name, value = next(iter(values.items()))
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(f"UPDATE articles SET {column_name} = ? WHERE id = 'ada'", (value,))
        if column == "slug":
            with pytest.raises(sqlite3.IntegrityError, match="slug"):
                conn.execute("INSERT INTO sections (slug, title) VALUES (?, 'Judul')", (values["section"],))


# --- rows already in a database: read around ----------------------------------------------


async def test_a_text_publish_time_is_left_out_and_later_writes_still_show(
    tmp_path: Path, now: datetime, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """The natural mistake of a CMS that read the import format. It stopped every
    change check (int() of the text), and a restart never finished starting."""
    db_path = unguarded_database(tmp_path / "unguarded.sqlite")
    with cms_connection(db_path, clock) as conn:
        conn.execute("INSERT INTO sections (slug, title) VALUES ('berita', 'Berita')")
        write(conn, "baik", "berita", stamp(now - timedelta(hours=1)))
        write(conn, "teks", "berita", "2026-11-30 08:00:00")
    caplog.set_level(logging.WARNING)
    async with serve(make_settings(db_path), clock) as (client, app):
        for path in (*FEED_PATHS, "/section/berita/feed.json"):
            assert await feed_ids(client, path) == ["baik"], path
        clock.advance(5)
        with cms_connection(db_path, clock) as conn:
            write(conn, "baru", "berita", stamp(now))
        assert await app.state.watcher.check()
        for path in (*FEED_PATHS, "/section/berita/feed.json"):
            assert await feed_ids(client, path) == ["baru", "baik"], path
        clock.advance(5)
        with cms_connection(db_path, clock) as conn:
            conn.execute("UPDATE articles SET title = 'Kabar baik, diperbarui' WHERE id = 'baik'")
        assert await app.state.watcher.check()
        health = await client.get("/healthz")
        assert health.status_code == 200
        assert health.text.startswith("ok") and "1 database row(s) left out" in health.text
        found = await crawl(client)
        assert {"/sitemap.xml", "/sitemap-sections.xml"} <= set(found.files)
    assert logged(caplog, "'teks'") == 1  # once, with its id, however many checks read it


async def test_a_real_update_time_leaves_its_month_sitemap_valid(
    tmp_path: Path, now: datetime, clock: FakeClock
) -> None:
    """sitemap_writer indexed a list with the float: that month's sitemap was a 500."""
    db_path = unguarded_database(tmp_path / "unguarded.sqlite")
    published = stamp(now - timedelta(hours=2))
    with cms_connection(db_path, clock) as conn:
        write(conn, "pecahan", "berita", published, updated_at=published + 600.75)
        write(conn, "bulat", "berita", published - 60)
    async with serve(make_settings(db_path), clock) as (client, _):
        found = await crawl(client)
        for article_id in ("pecahan", "bulat"):
            assert f"{BASE_URL}/berita/{article_id}" in found.urls
        for path in FEED_PATHS:
            assert await feed_ids(client, path) == ["pecahan", "bulat"]


async def test_blank_titles_are_left_out_and_every_feed_stays_valid(
    tmp_path: Path, now: datetime, clock: FakeClock
) -> None:
    """feedgen refuses an Atom entry without a title: every feed holding one was a 500."""
    db_path = unguarded_database(tmp_path / "unguarded.sqlite")
    with cms_connection(db_path, clock) as conn:
        write(conn, "judul", "berita", stamp(now - timedelta(hours=3)))
        write(conn, "kosong", "berita", stamp(now - timedelta(hours=2)), title="")
        write(conn, "kendali", "berita", stamp(now - timedelta(hours=1)), title="\x00\x01\ufffe")
    async with serve(make_settings(db_path), clock) as (client, _):
        for path in (*FEED_PATHS, "/section/berita/feed.rss", "/section/berita/feed.atom", "/section/berita/feed.json"):
            assert await feed_ids(client, path) == ["judul"], path
        news = await client.get("/news-sitemap.xml", headers=IDENTITY)
        assert news.status_code == 200
        listed = [loc.text for loc in assert_valid(news.content).iter(f"{SM}loc")]
        assert listed == [f"{BASE_URL}/berita/judul"]
        assert "2 database row(s) left out" in (await client.get("/healthz")).text


@pytest.mark.parametrize("move", ["section", "draft", "time"])
async def test_insert_or_replace_takes_the_old_row_out_of_its_documents(
    db_path: Path, now: datetime, clock: FakeClock, move: str
) -> None:
    """REPLACE deletes the old row without the DELETE triggers: version 2's BEFORE
    INSERT trigger stamps the section and sitemap hour it leaves."""
    published = now - timedelta(days=40)
    write_records(
        db_path,
        [
            section("ekonomi"),
            section("berita"),
            article("pindah", published, section="ekonomi"),
            article("tetap", now - timedelta(hours=3), section="ekonomi"),
        ],
    )
    url = f"{BASE_URL}/ekonomi/pindah"
    async with serve(make_settings(db_path), clock) as (client, app):
        assert await feed_ids(client, "/section/ekonomi/feed.json") == ["tetap", "pindah"]
        assert url in (await crawl(client)).urls
        clock.advance(60)
        target = {
            "section": ("berita", stamp(published), "published"),
            "draft": ("ekonomi", stamp(published), "draft"),
            "time": ("ekonomi", stamp(now - timedelta(hours=1)), "published"),
        }[move]
        with cms_connection(db_path, clock) as conn:
            write(conn, "pindah", target[0], target[1], status=target[2], verb="INSERT OR REPLACE", url=url)
        assert await app.state.watcher.check()
        expected = {"section": ["tetap"], "draft": ["tetap"], "time": ["pindah", "tetap"]}[move]
        assert await feed_ids(client, "/section/ekonomi/feed.json") == expected
        if move == "section":
            assert await feed_ids(client, "/section/berita/feed.json") == ["pindah"]
        found = await crawl(client)
        assert (url in found.urls) == (move != "draft")
        old_month = f"/sitemap-articles-{published.astimezone(make_settings(db_path).timezone):%Y-%m}.xml"
        assert (old_month in found.files) == (move == "section")


async def test_a_slug_no_url_can_hold_puts_no_broken_link_anywhere(
    tmp_path: Path, now: datetime, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    db_path = unguarded_database(tmp_path / "unguarded.sqlite")
    with cms_connection(db_path, clock) as conn:
        conn.execute("INSERT INTO sections (slug, title) VALUES ('Luar Negeri', 'Luar Negeri')")
        write(conn, "dunia", "Luar Negeri", stamp(now - timedelta(hours=1)), url=f"{BASE_URL}/luar-negeri/dunia")
        write(conn, "lokal", "berita", stamp(now - timedelta(hours=2)))
    caplog.set_level(logging.WARNING)
    async with serve(make_settings(db_path), clock) as (client, _):
        home = await client.get("/")
        assert home.status_code == 200
        page = lxml.html.fromstring(home.content)
        links = [a.get("href") for a in page.iter("a", "link") if a.get("href")]
        assert any("/section/berita/" in link for link in links)
        # The site page lists the articles too: their URLs are the CMS's pages (the
        # feeds' item links), not documents this server serves.
        articles = {item["url"] for item in (await client.get("/feed.json")).json()["items"]}
        assert f"{BASE_URL}/luar-negeri/dunia" in articles
        for link in links:
            if link.startswith("#"):  # within the page (its skip link): the target is there
                assert page.get_element_by_id(link[1:]) is not None, link
                continue
            assert link.startswith(BASE_URL), link
            if link in articles:
                continue
            assert (await client.get(link[len(BASE_URL) :])).status_code == 200, link
        found = await crawl(client)
        assert f"{BASE_URL}/berita" in found.urls
        assert not [u for u in found.urls if "Luar" in u or "%20" in u]
        assert "1 database row(s) left out" in (await client.get("/healthz")).text
    assert logged(caplog, "'Luar Negeri'") == 1


async def test_declaring_a_section_moves_no_feed_date_and_it_exists_while_empty(
    db_path: Path, now: datetime, clock: FakeClock
) -> None:
    write_records(db_path, [section("berita"), article("a", now - timedelta(hours=1), section="berita")])
    async with serve(make_settings(db_path), clock) as (client, app):
        before = {path: await client.get(path, headers=IDENTITY) for path in FEED_PATHS}
        clock.advance(120)
        with cms_connection(db_path, clock) as conn:
            conn.execute("INSERT INTO sections (slug, title) VALUES ('opini', 'Opini')")
        assert await app.state.watcher.check()
        for path in FEED_PATHS:
            after = await client.get(path, headers=IDENTITY)
            assert after.headers["etag"] == before[path].headers["etag"], path
            assert after.headers["last-modified"] == before[path].headers["last-modified"], path
        for fmt in ("rss", "atom", "json"):
            assert await feed_ids(client, f"/section/opini/feed.{fmt}") == []
        assert "/section/opini/feed.rss" in (await client.get("/")).text


# --- migration and version 1 --------------------------------------------------------------


async def test_init_db_migrates_a_version_1_database_the_server_refuses_before(
    tmp_path: Path, now: datetime, clock: FakeClock
) -> None:
    db_path = version_1_database(tmp_path / "v1.sqlite")
    with cms_connection(db_path, clock) as conn:
        conn.execute("INSERT INTO sections (slug, title) VALUES ('berita', 'Berita')")
        write(conn, "satu", "berita", stamp(now - timedelta(hours=2)))
        write(conn, "dua", "olahraga/sepakbola", stamp(now - timedelta(hours=1)))  # the trigger declares it
    # A version-1 file lacks the scope stamps and slugs the server reads: refused
    # with one line naming init-db (`serve` exits 2 with it).
    with pytest.raises(RuntimeError, match="schema version 1; run feedserver init-db to migrate it"):
        async with serve(make_settings(db_path), clock):
            pass

    assert main(["init-db", str(db_path)]) == 0
    with cms_connection(db_path, clock) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
        assert conn.execute("SELECT slug, implied FROM sections ORDER BY slug").fetchall() == [
            ("berita", 0),
            ("olahraga/sepakbola", 0),  # declared by version 1: stays shown
        ]
        with pytest.raises(sqlite3.IntegrityError, match="published_at"):
            write(conn, "tiga", "berita", "2026-11-30 08:00:00")
        write(conn, "rahasia", "eksklusif", stamp(now + timedelta(days=1)))  # implied, not yet live
        assert conn.execute("SELECT implied, changed_at FROM sections WHERE slug = 'eksklusif'").fetchone() == (1, 0)
    assert main(["init-db", str(db_path)]) == 0  # current already: nothing to do
    async with serve(make_settings(db_path), clock) as (client, _):
        for path in FEED_PATHS:
            assert await feed_ids(client, path) == ["dua", "satu"], path
        assert await feed_ids(client, "/section/olahraga/feed.json") == ["dua"]
        assert await feed_ids(client, "/section/berita/feed.json") == ["satu"]
        assert (await client.get("/section/eksklusif/feed.rss")).status_code == 404


# --- the incremental update decides as the full load ---------------------------------------


async def assert_update_agrees_with_load(app: Any) -> SiteState:
    """The state the change checks brought up to date equals one read whole now."""
    service = app.state.service
    updated: SiteState = service.state
    whole = await load_site_state(service.pool, updated.now)
    assert updated.sections == whole.sections
    assert list(updated.sections) == list(whole.sections)
    assert updated.site_last_modified == whole.site_last_modified
    assert updated.next_publish_at == whole.next_publish_at
    for kind in ("tag", "author"):
        assert updated.terms(kind).by_slug == whole.terms(kind).by_slug, kind
    return updated


async def test_the_change_check_decides_which_sections_exist_as_a_full_load_does(
    tmp_path: Path, now: datetime, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """update_site_state reads only the changed rows; implied sections, slugs no URL
    holds and blank titles must come out as load_site_state makes them."""
    db_path = unguarded_database(tmp_path / "unguarded.sqlite")
    with cms_connection(db_path, clock) as conn:
        conn.execute("INSERT INTO sections (slug, title) VALUES ('berita', 'Berita')")
        write(conn, "satu", "berita", stamp(now - timedelta(hours=2)))
    caplog.set_level(logging.WARNING)
    async with serve(make_settings(db_path), clock) as (client, app):
        clock.advance(5)
        with cms_connection(db_path, clock) as conn:
            # Only embargoed articles imply these: they do not exist yet.
            write(conn, "rahasia", "eksklusif", stamp(now + timedelta(minutes=30)))
            write(conn, "dalam", "eksklusif/dalam", stamp(now + timedelta(minutes=40)))
        assert await app.state.watcher.check()
        state = await assert_update_agrees_with_load(app)
        assert "eksklusif" not in state.sections and "eksklusif/dalam" not in state.sections

        clock.advance(5)
        with cms_connection(db_path, clock) as conn:
            conn.execute("INSERT INTO sections (slug, title) VALUES ('Luar Negeri', 'Luar Negeri')")
            conn.execute("INSERT INTO sections (slug, title) VALUES ('opini', '  ')")
            conn.execute("UPDATE sections SET title = '' WHERE slug = 'berita'")
        assert await app.state.watcher.check()
        state = await assert_update_agrees_with_load(app)
        assert "Luar Negeri" not in state.sections
        assert (state.sections["opini"].title, state.sections["berita"].title) == ("opini", "berita")

        clock.advance(35 * 60)  # the first embargo is over: its section, not yet the deeper one
        assert await app.state.watcher.check()
        state = await assert_update_agrees_with_load(app)
        assert "eksklusif" in state.sections and "eksklusif/dalam" not in state.sections
        assert await feed_ids(client, "/section/eksklusif/feed.json") == ["rahasia"]

        clock.advance(10 * 60)  # the deeper one too
        assert await app.state.watcher.check()
        state = await assert_update_agrees_with_load(app)
        assert "eksklusif/dalam" in state.sections
        assert await feed_ids(client, "/section/eksklusif/feed.json") == ["dalam", "rahasia"]

        clock.advance(5)
        with cms_connection(db_path, clock) as conn:
            # INSERT OR REPLACE moves the article to a section nobody declared.
            write(conn, "satu", "olahraga/sepakbola", stamp(now - timedelta(hours=2)), verb="INSERT OR REPLACE")
        assert await app.state.watcher.check()
        state = await assert_update_agrees_with_load(app)
        assert "olahraga/sepakbola" in state.sections
        assert await feed_ids(client, "/section/olahraga/feed.json") == ["satu"]
        assert await feed_ids(client, "/section/berita/feed.json") == []
    assert logged(caplog, "'Luar Negeri'") == 1  # once, however many checks and loads read it


# --- start-up, renders ----------------------------------------------------------------------


def test_a_failed_start_up_closes_what_it_opened_and_exits_2(tmp_path: Path, now: datetime) -> None:
    """The lifespan opened aiosqlite connections, whose threads are not daemons: left
    open, a process whose start failed never exited."""
    db_path = tmp_path / "site.sqlite"
    write_records(db_path, [article("a", now - timedelta(hours=1))])
    with cms_connection(db_path) as conn:
        conn.execute("DROP TABLE sitemap_hours")  # the schema version is right; the start still fails
    environment = server_environment(db_path, {"server.port": free_port()})
    try:
        result = subprocess.run(
            [sys.executable, "-m", "feedserver.cli", "serve"],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
            env=environment,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("feedserver serve never exited after its start-up failed")
    assert result.returncode == 2, result.stderr
    assert "cannot start" in result.stderr and "sitemap_hours" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == "feedserver: could not start (the reason is logged above)"


async def test_a_cold_render_retries_a_bounded_number_of_times(
    db_path: Path, now: datetime, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writes landing in a feed's scope faster than it renders: the request gets a
    version, and the next change check brings it up to date."""
    write_records(db_path, [section("berita"), article("a", now - timedelta(hours=1), section="berita")])
    async with serve(make_settings(db_path), clock) as (client, app):
        service = app.state.service
        renders = 0
        real = FeedDocument.render

        async def busy(self: FeedDocument, *args: Any) -> Any:
            nonlocal renders
            renders += 1
            if renders > 10 * RENDER_ATTEMPTS:
                raise AssertionError("the cold render kept retrying")
            body = await real(self, *args)
            # A check adopted a write to this section while the render ran (the
            # first thing apply_state does; its re-renders would join this one).
            state = service.state
            berita = state.sections["berita"]
            service._state = replace(
                state, sections={**state.sections, "berita": replace(berita, revision=berita.revision + 1)}
            )
            return body

        monkeypatch.setattr(FeedDocument, "render", busy)
        response = await client.get("/section/berita/feed.json", headers=IDENTITY)
        assert response.status_code == 200
        assert renders <= 2 * RENDER_ATTEMPTS
        assert service.stale  # left to the next check
        monkeypatch.undo()
        clock.advance(5)
        assert await app.state.watcher.check()
        document = FeedDocument(FeedScope.of_section("berita"), "json")
        assert service.cache.get(document.key).signature == document.signature(service.state)


# --- smaller ones ----------------------------------------------------------------------------


async def test_a_url_too_long_once_percent_encoded_is_in_no_sitemap(
    db_path: Path, now: datetime, clock: FakeClock
) -> None:
    """1,830 bytes of UTF-8 fit the old byte count; percent-encoded they are 5,400
    characters, past sitemap.xsd's 2,048. Its month holds nothing else: no file
    may be listed for it (a listed file must not be empty)."""
    long_url = f"{BASE_URL}/berita/{'中' * 600}"
    assert len(long_url.encode()) <= 2048 < len(uri(long_url))
    old = now - timedelta(days=70)
    write_records(db_path, [article("panjang", old, url=long_url), article("biasa", now - timedelta(hours=1))])
    async with serve(make_settings(db_path), clock) as (client, _):
        found = await crawl(client)  # every file schema-valid and non-empty
        assert f"{BASE_URL}/berita/tiongkok/biasa" in found.urls
        assert not [u for u in found.urls if len(u) > 2048]
        month = f"/sitemap-articles-{old.astimezone(make_settings(db_path).timezone):%Y-%m}.xml"
        assert month not in found.files
        assert (await client.get(month)).status_code == 404


async def test_links_in_text_and_code_samples_are_not_rewritten(db_path: Path, now: datetime, clock: FakeClock) -> None:
    sample = '<a href="/tentang">'
    content = (
        f"<p>Tulis <code>{sample.replace('<', '&lt;').replace('>', '&gt;')}</code> di templat.</p>"
        '<pre>img src=/foto.jpg</pre><!-- href="/catatan" --><p><a href="/nyata">nyata</a></p>'
    )
    url = f"{BASE_URL}/berita/tiongkok/kode"
    write_records(db_path, [article("kode", now - timedelta(hours=1), url=url, content_html=content)])
    async with serve(make_settings(db_path), clock) as (client, _):
        document = check_json((await client.get("/feed.json", headers=IDENTITY)).content)
    html = document["items"][0]["content_html"]
    assert links_in(html) == [f"{BASE_URL}/nyata"]
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    assert root.findtext("p/code") == sample  # the code sample, as written
    assert root.findtext("pre") == "img src=/foto.jpg"
    assert '<!-- href="/catatan" -->' in html


async def test_if_modified_since_in_asctime_form_is_gmt(db_path: Path, now: datetime, clock: FakeClock) -> None:
    """RFC 9110 5.6.7: asctime carries no zone and means GMT, wherever the server runs."""
    write_records(db_path, [article("a", now - timedelta(hours=1))])
    # The schema's triggers date the write by the wall clock, which may have passed
    # the test's clock by a second or more: a Last-Modified later than the server's
    # now would make the If-Modified-Since a date in the future, ignored (RFC 9110 13.1.3).
    clock.now = max(clock.now, time.time()) + 1
    previous = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Jakarta"  # UTC+7: read as local time, the date was 7 hours early
    time.tzset()
    try:
        async with serve(make_settings(db_path), clock) as (client, _):
            first = await client.get("/feed.rss", headers=IDENTITY)
            modified = datetime.strptime(first.headers["last-modified"], "%a, %d %b %Y %H:%M:%S GMT")
            asctime = time.asctime(modified.timetuple())  # "Sun Nov  6 08:49:37 1994"
            again = await client.get("/feed.rss", headers={**IDENTITY, "If-Modified-Since": asctime})
            assert again.status_code == 304
            earlier = time.asctime((modified - timedelta(seconds=1)).timetuple())
            assert (
                await client.get("/feed.rss", headers={**IDENTITY, "If-Modified-Since": earlier})
            ).status_code == 200
    finally:
        if previous is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = previous
        time.tzset()


async def test_a_304_names_the_etag_of_the_copy_it_answers_for(db_path: Path, now: datetime, clock: FakeClock) -> None:
    """A client holding the identity bytes that now accepts gzip: its copy is current,
    and the 304 must not pair it with the gzip copy's ETag (or the reverse)."""
    write_records(db_path, [article("a", now - timedelta(hours=1))])
    async with serve(make_settings(db_path), clock) as (client, _):
        plain = (await client.get("/feed.atom", headers=IDENTITY)).headers["etag"]
        zipped = (await client.get("/feed.atom", headers={"Accept-Encoding": "gzip"})).headers["etag"]
        assert plain != zipped
        for held, accept in ((plain, "gzip"), (zipped, "identity"), (plain, "identity"), (zipped, "gzip")):
            answer = await client.get("/feed.atom", headers={"Accept-Encoding": accept, "If-None-Match": held})
            assert answer.status_code == 304
            assert answer.headers["etag"] == held, (held, accept)


async def test_concurrent_cold_requests_for_a_removed_section_all_get_404(
    db_path: Path, now: datetime, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several requests wait on one cold render of a section the CMS removes meanwhile:
    each gets a 404, and nothing is cached for it."""

    write_records(db_path, [section("ekonomi"), section("berita"), article("e", now - timedelta(hours=1), "ekonomi")])
    async with serve(make_settings(db_path), clock) as (client, app):
        entered, gate = hold_feed_renders(monkeypatch)
        waiting = [asyncio.create_task(client.get("/section/ekonomi/feed.atom", headers=IDENTITY)) for _ in range(3)]
        await entered.wait()
        with cms_connection(db_path, clock) as conn:
            conn.execute("DELETE FROM articles WHERE section = 'ekonomi'")
            conn.execute("DELETE FROM sections WHERE slug = 'ekonomi'")
        assert await app.state.watcher.check()
        gate.set()
        assert [r.status_code for r in await asyncio.gather(*waiting)] == [404, 404, 404]
        assert "/section/ekonomi/feed.atom" not in app.state.service.cache.entries


async def test_a_character_reference_xml_forbids_stays_out_when_links_are_resolved(
    db_path: Path, now: datetime, clock: FakeClock
) -> None:
    """The HTML parser decodes `&#x1F;` into a character XML forbids; written back
    into a feed it made the XML writer raise (found by tests/test_hostile_content.py)."""
    content = '<p>&#x1F;kendali&#0; <a href="/tautan">tautan</a></p>'
    write_records(db_path, [article("ref", now - timedelta(hours=1), content_html=content)])
    async with serve(make_settings(db_path), clock) as (client, _):
        for path in FEED_PATHS:
            assert await feed_ids(client, path) == ["ref"], path
