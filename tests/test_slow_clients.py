"""Slow clients: what uvicorn's limits from the config bound, and what they do not.

- An idle keep-alive connection is closed after server.keep_alive_seconds.
- Past server.limit_concurrency connections, a request is answered 503 at once:
  nothing queues without bound, and the server serves again as soon as they go.
- uvicorn has no timeout for a client that connects and never finishes its
  request headers: such clients hold their connections, and enough of them
  (limit_concurrency) turn every new request into a 503. That is why the README
  says to run feedserver behind a reverse proxy that buffers requests; this test
  pins the behaviour down so a change to it is seen.
"""

from __future__ import annotations

import socket
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.conftest import article, section, write_records
from tests.uvicorn_process import HOST, running_server

pytestmark = pytest.mark.e2e


def test_idle_and_slow_connections_are_bounded(tmp_path: Path, db_path: Path, now: datetime) -> None:
    write_records(db_path, [section("berita"), article("a-1", now - timedelta(hours=1))])
    limit = 10
    settings = {"server.limit_concurrency": limit, "server.keep_alive_seconds": 1}
    with running_server(db_path, tmp_path, settings) as server:
        # An idle keep-alive connection is closed by the server.
        with socket.create_connection((HOST, server.port), timeout=5) as idle:
            idle.sendall(b"GET /feed.rss HTTP/1.1\r\nHost: x\r\n\r\n")
            assert idle.recv(65536).startswith(b"HTTP/1.1 200")
            started = time.monotonic()
            while idle.recv(65536):
                pass
            assert time.monotonic() - started < 4, "an idle keep-alive connection was kept"

        slow = []
        try:
            for _ in range(limit):  # headers started, never finished
                conn = socket.create_connection((HOST, server.port), timeout=5)
                conn.sendall(b"GET /feed.rss HTTP/1.1\r\nHost: x\r\n")
                slow.append(conn)
            time.sleep(0.3)
            started = time.monotonic()
            refused = httpx.get(server.url + "/feed.rss", timeout=5)
            assert refused.status_code == 503  # refused at once, not queued
            assert time.monotonic() - started < 2
        finally:
            for conn in slow:
                conn.close()
        time.sleep(0.3)
        assert httpx.get(server.url + "/feed.rss", timeout=5).status_code == 200
        assert server.alive()
