"""The built-in WebSub hub, checked against a real subscriber on 127.0.0.1 started by the test.

The hub checks of websub.rocks are ported as the first tests (100 typical
subscriber, 101 secret and signature, 102 unknown parameters, 103 re-subscribe
before expiry, 104 unsubscription, 106 a JSON topic; 105, a plain-text topic,
becomes "a topic not served here is refused"): each asserts what websub.rocks
asserts of the verification request and of the notification (body equal to the
topic's, same Content-Type, a signature exactly when a secret was given).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cms import cms_connection, publish
from tests.conftest import BASE_URL, FakeClock, article, make_settings, section, serve, write_records
from tests.push_servers import Received, Recorder, http_recorder
from tests.uvicorn_process import running_server

HUB = BASE_URL + "/websub/hub"
ATOM_TOPIC = BASE_URL + "/feed.atom"


def site(now: datetime) -> list[dict[str, Any]]:
    return [
        section("berita/tiongkok", "Tiongkok"),
        section("ekonomi", "Ekonomi"),
        article("a-1", now - timedelta(hours=3), title="Layang-layang raksasa 风筝 di Weifang"),
    ]


def hub_settings(db_path: Path, **overrides: Any) -> Any:
    values = {
        "websub__builtin_hub": True,
        "websub__allow_private_callbacks": True,
        "push__state_path": str(db_path.with_name("push-state.sqlite")),
        "push__retry_seconds": 10.0,
        "push__retry_max_seconds": 80.0,
    }
    values.update(overrides)
    return make_settings(db_path, **values)


async def subscribe(client: httpx.AsyncClient, callback: str, topic: str = ATOM_TOPIC, **params: str) -> httpx.Response:
    form = {"hub.mode": "subscribe", "hub.topic": topic, "hub.callback": callback, **params}
    return await client.post("/websub/hub", data=form)


async def write(app: Any, db_path: Path, clock: FakeClock, article_id: str) -> None:
    with cms_connection(db_path, clock) as conn:
        publish(conn, article_id, datetime.fromtimestamp(clock() - 60), title=f"Kabar {article_id} 消息")
    assert await app.state.watcher.check()


def verifications(subscriber: Recorder) -> list[dict[str, str]]:
    return [{k: v[0] for k, v in r.query.items()} for r in subscriber.received("GET")]


def signed(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def current(client: httpx.AsyncClient, path: str) -> httpx.Response:
    return await client.get(path, headers={"Accept-Encoding": "identity"})


def check_notification(notification: Received, feed: httpx.Response, topic: str) -> None:
    """What websub.rocks checks of a notification: the topic's own body and Content-Type,
    and the hub's and the topic's links."""
    assert notification.method == "POST"
    assert notification.body == feed.content  # a fat ping: the full new feed
    assert notification.headers["content-type"] == feed.headers["content-type"]
    links = re.findall(r'<([^>]*)>\s*;\s*rel="([^"]*)"', notification.headers["link"])
    assert (HUB, "hub") in links and (topic, "self") in links


@pytest.mark.anyio
async def test_websub_rocks_100_typical_subscriber(db_path: Path, now: datetime, clock: FakeClock) -> None:
    write_records(db_path, site(now))
    with http_recorder() as subscriber:
        async with serve(hub_settings(db_path), clock) as (client, app):
            deliverer = app.state.push.deliverer
            # The hub is advertised beside the feed's self link.
            feed = await current(client, "/feed.atom")
            assert f'<{HUB}>; rel="hub"' in feed.headers["link"]
            response = await subscribe(client, subscriber.url)
            assert response.status_code == 202
            assert subscriber.received() == []  # nothing on the request path
            await deliverer.round()
            (verification,) = verifications(subscriber)
            assert verification["hub.mode"] == "subscribe"
            assert verification["hub.topic"] == ATOM_TOPIC
            assert verification["hub.challenge"]
            assert verification["hub.lease_seconds"] == "864000"  # websub.lease_seconds
            await write(app, db_path, clock, "a-2")
            await deliverer.round()
            (notification,) = subscriber.received("POST")
            check_notification(notification, await current(client, "/feed.atom"), ATOM_TOPIC)
            assert "x-hub-signature" not in notification.headers  # no secret, no signature
            await write(app, db_path, clock, "a-3")
            await deliverer.round()
            assert len(subscriber.received("POST")) == 2  # every change, once


@pytest.mark.anyio
async def test_websub_rocks_101_secret_and_signature(db_path: Path, now: datetime, clock: FakeClock) -> None:
    write_records(db_path, site(now))
    with http_recorder() as subscriber:
        async with serve(hub_settings(db_path), clock) as (client, app):
            secret = "rahasia-秘密-42"
            assert (await subscribe(client, subscriber.url, **{"hub.secret": secret})).status_code == 202
            await app.state.push.deliverer.round()
            assert "hub.secret" not in verifications(subscriber)[0]  # never sent back
            await write(app, db_path, clock, "a-2")
            await app.state.push.deliverer.round()
            (notification,) = subscriber.received("POST")
            assert notification.headers["x-hub-signature"] == signed(secret, notification.body)
            assert notification.headers["x-hub-signature"] != signed("another secret", notification.body)


@pytest.mark.anyio
async def test_websub_rocks_102_unknown_parameters_are_ignored(db_path: Path, now: datetime, clock: FakeClock) -> None:
    write_records(db_path, site(now))
    with http_recorder() as subscriber:
        async with serve(hub_settings(db_path), clock) as (client, app):
            response = await subscribe(client, subscriber.url + "?token=abc", foo="bar", **{"hub.foo": "hub.bar"})
            assert response.status_code == 202
            await app.state.push.deliverer.round()
            (verification,) = verifications(subscriber)
            assert verification["token"] == "abc"  # the callback's own query is kept
            assert "foo" not in verification and "hub.foo" not in verification
            await write(app, db_path, clock, "a-2")
            await app.state.push.deliverer.round()
            assert len(subscriber.received("POST")) == 1


@pytest.mark.anyio
async def test_websub_rocks_103_resubscribe_before_expiry(db_path: Path, now: datetime, clock: FakeClock) -> None:
    write_records(db_path, site(now))
    with http_recorder() as subscriber:
        async with serve(hub_settings(db_path), clock) as (client, app):
            push = app.state.push
            await subscribe(client, subscriber.url, **{"hub.lease_seconds": "7200"})
            await push.deliverer.round()
            clock.advance(3600)
            await subscribe(client, subscriber.url, **{"hub.lease_seconds": "7200"})
            await push.deliverer.round()
            assert [v["hub.lease_seconds"] for v in verifications(subscriber)] == ["7200", "7200"]
            (subscription,) = push.store.subscriptions(ATOM_TOPIC, clock())  # one per topic and callback
            assert subscription.expires_at == clock() + 7200  # the lease starts again
            clock.advance(5000)  # past the first lease, within the second
            await write(app, db_path, clock, "a-2")
            await push.deliverer.round()
            assert len(subscriber.received("POST")) == 1


@pytest.mark.anyio
async def test_websub_rocks_104_unsubscription(db_path: Path, now: datetime, clock: FakeClock) -> None:
    write_records(db_path, site(now))
    with http_recorder() as subscriber:
        async with serve(hub_settings(db_path), clock) as (client, app):
            await subscribe(client, subscriber.url)
            await app.state.push.deliverer.round()
            response = await subscribe(client, subscriber.url, **{"hub.mode": "unsubscribe"})
            assert response.status_code == 202
            await app.state.push.deliverer.round()
            assert [v["hub.mode"] for v in verifications(subscriber)] == ["subscribe", "unsubscribe"]
            assert "hub.lease_seconds" not in verifications(subscriber)[1]
            await write(app, db_path, clock, "a-2")
            await app.state.push.deliverer.round()
            assert subscriber.received("POST") == []


@pytest.mark.anyio
async def test_websub_rocks_106_json_topic(db_path: Path, now: datetime, clock: FakeClock) -> None:
    write_records(db_path, site(now))
    topic = BASE_URL + "/section/berita/tiongkok/feed.json"
    with http_recorder() as subscriber:
        async with serve(hub_settings(db_path), clock) as (client, app):
            await subscribe(client, subscriber.url, topic)
            await app.state.push.deliverer.round()
            await write(app, db_path, clock, "a-2")
            await app.state.push.deliverer.round()
            (notification,) = subscriber.received("POST")
            feed = await current(client, "/section/berita/tiongkok/feed.json")
            check_notification(notification, feed, topic)
            assert notification.headers["content-type"] == "application/feed+json; charset=utf-8"


@pytest.mark.anyio
async def test_only_subscribers_of_a_changed_feed_get_it(db_path: Path, now: datetime, clock: FakeClock) -> None:
    write_records(db_path, site(now))
    with http_recorder() as one, http_recorder() as two, http_recorder() as other:
        async with serve(hub_settings(db_path), clock) as (client, app):
            await subscribe(client, one.url, BASE_URL + "/feed.rss")
            await subscribe(client, two.url, BASE_URL + "/feed.rss")
            await subscribe(client, other.url, BASE_URL + "/section/ekonomi/feed.rss")
            await app.state.push.deliverer.round()
            await write(app, db_path, clock, "a-2")  # berita/tiongkok: the site's feed changes, ekonomi's not
            await app.state.push.deliverer.round()
            assert len(one.received("POST")) == len(two.received("POST")) == 1
            assert other.received("POST") == []


@pytest.mark.anyio
async def test_leases_are_bounded_and_expire(db_path: Path, now: datetime, clock: FakeClock) -> None:
    write_records(db_path, site(now))
    settings = hub_settings(db_path, websub__min_lease_seconds=600, websub__max_lease_seconds=86400)
    with http_recorder() as short, http_recorder() as long:
        async with serve(settings, clock) as (client, app):
            push = app.state.push
            await subscribe(client, short.url, **{"hub.lease_seconds": "5"})
            await subscribe(client, long.url, **{"hub.lease_seconds": "99999999"})
            await push.deliverer.round()
            assert verifications(short)[0]["hub.lease_seconds"] == "600"
            assert verifications(long)[0]["hub.lease_seconds"] == "86400"
            clock.advance(601)  # the short lease ends
            await write(app, db_path, clock, "a-2")
            await push.deliverer.round()
            assert short.received("POST") == [] and len(long.received("POST")) == 1
            assert [s.callback for s in push.store.subscriptions(ATOM_TOPIC, 0)] == [long.url]  # the row went


@pytest.mark.anyio
async def test_a_failing_callback_is_retried_with_backoff_then_dropped(
    db_path: Path, now: datetime, clock: FakeClock
) -> None:
    write_records(db_path, site(now))

    def reply(request: Received) -> tuple[int, dict[str, str], bytes]:
        if request.method == "GET":
            return 200, {}, request.query["hub.challenge"][0].encode()
        return 500, {}, b"oops"

    with http_recorder(reply) as subscriber:
        async with serve(hub_settings(db_path, push__max_attempts=3), clock) as (client, app):
            push = app.state.push
            await subscribe(client, subscriber.url)
            await push.deliverer.round()
            await write(app, db_path, clock, "a-2")
            await push.deliverer.round()
            assert len(subscriber.received("POST")) == 1
            await push.deliverer.round()
            assert len(subscriber.received("POST")) == 1  # the backoff holds it
            for _ in range(5):
                clock.advance(80)
                await push.deliverer.round()
            assert len(subscriber.received("POST")) == 3  # push.max_attempts, then dropped
            assert push.store.pending() == 0


@pytest.mark.anyio
async def test_subscriptions_survive_a_restart(db_path: Path, now: datetime, clock: FakeClock) -> None:
    write_records(db_path, site(now))
    settings = hub_settings(db_path)
    with http_recorder() as subscriber:
        async with serve(settings, clock) as (client, app):
            await subscribe(client, subscriber.url)
            await app.state.push.deliverer.round()
        async with serve(settings, clock) as (client, app):
            await write(app, db_path, clock, "a-2")
            await app.state.push.deliverer.round()
            assert len(subscriber.received("POST")) == 1
    assert db_path.with_name("push-state.sqlite").is_file()


@pytest.mark.anyio
async def test_forged_and_bad_requests_are_refused(db_path: Path, now: datetime, clock: FakeClock) -> None:
    write_records(db_path, site(now))

    def wrong_echo(request: Received) -> tuple[int, dict[str, str], bytes]:
        return 200, {}, b"not the challenge"

    def not_found(request: Received) -> tuple[int, dict[str, str], bytes]:
        return 404, {}, b""

    with http_recorder(wrong_echo) as liar, http_recorder(not_found) as stranger:
        async with serve(hub_settings(db_path), clock) as (client, app):
            push = app.state.push
            for form, status in [
                ({"hub.mode": "publish", "hub.topic": ATOM_TOPIC, "hub.callback": liar.url}, 400),
                ({"hub.mode": "", "hub.topic": ATOM_TOPIC, "hub.callback": liar.url}, 400),
                ({"hub.mode": "subscribe", "hub.callback": liar.url}, 400),
                (
                    {"hub.mode": "subscribe", "hub.topic": "https://other.example/feed.atom", "hub.callback": liar.url},
                    400,
                ),
                (
                    {
                        "hub.mode": "subscribe",
                        "hub.topic": BASE_URL + "/section/tidak-ada/feed.rss",
                        "hub.callback": liar.url,
                    },
                    400,
                ),
                ({"hub.mode": "subscribe", "hub.topic": BASE_URL + "/sitemap.xml", "hub.callback": liar.url}, 400),
                ({"hub.mode": "subscribe", "hub.topic": BASE_URL + "/robots.txt", "hub.callback": liar.url}, 400),
                ({"hub.mode": "subscribe", "hub.topic": ATOM_TOPIC, "hub.callback": "ftp://127.0.0.1/x"}, 400),
                ({"hub.mode": "subscribe", "hub.topic": ATOM_TOPIC, "hub.callback": "/relative"}, 400),
                (
                    {
                        "hub.mode": "subscribe",
                        "hub.topic": ATOM_TOPIC,
                        "hub.callback": liar.url,
                        "hub.lease_seconds": "x",
                    },
                    400,
                ),
                (
                    {
                        "hub.mode": "subscribe",
                        "hub.topic": ATOM_TOPIC,
                        "hub.callback": liar.url,
                        "hub.secret": "s" * 200,
                    },
                    400,
                ),
            ]:
                response = await client.post("/websub/hub", data=form)
                assert response.status_code == status, (form, response.text)
                assert response.text.strip()  # a short reason
            # Not a form, not UTF-8, too large.
            response = await client.post("/websub/hub", json={"hub.mode": "subscribe"})
            assert response.status_code == 415
            form_type = {"Content-Type": "application/x-www-form-urlencoded"}
            response = await client.post("/websub/hub", content=b"hub.mode=\xff\xfe", headers=form_type)
            assert response.status_code == 400
            response = await client.post(
                "/websub/hub", content=b"hub.mode=subscribe&x=" + b"y" * 20000, headers=form_type
            )
            assert response.status_code == 413
            assert (await client.get("/websub/hub")).status_code == 405
            # Callbacks that do not confirm: accepted, then no subscription.
            assert (await subscribe(client, liar.url)).status_code == 202
            assert (await subscribe(client, stranger.url)).status_code == 202
            await push.deliverer.round()
            assert len(liar.received("GET")) == len(stranger.received("GET")) == 1
            assert push.store.subscriptions(ATOM_TOPIC, clock()) == []
            await write(app, db_path, clock, "a-2")
            await push.deliverer.round()
            assert liar.received("POST") == [] and stranger.received("POST") == []


@pytest.mark.anyio
async def test_private_callbacks_and_limits(db_path: Path, now: datetime, clock: FakeClock) -> None:
    write_records(db_path, site(now))
    with http_recorder() as one, http_recorder() as two:
        async with serve(hub_settings(db_path, websub__allow_private_callbacks=False), clock) as (client, _):
            for callback in (
                one.url,
                "http://localhost/cb",
                "http://10.1.2.3/cb",
                "http://[::1]/cb",
                "http://169.254.169.254/",
            ):
                response = await subscribe(client, callback)
                assert response.status_code == 400 and "private" in response.text, callback
            # A secret only for an https callback (W3C WebSub 5.1), unless private callbacks are allowed.
            public = "http://93.184.216.34/callback"  # a public address, never called: no round runs
            response = await subscribe(client, public, **{"hub.secret": "kunci"})
            assert response.status_code == 400 and "https" in response.text
            assert (
                await subscribe(client, public.replace("http:", "https:"), **{"hub.secret": "kunci"})
            ).status_code == 202
            assert (await subscribe(client, public)).status_code == 202
        settings = hub_settings(
            db_path,
            websub__max_subscriptions_per_topic=1,
            websub__max_subscriptions=2,
            push__state_path=str(db_path.with_name("limits.sqlite")),
        )
        async with serve(settings, clock) as (client, app):
            assert (await subscribe(client, one.url)).status_code == 202
            await app.state.push.deliverer.round()
            assert (await subscribe(client, two.url)).status_code == 429  # one per feed
            assert (await subscribe(client, one.url)).status_code == 202  # a renewal is not a new one
            await app.state.push.deliverer.round()  # verifications waiting count against the total too
            assert (await subscribe(client, two.url, BASE_URL + "/feed.rss")).status_code == 202
            assert (await subscribe(client, two.url, BASE_URL + "/feed.json")).status_code == 429  # two in all


@pytest.mark.e2e
def test_real_uvicorn_hub_verifies_and_distributes(tmp_path: Path, db_path: Path, now: datetime) -> None:
    write_records(db_path, site(now))
    with http_recorder() as subscriber:
        settings = {
            "websub.builtin_hub": True,
            "websub.allow_private_callbacks": True,
            "server.workers": 2,
            "cache.refresh_seconds": 0.2,
            "push.state_path": str(tmp_path / "push.sqlite"),
        }
        with running_server(db_path, tmp_path, settings) as server, server.client() as client:
            topic = BASE_URL + "/feed.rss"
            form = {"hub.mode": "subscribe", "hub.topic": topic, "hub.callback": subscriber.url, "hub.secret": "kunci"}
            assert client.post("/websub/hub", data=form).status_code == 202
            subscriber.wait_for(1, "GET")
            with cms_connection(db_path) as conn:
                publish(conn, "a-2", now - timedelta(minutes=1), title="Kabar a-2 消息")
            (notification,) = subscriber.wait_for(1, "POST")
            # The worker answering may not have run its check yet: ask until it has
            # (a deadline for a stuck server, not a timing assertion).
            deadline = time.monotonic() + 20
            while client.get("/feed.rss", headers={"Accept-Encoding": "identity"}).content != notification.body:
                assert time.monotonic() < deadline, "the feed never became what the hub delivered"
                time.sleep(0.05)
            assert notification.headers["x-hub-signature"] == signed("kunci", notification.body)
            with cms_connection(db_path) as conn:
                publish(conn, "a-3", now - timedelta(minutes=1))
            subscriber.wait_for(2, "POST")
            for _ in range(20):
                client.get("/healthz")  # both workers' checks have run
            assert len(subscriber.received("POST")) == 2  # once per change, not once per worker
