"""Build a database of a million articles for the sitemap and feed benchmarks.

    python bench/make_big_db.py                         # bench/data/big-1m.sqlite
    python bench/make_big_db.py --articles 200000 --out /tmp/small.sqlite

A news site about two years old, publishing about 1,500 articles a day, with
realistic sizes: titles of 6-14 words, summaries of 25-45, bodies of 2-6 KB of
HTML, a hero image on most articles, 1-2 of 400 authors, 2-5 of 5,000 tags, 12
sections. The months before this one hold (newest first) exactly 50,000
articles (so one article sitemap is full: sitemaps.page_size), then 62,000 (a
month over the limit: one sitemap per day), then 50,000, then about 45,000 each.
About 2% of the rest are drafts or deleted, 0.5% sit on another host (a
syndication partner), and 40 are scheduled over the next three days.

Speed: one transaction, executemany in chunks, rows in publish order (the
indexes grow at their ends), and the schema's triggers dropped during the load
(each would run per row, and the link-table triggers rewrite the 4 KB article
row once per author and tag) and re-created afterwards, with what they maintain
(sitemap_hours, sections.changed_at) filled in one statement each.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from feedserver.db import init_db  # noqa: E402

TZ = ZoneInfo("Asia/Jakarta")
BASE_URL = "https://example.id"
PER_DAY = 1500
SECTIONS = (
    ("berita", "Berita"),
    ("berita/tiongkok", "Tiongkok"),
    ("berita/asia", "Asia"),
    ("berita/dunia", "Dunia"),
    ("ekonomi", "Ekonomi"),
    ("ekonomi/bisnis", "Bisnis"),
    ("ekonomi/pasar", "Pasar"),
    ("budaya", "Budaya"),
    ("budaya/kuliner", "Kuliner"),
    ("teknologi", "Teknologi"),
    ("olahraga", "Olahraga"),
    ("opini", "Opini"),
)
_TEXT = (
    "pemerintah kota warga kereta cepat pelabuhan festival musim dingin harga pasar pelajar kampus perdagangan "
    "ekspor impor investasi pariwisata hidangan tradisi bahasa jalur sutra proyek jembatan laporan redaksi "
    "koresponden angka sementara pekan lalu bulan depan menurut data resmi sejumlah pengamat mengatakan bahwa "
    "rencana tersebut akan dilanjutkan tahun ini dengan anggaran baru masyarakat setempat menyambut baik kabar "
    "itu meskipun masih ada pertanyaan tentang biaya listrik tenaga surya pabrik mobil listrik pemilu daerah"
)
WORDS = _TEXT.split()
CJK = ("北京", "上海", "成都", "广州", "深圳", "西安", "春节", "高铁", "火锅", "汉字")


def sentence(rng: random.Random, low: int, high: int) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(low, high))]
    if rng.random() < 0.2:
        words.insert(rng.randrange(len(words)), rng.choice(CJK))
    return " ".join(words)


def month_plan(now: datetime, total: int) -> list[tuple[datetime, datetime, int]]:
    """(start, stop, articles) per month, newest first; the current month runs until now."""
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    current = min(total, int((now - start).total_seconds() / 86400 * PER_DAY))
    plan = [(start, now, current)]
    left = total - current
    sizes = iter([50_000, 62_000, 50_000])
    stop = start
    while left > 0:
        first = (stop - timedelta(days=1)).replace(day=1)
        size = min(left, next(sizes, 45_000))
        plan.append((first, stop, size))
        left -= size
        stop = first
    return plan


def article_rows(rng: random.Random, now: datetime, total: int) -> Iterator[tuple[object, ...]]:
    """Article rows in publish order (oldest first), pk from 1."""
    paragraphs = [f"<p>{sentence(rng, 60, 120)}.</p>" for _ in range(3000)]
    scheduled = 40
    plan = month_plan(now, total - scheduled)
    full_month = plan[1][0] if len(plan) > 1 else None  # exactly 50,000 live articles: no draft, no other host
    moments: list[tuple[int, bool]] = []
    for start, stop, size in plan:
        low, high = int(start.timestamp()), int(stop.timestamp())
        clean = start == full_month
        moments += [(rng.randint(low, high), clean) for _ in range(size)]
    nowstamp = int(now.timestamp())
    moments += [(nowstamp + rng.randint(600, 3 * 86400), True) for _ in range(scheduled)]
    moments.sort()
    for pk, (published, clean) in enumerate(moments, start=1):
        when = datetime.fromtimestamp(published, TZ)
        slug_section = rng.choice(SECTIONS)[0]
        title = sentence(rng, 6, 14).capitalize()
        slug = "-".join(w for w in title.lower().split() if w.isascii())[:70]
        host = BASE_URL
        status = "published"
        if not clean:
            roll = rng.random()
            if roll < 0.01:
                status = "draft"
            elif roll < 0.02:
                status = "deleted"
            elif roll < 0.025:
                host = "https://mitra.example.com"
        url = f"{host}/{slug_section}/{when:%Y/%m/%d}/{slug}-{pk}"
        image = f"https://img.example.id/{when:%Y/%m}/{pk:07d}-{slug[:24]}.jpg" if rng.random() < 0.85 else None
        updated = published + (rng.randint(60, 2 * 86400) if rng.random() < 0.3 else 0)
        language = rng.choices([None, "zh-CN", "zh-TW", "en"], [95, 2, 1, 2])[0]
        content = "\n".join(rng.choice(paragraphs) for _ in range(rng.randint(4, 10)))
        yield (
            pk,
            f"art-{pk:07d}",
            url,
            slug_section,
            title,
            sentence(rng, 25, 45) + ".",
            content,
            published,
            min(updated, max(nowstamp, published)),
            status,
            image,
            sentence(rng, 8, 16) if image else None,
            "Foto: Redaksi" if image else None,
            1200 if image else None,
            675 if image else None,
            "image/jpeg" if image else None,
            None,
            language,
            max(1, len(content) // 1200),
        )


COLUMNS = (
    "pk, id, url, section, title, summary, content_html, published_at, updated_at, status, image_url, "
    "image_caption, image_credit, image_width, image_height, image_type, source, language, reading_time_minutes"
)


def chunks(rows: Iterator[tuple[object, ...]], size: int) -> Iterator[list[tuple[object, ...]]]:
    batch: list[tuple[object, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def build(path: Path, total: int, seed: int) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    init_db(path)
    rng = random.Random(seed)
    now = datetime.now(TZ).replace(microsecond=0)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -1000000")  # 1 GB
    triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
    started = time.perf_counter()
    conn.execute("BEGIN")
    for name, _ in triggers:
        conn.execute(f'DROP TRIGGER "{name}"')
    conn.executemany("INSERT INTO sections (slug, title) VALUES (?, ?)", SECTIONS)
    authors = [(f"Penulis {n:03d} {rng.choice(WORDS).title()}", "", "") for n in range(400)]
    conn.executemany("INSERT INTO authors (name, url, email) VALUES (?, ?, ?)", authors)
    conn.executemany("INSERT INTO tags (name) VALUES (?)", [(f"{rng.choice(WORDS)}-{n}",) for n in range(5000)])
    done = 0
    for batch in chunks(article_rows(rng, now, total), 20_000):
        conn.executemany(f"INSERT INTO articles ({COLUMNS}) VALUES ({', '.join('?' * 19)})", batch)
        links_a, links_t = [], []
        for row in batch:
            pk = row[0]
            for position, author in enumerate(rng.sample(range(1, 401), rng.choice((1, 1, 1, 2)))):
                links_a.append((pk, position, author))
            for position, tag in enumerate(rng.sample(range(1, 5001), rng.randint(2, 5))):
                links_t.append((pk, position, tag))
        conn.executemany("INSERT INTO article_authors (article_pk, position, author_pk) VALUES (?, ?, ?)", links_a)
        conn.executemany("INSERT INTO article_tags (article_pk, position, tag_pk) VALUES (?, ?, ?)", links_t)
        done += len(batch)
        if done % 100_000 == 0:
            print(f"{done:,} articles, {time.perf_counter() - started:.0f} s", file=sys.stderr)
    # What the triggers would have maintained, in one statement each.
    conn.execute(
        "INSERT INTO sitemap_hours (hour_start, version, changed_at) "
        "SELECT hour_start, row_number() OVER (ORDER BY hour_start), CAST(strftime('%s', 'now') AS INTEGER) "
        "FROM (SELECT DISTINCT published_at - ((published_at % 3600) + 3600) % 3600 AS hour_start "
        "      FROM articles WHERE status = 'published')"
    )
    conn.execute("UPDATE sections SET changed_at = CAST(strftime('%s', 'now') AS INTEGER)")
    for _, sql in triggers:
        conn.execute(sql)
    conn.execute("COMMIT")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    size = path.stat().st_size / 2**30
    print(f"{path}: {total:,} articles, {size:.1f} GiB, {time.perf_counter() - started:.0f} s", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=BENCH / "data" / "big-1m.sqlite")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    build(args.out, args.articles, args.seed)


if __name__ == "__main__":
    main()
