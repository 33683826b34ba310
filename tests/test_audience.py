"""Subscriber counts from User-Agents, kept in the server's own SQLite file.

A replayed set of real-world User-Agent strings (tests/user_agents.py) hits the
real app; the counts are read back from the file as `feedserver stats` reads
them. Several apps sharing one file stand in for several workers; the e2e test
at the end stops a real 2-worker uvicorn with SIGTERM and loses nothing.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from feedserver.app import create_app
from feedserver.audience import Aggregator, Reader, classify, load_counts, route_kind
from feedserver.audience.clients import ClientAddress
from feedserver.audience.polling import PollingLimit
from feedserver.cli import main
from tests.conftest import FakeClock, article, lifespan, make_settings, section, write_records
from tests.user_agents import AGGREGATORS, NOT_COUNTED, READERS
from tests.uvicorn_process import running_server, server_environment

WEEK = 7 * 86400
PROXY = "10.0.0.2"


@pytest.fixture
def site(db_path: Path, now: datetime) -> Path:
    records: list[dict[str, Any]] = [section("berita"), section("berita/tiongkok")]
    records += [article(f"a-{n}", now - timedelta(hours=n + 1)) for n in range(6)]
    write_records(db_path, records)
    return db_path


@pytest.mark.parametrize(("agent", "name", "count", "feed_id"), AGGREGATORS)
def test_aggregators_are_read_with_their_count_and_feed_id(agent: str, name: str, count: int, feed_id: str) -> None:
    assert classify(agent) == Aggregator(name, count, feed_id)


@pytest.mark.parametrize(("agent", "name"), READERS)
def test_individual_readers_are_recognised(agent: str, name: str) -> None:
    assert classify(agent) == Reader(name)


@pytest.mark.parametrize("agent", NOT_COUNTED)
def test_browsers_crawlers_previews_monitors_tools_and_spoofs_do_not_count(agent: str) -> None:
    assert classify(agent) is None


def test_any_feed_path_is_a_feed_and_labels_stay_bounded() -> None:
    for path in (
        "/feed.rss",
        "/section/berita/tiongkok/feed.atom",
        "/tag/xi-jinping/feed.json",
        "/author/sari/feed.rss",
    ):
        assert route_kind(path)[0] == "feed"
    # A feed's history (RFC 5005) is read to catch up, not subscribed to.
    assert route_kind("/archive/2025-06/feed.rss") == ("history", "rss")
    assert route_kind("/section/berita/page/20250601T000000Z-3/feed.json") == ("history", "json")
    assert route_kind("/section/archive/feed.atom") == ("feed", "atom")  # a section named "archive"
    assert route_kind("/sitemap-articles-2025-06.xml") == ("sitemap", "xml")
    assert route_kind("/news-sitemap-2.xml") == ("sitemap", "xml")
    assert route_kind("/../../etc/passwd%00") == ("other", "-")


def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy() -> None:
    clients = ClientAddress(["10.0.0.0/8"])
    assert clients.resolve("203.0.113.9", "198.51.100.1") == "203.0.113.9"  # not a proxy: ignored
    assert clients.resolve(PROXY, "198.51.100.1") == "198.51.100.1"
    # The client wrote the left part itself; the proxy appended the real one.
    assert clients.resolve(PROXY, "1.2.3.4, 198.51.100.1") == "198.51.100.1"
    assert clients.resolve(PROXY, "198.51.100.1, 10.0.0.7") == "198.51.100.1"  # two proxies deep
    assert ClientAddress([]).resolve(PROXY, "198.51.100.1") == PROXY


def stats_settings(db_path: Path, stats: Path, **overrides: Any) -> Any:
    return make_settings(
        db_path,
        stats__path=str(stats),
        stats__flush_seconds=3600,  # only the shutdown flush: it must lose nothing
        server__trusted_proxies=[PROXY],
        **overrides,
    )


async def replay(app: Any, requests: list[tuple[str, str, str]]) -> None:
    """(path, User-Agent, client address behind the proxy) through the real app."""
    transport = httpx.ASGITransport(app=app, client=(PROXY, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for path, agent, address in requests:
            headers = {"User-Agent": agent, "X-Forwarded-For": address}
            response = await client.get(path, headers=headers)
            assert response.status_code == 200, (path, agent)
            # The same client polling again with its validator counts once.
            again = await client.get(path, headers={**headers, "If-None-Match": response.headers["etag"]})
            assert again.status_code == 304


def replayed_traffic() -> list[tuple[str, str, str]]:
    requests = []
    for n, (agent, *_) in enumerate(AGGREGATORS):
        requests.append(("/feed.rss", agent, f"192.0.2.{n + 1}"))
    for n, (agent, _name) in enumerate(READERS):
        requests.append(("/feed.rss", agent, f"198.51.100.{n + 1}"))
        requests.append(("/feed.rss", agent, f"198.51.100.{n + 1}"))  # the same reader again: once
    requests.append(("/feed.rss", READERS[0][0], "198.51.100.200"))  # a second newsboat user
    for n, agent in enumerate(NOT_COUNTED):
        requests.append(("/feed.rss", agent, f"203.0.113.{n + 1}"))
    # A service reporting two feed ids for one URL: summed; the same id again: the latest wins.
    requests.append(("/section/berita/feed.atom", "Feedbin feed-id:1 - 10 subscribers", "192.0.2.50"))
    requests.append(("/section/berita/feed.atom", "Feedbin feed-id:2 - 4 subscribers", "192.0.2.50"))
    requests.append(("/section/berita/feed.atom", "Feedbin feed-id:1 - 12 subscribers", "192.0.2.51"))
    return requests


EXPECTED_SITE = {
    "Feedly": 457,
    "Inoreader": 17,
    "Feedbin": 9,
    "NewsBlur": 5,
    "The Old Reader": 3,
    "BazQux": 2,
    "newsboat": 2,
    "FreshRSS": 1,
    "Miniflux": 1,
    "NetNewsWire": 1,
    "feedparser": 1,
}


@pytest.mark.anyio
async def test_replayed_user_agents_give_the_expected_counts(tmp_path: Path, site: Path, clock: FakeClock) -> None:
    stats = tmp_path / "stats" / "own.sqlite"
    stats.parent.mkdir()
    app = create_app(stats_settings(site, stats), clock=clock, watch=False)
    async with lifespan(app):
        await replay(app, replayed_traffic())
        assert not stats.exists()  # nothing written on the request path
    counts = {c.feed: c for c in load_counts(stats, int(clock()), WEEK)}
    assert set(counts) == {"/feed.rss", "/section/berita/feed.atom"}
    assert counts["/feed.rss"].by_agent == EXPECTED_SITE
    assert counts["/feed.rss"].subscribers == sum(EXPECTED_SITE.values())
    assert counts["/section/berita/feed.atom"].by_agent == {"Feedbin": 16}
    # No raw address is kept anywhere in the file.
    data = b"".join(p.read_bytes() for p in stats.parent.iterdir())
    for needle in (b"198.51.100", b"192.0.2.", b"203.0.113", PROXY.encode()):
        assert needle not in data


@pytest.mark.anyio
async def test_several_workers_add_up_instead_of_overwriting(tmp_path: Path, site: Path, clock: FakeClock) -> None:
    stats = tmp_path / "stats.sqlite"
    newsboat, netnewswire = READERS[0][0], READERS[1][0]
    first = create_app(stats_settings(site, stats), clock=clock, watch=False)
    second = create_app(stats_settings(site, stats), clock=clock, watch=False)
    async with lifespan(first), lifespan(second):
        await replay(first, [("/feed.json", newsboat, "198.51.100.1"), ("/feed.json", AGGREGATORS[0][0], "192.0.2.1")])
        await replay(second, [("/feed.json", newsboat, "198.51.100.1"), ("/feed.json", netnewswire, "198.51.100.2")])
        clock.advance(60)  # a later report, written first (the apps stop in reverse order): it still wins
        await replay(second, [("/feed.json", "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 460 subscribers)", "x")])
    [count] = load_counts(stats, int(clock()), WEEK)
    assert count.by_agent == {"Feedly": 460, "newsboat": 1, "NetNewsWire": 1}


@pytest.mark.anyio
async def test_readers_leave_the_count_after_the_window_and_the_salt_rotates(
    tmp_path: Path, site: Path, clock: FakeClock
) -> None:
    stats = tmp_path / "stats.sqlite"
    settings = stats_settings(site, stats)
    app = create_app(settings, clock=clock, watch=False)
    async with lifespan(app):
        await replay(app, [("/feed.rss", READERS[0][0], "198.51.100.1"), ("/feed.rss", AGGREGATORS[0][0], "192.0.2.1")])
    with sqlite3.connect(stats) as conn:
        [(period, first_salt)] = conn.execute("SELECT period, salt FROM salts").fetchall()
    assert load_counts(stats, int(clock()), WEEK)[0].subscribers == 458
    clock.advance(WEEK + 3600)
    assert load_counts(stats, int(clock()), WEEK) == []  # nobody polled for a week
    app = create_app(settings, clock=clock, watch=False)
    async with lifespan(app):
        await replay(app, [("/feed.rss", READERS[0][0], "198.51.100.1")])
    with sqlite3.connect(stats) as conn:
        salts = conn.execute("SELECT period, salt FROM salts").fetchall()
        assert conn.execute("SELECT count(*) FROM readers").fetchone()[0] == 1  # the old rows are gone
    assert len(salts) == 1 and salts[0][0] > period and salts[0][1] != first_salt  # the old salt is gone
    [count] = load_counts(stats, int(clock()), WEEK)
    assert count.by_agent == {"newsboat": 1}


@pytest.mark.anyio
async def test_x_forwarded_for_from_an_untrusted_peer_does_not_make_new_readers(
    tmp_path: Path, site: Path, clock: FakeClock
) -> None:
    stats = tmp_path / "stats.sqlite"
    app = create_app(make_settings(site, stats__path=str(stats)), clock=clock, watch=False)  # no trusted proxy
    async with lifespan(app):
        await replay(app, [("/feed.rss", READERS[0][0], f"198.51.100.{n}") for n in range(1, 20)])
    [count] = load_counts(stats, int(clock()), WEEK)
    assert count.by_agent == {"newsboat": 1}


def test_stats_command_prints_a_table_and_json(
    tmp_path: Path, site: Path, clock: FakeClock, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    stats = tmp_path / "stats.sqlite"

    async def traffic() -> None:
        app = create_app(stats_settings(site, stats), clock=clock, watch=False)
        async with lifespan(app):
            await replay(app, replayed_traffic())

    asyncio.run(traffic())
    monkeypatch.setenv("FEEDSERVER_STATS_PATH", str(stats))
    assert main(["stats", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed == [
        {"feed": "/feed.rss", "subscribers": sum(EXPECTED_SITE.values()), "by_agent": EXPECTED_SITE},
        {"feed": "/section/berita/feed.atom", "subscribers": 16, "by_agent": {"Feedbin": 16}},
    ]
    assert list(listed[0]["by_agent"]) == list(EXPECTED_SITE)  # most first
    assert main(["stats"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["feed", "subscribers"]
    assert lines[1].split() == ["/feed.rss", f"{sum(EXPECTED_SITE.values()):,}"]
    assert lines[2].split() == ["Feedly", "457"]
    assert ["/section/berita/feed.atom", "16"] in [line.split() for line in lines]


def test_the_polling_table_is_bounded() -> None:
    limit = PollingLimit(per_hour=5, max_clients=100)
    for key in range(1000):
        assert limit.retry_after(key, 0.0) == 0
    assert len(limit.windows) <= 100


@pytest.mark.e2e
def test_sigterm_loses_no_observation_with_two_workers(tmp_path: Path, site: Path) -> None:
    stats = tmp_path / "stats.sqlite"
    settings = {"server.workers": 2, "stats.path": str(stats), "stats.flush_seconds": 3600}
    agents = [agent for agent, *_ in AGGREGATORS] + [agent for agent, _ in READERS] + NOT_COUNTED
    with running_server(site, tmp_path, settings) as server:
        # New connections: uvicorn's workers share the socket, so both get some.
        for agent in agents:
            for _ in range(3):
                assert httpx.get(server.url + "/feed.rss", headers={"User-Agent": agent}).status_code == 200
        assert not stats.exists()
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(30) == 0
    result = subprocess.run(
        [sys.executable, "-m", "feedserver", "stats", "--json"],
        env=server_environment(site, settings),
        capture_output=True,
        text=True,
        check=True,
    )
    [count] = json.loads(result.stdout)
    assert count["feed"] == "/feed.rss"
    # Every reader is on 127.0.0.1: one per User-Agent, whichever worker saw it.
    assert count["by_agent"] == {**{name: n for _a, name, n, _i in AGGREGATORS}, **{name: 1 for _a, name in READERS}}


@pytest.mark.anyio
async def test_an_unwritable_statistics_file_is_logged_once_and_the_batch_kept(
    tmp_path: Path, site: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "not-a-file"
    blocked.mkdir()  # SQLite cannot open a folder as its database
    app = create_app(make_settings(site, stats__path=str(blocked)), clock=clock, watch=False)
    async with lifespan(app):
        recorder = app.state.audience.recorder
        await replay(app, [("/feed.rss", READERS[0][0], "198.51.100.1")])
        for _ in range(3):
            await recorder.flush()
        assert len(recorder.pending) == 1  # kept for when the file can be written
        assert len([r for r in caplog.records if "cannot write subscriber statistics" in r.getMessage()]) == 1
        blocked.rmdir()  # the operator fixes it: the next flush writes the kept batch
        await recorder.flush()
        assert not recorder.pending
    [count] = load_counts(blocked, int(clock()), WEEK)
    assert count.by_agent == {"newsboat": 1}


@pytest.mark.anyio
async def test_a_feeds_history_pages_are_not_subscriptions(
    tmp_path: Path, site: Path, clock: FakeClock, now: datetime
) -> None:
    write_records(site, [article(f"old-{days}", now - timedelta(days=days)) for days in (40, 70, 100)])
    stats = tmp_path / "stats.sqlite"
    app = create_app(stats_settings(site, stats, feeds__items=2), clock=clock, watch=False)
    async with lifespan(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        feed = await client.get("/feed.atom", headers={"User-Agent": READERS[0][0]})
        archives = [
            link.split('href="', 1)[1].split('"', 1)[0]
            for link in feed.text.split("<link")
            if 'rel="prev-archive"' in link or 'rel="next"' in link
        ]
        assert len(archives) == 2  # the next page and the newest archive
        for url in archives:
            path = url.removeprefix("https://example.id")
            assert route_kind(path)[0] == "history"
            for _ in range(2):
                response = await client.get(path, headers={"User-Agent": READERS[1][0]})
                assert response.status_code == 200
    [count] = load_counts(stats, int(clock()), WEEK)
    assert count.feed == "/feed.atom" and count.by_agent == {"newsboat": 1}


@pytest.mark.anyio
async def test_traffic_with_no_subscriber_leaves_no_file(tmp_path: Path, site: Path, clock: FakeClock) -> None:
    stats = tmp_path / "stats.sqlite"
    app = create_app(stats_settings(site, stats), clock=clock, watch=False)
    async with lifespan(app):
        await replay(app, [("/feed.rss", agent, "203.0.113.1") for agent in NOT_COUNTED])
    assert not stats.exists()
