"""IndexNow against a local receiver on 127.0.0.1 standing in for the search engines' endpoint."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.cms import cms_connection, publish, remove
from tests.conftest import BASE_URL, FakeClock, article, make_settings, section, serve, write_records
from tests.push_servers import Received, Recorder, http_recorder
from tests.uvicorn_process import running_server

KEY = "b7c3f0e2a1d94c5e8f6a"


def site(now: datetime) -> list[dict[str, Any]]:
    return [
        section("berita/tiongkok", "Tiongkok"),
        article("a-1", now - timedelta(hours=3), title="Teh hijau 绿茶 dari Hangzhou"),
        article("a-2", now - timedelta(days=40), title="Arsip: jembatan 大桥 di Wuhan"),
    ]


def indexnow_settings(db_path: Path, endpoint: str, **overrides: Any) -> Any:
    values = {
        "indexnow__key": KEY,
        "indexnow__endpoint": endpoint,
        "push__state_path": str(db_path.with_name("push-state.sqlite")),
        "push__retry_seconds": 10.0,
    }
    values.update(overrides)
    return make_settings(db_path, **values)


def submissions(receiver: Recorder) -> list[dict[str, Any]]:
    found = []
    for request in receiver.received("POST"):
        assert request.headers["content-type"] == "application/json; charset=utf-8"
        body = json.loads(request.body)
        assert body["host"] == "example.id"
        assert body["key"] == KEY
        assert body["keyLocation"] == f"{BASE_URL}/{KEY}.txt"
        found.append(body)
    return found


def submitted(receiver: Recorder) -> list[str]:
    return sorted(
        url.removeprefix(BASE_URL + "/berita/tiongkok/") for s in submissions(receiver) for url in s["urlList"]
    )


async def settle(app: Any) -> None:
    await app.state.watcher.check()
    await app.state.push.deliverer.round()


@pytest.mark.anyio
async def test_the_key_file(db_path: Path, now: datetime, clock: FakeClock) -> None:
    write_records(db_path, site(now))
    async with serve(indexnow_settings(db_path, "http://127.0.0.1:9/"), clock) as (client, _):
        response = await client.get(f"/{KEY}.txt")
        assert response.status_code == 200 and response.text == KEY
        assert response.headers["content-type"].startswith("text/plain")
        assert (await client.get("/another-key-123.txt")).status_code == 404
        assert (await client.get("/robots.txt")).text.startswith("User-agent")  # the route before it still wins
    async with serve(make_settings(db_path), clock) as (client, _):
        assert (await client.get(f"/{KEY}.txt")).status_code == 404  # no key: no file


@pytest.mark.anyio
async def test_new_changed_and_removed_urls_once_per_change(db_path: Path, now: datetime, clock: FakeClock) -> None:
    write_records(db_path, site(now))
    with http_recorder() as receiver:
        async with serve(indexnow_settings(db_path, receiver.url), clock) as (_, app):
            await app.state.push.deliverer.round()
            assert receiver.received() == []  # the archive as found is recorded, not submitted
            with cms_connection(db_path, clock) as conn:
                publish(conn, "a-3", now - timedelta(minutes=5))
                publish(conn, "draft", now - timedelta(minutes=5), status="draft")
            await settle(app)
            assert submitted(receiver) == ["a-3"]
            await settle(app)
            assert submitted(receiver) == ["a-3"]  # nothing new: nothing sent
            clock.advance(60)
            with cms_connection(db_path, clock) as conn:
                conn.execute(
                    "UPDATE articles SET updated_at = ? WHERE id = 'a-2'", (int(clock()),)
                )  # an old one edited
                remove(conn, "a-1", "draft")  # stopped being live
                remove(conn, "a-3", "delete-row")
            await settle(app)
            assert submitted(receiver) == ["a-1", "a-2", "a-3", "a-3"]
            assert len(receiver.received()) == 2  # one POST per round of changes


@pytest.mark.anyio
async def test_never_before_an_embargo_ends(db_path: Path, now: datetime, clock: FakeClock) -> None:
    write_records(db_path, site(now))
    with http_recorder() as receiver:
        async with serve(indexnow_settings(db_path, receiver.url), clock) as (_, app):
            await app.state.push.deliverer.round()
            with cms_connection(db_path, clock) as conn:
                publish(conn, "embargo", now + timedelta(hours=2), title="Embargo 禁运")
            await settle(app)
            assert receiver.received() == []
            clock.advance(2 * 3600 + 1)
            await settle(app)
            assert submitted(receiver) == ["embargo"]


@pytest.mark.anyio
async def test_urls_off_the_site_are_never_sent(db_path: Path, now: datetime, clock: FakeClock) -> None:
    write_records(db_path, site(now))
    with http_recorder() as receiver:
        async with serve(indexnow_settings(db_path, receiver.url), clock) as (_, app):
            await app.state.push.deliverer.round()
            write_records(db_path, [article("syndicated", now - timedelta(minutes=3), url="https://other.example/x")])
            with cms_connection(db_path, clock) as conn:
                publish(conn, "a-4", now - timedelta(minutes=2))
            await settle(app)
            assert submitted(receiver) == ["a-4"]


@pytest.mark.anyio
async def test_batches_of_ten_thousand(db_path: Path, now: datetime, clock: FakeClock) -> None:
    write_records(db_path, site(now))
    with http_recorder() as receiver:
        async with serve(indexnow_settings(db_path, receiver.url), clock) as (_, app):
            await app.state.push.deliverer.round()
            moment = int((now - timedelta(hours=1)).timestamp())
            with cms_connection(db_path, clock) as conn:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(
                    "INSERT INTO articles (id, url, section, title, published_at, updated_at, status) "
                    "VALUES (?, ?, 'berita/tiongkok', 'Banyak 多', ?, ?, 'published')",
                    [(f"m-{n}", f"{BASE_URL}/berita/tiongkok/m-{n}", moment - n, moment - n) for n in range(10_001)],
                )
                conn.execute("COMMIT")
            await settle(app)
            sizes = sorted(len(s["urlList"]) for s in submissions(receiver))
            assert sizes == [1, 10_000]
            assert len(set(submitted(receiver))) == 10_001


@pytest.mark.anyio
async def test_retried_when_the_endpoint_fails(db_path: Path, now: datetime, clock: FakeClock) -> None:
    write_records(db_path, site(now))
    status = 503

    def reply(request: Received) -> tuple[int, dict[str, str], bytes]:
        return status, {}, b""

    with http_recorder(reply) as receiver:
        async with serve(indexnow_settings(db_path, receiver.url), clock) as (_, app):
            await app.state.push.deliverer.round()
            with cms_connection(db_path, clock) as conn:
                publish(conn, "a-3", now - timedelta(minutes=5))
            await settle(app)
            assert len(receiver.received()) == 1
            await app.state.push.deliverer.round()
            assert len(receiver.received()) == 1  # backoff
            status = 200
            clock.advance(10)
            await app.state.push.deliverer.round()
            assert submitted(receiver) == ["a-3", "a-3"]
            assert app.state.push.store.pending() == 0


def wait_for_baseline(state: Path, timeout: float = 20) -> None:
    """Until the sending worker has recorded the archive as it is (its first round)."""
    deadline = time.monotonic() + timeout
    while True:
        if state.exists():
            with (
                contextlib.closing(sqlite3.connect(f"file:{state}?mode=ro", uri=True)) as conn,
                contextlib.suppress(sqlite3.OperationalError),  # tables not created yet
            ):
                if conn.execute("SELECT 1 FROM marks WHERE name = 'indexnow.version'").fetchone():
                    return
        assert time.monotonic() < deadline, "IndexNow never recorded the archive"
        time.sleep(0.05)


@pytest.mark.e2e
def test_real_uvicorn_with_two_workers_submits_once(tmp_path: Path, db_path: Path, now: datetime) -> None:
    write_records(db_path, site(now))
    with http_recorder() as receiver:
        settings = {
            "indexnow.key": KEY,
            "indexnow.endpoint": receiver.url,
            "server.workers": 2,
            "cache.refresh_seconds": 0.2,
            "push.state_path": str(tmp_path / "push.sqlite"),
        }
        with running_server(db_path, tmp_path, settings) as server, server.client() as client:
            assert client.get(f"/{KEY}.txt").text == KEY
            wait_for_baseline(tmp_path / "push.sqlite")
            with cms_connection(db_path) as conn:
                publish(conn, "a-3", now - timedelta(minutes=1))
            receiver.wait_for(1)
            with cms_connection(db_path) as conn:
                publish(conn, "a-4", now - timedelta(minutes=1))
            receiver.wait_for(2)
            for _ in range(20):
                client.get("/healthz")
            assert submitted(receiver) == ["a-3", "a-4"]
