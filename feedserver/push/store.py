"""The server's own SQLite file: the outbox, the built-in hub's subscriptions, IndexNow's state.

Never the CMS database (that one is opened read-only). Every worker writes
here, so each job has a unique key: the same change seen by two workers is
one row (INSERT OR IGNORE), and one delivery loop (feedserver.push.delivery)
sends it. A row sent stays (marked done) for `KEEP_DONE_SECONDS`, so a worker
whose change check comes later finds it there and adds nothing. Calls are
short and synchronous; callers run them in a thread.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KEEP_DONE_SECONDS = 3600.0  # far longer than any change check interval (cache.refresh_seconds <= 300)

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id        INTEGER PRIMARY KEY,
    kind      TEXT NOT NULL,    -- publish (ping a hub), verify (intent), deliver (content), indexnow (one URL)
    target    TEXT NOT NULL,    -- the hub, the callback or the IndexNow endpoint
    topic     TEXT NOT NULL,    -- the feed URL, or the article URL for indexnow
    version   TEXT NOT NULL,    -- what changed: a feed's version, a URL's change, a verification's nonce
    payload   TEXT NOT NULL DEFAULT '{}',
    attempts  INTEGER NOT NULL DEFAULT 0,
    due_at    REAL NOT NULL,
    done_at   REAL,             -- sent or given up: kept a while, so a slower worker's copy is a no-op
    UNIQUE (kind, target, topic, version)
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (due_at) WHERE done_at IS NULL;
CREATE INDEX IF NOT EXISTS outbox_done ON outbox (done_at) WHERE done_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS contents (  -- a feed version to distribute, stored once for all its subscribers
    topic        TEXT NOT NULL,
    version      TEXT NOT NULL,
    content_type TEXT NOT NULL,
    body         BLOB NOT NULL,
    PRIMARY KEY (topic, version)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS subscriptions (
    topic      TEXT NOT NULL,
    callback   TEXT NOT NULL,
    secret     TEXT,             -- NULL: deliveries are not signed (W3C WebSub 7)
    expires_at REAL NOT NULL,
    PRIMARY KEY (topic, callback)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS subscriptions_expiry ON subscriptions (expires_at);
CREATE TABLE IF NOT EXISTS indexnow_urls (  -- the live article URLs last submitted, by UTC hour of publish time
    url     TEXT PRIMARY KEY,
    hour    INTEGER NOT NULL,
    lastmod INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS indexnow_urls_hour ON indexnow_urls (hour);
CREATE TABLE IF NOT EXISTS marks (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
"""


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    target: str
    topic: str
    version: str
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class Subscription:
    topic: str
    callback: str
    secret: str | None
    expires_at: float


class PushStore:
    """One connection to the state file, used from worker threads one call at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute("PRAGMA busy_timeout = 10000")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _write(self, statements: Iterable[tuple[str, Sequence[Any] | dict[str, Any]]]) -> int:
        """Run statements in one transaction; the number of rows they changed."""
        with self._lock:
            changed = 0
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for sql, params in statements:
                    changed += self._conn.execute(sql, params).rowcount
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            return changed

    def _read(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    # The outbox.
    def enqueue(self, jobs: Iterable[tuple[str, str, str, str, dict[str, Any]]], due_at: float) -> int:
        """Add (kind, target, topic, version, payload) jobs; one already there is not added again."""
        return self._write(
            (
                "INSERT OR IGNORE INTO outbox (kind, target, topic, version, payload, due_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (kind, target, topic, version, json.dumps(payload), due_at),
            )
            for kind, target, topic, version, payload in jobs
        )

    def due(self, now: float, limit: int = 100, kind: str | None = None) -> list[Job]:
        sql = (
            "SELECT id, kind, target, topic, version, payload, attempts FROM outbox "
            "WHERE due_at <= ? AND done_at IS NULL"
        )
        params: list[Any] = [now]
        if kind is not None:
            sql += " AND kind = ?"
            params.append(kind)
        rows = self._read(sql + " ORDER BY due_at, id LIMIT ?", [*params, limit])
        return [Job(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6]) for r in rows]

    def next_due(self) -> float | None:
        rows = self._read("SELECT min(due_at) FROM outbox WHERE done_at IS NULL")
        return None if rows[0][0] is None else float(rows[0][0])

    def done(self, job_ids: Sequence[int], now: float) -> None:
        """Mark jobs finished (or given up); drop contents no delivery needs any more."""
        self._write(
            [
                *(("UPDATE outbox SET done_at = ? WHERE id = ?", (now, job_id)) for job_id in job_ids),
                (
                    "DELETE FROM contents WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.kind = 'deliver' "
                    "AND o.topic = contents.topic AND o.version = contents.version AND o.done_at IS NULL)",
                    (),
                ),
            ]
        )

    def purge(self, now: float) -> int:
        """Forget jobs done more than KEEP_DONE_SECONDS ago."""
        return self._write([("DELETE FROM outbox WHERE done_at < ?", (now - KEEP_DONE_SECONDS,))])

    def retry(self, job_ids: Sequence[int], due_at: float) -> None:
        self._write(
            ("UPDATE outbox SET attempts = attempts + 1, due_at = ? WHERE id = ?", (due_at, job_id))
            for job_id in job_ids
        )

    def pending(self, kind: str | None = None) -> int:
        sql = "SELECT count(*) FROM outbox WHERE done_at IS NULL" + (" AND kind = ?" if kind else "")
        return int(self._read(sql, (kind,) if kind else ())[0][0])

    # Feed versions to distribute.
    def add_content(self, topic: str, version: str, content_type: str, body: bytes) -> None:
        self._write(
            [
                (
                    "INSERT OR IGNORE INTO contents (topic, version, content_type, body) VALUES (?, ?, ?, ?)",
                    (topic, version, content_type, body),
                )
            ]
        )

    def content(self, topic: str, version: str) -> tuple[str, bytes] | None:
        rows = self._read("SELECT content_type, body FROM contents WHERE topic = ? AND version = ?", (topic, version))
        return (str(rows[0][0]), bytes(rows[0][1])) if rows else None

    # Subscriptions of the built-in hub.
    def subscribe(self, topic: str, callback: str, secret: str | None, expires_at: float) -> None:
        self._write(
            [
                (
                    "INSERT INTO subscriptions (topic, callback, secret, expires_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (topic, callback) DO UPDATE SET secret = excluded.secret, "
                    "expires_at = excluded.expires_at",
                    (topic, callback, secret, expires_at),
                )
            ]
        )

    def unsubscribe(self, topic: str, callback: str) -> None:
        self._write([("DELETE FROM subscriptions WHERE topic = ? AND callback = ?", (topic, callback))])

    def subscriptions(self, topic: str, now: float) -> list[Subscription]:
        rows = self._read(
            "SELECT topic, callback, secret, expires_at FROM subscriptions WHERE topic = ? AND expires_at > ? "
            "ORDER BY callback",
            (topic, now),
        )
        return [Subscription(*row) for row in rows]

    def subscription(self, topic: str, callback: str, now: float) -> Subscription | None:
        rows = self._read(
            "SELECT topic, callback, secret, expires_at FROM subscriptions "
            "WHERE topic = ? AND callback = ? AND expires_at > ?",
            (topic, callback, now),
        )
        return Subscription(*rows[0]) if rows else None

    def subscribed_topics(self, now: float) -> set[str]:
        return {str(r[0]) for r in self._read("SELECT DISTINCT topic FROM subscriptions WHERE expires_at > ?", (now,))}

    def subscription_counts(self, topic: str, now: float) -> tuple[int, int]:
        """Live subscriptions (for the topic, in all)."""
        rows = self._read(
            "SELECT count(*), coalesce(sum(topic = ?), 0) FROM subscriptions WHERE expires_at > ?", (topic, now)
        )
        return int(rows[0][1]), int(rows[0][0])

    def expire(self, now: float) -> int:
        """Drop subscriptions whose lease ended (W3C WebSub 5.1: the hub stops delivering)."""
        return self._write([("DELETE FROM subscriptions WHERE expires_at <= ?", (now,))])

    # IndexNow's record of what it last submitted.
    def mark(self, name: str) -> int | None:
        rows = self._read("SELECT value FROM marks WHERE name = ?", (name,))
        return int(rows[0][0]) if rows else None

    def clear_index(self) -> None:
        self._write([("DELETE FROM indexnow_urls", ()), ("DELETE FROM marks WHERE name LIKE 'indexnow.%'", ())])

    def indexed(self, hours: Sequence[int]) -> dict[str, tuple[int, int]]:
        """url -> (hour, lastmod) of the URLs last seen live in these hours."""
        found: dict[str, tuple[int, int]] = {}
        for first in range(0, len(hours), 500):
            batch = list(hours[first : first + 500])
            marks = ", ".join("?" * len(batch))
            for url, hour, lastmod in self._read(
                f"SELECT url, hour, lastmod FROM indexnow_urls WHERE hour IN ({marks})", batch
            ):
                found[str(url)] = (int(hour), int(lastmod))
        return found

    def record_index(
        self,
        live: dict[str, tuple[int, int]],
        gone: Iterable[str],
        marks: dict[str, int],
        jobs: Iterable[tuple[str, str, str, str, dict[str, Any]]],
        due_at: float,
    ) -> None:
        """One transaction: the new snapshot of some hours, the marks reached, and the submissions."""
        self._write(
            [
                *(
                    (
                        "INSERT INTO indexnow_urls (url, hour, lastmod) VALUES (?, ?, ?) ON CONFLICT (url) "
                        "DO UPDATE SET hour = excluded.hour, lastmod = excluded.lastmod",
                        (url, hour, lastmod),
                    )
                    for url, (hour, lastmod) in live.items()
                ),
                *(("DELETE FROM indexnow_urls WHERE url = ?", (url,)) for url in gone),
                *(
                    (
                        "INSERT INTO marks (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = ?",
                        (n, v, v),
                    )
                    for n, v in marks.items()
                ),
                *(
                    (
                        "INSERT OR IGNORE INTO outbox (kind, target, topic, version, payload, due_at) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (kind, target, topic, version, json.dumps(payload), due_at),
                    )
                    for kind, target, topic, version, payload in jobs
                ),
            ]
        )
