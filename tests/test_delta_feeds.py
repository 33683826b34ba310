"""RFC 3229 delta feeds (`A-IM: feed`): raw requests for each case, feedparser, and newsboat.

feedparser sends `A-IM: feed` on every request; newsboat sends it with
`If-None-Match` once it has an ETag and a Last-Modified. Both keep the items
they had and add those a 226 carries.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import httpx
import pytest

from tests.cms import cms_connection, publish
from tests.conftest import FakeClock, article, make_settings, section, serve, write_records
from tests.readers import article_ids
from tests.test_feed_formats import check_atom, check_json, check_rss
from tests.uvicorn_process import raw_get, running_server

CHECKS = {"rss": check_rss, "atom": check_atom, "json": check_json}


def site(now: datetime) -> list[dict[str, Any]]:
    return [
        section("berita/tiongkok", "Tiongkok"),
        article("a-1", now - timedelta(hours=3), title="Festival lampion 灯笼 di Pontianak"),
        article("a-2", now - timedelta(hours=2), title="Kopi Sumatra masuk pasar Shanghai 上海"),
    ]


async def publish_and_check(app: Any, db_path: Path, clock: FakeClock, article_id: str, minutes_ago: int) -> None:
    with cms_connection(db_path, clock) as conn:
        publish(conn, article_id, datetime.fromtimestamp(clock() - 60 * minutes_ago), title=f"Berita {article_id} 新闻")
    assert await app.state.watcher.check()


def delta_request(etag: str, **extra: str) -> dict[str, str]:
    return {"A-IM": "feed", "If-None-Match": etag, "Accept-Encoding": "identity", **extra}


@pytest.mark.anyio
@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
async def test_each_case_with_raw_requests(db_path: Path, now: datetime, clock: FakeClock, fmt: str) -> None:
    write_records(db_path, site(now))
    path = f"/feed.{fmt}"
    async with serve(make_settings(db_path), clock) as (client, app):
        client.headers["Accept-Encoding"] = "identity"
        first = await client.get(path)
        old_etag = first.headers["etag"]
        await publish_and_check(app, db_path, clock, "a-3", 5)
        current = await client.get(path)
        assert current.status_code == 200 and current.headers["etag"] != old_etag

        # A version this server served: 226 with only what is new, in the feed's own format.
        delta = await client.get(path, headers=delta_request(old_etag))
        assert delta.status_code == 226
        assert delta.headers["im"] == "feed"
        assert delta.headers["etag"] == current.headers["etag"]  # the instance it brings the client to
        assert delta.headers["content-type"] == current.headers["content-type"]
        assert "content-encoding" not in delta.headers
        assert "no-store" in delta.headers["cache-control"] and "private" in delta.headers["cache-control"]
        assert {"a-im", "if-none-match"} <= {v.strip().lower() for v in delta.headers["vary"].split(",")}
        CHECKS[fmt](delta.content)  # a valid feed (schema, feedparser with bozo 0)
        assert article_ids(delta.content, fmt) == ["a-3"]
        assert article_ids(current.content, fmt) == ["a-3", "a-2", "a-1"]

        # The current version: 304, as always.
        same = await client.get(path, headers=delta_request(current.headers["etag"]))
        assert same.status_code == 304 and same.content == b""
        # An ETag never served here: the full feed.
        unknown = await client.get(path, headers=delta_request('"never-served"'))
        assert unknown.status_code == 200 and unknown.content == current.content
        # A-IM alone (feedparser sends it on every request): the normal 200.
        alone = await client.get(path, headers={"A-IM": "feed"})
        assert alone.status_code == 200 and alone.content == current.content
        assert alone.headers["cache-control"].startswith("public")
        # If-None-Match with an old ETag but no A-IM: the full feed.
        plain = await client.get(path, headers={"If-None-Match": old_etag})
        assert plain.status_code == 200 and plain.content == current.content
        # Another instance manipulation only: not a delta.
        other = await client.get(path, headers=delta_request(old_etag, **{"A-IM": "vcdiff"}))
        assert other.status_code == 200
        # The gzip variant's ETag, and gzip asked for: the delta compressed.
        zipped = await client.get(path, headers=delta_request(old_etag[:-1] + '-gz"', **{"Accept-Encoding": "gzip"}))
        assert zipped.status_code == 226 and zipped.headers["content-encoding"] == "gzip"
        assert zipped.headers["etag"].endswith('-gz"')
        assert article_ids(zipped.content, fmt) == ["a-3"]  # httpx decodes it
        # HEAD: the headers without the body.
        head = await client.head(path, headers=delta_request(old_etag))
        assert head.status_code == 226 and head.content == b""


@pytest.mark.anyio
async def test_a_changed_item_is_in_the_delta_and_old_versions_are_forgotten(
    db_path: Path, now: datetime, clock: FakeClock
) -> None:
    write_records(db_path, site(now))
    async with serve(make_settings(db_path, feeds__delta_versions=2), clock) as (client, app):
        etags = [(await client.get("/feed.atom")).headers["etag"]]
        with cms_connection(db_path, clock) as conn:
            conn.execute("UPDATE articles SET title = 'Festival lampion 灯笼: ralat' WHERE id = 'a-1'")
        assert await app.state.watcher.check()
        etags.append((await client.get("/feed.atom")).headers["etag"])
        delta = await client.get("/feed.atom", headers=delta_request(etags[0]))
        assert delta.status_code == 226 and article_ids(delta.content, "atom") == ["a-1"]  # changed, not new
        for n in (3, 4):
            clock.advance(60)
            await publish_and_check(app, db_path, clock, f"a-{n}", 0)
            etags.append((await client.get("/feed.atom")).headers["etag"])
        # Two versions are kept: the first is now unknown, the second and third still give deltas.
        assert (await client.get("/feed.atom", headers=delta_request(etags[0]))).status_code == 200
        delta = await client.get("/feed.atom", headers=delta_request(etags[1]))
        assert delta.status_code == 226 and article_ids(delta.content, "atom") == ["a-4", "a-3"]
        delta = await client.get("/feed.atom", headers=delta_request(etags[2]))
        assert delta.status_code == 226 and article_ids(delta.content, "atom") == ["a-4"]
        history = app.state.push.history.feeds["/feed.atom"]
        assert len(history) == 2  # bounded memory: fingerprints of two versions,
        assert [len(packed) for _, packed in history] == [2 * 8, 3 * 8]  # 8 bytes per item of v1, v2


@pytest.mark.anyio
async def test_deltas_off(db_path: Path, now: datetime, clock: FakeClock) -> None:
    write_records(db_path, site(now))
    async with serve(make_settings(db_path, feeds__delta_versions=0), clock) as (client, app):
        old = (await client.get("/feed.rss")).headers["etag"]
        await publish_and_check(app, db_path, clock, "a-3", 5)
        assert (await client.get("/feed.rss", headers=delta_request(old))).status_code == 200


@pytest.fixture
def server_site(tmp_path: Path, db_path: Path, now: datetime) -> Any:
    write_records(db_path, site(now))
    with running_server(db_path, tmp_path, {"cache.refresh_seconds": 0.2, "server.access_log": True}) as server:
        yield server


def write_and_wait(server: Any, db_path: Path, now: datetime, article_id: str, path: str) -> None:
    """Publish with the CMS's own connection and wait until the server shows it."""
    with httpx.Client(base_url=server.url, timeout=10) as client:
        before = client.get(path).headers["etag"]
        with cms_connection(db_path) as conn:
            publish(conn, article_id, now - timedelta(minutes=1), title=f"Berita {article_id} 新闻")
        deadline = time.monotonic() + 20
        while client.get(path).headers["etag"] == before:
            assert time.monotonic() < deadline, "the write never showed"
            time.sleep(0.05)


@pytest.mark.e2e
def test_feedparser_gets_a_226_from_real_uvicorn(server_site: Any, db_path: Path, now: datetime) -> None:
    url = server_site.url + "/feed.rss"
    first = feedparser.parse(url)
    assert first.status == 200 and first.bozo == 0
    assert [e.id.rsplit("/", 1)[-1] for e in first.entries] == ["a-2", "a-1"]
    write_and_wait(server_site, db_path, now, "a-3", "/feed.rss")
    second = feedparser.parse(url, etag=first.etag, modified=first.modified)
    assert second.status == 226 and second.bozo == 0
    assert [e.id.rsplit("/", 1)[-1] for e in second.entries] == ["a-3"]
    third = feedparser.parse(url, etag=second.etag, modified=second.modified)
    assert third.status == 304
    # Raw bytes on the wire, no client in between.
    status, headers, body = raw_get(
        server_site.url, b"/feed.rss", b"A-IM: feed\r\nIf-None-Match: " + first.etag.encode() + b"\r\n"
    )
    assert status == 226 and headers["im"] == "feed" and int(headers["content-length"]) == len(body)
    assert article_ids(body, "rss") == ["a-3"]


def newsboat() -> str | None:
    found = shutil.which("newsboat")
    if found is None and os.environ.get("CI"):
        pytest.fail("newsboat is not installed (.ci/run installs it)")
    return found


@pytest.mark.e2e
def test_newsboat_keeps_its_items_and_adds_those_of_a_226(
    server_site: Any, db_path: Path, now: datetime, tmp_path: Path
) -> None:
    program = newsboat()
    if program is None:
        pytest.skip("newsboat is not installed")
    home = tmp_path / "home"
    home.mkdir()
    (home / "urls").write_text(server_site.url + "/feed.atom\n")
    (home / "config").write_text("")
    cache = home / "cache.db"

    def reload() -> None:
        subprocess.run(
            [program, "-u", str(home / "urls"), "-c", str(cache), "-C", str(home / "config"), "-x", "reload"],
            env={**os.environ, "HOME": str(home)},
            check=True,
            timeout=60,
            capture_output=True,
        )

    def items() -> list[str]:
        with contextlib.closing(sqlite3.connect(cache)) as conn:
            return sorted(row[0].rsplit("/", 1)[-1] for row in conn.execute("SELECT guid FROM rss_item"))

    reload()
    assert items() == ["a-1", "a-2"]
    # newsboat 2.21 stores the validators from its second reload of a new feed on
    # (the first runs before the feed's row exists); from then on it sends
    # If-None-Match, If-Modified-Since and A-IM: feed.
    reload()
    write_and_wait(server_site, db_path, now, "a-3", "/feed.atom")
    reload()
    assert items() == ["a-1", "a-2", "a-3"]
    # It asked for the delta, and got one: uvicorn's access log shows the 226.
    assert [line for line in server_site.lines("GET /feed.atom") if " 226" in line], server_site.output()


def test_delta_body_keeps_the_unknown_items_and_every_other_byte() -> None:
    from feedserver.push.delta import delta_body, fingerprints

    body = (
        b"<?xml version='1.0' encoding='UTF-8'?>\n<rss><channel><title>t</title>"
        b"<item><guid>1</guid></item><item><guid>2</guid></item></channel></rss>"
    )
    known = fingerprints(body.replace(b"<item><guid>1</guid></item>", b""), "rss")
    assert delta_body(body, "rss", known) == body.replace(b"<item><guid>2</guid></item>", b"")
