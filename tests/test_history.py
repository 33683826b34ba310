"""Feed history (RFC 5005): readers walking a feed's links to the end collect every live
article of its scope exactly once; archives are whole months that keep their bytes.

The walks are feedparser's (RSS, Atom: `next` to the end, then `prev-archive`
to the end) and JSON Feed's `next_url`. The CMS writes with plain sqlite3 on the
test's clock (tests/cms.py), which the server shares, so the months are fixed.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import feedparser
import httpx
import pytest
from lxml import etree

from feedserver.db import init_db
from tests.cms import cms_connection, publish
from tests.conftest import BASE_URL, FakeClock, make_settings, serve
from tests.test_feed_formats import check_atom, check_json, check_rss

JAKARTA = ZoneInfo("Asia/Jakarta")
NOW = datetime(2025, 6, 16, 12, 0, tzinfo=JAKARTA)
FH = "{http://purl.org/syndication/history/1.0}archive"
COMPLETE = "{http://purl.org/syndication/history/1.0}complete"
FORMATS = ("rss", "atom", "json")


def at(month: int, day: int, hour: int = 9, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, second, tzinfo=JAKARTA)


# (id, publish time, section, status): February to June, the edges of months, two
# articles in one second, and what must never show (drafts, deleted, scheduled).
ARTICLES: list[tuple[str, datetime, str, str]] = [
    ("feb-1", at(2, 3), "berita/tiongkok", "published"),
    ("feb-2", at(2, 28, 23, 59, 59), "berita", "published"),
    ("mar-1", at(3, 1, 0, 0, 0), "berita/tiongkok", "published"),
    ("mar-2", at(3, 14), "ekonomi", "published"),
    ("mar-3", at(3, 20), "ekonomi", "published"),
    ("apr-1", at(4, 2), "berita/tiongkok", "published"),
    ("apr-2", at(4, 9), "berita", "published"),
    ("apr-x", at(4, 10), "berita", "deleted"),
    ("apr-d", at(4, 11), "berita/tiongkok", "draft"),
    ("may-1", at(5, 5), "berita/tiongkok", "published"),
    ("may-2", at(5, 5), "berita", "published"),  # the same second as may-1
    ("may-3", at(5, 31, 23, 59, 59), "berita/tiongkok", "published"),
    ("jun-1", at(6, 1, 0, 0, 0), "berita/tiongkok", "published"),
    ("jun-2", at(6, 3), "berita", "published"),
    ("jun-3", at(6, 5), "berita/tiongkok", "published"),
    ("jun-4", at(6, 5), "berita/tiongkok", "published"),  # the same second as jun-3
    ("jun-5", at(6, 5), "berita", "published"),  # and jun-5
    ("jun-6", at(6, 10), "ekonomi", "published"),
    ("jun-7", at(6, 12), "berita/tiongkok", "published"),
    ("jun-8", at(6, 15), "berita", "published"),
    ("jun-9", at(6, 16, 11), "berita/tiongkok", "published"),
    ("jun-later", at(6, 20), "berita/tiongkok", "published"),  # scheduled
    ("jun-d", at(6, 14), "berita", "draft"),
]


def build(db_path: Path, clock: FakeClock, articles: list[tuple[str, datetime, str, str]]) -> None:
    init_db(db_path)
    with cms_connection(db_path, clock) as conn:
        conn.execute("INSERT INTO sections (slug, title) VALUES ('budaya', 'Budaya 文化')")
        for article_id, published, section, status in articles:
            publish(conn, article_id, published, section=section, status=status)


def live(articles: list[tuple[str, datetime, str, str]], scope: str | None) -> list[str]:
    return sorted(
        article_id
        for article_id, published, section, status in articles
        if status == "published"
        and published <= NOW
        and (scope is None or section == scope or section.startswith(scope + "/"))
    )


def prefix(scope: str | None) -> str:
    return "" if scope is None else f"/section/{scope}"


def path_of(url: str) -> str:
    assert url.startswith(BASE_URL + "/"), url
    return url[len(BASE_URL) :]


async def get(client: httpx.AsyncClient, path: str) -> httpx.Response:
    response = await client.get(path)
    assert response.status_code == 200, (path, response.status_code, response.text[:200])
    return response


def check(content: bytes, fmt: str) -> Any:
    """The document read by its real consumers (lxml + RELAX NG, feedparser with bozo 0, jsonschema)."""
    if fmt == "json":
        return check_json(content)
    root = check_atom(content) if fmt == "atom" else check_rss(content)
    return root


def xml_links(content: bytes) -> dict[str, str]:
    """The feed-level links as feedparser reads them, by rel."""
    parsed = feedparser.parse(content)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    links: dict[str, str] = {}
    for link in parsed.feed.get("links", []):
        assert link["rel"] not in links or links[link["rel"]] == link["href"], link
        links[link["rel"]] = link["href"]
    return links


def ids(content: bytes, fmt: str) -> list[str]:
    if fmt == "json":
        items = check_json(content)["items"]
        return [item["id"].rsplit(":article/", 1)[1] for item in items]
    parsed = feedparser.parse(content)
    return [entry.id.rsplit(":article/", 1)[1] for entry in parsed.entries]


def is_archive(content: bytes) -> bool:
    return etree.fromstring(content).find(f".//{FH}") is not None


def is_complete(content: bytes) -> bool:
    """fh:complete (RFC 5005 section 2): the document holds every article of its feed."""
    return etree.fromstring(content).find(f".//{COMPLETE}") is not None


async def walk(client: httpx.AsyncClient, scope: str | None, fmt: str) -> tuple[list[str], list[str]]:
    """Every item id a reader collects from the subscription document, and every path it
    fetched: RSS and Atom `next` to the end then `prev-archive` to the end (RFC 5005
    sections 3 and 4); JSON Feed `next_url` to the end."""
    start = f"{prefix(scope)}/feed.{fmt}"
    seen: list[str] = []
    paths = [start]
    first = (await get(client, start)).content
    check(first, fmt)
    seen += ids(first, fmt)
    if fmt == "json":
        document = check_json(first)
        while "next_url" in document:
            paths.append(path_of(document["next_url"]))
            content = (await get(client, paths[-1])).content
            document = check_json(content)
            seen += ids(content, fmt)
        return seen, paths
    assert not is_archive(first)
    links = xml_links(first)
    # Complete exactly when there is nothing to follow (RFC 5005 section 2 forbids the links then).
    assert is_complete(first) == ("next" not in links and "prev-archive" not in links)
    following = links.get("next")
    while following is not None:
        paths.append(path_of(following))
        content = (await get(client, paths[-1])).content
        check(content, fmt)
        assert not is_archive(content) and not is_complete(content)  # pages may change: no fh:archive
        page_links = xml_links(content)
        assert page_links["current"] == BASE_URL + start
        assert page_links.get("prev-archive") == links.get("prev-archive")
        seen += ids(content, fmt)
        following = page_links.get("next")
    older = links.get("prev-archive")
    while older is not None:
        paths.append(path_of(older))
        content = (await get(client, paths[-1])).content
        check(content, fmt)
        assert is_archive(content) and not is_complete(content)
        archive_links = xml_links(content)
        assert archive_links["current"] == BASE_URL + start
        assert "prev-archive" in archive_links or "next-archive" in archive_links  # W3C: ArchiveIncomplete
        seen += ids(content, fmt)
        older = archive_links.get("prev-archive")
    return seen, paths


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW.timestamp())


@pytest.mark.anyio
@pytest.mark.parametrize("fmt", FORMATS)
async def test_walking_the_links_collects_every_live_article_once(db_path: Path, clock: FakeClock, fmt: str) -> None:
    build(db_path, clock, ARTICLES)
    async with serve(make_settings(db_path, feeds__items=3), clock) as (client, _):
        for scope in (None, "berita", "berita/tiongkok", "ekonomi", "budaya"):
            seen, paths = await walk(client, scope, fmt)
            assert sorted(seen) == live(ARTICLES, scope), (scope, paths)
            assert len(seen) == len(set(seen)), (scope, paths)
        # The site: three items a document, pages through June, then February to May.
        seen, paths = await walk(client, None, fmt)
        assert paths[0] == f"/feed.{fmt}"
        assert [p for p in paths if "/archive/" in p] == [f"/archive/2025-{m:02d}/feed.{fmt}" for m in (5, 4, 3, 2)]
        assert all(p.startswith("/page/") for p in paths[1:-4])
        # A section walks through the months it has nothing in, too: one chain per site.
        _, paths = await walk(client, "berita/tiongkok", fmt)
        assert paths[-1] == f"/section/berita/tiongkok/archive/2025-02/feed.{fmt}"


@pytest.mark.anyio
async def test_an_empty_scope_has_one_empty_document_and_no_links(db_path: Path, clock: FakeClock) -> None:
    build(db_path, clock, ARTICLES)
    async with serve(make_settings(db_path, feeds__items=3), clock) as (client, _):
        for fmt in FORMATS:
            seen, paths = await walk(client, "budaya", fmt)
            assert seen == [] and paths == [f"/section/budaya/feed.{fmt}"]
            if fmt != "json":
                assert is_complete((await get(client, paths[0])).content)
                assert is_complete((await get(client, f"/section/ekonomi/feed.{fmt}")).content)  # three: all here
                assert not is_complete((await get(client, f"/feed.{fmt}")).content)
            response = await client.get(f"/section/budaya/archive/2025-05/feed.{fmt}")
            assert response.status_code == 404


@pytest.mark.anyio
async def test_a_scope_with_one_month_over_pages_it_instead_of_archiving_it(db_path: Path, clock: FakeClock) -> None:
    """An archive alone would link neither prev-archive nor next-archive (the W3C
    validator's "Archive incomplete"): its month is paged until a second is over."""
    articles = [a for a in ARTICLES if a[1] >= at(5, 1, 0)]
    build(db_path, clock, articles)
    async with serve(make_settings(db_path, feeds__items=3), clock) as (client, _):
        for fmt in FORMATS:
            seen, paths = await walk(client, None, fmt)
            assert sorted(seen) == live(articles, None) and len(seen) == len(set(seen))
            assert not any("/archive/" in p for p in paths)
            assert any("/page/" in p for p in paths)
            assert (await client.get(f"/archive/2025-05/feed.{fmt}")).status_code == 404
    # With April too, April and May are both archived, each linking the other.
    articles = [a for a in ARTICLES if a[1] >= at(4, 1, 0)]
    build(db_path.with_name("two.sqlite"), clock, articles)
    async with serve(make_settings(db_path.with_name("two.sqlite"), feeds__items=3), clock) as (client, _):
        for fmt in ("rss", "atom"):
            seen, paths = await walk(client, None, fmt)
            assert sorted(seen) == live(articles, None) and len(seen) == len(set(seen))
            assert [p for p in paths if "/archive/" in p] == [
                f"/archive/2025-05/feed.{fmt}",
                f"/archive/2025-04/feed.{fmt}",
            ]
            april = xml_links((await get(client, f"/archive/2025-04/feed.{fmt}")).content)
            assert april["next-archive"] == f"{BASE_URL}/archive/2025-05/feed.{fmt}" and "prev-archive" not in april
            may = xml_links((await get(client, f"/archive/2025-05/feed.{fmt}")).content)
            assert may["prev-archive"] == f"{BASE_URL}/archive/2025-04/feed.{fmt}" and "next-archive" not in may


async def archives(client: httpx.AsyncClient) -> dict[str, httpx.Response]:
    paths = [
        f"{prefix(scope)}/archive/2025-{month:02d}/feed.{fmt}"
        for scope in (None, "berita", "berita/tiongkok")
        for month in (2, 3, 4, 5)
        for fmt in FORMATS
    ]
    return {path: await get(client, path) for path in paths}


@pytest.mark.anyio
async def test_archives_keep_their_bytes_as_new_articles_arrive(db_path: Path, clock: FakeClock) -> None:
    build(db_path, clock, ARTICLES)
    async with serve(make_settings(db_path, feeds__items=3), clock) as (client, app):
        before = await archives(client)
        subscription = (await get(client, "/feed.atom")).content
        for response in before.values():
            assert "max-age=86400" in response.headers["cache-control"]
            # Shared caches and CDNs keep an archive as long (feedserver.origin.headers).
            assert "s-maxage=86400" in response.headers["cache-control"]
            assert response.headers["cdn-cache-control"].startswith("max-age=86400,")
        assert "max-age=86400" not in (await get(client, "/feed.atom")).headers["cache-control"]
        clock.advance(60)
        with cms_connection(db_path, clock) as conn:
            publish(conn, "jun-new", at(6, 16, 11, 30), section="berita/tiongkok")
            publish(conn, "jun-new-2", at(6, 16, 11, 40), section="ekonomi")
        assert await app.state.watcher.check()
        after = await archives(client)
        assert (await get(client, "/feed.atom")).content != subscription
        for path, response in before.items():
            assert after[path].content == response.content, path
            assert after[path].headers["etag"] == response.headers["etag"], path


@pytest.mark.anyio
@pytest.mark.parametrize(
    "change",
    [
        "UPDATE articles SET content_html = '<p>Isi baru 新的.</p>' WHERE id = 'apr-1'",
        "UPDATE articles SET summary = 'Ringkasan baru.' WHERE id = 'apr-1'",
        "UPDATE articles SET title = 'Judul baru 新' WHERE id = 'apr-1'",
        "UPDATE articles SET status = 'deleted' WHERE id = 'apr-1'",
        "DELETE FROM articles WHERE id = 'apr-1'",
        "INSERT INTO article_tags (article_pk, position, tag_pk) "
        "SELECT pk, 0, (SELECT pk FROM tags) FROM articles WHERE id = 'apr-1'",
    ],
)
async def test_an_edit_of_an_old_article_changes_only_its_months_archives(
    db_path: Path, clock: FakeClock, change: str
) -> None:
    """Written with plain sqlite3, with no updated_at: the schema's feed stamps see it."""
    build(db_path, clock, ARTICLES)
    with cms_connection(db_path, clock) as conn:
        conn.execute("INSERT INTO tags (name) VALUES ('sejarah')")
    async with serve(make_settings(db_path, feeds__items=3), clock) as (client, app):
        before = await archives(client)
        clock.advance(60)
        with cms_connection(db_path, clock) as conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(change)
            conn.execute("COMMIT")
        assert await app.state.watcher.check()
        after = await archives(client)
        changed = sorted(path for path in before if after[path].content != before[path].content)
        # apr-1 is in berita/tiongkok: its archive of April, its parent's and the site's.
        assert changed == sorted(
            f"{prefix(scope)}/archive/2025-04/feed.{fmt}"
            for scope in (None, "berita", "berita/tiongkok")
            for fmt in FORMATS
        )
        for path in changed:
            new, old = after[path], before[path]
            assert new.headers["etag"] != old.headers["etag"]
            assert httpx_date(new.headers["last-modified"]) > httpx_date(old.headers["last-modified"])


def httpx_date(value: str) -> datetime:
    from email.utils import parsedate_to_datetime

    return parsedate_to_datetime(value)


@pytest.mark.anyio
async def test_history_urls_that_name_nothing_are_404(db_path: Path, clock: FakeClock) -> None:
    build(db_path, clock, ARTICLES)
    async with serve(make_settings(db_path, feeds__items=3), clock) as (client, app):
        cached = len(app.state.service.cache.entries)
        for path in (
            "/archive/2025-06/feed.rss",  # the current month is not over
            "/archive/2025-07/feed.rss",
            "/archive/2025-01/feed.rss",  # before the site's first article
            "/archive/2025-13/feed.rss",
            "/archive/0000-01/feed.rss",
            "/archive/2025-5/feed.rss",
            "/page/20250605T020000Z-9/feed.rss",  # only three articles share that second
            "/page/20250605T020001Z-1/feed.rss",  # no article then
            "/page/20250605T020000Z-0/feed.rss",
            "/page/20250230T020000Z-1/feed.rss",
            "/page/20990605T020000Z-1/feed.rss",
            "/section/nope/archive/2025-04/feed.rss",
            "/section/berita/archive/2025-04/feed.xml",
            "/section/berita/page/garbage/feed.rss",
        ):
            response = await client.get(path)
            assert response.status_code == 404, path
            assert ("Unknown section" in response.text) == ("/nope/" in path or "garbage" in path), path
        assert len(app.state.service.cache.entries) == cached
        assert all("/page/" not in key for key in app.state.service.documents)


@pytest.mark.anyio
async def test_a_database_without_feed_stamps_still_serves_history_and_init_db_adds_them(
    db_path: Path, clock: FakeClock
) -> None:
    """A database made before feed_hours existed: archives re-render on any write to
    their scope instead (correct, costlier) until `feedserver init-db` adds the stamps."""
    build(db_path, clock, ARTICLES)
    with sqlite3.connect(db_path) as conn:
        for name in ("articles_stamp_feed_insert", "articles_stamp_feed_update", "articles_stamp_feed_delete"):
            conn.execute(f"DROP TRIGGER {name}")
        conn.execute("DROP TABLE feed_hours")
    async with serve(make_settings(db_path, feeds__items=3), clock) as (client, app):
        assert not app.state.service.state.history.stamped
        before = (await get(client, "/archive/2025-04/feed.atom")).content
        clock.advance(60)
        with cms_connection(db_path, clock) as conn:
            conn.execute("UPDATE articles SET content_html = '<p>baru</p>' WHERE id = 'apr-1'")
        assert await app.state.watcher.check()
        assert (await get(client, "/archive/2025-04/feed.atom")).content != before
        seen, _ = await walk(client, None, "atom")
        assert sorted(seen) == live(ARTICLES, None)
    init_db(db_path)
    with sqlite3.connect(db_path) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE name LIKE '%feed%'")}
    # feed_hours, its index and its three triggers are back (feed_stamps are the tag and author feeds').
    assert {n for n in names if not n.startswith("feed_stamps")} == {
        "feed_hours",
        "feed_hours_version",
        "articles_stamp_feed_insert",
        "articles_stamp_feed_update",
        "articles_stamp_feed_delete",
    }


@pytest.mark.anyio
async def test_a_month_that_ends_is_archived_once_the_feed_has_moved_past_it(db_path: Path, clock: FakeClock) -> None:
    build(db_path, clock, ARTICLES)
    async with serve(make_settings(db_path, feeds__items=3), clock) as (client, app):
        assert (await client.get("/archive/2025-06/feed.atom")).status_code == 404
        # The month ends with no write: the check reloads by itself (the boundary may move).
        clock.now = at(7, 1, 0, 0, 5).timestamp()
        assert await app.state.watcher.check()
        # June is over, but the subscription document still shows June: still paged.
        assert (await client.get("/archive/2025-06/feed.atom")).status_code == 404
        clock.advance(86400)
        with cms_connection(db_path, clock) as conn:
            for n in range(3):
                publish(conn, f"jul-{n}", at(7, 1, 8 + n), section="berita")
        assert await app.state.watcher.check()
        articles = [*ARTICLES, *((f"jul-{n}", at(7, 1, 8 + n), "berita", "published") for n in range(3))]
        for fmt in FORMATS:
            seen, paths = await walk(client, None, fmt)
            assert sorted(seen) == sorted(a for a, *_ in articles if a not in ("apr-x", "apr-d", "jun-d")), paths
            assert len(seen) == len(set(seen))
            assert f"/archive/2025-06/feed.{fmt}" in paths and f"/archive/2025-05/feed.{fmt}" in paths
            assert not any("/page/" in p for p in paths)  # July's three are all in the subscription document


@pytest.mark.anyio
async def test_history_queries_use_indexes(db_path: Path, clock: FakeClock) -> None:
    from tests.test_query_plans import FULL_SCAN, plan, record_queries

    build(db_path, clock, ARTICLES)
    async with serve(make_settings(db_path, feeds__items=3), clock) as (client, app):
        service = app.state.service
        ran = record_queries(service)
        for scope in (None, "berita"):
            for fmt in FORMATS:
                await walk(client, scope, fmt)
        with cms_connection(db_path, clock) as conn:
            conn.execute("UPDATE articles SET summary = 'baru' WHERE id = 'mar-1'")
        assert await app.state.watcher.check()
    touched = [(sql, params) for sql, params in ran if "articles" in sql or "feed_hours" in sql]
    assert any("FROM feed_hours WHERE version >" in sql for sql, _ in touched)
    assert any("a.published_at >= :since" in sql for sql, _ in touched)
    for sql, params in touched:
        lines = plan(db_path, sql, params)
        assert not [line for line in lines if FULL_SCAN.search(line)], (sql, lines)
        if ":s0" not in sql:  # a section's feed merges its sections' rows
            assert not [line for line in lines if "TEMP B-TREE" in line], (sql, lines)


@pytest.mark.e2e
def test_feedparser_walks_a_real_server_to_the_end(tmp_path: Path, db_path: Path) -> None:
    """feedparser fetching every document itself from uvicorn (gzip, conditional
    headers and all), on a site dated relative to the real present."""
    from datetime import UTC, timedelta

    from tests.conftest import article, write_records
    from tests.uvicorn_process import running_server

    now = datetime.now(UTC).astimezone(JAKARTA).replace(microsecond=0)
    month_start = now.replace(day=1, hour=0, minute=0, second=0)
    records = []
    for back in range(1, 5):  # four months that are over, five articles each
        month = (month_start - timedelta(days=28 * back - 14)).replace(day=1)
        records += [
            article(f"m{back}-{n}", month.replace(day=3 + 5 * n), section=("berita", "ekonomi")[n % 2])
            for n in range(5)
        ]
    records += [
        article(f"now-{k}", now - timedelta(minutes=k))
        for k in range(1, 5)
        if now - timedelta(minutes=k) >= month_start
    ]
    records += [
        article("later", now + timedelta(days=1)),
        article("gone", month_start - timedelta(days=40), status="deleted"),
    ]
    write_records(db_path, records)
    expected = sorted(r["id"] for r in records if r["id"] not in ("later", "gone"))
    with running_server(db_path, tmp_path, {"feeds.items": 3}) as server:
        for fmt in ("rss", "atom"):
            seen: list[str] = []
            archives = 0
            parsed = feedparser.parse(f"{server.url}/feed.{fmt}")
            assert parsed.bozo == 0 and parsed.status == 200, parsed.get("bozo_exception")
            seen += [e.id.rsplit(":article/", 1)[1] for e in parsed.entries]
            links = {link["rel"]: link["href"] for link in parsed.feed.links}
            for rel in ("next", "prev-archive"):
                following = links.get(rel)
                while following is not None:
                    page = feedparser.parse(server.url + path_of(following))
                    assert page.bozo == 0 and page.status == 200, (following, page.get("bozo_exception"))
                    seen += [e.id.rsplit(":article/", 1)[1] for e in page.entries]
                    archives += rel == "prev-archive"
                    following = {link["rel"]: link["href"] for link in page.feed.links}.get(rel)
            assert sorted(seen) == expected, fmt
            assert archives >= 3  # at least the three oldest months are archived
        seen = []
        url: str | None = f"{server.url}/feed.json"
        with httpx.Client(timeout=10) as client:
            while url is not None:
                document = check_json(client.get(url).content)
                seen += [item["id"].rsplit(":article/", 1)[1] for item in document["items"]]
                url = server.url + path_of(document["next_url"]) if "next_url" in document else None
        assert sorted(seen) == expected


@pytest.mark.anyio
async def test_an_archive_lists_its_whole_month_however_large(db_path: Path, clock: FakeClock) -> None:
    """More articles than one query of rows takes (queries.PK_BATCH)."""
    from feedserver.queries import PK_BATCH

    build(db_path, clock, ARTICLES)
    count = PK_BATCH + 150
    start = int(at(3, 2).timestamp())
    with cms_connection(db_path, clock) as conn:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO articles (id, url, section, title, published_at, updated_at, status) "
            "VALUES (?, ?, 'ekonomi', ?, ?, ?, 'published')",
            [
                (f"bulk-{n}", f"{BASE_URL}/ekonomi/bulk-{n}", f"Pasar 市场 {n}", start + 60 * n, start + 60 * n)
                for n in range(count)
            ],
        )
        conn.execute("COMMIT")
    async with serve(make_settings(db_path, feeds__items=3), clock) as (client, _):
        content = (await get(client, "/archive/2025-03/feed.atom")).content
        check(content, "atom")
        listed = ids(content, "atom")
        assert len(listed) == count + 3 and len(set(listed)) == len(listed)


@pytest.mark.anyio
async def test_months_follow_the_site_time_zone_even_off_the_hour(db_path: Path) -> None:
    """Asia/Kolkata is UTC+05:30: a UTC hour of the schema's stamps straddles midnight,
    so an edit there re-renders both months' archives and changes only its own."""
    kolkata = ZoneInfo("Asia/Kolkata")
    clock = FakeClock(datetime(2025, 6, 16, 12, tzinfo=kolkata).timestamp())
    edge = datetime(2025, 4, 1, 0, 10, tzinfo=kolkata)  # 2025-03-31T18:40Z
    articles = [
        ("mar-a", datetime(2025, 3, 31, 23, 50, tzinfo=kolkata), "berita", "published"),  # the same UTC hour
        ("apr-a", edge, "berita", "published"),
        ("feb-a", datetime(2025, 2, 10, tzinfo=kolkata), "berita", "published"),
        *((f"jun-{n}", datetime(2025, 6, 2 + n, tzinfo=kolkata), "berita", "published") for n in range(3)),
    ]
    build(db_path, clock, articles)
    async with serve(make_settings(db_path, feeds__items=3, site__timezone="Asia/Kolkata"), clock) as (client, app):
        march = (await get(client, "/archive/2025-03/feed.atom")).content
        april = (await get(client, "/archive/2025-04/feed.atom")).content
        assert ids(march, "atom") == ["mar-a"] and ids(april, "atom") == ["apr-a"]
        with cms_connection(db_path, clock) as conn:
            conn.execute("UPDATE articles SET content_html = '<p>baru</p>' WHERE id = 'apr-a'")
        assert await app.state.watcher.check()
        assert (await get(client, "/archive/2025-03/feed.atom")).content == march
        assert (await get(client, "/archive/2025-04/feed.atom")).content != april
        seen, _ = await walk(client, None, "rss")
        assert sorted(seen) == sorted(a for a, *_ in articles)


@pytest.mark.anyio
async def test_a_month_the_subscription_document_reaches_again_is_no_longer_an_archive(
    db_path: Path, clock: FakeClock
) -> None:
    """Removing June's articles brings May back into the subscription document: a
    cached archive of May is dropped by the next change to May, and the check goes on."""
    build(db_path, clock, ARTICLES)
    async with serve(make_settings(db_path, feeds__items=3), clock) as (client, app):
        await get(client, "/archive/2025-05/feed.atom")
        with cms_connection(db_path, clock) as conn:
            conn.execute("UPDATE articles SET status = 'deleted' WHERE id LIKE 'jun-%'")
        assert await app.state.watcher.check()
        with cms_connection(db_path, clock) as conn:
            conn.execute("UPDATE articles SET summary = 'baru' WHERE id = 'may-3'")
        assert await app.state.watcher.check()
        assert not app.state.service.stale
        assert (await client.get("/archive/2025-05/feed.atom")).status_code == 404
        seen, paths = await walk(client, None, "atom")
        assert sorted(seen) == sorted(a for a in live(ARTICLES, None) if not a.startswith("jun-"))
        assert "/archive/2025-05/feed.atom" not in paths


@pytest.mark.anyio
async def test_renaming_a_section_renames_it_in_the_archives_that_show_it(db_path: Path, clock: FakeClock) -> None:
    """Items name their section and its parents: a renamed parent outside a section's
    scope still changes that section's archives (and its own, and the site's)."""
    build(db_path, clock, ARTICLES)
    async with serve(make_settings(db_path, feeds__items=3), clock) as (client, app):
        before = await archives(client)
        with cms_connection(db_path, clock) as conn:
            conn.execute("INSERT INTO sections (slug, title) VALUES ('berita', 'Berita') ON CONFLICT DO NOTHING")
            conn.execute("UPDATE sections SET title = 'Kabar 新闻' WHERE slug = 'berita'")
        assert await app.state.watcher.check()
        after = await archives(client)
        # Every month of the three scopes has an article in berita/tiongkok: all change.
        assert [p for p in before if after[p].content == before[p].content] == []
        assert b"Kabar \xe6\x96\xb0\xe9\x97\xbb" in after["/section/berita/tiongkok/archive/2025-04/feed.atom"].content
