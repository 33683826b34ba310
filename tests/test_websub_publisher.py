"""WebSub publishing to external hubs: hub links in every feed, and one ping per changed feed.

The hub is a real HTTP server on 127.0.0.1 started by the test (tests/push_servers.py).
In-process tests run the change check and the delivery rounds themselves and move the
clock; the end-to-end test runs real uvicorn with two workers. The publisher checks of
websub.rocks (discovery by HTTP Link header, in Atom, in RSS; rel=hub and rel=self
found; the publish ping naming the topic) are ported as the first tests.
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from tests.cms import cms_connection, publish
from tests.conftest import BASE_URL, REPO, FakeClock, article, make_settings, section, serve, write_records
from tests.push_servers import Received, Recorder, down_server, http_recorder
from tests.test_feed_formats import check_atom, check_json, check_rss
from tests.uvicorn_process import running_server

ATOM = "http://www.w3.org/2005/Atom"
FEEDS = ("/feed.rss", "/feed.atom", "/feed.json")
TIONGKOK = {*FEEDS, *(f"/section/berita{f}" for f in FEEDS), *(f"/section/berita/tiongkok{f}" for f in FEEDS)}
EKONOMI = {*FEEDS, *(f"/section/ekonomi{f}" for f in FEEDS)}


def site(now: datetime) -> list[dict[str, Any]]:
    return [
        section("berita", "Berita"),
        section("berita/tiongkok", "Tiongkok"),
        section("ekonomi", "Ekonomi"),
        article("a-1", now - timedelta(hours=3), title="Kereta cepat Jakarta–Bandung 高铁 melaju"),
        article("e-1", now - timedelta(hours=2), section="ekonomi", title="Yuan menguat 人民币 terhadap dolar"),
    ]


def push_settings(db_path: Path, hubs: list[str], **overrides: Any) -> Any:
    values = {
        "websub__hubs": hubs,
        "push__state_path": str(db_path.with_name("push-state.sqlite")),
        "push__retry_seconds": 10.0,
        "push__retry_max_seconds": 80.0,
    }
    values.update(overrides)
    return make_settings(db_path, **values)


def link_header(value: str) -> list[tuple[str, str]]:
    """(url, rel) of each link in an HTTP Link header (RFC 8288)."""
    return re.findall(r'<([^>]*)>\s*;\s*rel="([^"]*)"', value)


def pinged(hub: Recorder) -> Counter[str]:
    """Feed paths the hub was told about, with how many times each."""
    pings = [r.form() for r in hub.received("POST")]
    assert all(p["hub.mode"] == "publish" for p in pings)
    return Counter(p["hub.url"].removeprefix(BASE_URL) for p in pings)


def ok_pings(hub: Recorder, ok: set[int]) -> Counter[str]:
    return Counter(r.form()["hub.url"].removeprefix(BASE_URL) for r in hub.received("POST") if id(r) in ok)


@pytest.mark.anyio
async def test_no_hub_configured_leaves_feeds_as_they_were(db_path: Path, now: datetime, clock: FakeClock) -> None:
    write_records(db_path, site(now))
    async with serve(make_settings(db_path), clock) as (client, _):
        for path in FEEDS:
            response = await client.get(path)
            assert "link" not in response.headers
            assert b'rel="hub"' not in response.content and b'"hubs"' not in response.content
    assert not db_path.with_name("push-state.sqlite").exists()  # nothing to push: no state file either


@pytest.mark.anyio
async def test_websub_rocks_publisher_discovery_in_headers_and_every_format(
    db_path: Path, now: datetime, clock: FakeClock
) -> None:
    """websub.rocks publisher tests 100 (HTTP Link), 102 (Atom), 103 (RSS), and JSON Feed's `hubs`."""
    hubs = ["https://hub.example.net/", "https://pubsubhubbub.example.org/hub"]
    write_records(db_path, site(now))
    async with serve(push_settings(db_path, hubs), clock) as (client, _):
        for path in [*FEEDS, "/section/berita/tiongkok/feed.atom"]:
            response = await client.get(path)
            self_url = BASE_URL + path
            links = link_header(response.headers["link"])
            assert [url for url, rel in links if rel == "hub"] == hubs
            assert [url for url, rel in links if rel == "self"] == [self_url]  # exactly one
            assert len(links) == len(hubs) + 1
            if path.endswith(".rss"):
                channel = check_rss(response.content).find("channel")
                atom_links = [(e.get("href"), e.get("rel")) for e in channel.findall(f"{{{ATOM}}}link")]
            elif path.endswith(".atom"):
                root = check_atom(response.content)  # the Atom RELAX NG schema and feedparser
                atom_links = [(e.get("href"), e.get("rel")) for e in root.findall(f"{{{ATOM}}}link")]
            else:
                document = check_json(response.content)  # the JSON Feed schema
                assert document["hubs"] == [{"type": "WebSub", "url": hub} for hub in hubs]
                assert document["feed_url"] == self_url
                continue
            assert [href for href, rel in atom_links if rel == "hub"] == hubs
            assert [href for href, rel in atom_links if rel == "self"] == [self_url]
            # The W3C validator knows rel="hub" on atom:link in RSS and Atom; nothing else changes.
            assert set(etree.fromstring(response.content).nsmap.values()) <= {
                ATOM,
                "http://purl.org/rss/1.0/modules/content/",
                "http://purl.org/dc/elements/1.1/",
                "http://search.yahoo.com/mrss/",
                "http://purl.org/syndication/history/1.0",  # RFC 5005 (fh:complete)
            }
        # 304s keep working with the header on the 200s.
        response = await client.get("/feed.rss")
        again = await client.get("/feed.rss", headers={"If-None-Match": response.headers["etag"]})
        assert again.status_code == 304


@pytest.mark.anyio
async def test_one_ping_per_changed_feed_and_none_for_the_others(
    db_path: Path, now: datetime, clock: FakeClock
) -> None:
    write_records(db_path, site(now))
    with http_recorder() as hub_a, http_recorder() as hub_b:
        async with serve(push_settings(db_path, [hub_a.url, hub_b.url]), clock) as (client, app):
            push = app.state.push
            await client.get("/feed.rss")  # cached or not, every changed feed is pinged
            with cms_connection(db_path, clock) as conn:
                publish(conn, "a-2", now - timedelta(minutes=5), title="Panda baru 熊猫 lahir di Chengdu")
            assert await app.state.watcher.check()
            await push.deliverer.round()
            for hub in (hub_a, hub_b):
                assert pinged(hub) == Counter(TIONGKOK)  # once each; ekonomi's feeds not at all
                for request in hub.received():
                    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
            # Nothing more: a check with no write, and another round, send nothing.
            assert not await app.state.watcher.check()
            await push.deliverer.round()
            assert len(hub_a.received()) == len(TIONGKOK)


@pytest.mark.anyio
async def test_two_workers_seeing_the_same_change_ping_once(db_path: Path, now: datetime, clock: FakeClock) -> None:
    """Each worker runs its own change check; the outbox's unique key and the flock'd
    delivery loop make it one ping, whichever worker is first or last to see the write."""
    write_records(db_path, site(now))
    with http_recorder() as hub:
        settings = push_settings(db_path, [hub.url])
        async with serve(settings, clock) as (_, one), serve(settings, clock) as (_, two):
            with cms_connection(db_path, clock) as conn:
                publish(conn, "a-2", now - timedelta(minutes=5))
            assert await one.state.watcher.check()
            await one.state.push.deliverer.round()
            await two.state.push.deliverer.round()  # not the leader: sends nothing
            assert await two.state.watcher.check()  # sees the same write after it was sent
            await one.state.push.deliverer.round()
            await two.state.push.deliverer.round()
            assert one.state.push.deliverer.leader != two.state.push.deliverer.leader
            assert pinged(hub) == Counter(TIONGKOK)


@pytest.mark.anyio
async def test_a_hub_answering_5xx_is_retried_with_backoff(db_path: Path, now: datetime, clock: FakeClock) -> None:
    write_records(db_path, site(now))
    failing = True
    succeeded: set[int] = set()

    def reply(request: Received) -> tuple[int, dict[str, str], bytes]:
        if failing:
            return 503, {}, b"busy"
        succeeded.add(id(request))
        return 204, {}, b""

    with http_recorder(reply) as hub:
        async with serve(push_settings(db_path, [hub.url]), clock) as (_, app):
            deliverer = app.state.push.deliverer
            with cms_connection(db_path, clock) as conn:
                publish(conn, "a-2", now - timedelta(minutes=5))
            await app.state.watcher.check()
            await deliverer.round()
            assert pinged(hub) == Counter(TIONGKOK)  # first attempt, all refused
            await deliverer.round()
            assert len(hub.received()) == len(TIONGKOK)  # not due yet: the backoff holds them
            clock.advance(10)
            await deliverer.round()
            assert len(hub.received()) == 2 * len(TIONGKOK)  # second attempt after 10 s
            clock.advance(10)
            await deliverer.round()
            assert len(hub.received()) == 2 * len(TIONGKOK)  # the third waits 20 s: the delay doubled
            failing = False
            clock.advance(10)
            await deliverer.round()
            assert ok_pings(hub, succeeded) == Counter(TIONGKOK)
            clock.advance(1000)
            await deliverer.round()
            assert len(hub.received()) == 3 * len(TIONGKOK)  # done: no more


@pytest.mark.anyio
async def test_nothing_is_lost_while_the_hub_is_down(db_path: Path, now: datetime, clock: FakeClock) -> None:
    write_records(db_path, site(now))
    down = contextlib.ExitStack()
    port = down.enter_context(down_server())
    async with serve(push_settings(db_path, [f"http://127.0.0.1:{port}/"]), clock) as (_, app):
        deliverer = app.state.push.deliverer
        with cms_connection(db_path, clock) as conn:
            publish(conn, "a-2", now - timedelta(minutes=5))
        await app.state.watcher.check()
        clock.advance(60)
        with cms_connection(db_path, clock) as conn:
            publish(conn, "e-2", now - timedelta(minutes=4), section="ekonomi")
        await app.state.watcher.check()
        for _ in range(8):  # the hub stays down over several retries (connection refused)
            await deliverer.round()
            clock.advance(80)
        assert app.state.push.store.pending("publish") == len(TIONGKOK) + len(EKONOMI)
        down.close()  # the hub comes back
        with http_recorder(port=port) as hub:
            clock.advance(80)
            await deliverer.round()
            # Every version of every changed feed: the site's feeds changed twice.
            assert pinged(hub) == Counter(TIONGKOK) + Counter(EKONOMI)
        assert app.state.push.store.pending() == 0


@pytest.mark.anyio
async def test_no_ping_for_an_embargoed_article_before_its_time(db_path: Path, now: datetime, clock: FakeClock) -> None:
    write_records(db_path, site(now))
    with http_recorder() as hub:
        async with serve(push_settings(db_path, [hub.url]), clock) as (_, app):
            deliverer = app.state.push.deliverer
            with cms_connection(db_path, clock) as conn:
                publish(conn, "embargo", now + timedelta(hours=1), title="Embargo sampai pukul 10 (禁运)")
                publish(conn, "draft", now - timedelta(minutes=1), status="draft")
            await app.state.watcher.check()
            await deliverer.round()
            assert hub.received() == []
            clock.advance(3600 + 1)  # its time comes; no write announces it
            assert await app.state.watcher.check()
            await deliverer.round()
            assert pinged(hub) == Counter(TIONGKOK)


@pytest.mark.e2e
def test_real_uvicorn_with_two_workers_pings_once_per_change(tmp_path: Path, db_path: Path, now: datetime) -> None:
    write_records(db_path, site(now))
    with http_recorder() as hub:
        settings = {
            "websub.hubs": hub.url,
            "server.workers": 2,
            "cache.refresh_seconds": 0.2,
            "push.state_path": str(tmp_path / "push.sqlite"),
        }
        with running_server(db_path, tmp_path, settings) as server:
            with server.client() as client:
                assert link_header(client.get("/feed.atom").headers["link"])[0] == (hub.url, "hub")
            with cms_connection(db_path) as conn:
                publish(conn, "a-2", now - timedelta(minutes=5))
            hub.wait_for(len(TIONGKOK))
            with cms_connection(db_path) as conn:
                publish(conn, "e-2", now - timedelta(minutes=4), section="ekonomi")
            hub.wait_for(len(TIONGKOK) + len(EKONOMI))
            with server.client() as client:  # both workers have served since: both checked
                for _ in range(20):
                    client.get("/healthz")
            assert pinged(hub) == Counter(TIONGKOK) + Counter(EKONOMI)


@pytest.mark.anyio
async def test_pings_not_yet_sent_survive_a_restart(db_path: Path, now: datetime, clock: FakeClock) -> None:
    write_records(db_path, site(now))
    with down_server() as port:
        settings = push_settings(db_path, [f"http://127.0.0.1:{port}/"])
        async with serve(settings, clock) as (_, app):
            with cms_connection(db_path, clock) as conn:
                publish(conn, "a-2", now - timedelta(minutes=5))
            await app.state.watcher.check()
            await app.state.push.deliverer.round()  # the hub is down
    with http_recorder(port=port) as hub:
        async with serve(settings, clock) as (_, app):  # a new process: nothing in memory
            clock.advance(80)
            await app.state.push.deliverer.round()
            assert pinged(hub) == Counter(TIONGKOK)


def test_hub_settings_from_the_environment() -> None:
    from feedserver.config import ConfigError, load_settings

    environ = {"FEEDSERVER_WEBSUB_HUBS": "https://a.example/hub, https://b.example/"}
    settings = load_settings(path=REPO / "config" / "feedserver.toml", environ=environ)
    assert settings["websub.hubs"] == ("https://a.example/hub", "https://b.example/")
    environ["FEEDSERVER_WEBSUB_BUILTIN_HUB"] = "true"
    assert load_settings(path=REPO / "config" / "feedserver.toml", environ=environ).hubs[-1] == (
        "https://example.id/websub/hub"
    )
    for bad in ("ftp://a.example/", "not a url", "https://a.example/<x>"):
        with pytest.raises(ConfigError, match=r"websub\.hubs"):
            load_settings(path=REPO / "config" / "feedserver.toml", environ={"FEEDSERVER_WEBSUB_HUBS": bad})
    with pytest.raises(ConfigError, match=r"indexnow\.key"):
        load_settings(path=REPO / "config" / "feedserver.toml", environ={"FEEDSERVER_INDEXNOW_KEY": "short"})


def test_changed_feeds_equals_comparing_every_feed() -> None:
    """The shortcut (only the sections a change touched, their parents, and the empty
    ones when the site's date moved) finds exactly what comparing every feed finds."""
    import random

    from feedserver.events import ChangeReport
    from feedserver.push.topics import changed_feeds, scopes
    from feedserver.state import SectionState, SiteState

    rng = random.Random(3)
    slugs = ["berita", "berita/tiongkok", "berita/tiongkok/beijing", "ekonomi", "ekonomi/pasar", "budaya", "olah/raga"]

    def state() -> SiteState:
        sections = {}
        for slug in rng.sample(slugs, rng.randint(1, len(slugs))):
            published = rng.choice([None, 100, 200, 300])
            sections[slug] = SectionState(
                slug, slug.title(), "", rng.choice([50, 150, 250]), published, rng.randint(0, 2)
            )
        return SiteState(1000, sections, None)

    for _ in range(500):
        old = state()
        new = SiteState(1000, {k: v for k, v in old.sections.items() if rng.random() > 0.1}, None)
        for slug in rng.sample(slugs, rng.randint(0, 3)):
            new.sections[slug] = SectionState(
                slug, slug.title(), "", rng.choice([50, 150, 350]), rng.choice([None, 300]), 3
            )
        report = ChangeReport(old, new, ())
        every = [scope.section for scope in scopes(new) if scope.signature(old) != scope.signature(new)]
        assert sorted({d.scope.section or "" for d in changed_feeds(report)}) == sorted(s or "" for s in every), (
            old,
            new,
        )
