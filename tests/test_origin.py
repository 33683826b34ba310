"""feedserver as the origin of a shared cache (in-process): Cache-Control for readers
and for shared caches, surrogate keys that name exactly what a write touched, the
purge hook against a real local HTTP receiver, and the check before a 304.

Writes go through a plain sqlite3 connection as the CMS's would (tests/cms.py).
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from feedserver.origin.keys import affected_keys
from feedserver.origin.paths import all_documents
from tests.cms import cms_connection, publish
from tests.conftest import FakeClock, article, make_settings, section, serve, write_records
from tests.readers import FEED_PATHS, article_ids, fmt_of

IDENTITY = {"Accept-Encoding": "identity"}
SECTIONS = ("berita", "berita/tiongkok", "berita/asia", "ekonomi")


@pytest.fixture
def site(db_path: Path, now: datetime) -> Path:
    records: list[dict[str, Any]] = [section(slug) for slug in SECTIONS]
    for n in range(12):
        records.append(article(f"o-{n:02d}", now - timedelta(hours=n + 1), section=SECTIONS[n % len(SECTIONS)]))
    write_records(db_path, records)
    return db_path


def directives(value: str) -> dict[str, str]:
    """Cache-Control directives (RFC 9111 5.2) by name."""
    parsed = {}
    for part in value.split(","):
        name, _, argument = part.strip().partition("=")
        parsed[name.lower()] = argument
    return parsed


# --- headers ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_readers_and_shared_caches_get_their_own_lifetimes(site: Path, clock: FakeClock) -> None:
    settings = make_settings(
        site,
        cache__max_age_seconds=900,
        cache__s_maxage_seconds=45,
        cache__cdn_max_age_seconds=3600,
        cache__stale_while_revalidate_seconds=30,
        cache__stale_if_error_seconds=7200,
    )
    async with serve(settings, clock) as (client, _):
        for path in (*FEED_PATHS, "/section/berita/feed.rss", "/sitemap.xml", "/news-sitemap.xml", "/"):
            response = await client.get(path)
            assert response.status_code == 200, path
            control = directives(response.headers["cache-control"])
            assert control == {
                "public": "",
                "max-age": "900",
                "s-maxage": "45",
                "stale-while-revalidate": "30",
                "stale-if-error": "7200",
            }, path
            cdn = directives(response.headers["cdn-cache-control"])
            assert cdn == {"max-age": "3600", "stale-while-revalidate": "30", "stale-if-error": "7200"}, path


@pytest.mark.anyio
async def test_readers_max_age_matches_the_rss_ttl_by_default(site: Path, clock: FakeClock) -> None:
    from lxml import etree

    async with serve(make_settings(site), clock) as (client, _):
        response = await client.get("/feed.rss")
        ttl = etree.fromstring(response.content).findtext("channel/ttl")
        assert int(directives(response.headers["cache-control"])["max-age"]) == int(ttl) * 60


@pytest.mark.anyio
async def test_surrogate_keys_name_what_each_document_depends_on(site: Path, clock: FakeClock) -> None:
    expected = {
        "/feed.rss": ["site", "all"],
        "/section/berita/tiongkok/feed.atom": ["section/berita/tiongkok", "all"],
        "/section/berita/feed.json": ["section/berita", "all"],
        "/sitemap.xml": ["site", "all"],
        "/robots.txt": ["robots", "all"],
        "/": ["site", "all"],
    }
    async with serve(make_settings(site), clock) as (client, _):
        index = (await client.get("/sitemap.xml")).text
        month = index.split("/sitemap-articles-")[1].split(".xml")[0]
        expected[f"/sitemap-articles-{month}.xml"] = [f"sitemap/articles-{month}", "all"]
        for path, keys in expected.items():
            response = await client.get(path)
            assert response.headers["surrogate-key"].split(" ") == keys, path
            assert response.headers["cache-tag"].split(",") == keys, path
            revalidated = await client.get(path, headers={"If-None-Match": response.headers["etag"]})
            assert revalidated.status_code == 304
            assert revalidated.headers["surrogate-key"] == response.headers["surrogate-key"]


@pytest.mark.anyio
async def test_a_write_touches_the_keys_of_every_document_it_changed(
    site: Path, clock: FakeClock, now: datetime
) -> None:
    """Every document whose bytes moved carries a key the change touched, and the
    sections off the written one's chain are not touched."""
    async with serve(make_settings(site), clock) as (client, app):
        service = app.state.service
        old = service.state
        paths = [d.key for d in all_documents(old)]
        before = {p: (await client.get(p, headers=IDENTITY)).content for p in paths}

        with cms_connection(site, clock) as conn:
            publish(conn, "baru-tiongkok", now - timedelta(seconds=20), section="berita/tiongkok")
        assert await app.state.watcher.check() is True
        new = service.state
        touched = set(affected_keys(old, new))
        assert {"site", "section/berita/tiongkok", "section/berita"} <= touched
        assert not touched & {"section/ekonomi", "section/berita/asia"}

        changed = []
        for path in paths:
            response = await client.get(path, headers=IDENTITY)
            if response.content != before[path]:
                changed.append(path)
                keys = set(response.headers["surrogate-key"].split())
                assert keys & touched, f"{path} changed but none of its keys {keys} was touched"
        assert "/section/berita/feed.rss" in changed
        assert "/section/ekonomi/feed.rss" not in changed


# --- the purge hook ----------------------------------------------------------------------


class Receiver:
    """A real HTTP server on 127.0.0.1 standing in for a cache's purge endpoint: it
    records every request and fails the first attempt at each URL with 503."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, str | None, int]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def handle_any(self) -> None:
                with receiver.lock:
                    first = not any(r[1] == self.path for r in receiver.requests)
                    status = 503 if first else 200
                    receiver.requests.append((self.command, self.path, self.headers.get("Authorization"), status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_PURGE = do_GET = handle_any

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def succeeded(self) -> Counter[str]:
        with self.lock:
            return Counter(path for _, path, _, status in self.requests if status == 200)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    running.thread.start()
    try:
        yield running
    finally:
        running.server.shutdown()
        running.server.server_close()
        running.thread.join()


async def until(condition: Any, what: str) -> None:
    """Wait for background purges (real HTTP in worker threads) without a timing assertion."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


@pytest.mark.anyio
async def test_purge_hook_sends_one_purge_per_touched_key_with_retry(
    site: Path, clock: FakeClock, now: datetime, receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEEDSERVER_PURGE_TOKEN", "rahasia-123")
    settings = make_settings(
        site,
        cache__purge_url=[f"{receiver.url}/purge/{{key}}", f"{receiver.url}/refresh{{path}}"],
        cache__purge_delay_seconds=0,
        cache__purge_lock_path=str(tmp_path / "purge.lock"),
    )
    async with serve(settings, clock) as (client, app):
        app.state.service.purger.backoff = 0.01
        await client.get("/feed.rss")
        old = app.state.service.state
        with cms_connection(site, clock) as conn:
            publish(conn, "purge-me", now - timedelta(seconds=5), section="berita/asia")
        assert await app.state.watcher.check() is True
        touched = affected_keys(old, app.state.service.state)
        expected_keys = {f"/purge/{key}" for key in touched}
        await until(lambda: expected_keys <= set(receiver.succeeded()), "every key purged")
        wanted = {
            f"/refresh{p}" for p in ("/feed.rss", "/section/berita/feed.rss", "/section/berita/asia/feed.json", "/")
        }
        await until(lambda: wanted <= set(receiver.succeeded()), "paths refreshed")
        await until(lambda: app.state.service.purger._queue.empty(), "queue drained")
        succeeded = receiver.succeeded()
        assert {p for p in succeeded if p.startswith("/purge/")} == expected_keys
        assert all(count == 1 for count in succeeded.values()), succeeded
        refreshed = {p.removeprefix("/refresh") for p in succeeded if p.startswith("/refresh")}
        assert {"/feed.rss", "/section/berita/feed.rss", "/section/berita/asia/feed.json", "/"} <= refreshed
        assert not any(p.startswith("/section/ekonomi") for p in refreshed)
        assert all(method == "PURGE" for method, *_ in receiver.requests)
        assert {auth for _, _, auth, _ in receiver.requests} == {"Bearer rahasia-123"}
        assert app.state.service.purger.failed == []


@pytest.mark.anyio
async def test_two_workers_purge_each_change_once(
    site: Path, clock: FakeClock, now: datetime, receiver: Receiver, tmp_path: Path
) -> None:
    """Two servers on one file see the same change; only the one holding the lock purges."""
    settings = make_settings(
        site,
        cache__purge_url=[f"{receiver.url}/purge/{{key}}"],
        cache__purge_delay_seconds=0,
        cache__purge_lock_path=str(tmp_path / "purge.lock"),
    )
    async with serve(settings, clock) as (_, first), serve(settings, clock) as (_, second):
        for app in (first, second):
            app.state.service.purger.backoff = 0.01
        old = first.state.service.state
        with cms_connection(site, clock) as conn:
            publish(conn, "sekali", now - timedelta(seconds=5), section="ekonomi")
        assert await first.state.watcher.check() is True
        assert await second.state.watcher.check() is True
        expected = {f"/purge/{key}" for key in affected_keys(old, first.state.service.state)}
        await until(lambda: expected <= set(receiver.succeeded()), "every key purged")
        for app in (first, second):  # let any second sender finish its sleep and requests
            await until(lambda app=app: app.state.service.purger._queue.empty(), "queue drained")
        assert all(count == 1 for count in receiver.succeeded().values()), receiver.succeeded()
        senders = [app for app in (first, second) if app.state.service.purger.sent]
        assert len(senders) == 1


@pytest.mark.anyio
async def test_no_purge_hook_means_no_purger_task(site: Path, clock: FakeClock) -> None:
    async with serve(make_settings(site), clock) as (_, app):
        assert not app.state.service.purger.enabled
        assert app.state.service.purger._task is None


# --- the revalidation window -------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("check_first", [True, False])
async def test_a_revalidation_right_after_a_write_is_fresh_only_briefly(
    site: Path, clock: FakeClock, now: datetime, check_first: bool
) -> None:
    """A cache sends If-None-Match just after a CMS write, before the change check ran.
    With the check before a 304, the 304 it gets is fresh only until the change check
    has surely run (refresh + 1 s); its next revalidation gets the new version.
    Without it, the 304 renews the old copy for a whole s-maxage."""
    settings = make_settings(site, cache__check_before_not_modified=check_first, cache__refresh_seconds=2.0)
    path = "/section/berita/feed.rss"
    async with serve(settings, clock) as (client, app):
        first = await client.get(path, headers=IDENTITY)
        validator = {**IDENTITY, "If-None-Match": first.headers["etag"]}
        same = await client.get(path, headers=validator)
        assert same.status_code == 304
        assert directives(same.headers["cache-control"])["s-maxage"] == "60"
        with cms_connection(site, clock) as conn:
            publish(conn, "tepat-waktu", now - timedelta(seconds=3), section="berita")
        again = await client.get(path, headers=validator)
        assert again.status_code == 304
        control = directives(again.headers["cache-control"])
        if not check_first:
            assert control["s-maxage"] == "60"
            return
        assert control["max-age"] == control["s-maxage"] == "3"
        assert directives(again.headers["cdn-cache-control"])["max-age"] == "3"
        assert again.headers["surrogate-key"] == first.headers["surrogate-key"]
        assert await app.state.watcher.check() is True
        later = await client.get(path, headers=validator)
        assert later.status_code == 200
        assert article_ids(later.content, fmt_of(path))[0] == "tepat-waktu"


@pytest.mark.anyio
async def test_probe_finds_nothing_to_do_when_nothing_moved(site: Path, clock: FakeClock) -> None:
    """Hits and 304s with no write do no query and no reload (the fast path stays cheap)."""
    async with serve(make_settings(site), clock) as (client, app):
        first = await client.get("/feed.rss")
        queries = app.state.service.pool.queries
        checks = app.state.watcher.checks
        for _ in range(5):
            assert (await client.get("/feed.rss")).status_code == 200
            assert (await client.get("/feed.rss", headers={"If-None-Match": first.headers["etag"]})).status_code == 304
        assert app.state.service.pool.queries == queries
        assert app.state.watcher.checks == checks
