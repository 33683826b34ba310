"""A stand-in for the CMS: adds and edits articles several times a second in its own process.

    python bench/cms_writer.py DB --rate 8 --seconds 12 [--html-bytes 1000-2500]

Each write is one `BEGIN IMMEDIATE` transaction through a plain sqlite3
connection, as a CMS would do it: two in three add an article (with its author
and tag links), one in three edits the newest ones (title, summary, body).
Prints one JSON line when done: {"commits", "inserted", "edited", "busy_retries", "seconds"}.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import time

from corpus import BASE_URL, SECTIONS, _sentence, article_html


def insert(conn: sqlite3.Connection, rng: random.Random, n: int, html_bytes: tuple[int, int]) -> None:
    now = int(time.time())
    section = rng.choice(SECTIONS)
    article_id = f"cms-{now}-{n}"
    cursor = conn.execute(
        "INSERT INTO articles (id, url, section, title, summary, content_html, published_at, updated_at, status, "
        "image_url, image_caption, image_credit, image_width, image_height, image_type, reading_time_minutes) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'published', ?, ?, 'Foto: Redaksi', 1200, 675, 'image/jpeg', 3)",
        (
            article_id,
            f"{BASE_URL}/{section}/{article_id}",
            section,
            _sentence(rng)[:-1][:90],
            _sentence(rng),
            article_html(rng, n, rng.randint(*html_bytes)),
            now,
            now,
            f"{BASE_URL}/media/cms/{article_id}.jpg",
            _sentence(rng),
        ),
    )
    pk = cursor.lastrowid
    conn.execute("INSERT OR IGNORE INTO authors (name, url, email) VALUES ('Meja Redaksi', '', '')")
    (author_pk,) = conn.execute(
        "SELECT pk FROM authors WHERE name = 'Meja Redaksi' AND url = '' AND email = ''"
    ).fetchone()
    conn.execute("INSERT INTO article_authors (article_pk, position, author_pk) VALUES (?, 0, ?)", (pk, author_pk))
    for position, tag in enumerate(rng.sample(["tiongkok", "ekonomi", "budaya", "kota"], 2)):
        conn.execute("INSERT OR IGNORE INTO tags (name) VALUES (?)", (tag,))
        (tag_pk,) = conn.execute("SELECT pk FROM tags WHERE name = ?", (tag,)).fetchone()
        conn.execute("INSERT INTO article_tags (article_pk, position, tag_pk) VALUES (?, ?, ?)", (pk, position, tag_pk))


def edit(conn: sqlite3.Connection, rng: random.Random, n: int, html_bytes: tuple[int, int]) -> None:
    rows = conn.execute(
        "SELECT pk FROM articles WHERE status = 'published' ORDER BY published_at DESC LIMIT 20"
    ).fetchall()
    (pk,) = rng.choice(rows)
    conn.execute(
        "UPDATE articles SET title = ?, summary = ?, content_html = ?, updated_at = ? WHERE pk = ?",
        (
            _sentence(rng)[:-1][:90],
            _sentence(rng),
            article_html(rng, n, rng.randint(*html_bytes)),
            int(time.time()),
            pk,
        ),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    parser.add_argument("--rate", type=float, default=8.0, help="writes a second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--html-bytes", default="1000-2500", help="article body size range")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    low, high = (int(n) for n in args.html_bytes.split("-"))
    rng = random.Random(args.seed)
    conn = sqlite3.connect(args.db, isolation_level=None, timeout=10)
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("PRAGMA foreign_keys = ON")
    counts = {"commits": 0, "inserted": 0, "edited": 0, "busy_retries": 0}
    started = time.monotonic()
    n = 0
    while time.monotonic() - started < args.seconds:
        due = started + n / args.rate
        time.sleep(max(0.0, due - time.monotonic()))
        kind = "edited" if n % 3 == 2 else "inserted"
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError:
                counts["busy_retries"] += 1
        try:
            (edit if kind == "edited" else insert)(conn, rng, n, (low, high))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        counts["commits"] += 1
        counts[kind] += 1
        n += 1
    conn.close()
    print(json.dumps({**counts, "seconds": round(time.monotonic() - started, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
