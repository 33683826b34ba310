"""A stand-in for the CMS, run as its own process by tests/test_e2e_uvicorn.py.

Writes articles into a feedserver database several times a second, each in its
own `BEGIN IMMEDIATE` transaction through a plain sqlite3 connection (authors
and tag links included, as the CMS writes them), now and then editing or
deleting an earlier one. Prints one JSON line when done:
{"written": [...], "deleted": [...], "last": "<id of the newest live article>"}.

    python tests/writer_process.py DB --seconds 3 --rate 10 --base-url https://example.id

Only the standard library: it must not share anything with the server.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time

SECTIONS = ("berita/tiongkok", "berita/asia", "ekonomi", "budaya")


def write_article(conn: sqlite3.Connection, article_id: str, section: str, base_url: str, now: int) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        cursor = conn.execute(
            "INSERT INTO articles (id, url, section, title, summary, content_html, published_at, updated_at, status) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'published')",
            (
                article_id,
                f"{base_url}/{section}/{article_id}",
                section,
                f"Kabar {article_id}: 北京 & <Jakarta>",
                f"Ringkasan {article_id}.",
                f'<p>Isi {article_id}. <a href="/tentang">Tentang</a></p>',
                now,
                now,
            ),
        )
        pk = cursor.lastrowid
        conn.execute("INSERT OR IGNORE INTO authors (name, url, email) VALUES ('Penulis Uji', '', '')")
        (author_pk,) = conn.execute(
            "SELECT pk FROM authors WHERE name = 'Penulis Uji' AND url = '' AND email = ''"
        ).fetchone()
        conn.execute("INSERT INTO article_authors (article_pk, position, author_pk) VALUES (?, 0, ?)", (pk, author_pk))
        for position, tag in enumerate(("uji", section.rsplit("/", 1)[-1])):
            conn.execute("INSERT OR IGNORE INTO tags (name) VALUES (?)", (tag,))
            (tag_pk,) = conn.execute("SELECT pk FROM tags WHERE name = ?", (tag,)).fetchone()
            conn.execute(
                "INSERT INTO article_tags (article_pk, position, tag_pk) VALUES (?, ?, ?)", (pk, position, tag_pk)
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def change(conn: sqlite3.Connection, sql: str, params: tuple[object, ...]) -> None:
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(sql, params)
    conn.execute("COMMIT")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rate", type=float, default=10.0, help="articles a second")
    parser.add_argument("--base-url", default="https://example.id")
    args = parser.parse_args(argv)

    conn = sqlite3.connect(args.db, isolation_level=None, timeout=10)
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("PRAGMA foreign_keys = ON")
    written: list[str] = []
    deleted: list[str] = []
    end = time.monotonic() + args.seconds
    n = 0
    try:
        while time.monotonic() < end:
            # Zero-padded: articles written in the same second sort newest first by id.
            article_id = f"e2e-{n:05d}"
            write_article(conn, article_id, SECTIONS[n % len(SECTIONS)], args.base_url, int(time.time()))
            written.append(article_id)
            if n % 5 == 4:  # an edit: a new revision of an earlier article
                change(conn, "UPDATE articles SET title = title || ' (diperbarui)' WHERE id = ?", (written[-3],))
            if n % 7 == 6:  # a deletion of an earlier one
                victim = written[-4]
                change(conn, "UPDATE articles SET status = 'deleted' WHERE id = ?", (victim,))
                deleted.append(victim)
            n += 1
            time.sleep(1 / args.rate)
    finally:
        conn.close()
    live = [a for a in written if a not in deleted]
    print(json.dumps({"written": written, "deleted": deleted, "last": live[-1] if live else None}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
