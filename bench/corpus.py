"""A seeded corpus of news articles with realistic sizes, imported through the real importer.

Each article has 3-6 KB of HTML (paragraphs, a subhead, a quote, links and a
figure with relative URLs, some CJK text), a summary, one or two authors, two
to five tags and a hero image: the size of a full-content news feed item.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from feedserver.importer import import_records

BASE_URL = "https://example.id"
SECTIONS = ("berita", "berita/tiongkok", "berita/asia", "ekonomi", "budaya", "budaya/kuliner", "opini")
WORD_TEXT = (
    "pemerintah kota warga kereta cepat pelabuhan festival musim dingin harga pasar pelajar kampus "
    "perdagangan ekspor impor investasi pariwisata hidangan tradisi bahasa jalur sutra proyek jembatan "
    "laporan redaksi koresponden angka sementara pekan lalu bulan depan menurut data resmi sejumlah "
    "pengamat mengatakan bahwa rencana tersebut akan dilanjutkan tahun ini dengan anggaran baru "
    "masyarakat setempat menyambut baik kabar itu meskipun masih ada pertanyaan tentang biaya"
)
WORDS = tuple(WORD_TEXT.split())
CJK = ("北京", "上海", "成都", "广州", "深圳", "西安", "春节", "高铁", "火锅", "汉字")
AUTHORS = (
    {"name": "Ayu Lestari Wibowo", "url": f"{BASE_URL}/penulis/ayu", "email": "ayu@example.id"},
    {"name": "Rizky Pratama Hasibuan", "url": f"{BASE_URL}/penulis/rizky"},
    {"name": "Dewi Anggraini Siregar"},
    {"name": "Lina Wijaya (林丽娜)", "url": f"{BASE_URL}/penulis/lina"},
    {"name": "Made Ariawan"},
)
TAGS = ("tiongkok", "asia-tenggara", "ekonomi", "budaya", "kuliner", "transportasi", "pendidikan", "cuaca")


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 18))]
    if rng.random() < 0.3:
        words.insert(rng.randrange(len(words)), rng.choice(CJK))
    return " ".join(words).capitalize() + "."


def article_html(rng: random.Random, n: int, size: int) -> str:
    """About `size` bytes of article HTML with relative links and images."""
    parts = [f"<p><strong>{rng.choice(CJK)}</strong> — {_sentence(rng)} {_sentence(rng)}</p>"]
    while sum(len(p.encode()) for p in parts) < size - 200:
        roll = rng.random()
        if roll < 0.08:
            parts.append(f"<h2>{_sentence(rng)[:-1]}</h2>")
        elif roll < 0.16:
            parts.append(f"<blockquote><p>“{_sentence(rng)}” kata narasumber.</p></blockquote>")
        elif roll < 0.22:
            parts.append(
                f'<figure><img src="/media/2026/{n:06d}-{len(parts)}.jpg" alt="Ilustrasi" width="800" height="450">'
                f"<figcaption>{_sentence(rng)}</figcaption></figure>"
            )
        else:
            link = ""
            if rng.random() < 0.35:
                link = f' Baca juga <a href="/berita/artikel-{rng.randint(1, 10**6)}">{_sentence(rng)[:-1]}</a>.'
            parts.append(f"<p>{_sentence(rng)} {_sentence(rng)} {_sentence(rng)}{link}</p>")
    return "\n".join(parts)


def article_record(rng: random.Random, n: int, published: datetime, section: str | None = None) -> dict[str, Any]:
    section = section or rng.choice(SECTIONS)
    slug = f"artikel-{n:07d}"
    record: dict[str, Any] = {
        "type": "article",
        "id": f"bench-{n:07d}",
        "url": f"{BASE_URL}/{section}/{slug}",
        "section": section,
        "title": _sentence(rng)[:-1][:90],
        "summary": " ".join(_sentence(rng) for _ in range(2))[:280],
        "content_html": article_html(rng, n, rng.randint(3000, 6000)),
        "authors": [dict(a) for a in rng.sample(AUTHORS, 2 if rng.random() < 0.25 else 1)],
        "published_at": published.isoformat(),
        "status": "published",
        "tags": rng.sample(TAGS, rng.randint(2, 5)),
        "image": {
            "url": f"{BASE_URL}/media/2026/{n:07d}.jpg",
            "caption": _sentence(rng),
            "credit": "Foto: Redaksi",
            "width": 1200,
            "height": 675,
            "type": "image/jpeg",
        },
        "reading_time_minutes": rng.randint(2, 6),
    }
    if rng.random() < 0.6:
        record["source"] = "Kantor Berita Nusantara (fiktif)"
    return record


def build_database(path: Path, articles: int, seed: int = 5, now: datetime | None = None) -> Path:
    """A fresh database of `articles` published articles, the newest a minute old."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    records: list[dict[str, Any]] = [
        {"type": "section", "slug": s, "title": s.rsplit("/", 1)[-1].title(), "description": ""} for s in SECTIONS
    ]
    for n in range(articles):
        records.append(article_record(rng, n, now - timedelta(minutes=1 + 37 * n)))
    result = import_records(path, "<bench corpus>", [json.dumps(r, ensure_ascii=False).encode() for r in records])
    if result.errors:
        raise RuntimeError("; ".join(result.errors[:5]))
    return path
