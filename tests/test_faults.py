"""Faults: a real uvicorn keeps serving while the CMS locks, replaces or
breaks the database, says so once in its log and on /healthz, and recovers by itself.

Each test starts `feedserver serve` on 127.0.0.1 (tests/uvicorn_process.py)
with a short change-check interval and breaks the database the way a CMS or an
operator would, from outside the server. A bad config or a missing database
at start is refused with one line: tests/test_config.py proves that.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cms import cms_connection, publish
from tests.conftest import article, section, write_records
from tests.readers import article_ids, fmt_of
from tests.uvicorn_process import RunningServer, running_server

pytestmark = pytest.mark.e2e

REFRESH_SECONDS = 0.2
# A change shows within one check interval plus the check and the re-render
# themselves (generous, for a loaded machine); as in test_changes.py.
VISIBLE_WITHIN = REFRESH_SECONDS + 2.0
WARM = ("/feed.atom", "/feed.json", "/section/berita/feed.rss", "/sitemap.xml")
COLD = "/section/ekonomi/feed.json"  # never requested before the fault
PROBLEM_LINE = "database unavailable:"
RECOVERY_LINE = "database available again"


def site_records(now: datetime, *extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        section("berita"),
        section("ekonomi"),
        *(article(f"a-{n}", now - timedelta(hours=n + 1), section=("berita", "ekonomi")[n % 2]) for n in range(12)),
        *extra,
    ]


def wait_until(condition: Callable[[], bool], timeout: float, what: str, server: RunningServer) -> float:
    """Poll `condition`; return the seconds it took, or fail naming `what`."""
    started = time.monotonic()
    while not condition():
        assert server.alive(), f"the server died:\n{server.output()}"
        assert time.monotonic() - started < timeout, f"{what} not within {timeout} s:\n{server.output()[-3000:]}"
        time.sleep(0.05)
    return time.monotonic() - started


def ids(client: httpx.Client, path: str) -> list[str]:
    response = client.get(path, headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200, (path, response.status_code)
    return article_ids(response.content, fmt_of(path))


def assert_no_server_error(responses: list[httpx.Response]) -> None:
    errors = [(r.request.url.path, r.status_code) for r in responses if r.status_code >= 500]
    assert not errors, errors


# --- the CMS holds locks ---------------------------------------------------------------


def test_a_long_cms_write_transaction_does_not_stop_reads(tmp_path: Path, db_path: Path, now: datetime) -> None:
    """WAL mode (what init-db sets): readers never wait for the writer, cold renders included."""
    write_records(db_path, site_records(now))
    busy_timeout = 5.0
    settings = {"cache.refresh_seconds": REFRESH_SECONDS, "database.busy_timeout_seconds": busy_timeout}
    with running_server(db_path, tmp_path, settings) as server, server.client() as client:
        for path in WARM:
            assert client.get(path).status_code == 200
        with cms_connection(db_path) as cms:
            cms.execute("BEGIN IMMEDIATE")
            cms.execute(
                "INSERT INTO articles (id, url, section, title, published_at, updated_at, status) "
                "VALUES ('baru', 'https://example.id/ekonomi/baru', 'ekonomi', 'Baru', ?, ?, 'published')",
                (int(now.timestamp()) - 30, int(now.timestamp()) - 30),
            )
            responses, slowest = [], 0.0
            held_until = time.monotonic() + 3
            while time.monotonic() < held_until:
                for path in (*WARM, COLD, "/section/ekonomi/feed.atom", "/healthz"):
                    started = time.monotonic()
                    responses.append(client.get(path))
                    slowest = max(slowest, time.monotonic() - started)
            assert_no_server_error(responses)
            assert {r.status_code for r in responses} == {200}
            assert slowest < busy_timeout / 2, f"a read waited {slowest:.2f} s on the writer"
            assert "baru" not in ids(client, "/feed.json")  # not committed: not visible
            cms.execute("COMMIT")
        wait_until(lambda: "baru" in ids(client, "/feed.json"), VISIBLE_WITHIN, "the committed write", server)
        assert not server.lines(PROBLEM_LINE)


def test_a_rollback_journal_database_locked_by_the_cms(tmp_path: Path, db_path: Path, now: datetime) -> None:
    """A CMS database kept in rollback-journal mode (feedserver only reads, so it cannot
    change that), locked EXCLUSIVE while the CMS writes: every read gets SQLITE_BUSY.

    A lock shorter than database.busy_timeout_seconds only delays a cold render. A
    longer one: rendered feeds are served from cache at once; a feed never rendered
    answers 503 with Retry-After once the busy timeout has passed; /healthz stays 200
    (a lock is a delay, not a broken database, and every server shares the file: a
    health check failing on it would take them all out of rotation together); one
    log line says so. After the lock, the write shows within the configured delay."""
    write_records(db_path, site_records(now))
    with cms_connection(db_path) as cms:
        assert cms.execute("PRAGMA journal_mode = DELETE").fetchone()[0] == "delete"
    busy_timeout = 1.5
    settings = {"cache.refresh_seconds": REFRESH_SECONDS, "database.busy_timeout_seconds": busy_timeout}
    with running_server(db_path, tmp_path, settings) as server, server.client() as client:
        warm = {path: client.get(path) for path in WARM}
        assert {r.status_code for r in warm.values()} == {200}

        # 1. Shorter than the busy timeout: even a cold render just waits.
        with cms_connection(db_path) as cms:
            cms.execute("BEGIN EXCLUSIVE")
            cms.execute("UPDATE sections SET description = 'sedang ditulis' WHERE slug = 'berita'")
            started = time.monotonic()
            responses = [client.get(path) for path in WARM]
            assert time.monotonic() - started < busy_timeout / 2, "cached copies waited on the lock"
            time.sleep(0.3)
            cms.execute("COMMIT")  # while the cold request below is still waiting
            responses.append(client.get("/section/ekonomi/feed.atom"))
        assert_no_server_error(responses)
        assert {r.status_code for r in responses} == {200}

        # 2. Longer than the busy timeout.
        with cms_connection(db_path) as cms:
            cms.execute("BEGIN EXCLUSIVE")
            publish_sql = (
                "INSERT INTO articles (id, url, section, title, published_at, updated_at, status) "
                "VALUES ('terkunci', 'https://example.id/berita/terkunci', 'berita', 'Terkunci', ?, ?, 'published')"
            )
            cms.execute(publish_sql, (int(now.timestamp()) - 30, int(now.timestamp()) - 30))
            held_until = time.monotonic() + 2 * busy_timeout + 0.5
            responses = []
            while time.monotonic() < held_until:
                for path in WARM:
                    started = time.monotonic()
                    response = client.get(path)
                    assert time.monotonic() - started < busy_timeout / 2, f"{path} waited on the lock"
                    assert response.status_code == 200, (path, response.status_code)
                    assert "stale-if-error=" in response.headers["cache-control"]
                    responses.append(response)
            cold = client.get(COLD)
            assert cold.status_code == 503
            assert int(cold.headers["retry-after"]) > 0
            health = client.get("/healthz")
            assert health.status_code == 200, health.text
            cms.execute("COMMIT")
        assert len(server.lines("database locked")) == 1, server.output()
        wait_until(lambda: "terkunci" in ids(client, "/feed.json"), VISIBLE_WITHIN, "the write after the lock", server)
        assert client.get(COLD).status_code == 200
        assert not server.lines(PROBLEM_LINE)
        assert "Traceback" not in server.output()


# --- the CMS replaces the file ------------------------------------------------------------


def build_elsewhere(db_path: Path, records: list[dict[str, Any]]) -> Path:
    fresh = db_path.with_name(f"fresh-{time.monotonic_ns()}.sqlite")
    write_records(fresh, records)
    with cms_connection(fresh) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return fresh


def put_in_place(fresh: Path, db_path: Path) -> None:
    """Replace a live WAL database as the README's Operations section says: the old
    file's -wal and -shm go first (SQLite pairs a write-ahead log with a file by its
    name, and would apply the old file's log to the new one), then the rename."""
    for suffix in ("-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    if db_path.is_dir():
        shutil.rmtree(db_path)
    os.replace(fresh, db_path)


def test_a_database_replaced_by_rename_is_served_within_the_delay(tmp_path: Path, db_path: Path, now: datetime) -> None:
    write_records(db_path, site_records(now))
    with running_server(db_path, tmp_path, {"cache.refresh_seconds": REFRESH_SECONDS}) as server, server.client() as c:
        with cms_connection(db_path) as cms:  # the old file has a write in its log, not yet checkpointed
            publish(cms, "lama", now - timedelta(minutes=2), section="berita")
        wait_until(lambda: "lama" in ids(c, "/feed.json"), VISIBLE_WITHIN, "a write to the old file", server)
        before = {path: c.get(path) for path in WARM}
        fresh = build_elsewhere(db_path, site_records(now, article("pengganti", now - timedelta(minutes=1))))
        put_in_place(fresh, db_path)
        took = wait_until(lambda: "pengganti" in ids(c, "/feed.json"), VISIBLE_WITHIN, "the new file", server)
        assert "lama" not in ids(c, "/feed.json")
        for path in WARM:
            response = c.get(path)
            assert response.status_code == 200
            if path != "/sitemap.xml":
                assert response.headers["etag"] != before[path].headers["etag"], path
        assert c.get("/healthz").status_code == 200
        assert len(server.lines("was replaced")) == 1, server.output()
        assert not server.lines(PROBLEM_LINE)
    print(f"replaced file served after {took:.2f} s")


# --- the database breaks ------------------------------------------------------------------


def remove_database(db_path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)


def missing(db_path: Path) -> None:
    remove_database(db_path)


def unreadable(db_path: Path) -> None:
    """Tests run as root, for whom `chmod 000` does not stop a read. What the server
    meets instead is a path it cannot open as a database file at all: a directory."""
    remove_database(db_path)
    db_path.mkdir()


def corrupt(db_path: Path) -> None:
    """Garbage bytes put in place the way a CMS puts a file: written aside, renamed over."""
    garbage = db_path.with_name("garbage.bin")
    garbage.write_bytes(os.urandom(64 * 1024))
    os.replace(garbage, db_path)


def newer_schema(db_path: Path) -> None:
    """The CMS migrated the database past what this server knows."""
    with cms_connection(db_path) as conn:
        conn.execute("PRAGMA user_version = 99")


BREAKS: dict[str, tuple[Callable[[Path], None], str]] = {
    "missing": (missing, "does not exist"),
    "unreadable": (unreadable, "not a regular file"),
    "corrupt": (corrupt, "not a database"),
    "newer-schema": (newer_schema, "schema version 99"),
}


def repair(db_path: Path, now: datetime) -> None:
    """A good database with one new article, put in place by rename."""
    put_in_place(build_elsewhere(db_path, site_records(now, article("pulih", now - timedelta(minutes=1)))), db_path)


@pytest.mark.parametrize("fault", list(BREAKS))
def test_a_broken_database_is_survived_reported_once_and_recovered_from(
    tmp_path: Path, db_path: Path, now: datetime, fault: str
) -> None:
    """Missing, unreadable, corrupt, or of a newer schema version: the server stays up,
    /healthz answers 503 with the reason, feeds rendered before are served from cache
    (Cache-Control with stale-if-error), a feed never rendered answers 503 with
    Retry-After; one log line says what happened, and once the database is good
    again everything recovers without a restart, with one more line saying so."""
    write_records(db_path, site_records(now))
    breaks, reason = BREAKS[fault]
    with running_server(db_path, tmp_path, {"cache.refresh_seconds": REFRESH_SECONDS}) as server, server.client() as c:
        before = {path: c.get(path) for path in WARM}
        assert {r.status_code for r in before.values()} == {200}

        breaks(db_path)
        # /healthz looks at the file itself; feeds go by the change check, which
        # notices within its interval.
        wait_until(lambda: c.get("/healthz").status_code == 503, VISIBLE_WITHIN, "/healthz 503", server)
        wait_until(lambda: bool(server.lines(PROBLEM_LINE)), VISIBLE_WITHIN, "the change check", server)
        # Many requests over many check intervals: still one log line.
        deadline = time.monotonic() + 10 * REFRESH_SECONDS
        while time.monotonic() < deadline:
            health = c.get("/healthz")
            assert health.status_code == 503
            assert reason in health.text, health.text
            assert health.headers["cache-control"] == "no-store"
            for path, old in before.items():
                response = c.get(path)
                assert response.status_code == 200, (path, response.status_code)
                assert response.content == old.content, path
                assert "stale-if-error=" in response.headers["cache-control"], path
                revalidated = c.get(path, headers={"If-None-Match": old.headers["etag"]})
                assert revalidated.status_code == 304, path
            cold = c.get(COLD)
            assert cold.status_code == 503
            assert int(cold.headers["retry-after"]) > 0
            assert cold.headers["cache-control"] == "no-store"
            time.sleep(REFRESH_SECONDS / 2)
        problems = server.lines(PROBLEM_LINE)
        assert len(problems) == 1, server.output()
        assert reason in problems[0]

        repair(db_path, now)
        took = wait_until(lambda: c.get("/healthz").status_code == 200, VISIBLE_WITHIN, "recovery", server)
        assert "pulih" in ids(c, "/feed.json")
        assert c.get(COLD).status_code == 200
        assert len(server.lines(RECOVERY_LINE)) == 1, server.output()
        assert len(server.lines(PROBLEM_LINE)) == 1, server.output()
        assert "Traceback" not in server.output(), server.output()
        assert server.alive()
    print(f"{fault}: recovered {took:.2f} s after the repair")
