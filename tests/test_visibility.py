"""Which articles a reader sees: only published ones whose publish time has
come, in every feed, every format and on the front page; scheduled ones appear when
their time passes with no write; taken-down ones disappear after the change check."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import (
    FakeClock,
    article,
    make_settings,
    section,
    seeded_records,
    serve,
    write_records,
)
from tests.test_feed_formats import check_atom, check_json, check_rss, ids_in_order, urls_in_order

FORMATS = ("rss", "atom", "json")


def paths_of(scope: str | None) -> list[str]:
    prefix = "" if scope is None else f"/section/{scope}"
    return [f"{prefix}/feed.{fmt}" for fmt in FORMATS]


def fmt_of(path: str) -> str:
    return path.rsplit(".", 1)[-1]


async def get(client: httpx.AsyncClient, path: str) -> bytes:
    response = await client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    content = response.content
    {"rss": check_rss, "atom": check_atom, "json": check_json}.get(fmt_of(path), lambda c: c)(content)
    return content


def visible_urls(records: list[dict[str, Any]], scope: str | None, now: float) -> set[str]:
    return {
        r["url"]
        for r in records
        if r.get("type", "article") == "article"
        and r["status"] == "published"
        and datetime.fromisoformat(r["published_at"]).timestamp() <= now
        and (scope is None or r["section"] == scope or r["section"].startswith(scope + "/"))
    }


def build_date(content: bytes) -> int:
    channel = check_rss(content).find("channel")
    assert channel is not None
    return int(parsedate_to_datetime(channel.findtext("lastBuildDate") or "").timestamp())


def file_digest(db_path: Path) -> tuple[str, ...]:
    parts = []
    for suffix in ("", "-wal"):
        path = Path(str(db_path) + suffix)
        parts.append(hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "")
    return tuple(parts)


SECTIONS = ["berita", "berita/tiongkok", "berita/asia", "ekonomi", "budaya"]


def hidden_site(now: datetime) -> list[dict[str, Any]]:
    """Visible articles, and in every section a draft, a deleted and a scheduled one,
    each titled so that any trace of it in any output is easy to find."""
    records: list[dict[str, Any]] = [section(slug) for slug in SECTIONS]
    for n, slug in enumerate(SECTIONS):
        records.append(article(f"ok-{n}", now - timedelta(hours=n + 1), section=slug))
        records.append(
            article(f"draft-{n}", now - timedelta(minutes=10), section=slug, status="draft", title=f"RAHASIA draft {n}")
        )
        records.append(
            article(f"gone-{n}", now - timedelta(minutes=20), section=slug, status="deleted", title=f"RAHASIA gone {n}")
        )
        records.append(article(f"later-{n}", now + timedelta(days=1), section=slug, title=f"RAHASIA later {n}"))
    return records


@pytest.mark.anyio
async def test_drafts_deleted_and_scheduled_articles_appear_nowhere(
    db_path: Path, now: datetime, clock: FakeClock
) -> None:
    records = hidden_site(now)
    write_records(db_path, records)
    hidden = [r for r in records if r.get("title", "").startswith("RAHASIA")]
    async with serve(make_settings(db_path), clock) as (client, _):
        for scope in [None, *SECTIONS]:
            for path in paths_of(scope):
                content = await get(client, path)
                body = content.decode("utf-8")
                for record in hidden:
                    assert record["title"] not in body, (path, record["id"])
                    assert record["url"] not in body, (path, record["id"])
                assert set(urls_in_order(fmt_of(path), content)) == visible_urls(records, scope, clock.now), path
        home = (await client.get("/")).text
        assert "RAHASIA" not in home
        for record in hidden:
            assert record["id"] not in home


@pytest.mark.anyio
async def test_a_seeded_site_shows_exactly_its_visible_articles(db_path: Path, now: datetime, clock: FakeClock) -> None:
    records = seeded_records(now, count=80, seed=11)
    write_records(db_path, records)
    statuses = {r["status"] for r in records if r.get("type") == "article"}
    assert statuses == {"published", "draft", "deleted"}  # the seed really mixes them
    async with serve(make_settings(db_path, feeds__items=200), clock) as (client, _):
        for scope in [None, "berita", "berita/tiongkok", "ekonomi"]:
            expected = visible_urls(records, scope, clock.now)
            for path in paths_of(scope):
                assert set(urls_in_order(fmt_of(path), await get(client, path))) == expected, path


@pytest.mark.anyio
async def test_a_scheduled_article_appears_once_its_time_passes(db_path: Path, now: datetime, clock: FakeClock) -> None:
    due = now + timedelta(minutes=10)
    scheduled = article("nanti", due, section="berita/tiongkok", title="Terbit nanti")
    records = [
        *(section(s) for s in SECTIONS),
        article("lama-1", now - timedelta(hours=1), section="berita/tiongkok"),
        article("lama-2", now - timedelta(hours=2), section="ekonomi"),
        scheduled,
    ]
    write_records(db_path, records)
    including = [*paths_of(None), *paths_of("berita"), *paths_of("berita/tiongkok")]
    excluding = paths_of("ekonomi")
    async with serve(make_settings(db_path), clock) as (client, app):
        watcher = app.state.watcher
        before = {path: await get(client, path) for path in [*including, *excluding]}
        for path in including:
            assert scheduled["url"] not in urls_in_order(fmt_of(path), before[path])
        untouched = file_digest(db_path)

        clock.advance(10 * 60 - 1)  # a second early
        await watcher.check()
        for path in including:
            assert scheduled["url"] not in urls_in_order(fmt_of(path), await get(client, path)), path

        clock.advance(2)
        assert await watcher.check() is True
        for path in including:
            content = await get(client, path)
            assert urls_in_order(fmt_of(path), content)[0] == scheduled["url"], path
        for path in excluding:
            assert await get(client, path) == before[path]
        # Its publish time is now the newest change in those feeds: their date, not the clock's.
        for scope in (None, "berita", "berita/tiongkok"):
            assert build_date(await get(client, paths_of(scope)[0])) == int(due.timestamp())
        assert file_digest(db_path) == untouched  # no write announced it


TAKE_DOWNS = ["draft", "deleted", "delete-row", "moved-to-future"]


def take_down(db_path: Path, record: dict[str, Any], how: str, now: datetime) -> None:
    """As a CMS would: through the importer, or with plain SQL on its own connection."""
    if how in ("draft", "deleted"):
        write_records(db_path, [{**record, "status": how}])
    elif how == "moved-to-future":
        write_records(db_path, [{**record, "published_at": (now + timedelta(days=2)).isoformat()}])
    else:
        conn = sqlite3.connect(db_path)
        with conn:
            conn.execute("DELETE FROM articles WHERE id = ?", (record["id"],))
        conn.close()


@pytest.mark.anyio
@pytest.mark.parametrize("how", TAKE_DOWNS)
async def test_an_article_taken_down_disappears_after_a_check(
    db_path: Path, now: datetime, clock: FakeClock, how: str
) -> None:
    # The take-down lands in the same second as the first import and the renders
    # (nothing here waits): whole-second stamps alone cannot tell the two writes apart.
    records: list[dict[str, Any]] = [
        *(section(s) for s in SECTIONS),
        article("tetap", now - timedelta(hours=2), section="berita/tiongkok"),
        article("turun", now - timedelta(hours=3), section="berita/tiongkok"),
        article("lain", now - timedelta(hours=1), section="ekonomi"),
    ]
    write_records(db_path, records)
    target = records[-2]
    paths = [*paths_of(None), *paths_of("berita"), *paths_of("berita/tiongkok")]
    async with serve(make_settings(db_path), clock) as (client, app):
        before = {path: await get(client, path) for path in paths}
        for path in paths:
            assert target["url"] in urls_in_order(fmt_of(path), before[path]), path

        take_down(db_path, target, how, now)
        assert await app.state.watcher.check() is True

        for path in paths:
            content = await get(client, path)
            assert target["url"] not in urls_in_order(fmt_of(path), content), path
            assert target["url"] not in content.decode("utf-8"), path
            assert len(ids_in_order(fmt_of(path), content)) == len(ids_in_order(fmt_of(path), before[path])) - 1
        for scope in (None, "berita", "berita/tiongkok"):
            assert build_date(await get(client, paths_of(scope)[0])) >= build_date(before[paths_of(scope)[0]])


@pytest.mark.anyio
async def test_an_edit_in_the_same_second_is_not_lost(db_path: Path, now: datetime, clock: FakeClock) -> None:
    record = article("sunting", now - timedelta(hours=1), section="berita/tiongkok", title="Judul salah ketik")
    write_records(db_path, [section("berita"), section("berita/tiongkok"), record])
    async with serve(make_settings(db_path), clock) as (client, app):
        for path in paths_of("berita/tiongkok"):
            assert "Judul salah ketik" in (await get(client, path)).decode()
        write_records(db_path, [{**record, "title": "Judul yang benar"}])
        await app.state.watcher.check()
        for path in [*paths_of(None), *paths_of("berita/tiongkok")]:
            body = (await get(client, path)).decode()
            assert "Judul yang benar" in body and "Judul salah ketik" not in body, path


@pytest.mark.anyio
async def test_removing_the_newest_article_does_not_date_a_feed_back(
    db_path: Path, now: datetime, clock: FakeClock
) -> None:
    records: list[dict[str, Any]] = [
        section("berita"),
        section("berita/tiongkok"),
        section("berita/asia"),
        article("asia-1", now - timedelta(days=2), section="berita/asia"),
        article("tiongkok-1", now - timedelta(hours=1), section="berita/tiongkok"),
    ]
    write_records(db_path, records)
    # As if each section was last written when its article was published: the
    # newest change in the site is then the tiongkok article.
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute(
            "UPDATE sections SET changed_at = ? WHERE slug = 'berita/asia'",
            (int((now - timedelta(days=2)).timestamp()),),
        )
        conn.execute(
            "UPDATE sections SET changed_at = ? WHERE slug = 'berita/tiongkok'",
            (int((now - timedelta(hours=1)).timestamp()),),
        )
        conn.execute(
            "UPDATE sections SET changed_at = ? WHERE slug = 'berita'", (int((now - timedelta(days=3)).timestamp()),)
        )
    conn.close()
    scopes = (None, "berita", "berita/tiongkok")
    async with serve(make_settings(db_path), clock) as (client, app):
        before = {scope: build_date(await get(client, paths_of(scope)[0])) for scope in scopes}
        assert before[None] == int((now - timedelta(hours=1)).timestamp())

        write_records(db_path, [{**records[-1], "status": "deleted"}])
        assert await app.state.watcher.check() is True

        for scope in scopes:
            content = await get(client, paths_of(scope)[0])
            assert records[-1]["url"] not in urls_in_order("rss", content)
            assert build_date(content) >= before[scope], scope
