"""Test helpers that write the database the way the CMS does: a separate sqlite3
connection, plain SQL, `BEGIN IMMEDIATE`, the schema's triggers doing the rest.

The triggers stamp `sections.changed_at` with SQLite's own clock. A test that
moves a FakeClock passes it here too, so the CMS and the server share one
clock (the connection overrides `strftime('%s', 'now')`, which the triggers
call) and no test has to sleep.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from tests.conftest import BASE_URL


@contextlib.contextmanager
def cms_connection(db_path: Path, clock: Callable[[], float] | None = None) -> Iterator[sqlite3.Connection]:
    """A read-write connection like the CMS's; with `clock`, SQLite's 'now' is that clock."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute("PRAGMA foreign_keys = ON")
        if clock is not None:
            builtin = sqlite3.connect(":memory:")

            def strftime(fmt: str, moment: str) -> str | None:
                if moment == "now":
                    moment = f"{clock():.3f}"
                    return str(builtin.execute("SELECT strftime(?, ?, 'unixepoch')", (fmt, moment)).fetchone()[0])
                return str(builtin.execute("SELECT strftime(?, ?)", (fmt, moment)).fetchone()[0])

            conn.create_function("strftime", 2, strftime)
        yield conn
    finally:
        conn.close()


def publish(
    conn: sqlite3.Connection,
    article_id: str,
    published: datetime,
    section: str = "berita/tiongkok",
    title: str | None = None,
    status: str = "published",
) -> None:
    """Insert one article in its own transaction (the trigger declares an unknown section)."""
    stamp = int(published.timestamp())
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(
        "INSERT INTO articles (id, url, section, title, summary, content_html, published_at, updated_at, status) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            article_id,
            f"{BASE_URL}/{section}/{article_id}",
            section,
            title or f"Judul {article_id}",
            f"Ringkasan {article_id}.",
            f"<p>Isi {article_id}.</p>",
            stamp,
            stamp,
            status,
        ),
    )
    conn.execute("COMMIT")


def set_status(conn: sqlite3.Connection, article_id: str, status: str) -> None:
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE articles SET status = ? WHERE id = ?", (status, article_id))
    conn.execute("COMMIT")


def delete_row(conn: sqlite3.Connection, article_id: str) -> None:
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("DELETE FROM articles WHERE id = ?", (article_id,))
    conn.execute("COMMIT")


def remove(conn: sqlite3.Connection, article_id: str, how: str) -> None:
    """Take an article out of the feeds the way a CMS may: 'deleted', 'draft' or 'delete-row'."""
    if how == "delete-row":
        delete_row(conn, article_id)
    else:
        set_status(conn, article_id, how)
