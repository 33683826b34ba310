"""The statistics file: the server's own small SQLite database (never the CMS's).

Each worker writes its batches here in one short transaction; rows are keyed so
that workers add up instead of overwriting each other: a reader is one row per
feed, salt period and client hash (whichever worker saw it), an aggregator one
row per feed, service and feed id (the latest report wins). The salt of the
current period is shared through the file, so every worker hashes a client
alike; the salts of past periods are deleted, which leaves their hashes
unlinkable to any address.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from feedserver.audience.agents import Aggregator, classify
from feedserver.audience.clients import client_hash

SCHEMA = """
CREATE TABLE IF NOT EXISTS salts (period INTEGER PRIMARY KEY, salt BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS aggregators (
    feed TEXT NOT NULL, agent TEXT NOT NULL, feed_id TEXT NOT NULL,
    subscribers INTEGER NOT NULL, seen_at INTEGER NOT NULL,
    PRIMARY KEY (feed, agent, feed_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS readers (
    feed TEXT NOT NULL, period INTEGER NOT NULL, client TEXT NOT NULL,
    agent TEXT NOT NULL, seen_at INTEGER NOT NULL,
    PRIMARY KEY (feed, period, client)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS readers_seen ON readers (seen_at);
CREATE INDEX IF NOT EXISTS aggregators_seen ON aggregators (seen_at);
"""

# (feed path, client address, User-Agent as sent) -> when it was last seen
Batch = Mapping[tuple[str, str, bytes], float]


@dataclass
class FeedCount:
    """Subscribers of one feed: the total and its parts by aggregator or reader."""

    feed: str
    subscribers: int = 0
    by_agent: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {"feed": self.feed, "subscribers": self.subscribers, "by_agent": self.by_agent}


def connect(path: Path, timeout: float = 10.0) -> sqlite3.Connection:
    """Open (creating) the statistics file: WAL, so readers of `feedserver stats`
    never block the workers' writes, and a busy wait for the other workers."""
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(SCHEMA)
    return conn


def _salt(conn: sqlite3.Connection, period: int) -> bytes:
    conn.execute("INSERT OR IGNORE INTO salts (period, salt) VALUES (?, ?)", (period, os.urandom(32)))
    conn.execute("DELETE FROM salts WHERE period < ?", (period,))
    row = conn.execute("SELECT salt FROM salts WHERE period = ?", (period,)).fetchone()
    return bytes(row[0])


def write_batch(conn: sqlite3.Connection, batch: Batch, now: int, window: int) -> int:
    """Write one batch of observations in one transaction; returns the rows written."""
    period = now // window
    written = 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        salt = _salt(conn, period)
        for (feed, address, sent), seen in batch.items():
            user_agent = sent.decode("latin-1")  # HTTP header bytes (RFC 9110 5.5)
            agent = classify(user_agent)
            if agent is None:
                continue
            seen_at = int(seen)
            if isinstance(agent, Aggregator):
                conn.execute(
                    "INSERT INTO aggregators (feed, agent, feed_id, subscribers, seen_at) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (feed, agent, feed_id) DO UPDATE SET "
                    "subscribers = excluded.subscribers, seen_at = excluded.seen_at "
                    "WHERE excluded.seen_at >= aggregators.seen_at",
                    (feed, agent.name, agent.feed_id, agent.subscribers, seen_at),
                )
            else:
                conn.execute(
                    "INSERT INTO readers (feed, period, client, agent, seen_at) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (feed, period, client) DO UPDATE SET seen_at = max(seen_at, excluded.seen_at)",
                    (feed, period, client_hash(salt, address, user_agent), agent.name, seen_at),
                )
            written += 1
        # Past the window nothing is counted: forget it.
        conn.execute("DELETE FROM readers WHERE seen_at < ?", (now - window,))
        conn.execute("DELETE FROM aggregators WHERE seen_at < ?", (now - window,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return written


def read_counts(conn: sqlite3.Connection, now: int, window: int) -> list[FeedCount]:
    """Subscribers per feed over the window, most first.

    Aggregators: the sum of their latest reports (one per feed id). Readers: the
    distinct clients of a salt period. A salt lasts one window, so the window
    spans at most two periods, whose hashes cannot be matched: the larger of the
    two counts is taken, which counts a reader who polls across the change once.
    """
    since = now - window
    counts: dict[str, FeedCount] = {}
    for feed, agent, subscribers in conn.execute(
        "SELECT feed, agent, SUM(subscribers) FROM aggregators WHERE seen_at >= ? GROUP BY feed, agent", (since,)
    ):
        entry = counts.setdefault(feed, FeedCount(feed))
        entry.by_agent[agent] = entry.by_agent.get(agent, 0) + int(subscribers)
    periods: dict[str, dict[int, dict[str, int]]] = {}
    for feed, period, agent, clients in conn.execute(
        "SELECT feed, period, agent, COUNT(*) FROM readers WHERE seen_at >= ? GROUP BY feed, period, agent", (since,)
    ):
        periods.setdefault(feed, {}).setdefault(period, {})[agent] = int(clients)
    for feed, by_period in periods.items():
        best = max(by_period.values(), key=lambda agents: (sum(agents.values()), len(agents)))
        entry = counts.setdefault(feed, FeedCount(feed))
        for agent, clients in best.items():
            entry.by_agent[agent] = entry.by_agent.get(agent, 0) + clients
    for entry in counts.values():
        entry.subscribers = sum(entry.by_agent.values())
        entry.by_agent = dict(sorted(entry.by_agent.items(), key=lambda item: (-item[1], item[0])))
    return sorted(counts.values(), key=lambda c: (-c.subscribers, c.feed))


def load_counts(path: Path, now: int, window: int) -> list[FeedCount]:
    """The counts in the file at `path` (none when it does not exist yet)."""
    if not path.is_file():
        return []
    conn = connect(path)
    try:
        return read_counts(conn, now, window)
    finally:
        conn.close()
