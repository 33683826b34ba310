"""The caching tier, end to end: the real nginx with the shipped
config/nginx/feedserver.conf in front of two real feedserver processes (uvicorn)
on one database, written by a plain sqlite3 connection as the CMS would.

Shown here: repeated requests are cache HITs; gzip and identity clients each get
their own valid body, and many raw Accept-Encoding strings share two copies; a
CMS write reaches clients within the documented bound (s-maxage plus one
background refresh, README "Caching tier"), or within the purge delay with the
purge hook; with both feedservers killed nginx keeps serving the cached feeds,
and restarting them recovers with no operator step.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import signal
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cms import cms_connection, publish
from tests.conftest import seeded_records, write_records
from tests.nginx_process import RunningNginx, running_nginx
from tests.readers import article_ids, fmt_of, parse
from tests.uvicorn_process import RunningServer, free_port, running_server

pytestmark = [pytest.mark.e2e, pytest.mark.nginx]

REFRESH_SECONDS = 0.2
S_MAXAGE = 2
# The documented bound without purge: the copy's s-maxage, then one background
# refresh (the first request after expiry still gets the old copy while nginx
# refetches), plus the change check's interval; generous slack for a loaded machine.
VISIBLE_WITHIN = S_MAXAGE + REFRESH_SECONDS + 8.0
PATHS = ("/feed.rss", "/feed.atom", "/feed.json", "/section/berita/feed.rss", "/sitemap.xml")
GZIP = {"Accept-Encoding": "gzip"}
IDENTITY = {"Accept-Encoding": "identity"}


@contextlib.contextmanager
def tier(
    tmp_path: Path, db_path: Path, settings: dict[str, Any], ports: list[int] | None = None
) -> Iterator[tuple[list[RunningServer], RunningNginx]]:
    """Two feedservers on one file and nginx in front of them."""
    ports = ports or [free_port(), free_port()]
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(running_server(db_path, tmp_path, settings, port=port)) for port in ports]
        nginx = stack.enter_context(running_nginx(ports, tmp_path / "nginx"))
        yield servers, nginx


def until(condition: Callable[[], bool], within: float, what: str) -> float:
    """Poll `condition` every 0.1 s; returns the seconds it took, fails past `within`."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > within:
            raise AssertionError(f"not within {within:g} s: {what}")
        time.sleep(0.1)
    return time.monotonic() - start


def newest(client: httpx.Client, path: str, headers: dict[str, str]) -> str:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, (path, response.status_code, response.text[:200])
    return article_ids(response.content, fmt_of(path))[0]


@pytest.fixture
def site(db_path: Path, now: datetime) -> Path:
    write_records(db_path, seeded_records(now, count=60))
    return db_path


def test_nginx_caches_both_encodings_shows_writes_and_outlives_its_origins(
    tmp_path: Path, site: Path, now: datetime
) -> None:
    settings = {"cache.refresh_seconds": REFRESH_SECONDS, "cache.s_maxage_seconds": S_MAXAGE}
    ports = [free_port(), free_port()]
    with tier(tmp_path, site, settings, ports) as (servers, nginx), nginx.client() as client:
        # Repeated requests are HITs; each encoding has its own copy with a valid body.
        bodies: dict[tuple[str, str], bytes] = {}
        for path in PATHS:
            for name, headers in (("identity", IDENTITY), ("gzip", GZIP)):
                first = client.get(path, headers=headers)
                assert first.status_code == 200
                assert first.headers["x-cache-status"] in {"MISS", "EXPIRED", "HIT"}
                again = client.get(path, headers=headers)
                assert again.headers["x-cache-status"] == "HIT", (path, name)
                assert again.headers["etag"] == first.headers["etag"]
                raw = again.content  # httpx decodes Content-Encoding: check what was sent
                if name == "gzip":
                    assert again.headers["content-encoding"] == "gzip"
                    assert again.headers["etag"].endswith('-gz"')
                else:
                    assert "content-encoding" not in again.headers
                bodies[(path, name)] = raw
            assert bodies[(path, "gzip")] == bodies[(path, "identity")], path
            if path != "/sitemap.xml":
                parse(bodies[(path, "identity")], fmt_of(path))
        # Raw gzip bytes, as a client without a decoder would see them.
        with httpx.stream("GET", f"{nginx.url}/feed.rss", headers=GZIP) as raw_response:
            compressed = b"".join(raw_response.iter_raw())
        assert gzip.decompress(compressed) == bodies[("/feed.rss", "identity")]

        # Many raw Accept-Encoding strings share the two copies: no new MISS.
        for value in ("gzip, deflate, br", "br;q=1.0, gzip;q=0.8, *;q=0.1", "deflate, gzip", "*"):
            response = client.get("/feed.rss", headers={"Accept-Encoding": value})
            assert response.headers["x-cache-status"] == "HIT", value
            assert response.headers["content-encoding"] == "gzip", value
        for value in ("gzip;q=0", "br", "identity", ""):
            response = client.get("/feed.rss", headers={"Accept-Encoding": value})
            assert response.headers["x-cache-status"] == "HIT", value
            assert "content-encoding" not in response.headers, value
            assert response.content == bodies[("/feed.rss", "identity")]

        # A CMS write reaches clients through nginx within the documented bound.
        with cms_connection(site) as conn:
            publish(conn, "lewat-nginx", now - timedelta(seconds=10), section="berita")
        feeds = [path for path in PATHS if path != "/sitemap.xml"]
        for path in feeds:
            for headers in (IDENTITY, GZIP):
                until(
                    lambda path=path, headers=headers: newest(client, path, headers) == "lewat-nginx",
                    VISIBLE_WITHIN,
                    f"the write shows through nginx in {path}",
                )
        current = {path: client.get(path, headers=IDENTITY).content for path in feeds}

        # Both feedservers killed: nginx keeps serving the cached feeds, past their lifetime too.
        for server in servers:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(10)
        statuses: set[str] = set()

        def served_stale() -> bool:
            for path in feeds:
                response = client.get(path, headers=IDENTITY)
                assert response.status_code == 200, (path, response.status_code)
                assert response.content == current[path], path
                statuses.add(response.headers["x-cache-status"])
            return bool(statuses & {"STALE", "UPDATING"})

        until(served_stale, S_MAXAGE + 10, "nginx serves its copies past s-maxage with no origin")

        # Restarted on the same ports: a new write shows again, with no operator step.
        with contextlib.ExitStack() as stack:
            for port in ports:
                stack.enter_context(running_server(site, tmp_path, settings, port=port))
            with cms_connection(site) as conn:
                publish(conn, "setelah-restart", now - timedelta(seconds=5), section="berita")
            until(
                lambda: newest(client, "/section/berita/feed.rss", IDENTITY) == "setelah-restart",
                VISIBLE_WITHIN + 5,  # + the upstream's fail_timeout: nginx retries a failed replica after 5 s
                "a write shows after the restart",
            )


def test_purge_hook_through_nginx_beats_a_long_s_maxage(tmp_path: Path, site: Path, now: datetime) -> None:
    """With the hook pointed at the shipped refresh location, a write shows long before
    a 1-hour s-maxage would let it: within the purge delay plus the refresh."""
    nginx_port = free_port()
    refresh = f"http://127.0.0.1:{nginx_port}/_feedserver_refresh"
    settings = {
        "cache.refresh_seconds": REFRESH_SECONDS,
        "cache.s_maxage_seconds": 3600,
        "cache.purge_url": f"{refresh}/gzip{{path}}\n{refresh}/identity{{path}}",
        "cache.purge_method": "GET",
        # Past the other worker's change check and its re-render.
        "cache.purge_delay_seconds": 1.0,
        "cache.purge_lock_path": str(tmp_path / "purge.lock"),
    }
    ports = [free_port(), free_port()]
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(running_server(site, tmp_path, settings, port=port)) for port in ports]
        nginx = stack.enter_context(running_nginx(ports, tmp_path / "nginx", port=nginx_port))
        client = stack.enter_context(nginx.client())
        for headers in (IDENTITY, GZIP):
            client.get("/section/ekonomi/feed.atom", headers=headers)
            assert client.get("/section/ekonomi/feed.atom", headers=headers).headers["x-cache-status"] == "HIT"
        with cms_connection(site) as conn:
            publish(conn, "dibersihkan", now - timedelta(seconds=5), section="ekonomi")
        for headers in (IDENTITY, GZIP):
            until(
                lambda headers=headers: newest(client, "/section/ekonomi/feed.atom", headers) == "dibersihkan",
                1.0 + REFRESH_SECONDS + 8.0,
                "the purge refreshed nginx's copy",
            )
            assert client.get("/section/ekonomi/feed.atom", headers=headers).headers["x-cache-status"] == "HIT"
        assert all(server.alive() for server in servers)


def test_nginx_keeps_the_browser_and_the_reader_variant_apart(tmp_path: Path, site: Path) -> None:
    """RSS and Atom as a browser's navigation gets them (application/xml, for the XSL)
    and as a reader does: two copies in nginx whatever the raw Accept, never one
    served for the other (config/nginx/feedserver.conf normalises Accept)."""
    browsers = (
        "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    )
    readers = ("", "*/*", "application/rss+xml, application/atom+xml;q=0.9, */*;q=0.1")
    with (
        tier(tmp_path, site, {"cache.refresh_seconds": REFRESH_SECONDS}) as (_servers, nginx),
        nginx.client() as client,
    ):
        for path, registered in (
            ("/feed.rss", "application/rss+xml"),
            ("/section/berita/feed.atom", "application/atom+xml"),
        ):
            for accept in (*browsers, *readers, *browsers, *readers):
                headers = {**IDENTITY, **({"Accept": accept} if accept else {})}
                response = client.get(path, headers=headers)
                assert response.status_code == 200
                expected = "application/xml" if accept in browsers else registered
                assert response.headers["content-type"].split(";")[0] == expected, (path, accept)
            # Every spelling after the first of its variant is a HIT: two copies, not five.
            for accept in (*browsers, *readers):
                headers = {**IDENTITY, **({"Accept": accept} if accept else {})}
                assert client.get(path, headers=headers).headers["x-cache-status"] == "HIT", (path, accept)
