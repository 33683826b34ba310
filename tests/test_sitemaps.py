"""Sitemaps: robots.txt, the index, article and section sitemaps, the
Google News sitemap. Real app, real SQLite file, movable clock."""

from __future__ import annotations

import gzip
import random
import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from feedserver.archive import Calendar
from feedserver.body import Body
from feedserver.cache import DocumentCache
from feedserver.listing import SameHost
from feedserver.sitemap_writer import news_language
from feedserver.text import uri
from tests.conftest import BASE_URL, FakeClock, article, make_settings, section, serve, write_records
from tests.sitemap_checks import NEWS, SM, assert_valid, crawl, expected_urls, parse

pytestmark = pytest.mark.anyio
JAKARTA = ZoneInfo("Asia/Jakarta")


def site_records(now: datetime, seed: int = 3) -> list[dict[str, Any]]:
    """Four months of articles with every kind the sitemaps must handle."""
    rng = random.Random(seed)
    records: list[dict[str, Any]] = [section(s) for s in ("berita", "berita/tiongkok", "ekonomi", "budaya", "kosong")]
    for n in range(40):
        published = now - timedelta(days=rng.uniform(2.5, 110))
        extra: dict[str, Any] = {}
        if n % 3 == 0:
            extra["image"] = {"url": f"https://img.example.id/{n}.jpg?w=800&h=450"}
        if n % 7 == 0:
            extra["updated_at"] = (published + timedelta(hours=5)).isoformat()
        records.append(
            article(f"a-{n:03d}", published, section=rng.choice(["berita/tiongkok", "ekonomi", "budaya"]), **extra)
        )
    records += [
        article("draft", now - timedelta(days=3), status="draft"),
        article("deleted", now - timedelta(days=40), status="deleted"),
        article("future", now + timedelta(hours=6)),
        article("elsewhere", now - timedelta(days=1), url="https://other.example/berita/elsewhere"),
        article("plain-http", now - timedelta(days=2), url="http://example.id/berita/plain-http"),
        article("odd-url", now - timedelta(days=20), url=f"{BASE_URL}/berita/北京?a=1&b=<2>"),
        article("zh", now - timedelta(hours=5), title="北京 & 上海 <快讯>", language="zh-TW"),
        article("recent-0", now - timedelta(hours=1), section="ekonomi"),
        article("recent-1", now - timedelta(hours=20), section="budaya"),
        article("recent-2", now - timedelta(hours=47)),
    ]
    return records


@pytest.fixture
def records(now: datetime) -> list[dict[str, Any]]:
    return site_records(now)


@pytest.fixture
def site(db_path: Path, records: list[dict[str, Any]]) -> Path:
    write_records(db_path, records)
    return db_path


async def test_every_file_validates_and_lists_each_live_url_once(
    site: Path, records: list[dict[str, Any]], now: datetime, clock: FakeClock
) -> None:
    async with serve(make_settings(site), clock) as (client, _):
        result = await crawl(client)
    assert Counter(result.urls).most_common(1)[0][1] == 1, "a URL is listed twice"
    assert set(result.urls) == expected_urls(records, now)
    assert f"{BASE_URL}/kosong" not in result.urls  # a section with no live article
    assert uri(f"{BASE_URL}/berita/北京?a=1&b=<2>") in result.urls  # escaped, parsed back exactly
    assert "/sitemap-sections.xml" in result.files
    months = [p for p in result.files if p.startswith("/sitemap-articles-")]
    assert len(months) >= 4 and all(len(p) == len("/sitemap-articles-2025-06.xml") for p in months)


async def test_lastmod_and_images(site: Path, records: list[dict[str, Any]], now: datetime, clock: FakeClock) -> None:
    async with serve(make_settings(site), clock) as (client, _):
        result = await crawl(client)
        index = parse((await client.get("/sitemap.xml")).content)
    by_url = {r["url"]: r for r in records if r.get("type") == "article"}
    for url, record in by_url.items():
        if url not in result.lastmods:
            continue
        expected = datetime.fromisoformat(record.get("updated_at", record["published_at"])).astimezone(JAKARTA)
        assert result.lastmods[url] == expected.isoformat(timespec="seconds")
        image = record.get("image", {}).get("url")
        assert result.images[url] == ([image] if image else [])
    # The index's lastmod of a child is the newest lastmod among its URLs.
    for entry in index.iter(f"{SM}sitemap"):
        path = entry.findtext(f"{SM}loc")[len(BASE_URL) :]
        urls = [u.findtext(f"{SM}lastmod") for u in result.files[path].iter(f"{SM}url")]
        newest = max(datetime.fromisoformat(t) for t in urls)
        assert datetime.fromisoformat(entry.findtext(f"{SM}lastmod")) == newest


async def test_small_page_size_splits_months_into_days_and_pages(db_path: Path, now: datetime) -> None:
    # Seven articles on one day and two on another in the same month; one in the month before.
    day = datetime(2025, 3, 10, 12, tzinfo=JAKARTA)
    records = [article(f"d-{n}", day + timedelta(minutes=n)) for n in range(7)]
    records += [article(f"e-{n}", day + timedelta(days=5, minutes=n)) for n in range(2)]
    records += [article("feb", day - timedelta(days=20))]
    write_records(db_path, records)
    clock = FakeClock(now.timestamp())
    async with serve(make_settings(db_path, sitemaps__page_size=3), clock) as (client, _):
        result = await crawl(client)
    names = sorted(p for p in result.files if p.startswith("/sitemap-articles-"))
    assert names == [
        "/sitemap-articles-2025-02.xml",
        "/sitemap-articles-2025-03-10-1.xml",
        "/sitemap-articles-2025-03-10-2.xml",
        "/sitemap-articles-2025-03-10-3.xml",
        "/sitemap-articles-2025-03-15.xml",
    ]
    assert all(len(result.files[n]) <= 3 for n in names)
    assert sorted(result.urls) == sorted(expected_urls(records, now))
    # Pages follow publish order: the first page holds the first three of the day.
    first = [u.findtext(f"{SM}loc") for u in result.files["/sitemap-articles-2025-03-10-1.xml"]]
    assert first == [f"{BASE_URL}/berita/tiongkok/d-{n}" for n in range(3)]


async def test_month_boundaries_follow_the_site_time_zone(db_path: Path, now: datetime, clock: FakeClock) -> None:
    # 2025-04-30 23:30 in Jakarta is 16:30 UTC: April there, whatever UTC says.
    write_records(
        db_path,
        [
            article("april-late", datetime(2025, 4, 30, 23, 30, tzinfo=JAKARTA)),
            article("may-early", datetime(2025, 5, 1, 0, 0, tzinfo=JAKARTA)),
        ],
    )
    async with serve(make_settings(db_path), clock) as (client, _):
        april = parse((await client.get("/sitemap-articles-2025-04.xml")).content)
        may = parse((await client.get("/sitemap-articles-2025-05.xml")).content)
    assert [u.findtext(f"{SM}loc").rsplit("/", 1)[1] for u in april] == ["april-late"]
    assert [u.findtext(f"{SM}loc").rsplit("/", 1)[1] for u in may] == ["may-early"]


def test_calendar_days_across_daylight_saving() -> None:
    calendar = Calendar(ZoneInfo("Europe/Berlin"))
    spring = datetime(2025, 3, 30).date()  # 23 hours long
    start, stop = calendar.midnight(spring), calendar.midnight(spring + timedelta(days=1))
    assert stop - start == 23 * 3600
    assert calendar.day_of(start) == spring and calendar.day_of(stop - 1) == spring
    autumn = datetime(2025, 10, 26).date()  # 25 hours long
    assert calendar.midnight(autumn + timedelta(days=1)) - calendar.midnight(autumn) == 25 * 3600
    assert calendar.month_range(autumn) == (
        int(datetime(2025, 10, 1, tzinfo=ZoneInfo("Europe/Berlin")).timestamp()),
        int(datetime(2025, 11, 1, tzinfo=ZoneInfo("Europe/Berlin")).timestamp()),
    )


async def test_a_write_in_another_month_leaves_a_child_alone(db_path: Path, now: datetime, clock: FakeClock) -> None:
    old = datetime(2024, 1, 15, 9, tzinfo=JAKARTA)
    write_records(db_path, [article("old-1", old), article("old-2", old + timedelta(days=2))])
    async with serve(make_settings(db_path), clock) as (client, app):
        before = await client.get("/sitemap-articles-2024-01.xml")
        renders = app.state.service.cache.renders
        write_records(db_path, [article("new-1", now - timedelta(hours=1))])
        assert await app.state.watcher.check()
        after = await client.get("/sitemap-articles-2024-01.xml")
        assert after.content == before.content and after.headers["etag"] == before.headers["etag"]
        assert app.state.service.cache.renders == renders  # not even re-rendered
        index = (await client.get("/sitemap.xml")).text
        assert now.astimezone(JAKARTA).strftime("/sitemap-articles-%Y-%m.xml") in index
        # A write in the month does change it, and its Last-Modified never goes back.
        write_records(db_path, [article("old-2", old + timedelta(days=2), status="deleted")])
        assert await app.state.watcher.check()
        changed = await client.get("/sitemap-articles-2024-01.xml")
        assert changed.headers["etag"] != before.headers["etag"]
        assert "old-2" not in changed.text
        from email.utils import parsedate_to_datetime

        assert parsedate_to_datetime(changed.headers["last-modified"]) >= parsedate_to_datetime(
            before.headers["last-modified"]
        )


async def test_drafts_deleted_and_future_are_absent_until_due(
    site: Path, records: list[dict[str, Any]], now: datetime, clock: FakeClock
) -> None:
    async with serve(make_settings(site), clock) as (client, app):
        result = await crawl(client)
        news = (await client.get("/news-sitemap.xml")).text
        for name in ("draft", "deleted", "future"):
            assert not any(u.endswith(f"/{name}") for u in result.urls)
            assert f"/{name}<" not in news
        clock.advance(7 * 3600)  # the scheduled article comes due; no write announces it
        assert await app.state.watcher.check()
        result = await crawl(client)
        assert f"{BASE_URL}/berita/tiongkok/future" in result.urls
        assert f"{BASE_URL}/berita/tiongkok/future<" in (await client.get("/news-sitemap.xml")).text


def news_entries(content: bytes) -> list[dict[str, str]]:
    root = assert_valid(content, allow_empty=True)
    return [
        {
            "loc": u.findtext(f"{SM}loc"),
            "name": u.findtext(f"{NEWS}news/{NEWS}publication/{NEWS}name"),
            "language": u.findtext(f"{NEWS}news/{NEWS}publication/{NEWS}language"),
            "date": u.findtext(f"{NEWS}news/{NEWS}publication_date"),
            "title": u.findtext(f"{NEWS}news/{NEWS}title"),
        }
        for u in root.iter(f"{SM}url")
    ]


async def test_news_sitemap_holds_the_last_two_days_and_drops_one_as_it_ages(
    site: Path, records: list[dict[str, Any]], now: datetime, clock: FakeClock
) -> None:
    window = [
        r
        for r in records
        if r.get("type") == "article"
        and r["status"] == "published"
        and now - timedelta(days=2) < datetime.fromisoformat(r["published_at"]) <= now
        and r["url"].startswith(BASE_URL + "/")
    ]
    window.sort(key=lambda r: (datetime.fromisoformat(r["published_at"]), r["id"]), reverse=True)
    async with serve(make_settings(site), clock) as (client, app):
        response = await client.get("/news-sitemap.xml")
        assert response.headers["content-type"] == "application/xml; charset=utf-8"
        entries = news_entries(response.content)
        assert [e["loc"] for e in entries] == [uri(r["url"]) for r in window]
        assert {e["name"] for e in entries} == {"Kabar Tiongkok"}
        zh = next(e for e in entries if e["loc"].endswith("/zh"))
        assert (zh["language"], zh["title"]) == ("zh-tw", "北京 & 上海 <快讯>")
        assert {e["language"] for e in entries if e is not zh} == {"id"}
        first = window[0]
        expected_date = datetime.fromisoformat(first["published_at"]).astimezone(JAKARTA)
        assert entries[0]["date"] == expected_date.isoformat(timespec="seconds")
        # Move the clock to just past the oldest one's two days: it leaves by itself.
        oldest = datetime.fromisoformat(window[-1]["published_at"])
        clock.now = (oldest + timedelta(days=2)).timestamp()
        assert await app.state.watcher.check()
        later = news_entries((await client.get("/news-sitemap.xml")).content)
        assert window[-1]["url"] not in [e["loc"] for e in later]
        assert [e["loc"] for e in later] == [e["loc"] for e in entries[:-1]]


async def test_empty_news_window_is_an_empty_urlset(db_path: Path, now: datetime, clock: FakeClock) -> None:
    write_records(db_path, [article("old", now - timedelta(days=3))])
    async with serve(make_settings(db_path), clock) as (client, _):
        response = await client.get("/news-sitemap.xml")
    root = parse(response.content)
    assert response.status_code == 200 and root.tag == f"{SM}urlset" and len(root) == 0


async def test_news_over_one_page_is_an_index(db_path: Path, now: datetime, clock: FakeClock) -> None:
    records = [article(f"n-{n}", now - timedelta(minutes=10 * n)) for n in range(5)]
    write_records(db_path, records)
    async with serve(make_settings(db_path, sitemaps__news_page_size=2), clock) as (client, _):
        result = await crawl(client, "/news-sitemap.xml")
        assert (await client.get("/news-sitemap-4.xml")).status_code == 404
    assert list(result.files) == [
        "/news-sitemap.xml",
        "/news-sitemap-1.xml",
        "/news-sitemap-2.xml",
        "/news-sitemap-3.xml",
    ]
    assert result.urls == [f"{BASE_URL}/berita/tiongkok/n-{n}" for n in range(5)]  # newest first, across pages


async def test_robots_txt(db_path: Path, now: datetime, clock: FakeClock) -> None:
    write_records(db_path, [article("a", now - timedelta(hours=1))])
    settings = make_settings(db_path, robots__extra_lines=["Disallow: /preview/"])
    async with serve(settings, clock) as (client, _):
        response = await client.get("/robots.txt")
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    lines = response.text.splitlines()
    assert lines[:3] == ["User-agent: *", "Allow: /", "Disallow: /preview/"]
    assert [line for line in lines if line.startswith("Sitemap:")] == [
        f"Sitemap: {BASE_URL}/sitemap.xml",
        f"Sitemap: {BASE_URL}/news-sitemap.xml",
    ]


@pytest.mark.parametrize(
    "path",
    [
        "/sitemap-articles-2025-13.xml",
        "/sitemap-articles-1990-01.xml",
        "/sitemap-articles-2025-1.xml",
        "/sitemap-articles-x.xml",
        "/sitemap-articles-2025-06-01-01.xml",
        "/sitemap-foo.xml",
        "/sitemap-sections-1.xml",
        "/sitemap-sections-2.xml",
        "/sitemap-.xml",
        "/news-sitemap-0.xml",
        "/news-sitemap-1.xml",
        "/news-sitemap-abc.xml",
        "/sitemap.xml/",
    ],
)
async def test_unknown_or_malformed_sitemaps_are_404(site: Path, clock: FakeClock, path: str) -> None:
    async with serve(make_settings(site), clock) as (client, _):
        assert (await client.get(path)).status_code == 404
        assert (await client.head(path)).status_code == 404


@pytest.mark.parametrize("identity_max_bytes", [0, 1 << 20])
async def test_gzip_conditional_get_and_head(site: Path, clock: FakeClock, identity_max_bytes: int) -> None:
    settings = make_settings(site, cache__identity_max_bytes=identity_max_bytes)
    async with serve(settings, clock) as (client, app):
        path = next(p for p in (await crawl(client)).files if p.startswith("/sitemap-articles-"))
        plain = await client.get(path, headers={"accept-encoding": "identity"})
        zipped = await client.get(path, headers={"accept-encoding": "gzip"})
        assert zipped.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
        assert zipped.content == plain.content  # httpx decodes gzip
        assert int(plain.headers["content-length"]) == len(plain.content)
        assert plain.headers["vary"] == "Accept-Encoding" and plain.headers["last-modified"]
        again = await client.get(path, headers={"if-none-match": plain.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        head = await client.head(path, headers={"accept-encoding": "identity"})
        assert head.headers["content-length"] == plain.headers["content-length"] and head.content == b""
        kept = app.state.service.cache.get(path)
        assert (kept.body is None) == (identity_max_bytes == 0)
        assert gzip.decompress(kept.gzip_body) == plain.content


def test_cache_keeps_within_its_byte_budget() -> None:
    import asyncio

    cache = DocumentCache(100, "public", 1, max_bytes=3000, identity_max_bytes=0)

    async def fill() -> None:
        for n in range(5):
            content = random.Random(n).randbytes(1000)  # incompressible: about 1,000 bytes each

            async def render(content: bytes = content, n: int = n) -> tuple[Body, object]:
                return Body(content, 0, "application/octet-stream"), n

            await cache.render(f"/{n}", render)

    asyncio.run(fill())
    assert list(cache.entries) == ["/3", "/4"]
    assert cache.bytes <= 3000
    assert all(entry.body is None and len(entry.identity) == 1000 for entry in cache.entries.values())


def test_large_documents_never_evict_small_ones() -> None:
    """A crawler walking big sitemap children must not push out the feeds readers poll."""
    import asyncio

    cache = DocumentCache(100, "public", 1, max_bytes=3000, identity_max_bytes=500, large_bytes=500)

    async def fill() -> None:
        async def small() -> tuple[Body, object]:
            return Body(b"<rss/>", 0, "application/rss+xml"), "feed"

        await cache.render("/feed.rss", small)
        for n in range(5):
            content = random.Random(n).randbytes(1000)  # over identity_max_bytes: gzip-only

            async def render(content: bytes = content, n: int = n) -> tuple[Body, object]:
                return Body(content, 0, "application/xml"), n

            await cache.render(f"/big-{n}", render)

    asyncio.run(fill())
    assert "/feed.rss" in cache.entries and cache.entries["/feed.rss"].body == b"<rss/>"
    assert [k for k in cache.entries if k.startswith("/big")] == ["/big-3", "/big-4"]
    assert cache.large_held <= 3000 and cache.bytes <= 3000


def test_news_language_codes() -> None:
    cases = {
        "id": "id",
        "en-US": "en",
        "EN": "en",
        "zh-CN": "zh-cn",
        "zh-TW": "zh-tw",
        "zh-Hant-HK": "zh-tw",
        "zh-Hans": "zh-cn",
        "zh": "zh-cn",
        "zh-HK": "zh-tw",
        "fil": "fil",
    }
    assert {tag: news_language(tag) for tag in cases} == cases


def test_same_host() -> None:
    """The site's origin spelt as in site.base_url (the queries count with the same rule)."""
    same = SameHost("https://example.id")
    assert same("https://example.id/a") and same("https://example.id/")
    assert not same("http://example.id/a") and not same("https://example.id:8443/a")
    assert not same("https://example.id/" + "a" * 2048)  # longer than sitemap.xsd's tLoc
    assert not same("https://example.id.evil.test/a")
    assert not same("https://example.id@evil.test/a")
    assert not same("https://cdn.example.id/a")


async def test_sitemap_urls_come_from_base_url_not_host_header(site: Path, clock: FakeClock) -> None:
    async with serve(make_settings(site), clock) as (client, _):
        index = await client.get("/sitemap.xml", headers={"host": "evil.test"})
    locs = [e.findtext(f"{SM}loc") for e in parse(index.content).iter(f"{SM}sitemap")]
    assert locs and all(loc.startswith(BASE_URL + "/sitemap-") for loc in locs)


def test_w3c_datetimes_carry_the_offset() -> None:
    from feedserver.sitemap_writer import w3c

    moment = int(datetime(2025, 6, 16, 2, 4, tzinfo=UTC).timestamp())
    assert w3c(moment, JAKARTA) == "2025-06-16T09:04:00+07:00"
    assert w3c(moment, ZoneInfo("UTC")) == "2025-06-16T02:04:00+00:00"


async def test_the_archive_kept_up_to_date_equals_one_read_afresh(db_path: Path, now: datetime) -> None:
    """Incremental reloads (stamps past the last version, days come due) give what a full read gives."""
    from feedserver.archive import load_archive

    rng = random.Random(11)
    clock = FakeClock(now.timestamp())

    def some_time() -> datetime:
        return now + timedelta(hours=rng.uniform(-24 * 100, 12))

    records = {f"x-{n}": article(f"x-{n}", some_time(), section=rng.choice(["berita", "ekonomi"])) for n in range(60)}
    write_records(db_path, list(records.values()))
    settings = make_settings(db_path, sitemaps__page_size=4)
    async with serve(settings, clock) as (client, app):
        service = app.state.service
        for _ in range(6):
            changed = []
            for key in rng.sample(sorted(records), 8):
                roll = rng.random()
                record = dict(records[key])
                if roll < 0.3:
                    record["published_at"] = some_time().isoformat()  # moved, maybe to another month
                elif roll < 0.5:
                    record["status"] = rng.choice(["draft", "deleted", "published"])
                elif roll < 0.7:
                    record["updated_at"] = (
                        datetime.fromisoformat(record["published_at"]) + timedelta(hours=1)
                    ).isoformat()
                else:
                    record["url"] = record["url"] + "-v2"
                records[key] = record
                changed.append(record)
            new = f"x-{len(records)}"
            records[new] = article(new, some_time())
            write_records(db_path, [*changed, records[new]])
            clock.advance(rng.uniform(0, 4 * 3600))  # scheduled ones come due now and then
            assert await app.state.watcher.check()
            kept = service.state.archive
            fresh = await load_archive(service.pool, settings, service.state.now, None)
            assert kept.days == fresh.days
            assert kept.files == fresh.files
            assert kept.news == fresh.news
        result = await crawl(client)
    live = [
        r
        for r in records.values()
        if r["status"] == "published"
        and datetime.fromisoformat(r["published_at"]) <= datetime.fromtimestamp(clock.now, UTC)
    ]
    assert {u for u in result.urls if "/x-" in u} == {r["url"] for r in live}


async def test_sections_over_the_page_size_are_numbered(db_path: Path, now: datetime, clock: FakeClock) -> None:
    write_records(db_path, [article(f"s-{n}", now - timedelta(days=1), section=f"rubrik-{n}") for n in range(3)])
    async with serve(make_settings(db_path, sitemaps__page_size=2), clock) as (client, _):
        result = await crawl(client)
        assert (await client.get("/sitemap-sections-3.xml")).status_code == 404
    assert [p for p in result.files if "sections" in p] == ["/sitemap-sections.xml", "/sitemap-sections-2.xml"]
    assert sorted(u for u in result.urls if "/rubrik-" in u and "/s-" not in u) == [
        f"{BASE_URL}/rubrik-{n}" for n in range(3)
    ]


async def test_edge_records_keep_every_file_valid(db_path: Path, now: datetime, clock: FakeClock) -> None:
    """Found by tests/test_hostile_content.py: a month whose articles are all on another host,
    times at the ends of the calendar and before standard time, a stray '%' in a URL.
    The importer refuses times past the calendar's ends, so a CMS writes those two directly."""
    write_records(
        db_path,
        [
            article("elsewhere", datetime(2024, 3, 5, tzinfo=JAKARTA), url="https://lain.example/x"),
            article("lmt", datetime(1900, 1, 1, tzinfo=JAKARTA)),
            article("first", now - timedelta(hours=5)),
            article("last", now - timedelta(hours=6)),
            article("percent", now - timedelta(hours=2), url=f"{BASE_URL}/berita/100%-naik%zz%41"),
            article("long", now - timedelta(hours=3), url=f"{BASE_URL}/" + "a" * 3000),
        ],
    )
    first = int(datetime(1, 1, 1, tzinfo=UTC).timestamp())
    last = int(datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-12))).timestamp())
    with sqlite3.connect(db_path) as cms:
        for article_id, moment in (("first", first), ("last", last)):
            cms.execute(
                "UPDATE articles SET published_at = ?, updated_at = ? WHERE id = ?", (moment, moment, article_id)
            )
    cms.close()
    async with serve(make_settings(db_path), clock) as (client, app):
        result = await crawl(client)
        news = news_entries((await client.get("/news-sitemap.xml")).content)
        assert (await client.get("/sitemap-articles-2024-03.xml")).status_code == 404  # no file for it
        clock.advance(3 * 86400)  # "percent" leaves the news window: a reload with no write
        assert await app.state.watcher.check()
        assert news_entries((await client.get("/news-sitemap.xml")).content) == []
    assert "/sitemap-articles-2024-03.xml" not in result.files
    assert result.lastmods[f"{BASE_URL}/berita/tiongkok/lmt"] == "1899-12-31T16:52:48+00:00"  # LMT: in UTC
    assert f"{BASE_URL}/berita/100%25-naik%25zz%41" in result.urls
    assert [e["loc"] for e in news] == [f"{BASE_URL}/berita/100%25-naik%25zz%41"]
    assert not any("aaaa" in url for url in result.urls)


async def test_an_empty_site_still_has_a_valid_index(db_path: Path, now: datetime, clock: FakeClock) -> None:
    write_records(db_path, [article("draft", now - timedelta(hours=1), status="draft")])
    async with serve(make_settings(db_path), clock) as (client, _):
        result = await crawl(client)
    assert result.urls == [f"{BASE_URL}/"]
