"""/metrics (Prometheus text format, behind a bearer token) and the polling limit
(429 with an integer Retry-After for too many full fetches of one feed).

In-process against the real app with a moved clock; the multiprocess test runs
a real 2-worker uvicorn and checks the workers' counts add up in one scrape.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from feedserver.app import create_app
from tests.conftest import FakeClock, article, lifespan, make_settings, section, write_records
from tests.uvicorn_process import running_server

TOKEN = "rahasia-token-2025"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NEWSBOAT = {"User-Agent": "newsboat/2.36.0 (Linux x86_64)"}


@pytest.fixture
def site(db_path: Path, now: datetime) -> Path:
    records: list[dict[str, Any]] = [section("berita")]
    records += [article(f"a-{n}", now - timedelta(hours=n + 1), section="berita") for n in range(5)]
    write_records(db_path, records)
    return db_path


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, by name and sorted labels (parsed by prometheus-client)."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def client_for(app: Any, address: str = "127.0.0.1") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 5000)), base_url="http://t")


@pytest.mark.anyio
async def test_metrics_is_a_404_without_a_token_setting(tmp_path: Path, site: Path, clock: FakeClock) -> None:
    app = create_app(make_settings(site, stats__path=""), clock=clock, watch=False)
    async with lifespan(app), client_for(app) as client:
        unknown = await client.get("/no-such-page")
        for headers in ({}, {"Authorization": "Bearer "}, AUTH):
            response = await client.get("/metrics", headers=headers)
            assert response.status_code == 404
            assert response.content == unknown.content  # indistinguishable from any unknown path


@pytest.mark.anyio
async def test_metrics_needs_the_bearer_token(tmp_path: Path, site: Path, clock: FakeClock) -> None:
    app = create_app(make_settings(site, metrics__token=TOKEN, stats__path=""), clock=clock, watch=False)
    async with lifespan(app), client_for(app) as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, {"Authorization": "Basic x"}):
            assert (await client.get("/metrics", headers=headers)).status_code == 404
        response = await client.get("/metrics", headers=AUTH)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain; version=")
        assert response.headers["cache-control"] == "no-store"


@pytest.mark.anyio
async def test_metrics_count_requests_cache_checks_errors_and_subscribers(
    tmp_path: Path, site: Path, clock: FakeClock
) -> None:
    stats = tmp_path / "stats.sqlite"
    settings = make_settings(site, metrics__token=TOKEN, stats__path=str(stats))
    app = create_app(settings, clock=clock, watch=False)
    async with lifespan(app), client_for(app) as client:
        first = await client.get("/feed.rss", headers=NEWSBOAT)
        for _ in range(3):
            assert (
                await client.get("/feed.rss", headers={**NEWSBOAT, "If-None-Match": first.headers["etag"]})
            ).status_code == 304
        assert (await client.get("/section/berita/feed.json", headers=NEWSBOAT)).status_code == 200
        assert (await client.get("/section/nope/feed.atom")).status_code == 404
        assert (await client.get("/sitemap.xml")).status_code == 200
        await app.state.watcher.check()
        await app.state.audience.recorder.flush()
        site.rename(site.with_suffix(".gone"))  # the database goes missing: the next check counts an error
        await app.state.watcher.check()
        got = samples((await client.get("/metrics", headers=AUTH)).text)

    def requests(kind: str, status: str, fmt: str) -> float:
        return got[("feedserver_requests_total", (("format", fmt), ("kind", kind), ("status", status)))]

    assert requests("feed", "200", "rss") == 1
    assert requests("feed", "304", "rss") == 3
    assert requests("feed", "200", "json") == 1
    assert requests("feed", "404", "atom") == 1
    assert requests("sitemap", "200", "xml") == 1
    assert got[("feedserver_not_modified_ratio", ())] == pytest.approx(3 / 5)
    assert got[("feedserver_cache_hits_total", ())] == 3
    misses = got[("feedserver_cache_misses_total", ())]
    assert misses >= 3  # the two feeds and the sitemap index, at least
    assert got[("feedserver_render_seconds_count", ())] == misses
    assert got[("feedserver_change_checks_total", ())] == 2
    assert got[("feedserver_database_errors_total", ())] == 1
    assert got[("feedserver_cache_entries", ())] >= 3
    assert ("feedserver_change_lag_seconds", ()) in got
    assert got[("feedserver_subscribers", (("feed", "/feed.rss"),))] == 1
    assert got[("feedserver_subscribers", (("feed", "/section/berita/feed.json"),))] == 1


@pytest.mark.anyio
async def test_subscriber_gauges_are_bounded_to_the_top_feeds(tmp_path: Path, site: Path, clock: FakeClock) -> None:
    stats = tmp_path / "stats.sqlite"
    settings = make_settings(site, metrics__token=TOKEN, stats__path=str(stats), metrics__top_feeds=1)
    app = create_app(settings, clock=clock, watch=False)
    async with lifespan(app), client_for(app) as client:
        await client.get("/feed.rss", headers={"User-Agent": "Feedbin feed-id:1 - 9 subscribers"})
        await client.get("/feed.atom", headers={"User-Agent": "Feedbin feed-id:2 - 2 subscribers"})
        await client.get("/feed.json", headers={"User-Agent": "Feedbin feed-id:3 - 1 subscribers"})
        await app.state.audience.recorder.flush()
        got = samples((await client.get("/metrics", headers=AUTH)).text)
    gauges = {labels: value for (name, labels), value in got.items() if name == "feedserver_subscribers"}
    assert gauges == {(("feed", "/feed.rss"),): 9, (("feed", "(other)"),): 3}


@pytest.mark.anyio
async def test_too_many_full_fetches_get_429_with_integer_retry_after(
    tmp_path: Path, site: Path, clock: FakeClock
) -> None:
    settings = make_settings(
        site,
        polling__max_unconditional_per_hour=3,
        metrics__token=TOKEN,
        stats__path="",
        server__trusted_proxies="10.0.0.0/8",
    )
    app = create_app(settings, clock=clock, watch=False)
    async with lifespan(app), client_for(app) as client, client_for(app, "10.0.0.2") as proxied:
        etag = ""
        for _ in range(3):
            response = await client.get("/feed.rss", headers=NEWSBOAT)
            assert response.status_code == 200
            etag = response.headers["etag"]
        clock.advance(600)
        limited = await client.get("/feed.rss", headers=NEWSBOAT)
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == str(3600 - 600)  # whole seconds, never a date
        assert limited.headers["cache-control"] == "no-store"
        assert b"If-None-Match" in limited.content and b"<rss" not in limited.content
        # A stale validator still asks for the whole document: limited too.
        assert (await client.get("/feed.rss", headers={**NEWSBOAT, "If-None-Match": '"old"'})).status_code == 429
        # A conditional request answered 304 is never limited.
        for _ in range(10):
            assert (await client.get("/feed.rss", headers={**NEWSBOAT, "If-None-Match": etag})).status_code == 304
        # HEAD, another feed, another reader on the same address, another address behind the proxy.
        assert (await client.head("/feed.rss", headers=NEWSBOAT)).status_code == 200
        assert (await client.get("/feed.atom", headers=NEWSBOAT)).status_code == 200
        assert (await client.get("/feed.rss", headers={"User-Agent": "NetNewsWire (RSS Reader)"})).status_code == 200
        behind = {**NEWSBOAT, "X-Forwarded-For": "198.51.100.7"}
        assert (await proxied.get("/feed.rss", headers=behind)).status_code == 200
        # A forged X-Forwarded-For from an untrusted peer changes nothing.
        forged = {**NEWSBOAT, "X-Forwarded-For": "198.51.100.8"}
        assert (await client.get("/feed.rss", headers=forged)).status_code == 429
        # Crawlers on sitemaps are not limited.
        for _ in range(10):
            assert (await client.get("/sitemap.xml", headers=NEWSBOAT)).status_code == 200
        clock.advance(3000)  # the hour since the first fetch is over
        assert (await client.get("/feed.rss", headers=NEWSBOAT)).status_code == 200
        got = samples((await client.get("/metrics", headers=AUTH)).text)
    assert got[("feedserver_polling_limited_total", ())] == 3
    assert got[("feedserver_requests_total", (("format", "rss"), ("kind", "feed"), ("status", "429")))] == 3


@pytest.mark.e2e
def test_two_workers_add_up_in_one_scrape(tmp_path: Path, site: Path) -> None:
    settings = {"server.workers": 2, "metrics.token": TOKEN, "stats.path": ""}
    sent = 60
    with running_server(site, tmp_path, settings) as server:
        for _ in range(sent):  # a new connection each: both workers take some
            assert httpx.get(server.url + "/feed.atom").status_code == 200
        deadline = time.monotonic() + 20
        while True:
            got = samples(httpx.get(server.url + "/metrics", headers=AUTH).text)
            served = got.get(("feedserver_requests_total", (("format", "atom"), ("kind", "feed"), ("status", "200"))))
            if served == sent:
                break
            assert time.monotonic() < deadline, f"{served} of {sent} requests counted"
            time.sleep(0.2)
        # Each worker rendered the feed once: the misses of both add up.
        assert got[("feedserver_cache_misses_total", ())] >= 2
        assert got[("feedserver_cache_entries", ())] == 2  # one entry in each worker's cache
