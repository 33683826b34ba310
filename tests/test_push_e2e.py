"""Everything on at once, on real uvicorn with two workers: the outbound requests one CMS write causes.

Two external hubs, the built-in hub with three subscribers and IndexNow, all
real servers on 127.0.0.1. One write to `berita/tiongkok` changes nine feeds
(the site, `berita` and `berita/tiongkok`, three formats each): 2 x 9 pings,
one delivery per subscription of a changed feed, and one IndexNow POST. These
are the figures the README's table gives.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.cms import cms_connection, publish
from tests.conftest import BASE_URL, article, section, write_records
from tests.push_servers import http_recorder
from tests.test_indexnow import wait_for_baseline
from tests.uvicorn_process import running_server

pytestmark = pytest.mark.e2e
KEY = "kunci-indexnow-2026"


def test_outbound_requests_of_one_write(tmp_path: Path, db_path: Path, now: datetime) -> None:
    write_records(
        db_path,
        [
            section("berita/tiongkok", "Tiongkok"),
            section("ekonomi", "Ekonomi"),
            article("a-1", now - timedelta(hours=2), title="Pasar malam 夜市 di Singkawang"),
            # Not empty: an empty section's feed is dated by the site's newest change, so it would change too.
            article("e-1", now - timedelta(hours=3), section="ekonomi", title="Harga lada 胡椒 naik"),
        ],
    )
    with (
        http_recorder() as hub_a,
        http_recorder() as hub_b,
        http_recorder() as sub_site,
        http_recorder() as sub_section,
        http_recorder() as sub_other,
        http_recorder() as indexnow,
    ):
        settings = {
            "websub.hubs": f"{hub_a.url},{hub_b.url}",
            "websub.builtin_hub": True,
            "websub.allow_private_callbacks": True,
            "indexnow.key": KEY,
            "indexnow.endpoint": indexnow.url,
            "server.workers": 2,
            "cache.refresh_seconds": 0.2,
            "push.state_path": str(tmp_path / "push.sqlite"),
        }
        with running_server(db_path, tmp_path, settings) as server, server.client() as client:
            for subscriber, topic in [
                (sub_site, "/feed.rss"),
                (sub_section, "/section/berita/tiongkok/feed.atom"),
                (sub_other, "/section/ekonomi/feed.json"),  # not changed by the write
            ]:
                form = {"hub.mode": "subscribe", "hub.topic": BASE_URL + topic, "hub.callback": subscriber.url}
                assert client.post("/websub/hub", data=form).status_code == 202
                subscriber.wait_for(1, "GET")
            wait_for_baseline(tmp_path / "push.sqlite")  # IndexNow's first round, before the write
            with cms_connection(db_path) as conn:
                publish(conn, "a-2", now - timedelta(minutes=1), title="Lampion 灯笼 menyala")
            hub_a.wait_for(9)
            hub_b.wait_for(9)
            sub_site.wait_for(1, "POST")
            sub_section.wait_for(1, "POST")
            indexnow.wait_for(1)
            for _ in range(40):  # both workers have checked since: any duplicate would have been sent
                client.get("/healthz")
            counts = {
                "hub pings": len(hub_a.received()) + len(hub_b.received()),
                "deliveries": sum(len(s.received("POST")) for s in (sub_site, sub_section, sub_other)),
                "indexnow posts": len(indexnow.received()),
            }
            assert counts == {"hub pings": 18, "deliveries": 2, "indexnow posts": 1}
