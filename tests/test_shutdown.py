"""SIGTERM: requests in flight finish, then the process exits 0.

uvicorn re-raises the signal once its graceful shutdown is done, which would
end the process with 143; feedserver/server.py turns a stop that was asked
for into a clean exit. The request kept in flight here is honest, with no test
hook in the server: a cold render waiting on a lock the CMS holds on a
rollback-journal database (busy timeout), released only after the SIGTERM.
"""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.cms import cms_connection
from tests.conftest import article, section, write_records
from tests.readers import parse
from tests.uvicorn_process import RunningServer, running_server

pytestmark = pytest.mark.e2e


def rollback_journal_site(db_path: Path, now: datetime) -> Path:
    """A site whose CMS keeps its database in rollback-journal mode (feedserver cannot change that)."""
    write_records(db_path, [section("berita"), *(article(f"a-{n}", now - timedelta(hours=n)) for n in range(20))])
    with cms_connection(db_path) as conn:
        assert conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0] == "delete"
    return db_path


def hold_exclusive_lock(db_path: Path) -> sqlite3.Connection:
    """The CMS in the middle of a write: readers get SQLITE_BUSY until it ends."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    conn.execute("UPDATE sections SET description = 'sedang ditulis'")
    return conn


def wait_for(condition: str, server: RunningServer, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while condition not in server.output():
        assert time.monotonic() < deadline, f"no {condition!r} in the log:\n{server.output()}"
        time.sleep(0.05)


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_finishes_requests_in_flight_and_exits_0(
    tmp_path: Path, db_path: Path, now: datetime, workers: int
) -> None:
    rollback_journal_site(db_path, now)
    settings = {
        "server.workers": workers,
        "database.busy_timeout_seconds": 20,  # longer than the lock: the render waits, then succeeds
        "server.graceful_shutdown_seconds": 20,
        "cache.refresh_seconds": 60,  # keep the change check out of the way
    }
    with running_server(db_path, tmp_path, settings) as server:
        lock = hold_exclusive_lock(db_path)
        result: dict[str, httpx.Response | BaseException] = {}

        def cold_request() -> None:
            try:
                result["response"] = httpx.get(server.url + "/feed.atom", timeout=30)
            except BaseException as exc:  # reported by the test thread below
                result["response"] = exc

        try:
            requester = threading.Thread(target=cold_request)
            requester.start()
            time.sleep(0.5)  # the request is now waiting on the CMS's lock
            assert requester.is_alive() and not result
            stopped_at = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            wait_for("Shutting down", server)
            time.sleep(0.3)
            # Shutting down: no new connection is accepted, the one in flight is still open.
            with pytest.raises(httpx.TransportError):
                httpx.get(server.url + "/healthz", timeout=2)
            assert requester.is_alive(), "the request in flight was cut off"
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        requester.join(30)
        response = result["response"]
        assert isinstance(response, httpx.Response), response
        assert response.status_code == 200, response.text
        assert parse(response.content, "atom").entries  # the whole document arrived
        assert server.process.wait(30) == 0, server.output()
        assert time.monotonic() - stopped_at < 15
    log = server.output()
    assert "Application shutdown complete" in log
    assert "Traceback" not in log, log
