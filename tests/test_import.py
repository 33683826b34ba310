"""`feedserver import`: the JSON Lines contract, the error report, and
what reaches the database. Every import here runs through `feedserver.cli.main`."""

from __future__ import annotations

import hashlib
import json
import math
import re
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from feedserver.cli import main
from tests.conftest import BASE_URL, WIB, FakeClock, article, make_settings, section, serve, write_records

# --- helpers ------------------------------------------------------------------------


def jsonl(*records: dict[str, Any] | bytes) -> bytes:
    """A JSON Lines file; bytes are written as they are (for broken lines)."""
    lines = [r if isinstance(r, bytes) else json.dumps(r, ensure_ascii=False).encode() for r in records]
    return b"\n".join(lines) + b"\n"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def snapshot(db_path: Path) -> tuple[dict[str, bytes], list[str], int, str]:
    """Everything a write could change: the files' bytes, every row (as SQL), the
    schema version and the journal mode. Read through a read-only connection."""
    files = {}
    for suffix in ("", "-wal"):
        path = Path(str(db_path) + suffix)
        # Reading a WAL database leaves an empty -wal file behind: that is no write.
        if path.exists() and path.stat().st_size:
            files[suffix] = hashlib.sha256(path.read_bytes()).hexdigest().encode()
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        rows = list(conn.iterdump())
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        conn.close()
    return files, rows, version, journal


def article_row(db_path: Path, article_id: str) -> dict[str, Any]:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        row = conn.execute("SELECT * FROM articles WHERE id = ?", (article_id,)).fetchone()
        assert row is not None, f"{article_id} is not in the database"
        result = dict(row)
        result["authors"] = [
            tuple(a)
            for a in conn.execute(
                "SELECT au.name, au.url, au.email FROM article_authors aa JOIN authors au ON au.pk = aa.author_pk "
                "WHERE aa.article_pk = ? ORDER BY aa.position",
                (row["pk"],),
            )
        ]
        result["tags"] = [
            t
            for (t,) in conn.execute(
                "SELECT t.name FROM article_tags at JOIN tags t ON t.pk = at.tag_pk WHERE at.article_pk = ? "
                "ORDER BY at.position",
                (row["pk"],),
            )
        ]
        return result
    finally:
        conn.close()


def query(db_path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return list(conn.execute(sql, params))
    finally:
        conn.close()


def epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


ERROR_LINE = re.compile(r"^(?P<file>.+?):(?P<line>\d+): (?P<field>[^:\s][^:]*): (?P<reason>\S.*)$")


def error_lines(err: str, name: str) -> dict[int, tuple[str, str]]:
    """The `FILE:LINE: field: reason` lines of stderr, by line number; each line once."""
    found: dict[int, tuple[str, str]] = {}
    for text in err.splitlines():
        match = ERROR_LINE.match(text)
        if match is None or match["file"] != name:
            continue
        number = int(match["line"])
        assert number not in found, f"line {number} reported twice:\n{err}"
        found[number] = (match["field"], match["reason"])
    return found


NOW = datetime(2025, 6, 16, 9, 4, tzinfo=WIB)


def good(article_id: str, **fields: Any) -> dict[str, Any]:
    return article(article_id, NOW, **fields)


def without(record: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != key}


# One bad record of each kind: (name, the line's bytes, the field the report must name;
# None where the record has no field to name, such as a line that is not JSON).
BAD_RECORDS: list[tuple[str, bytes, str | None]] = [
    ("invalid JSON", b'{"type": "article", "id": "x-1", "url": ', None),
    ("not an object", b'["x-2", "https://example.id/x-2"]', None),
    ("invalid UTF-8", b'{"type": "article", "id": "x-3", "title": "\xe4\xb8 \xff"}', None),
    ("missing url", jsonl(without(good("x-4"), "url")).strip(), "url"),
    ("missing title", jsonl(without(good("x-5"), "title")).strip(), "title"),
    ("missing published_at", jsonl(without(good("x-6"), "published_at")).strip(), "published_at"),
    ("missing status", jsonl(without(good("x-7"), "status")).strip(), "status"),
    ("naive time", jsonl(good("x-8", published_at="2025-06-16T09:04:00")).strip(), "published_at"),
    ("naive updated_at", jsonl(good("x-9", updated_at="2025-06-16 10:00")).strip(), "updated_at"),
    ("unparseable time", jsonl(good("x-10", published_at="kemarin sore")).strip(), "published_at"),
    ("relative URL", jsonl(good("x-11", url="/berita/tiongkok/x-11")).strip(), "url"),
    ("URL without scheme", jsonl(good("x-12", url="example.id/x-12")).strip(), "url"),
    ("relative image URL", jsonl(good("x-13", image={"url": "foto.jpg"})).strip(), "image.url"),
    ("relative author URL", jsonl(good("x-14", authors=[{"name": "A", "url": "/a"}])).strip(), "authors[0].url"),
    ("unknown status", jsonl(good("x-15", status="archived")).strip(), "status"),
    ("wrong type: title", jsonl(good("x-16", title=42)).strip(), "title"),
    ("wrong type: authors", jsonl(good("x-17", authors="Sari")).strip(), "authors"),
    ("wrong type: tags", jsonl(good("x-18", tags="tiongkok")).strip(), "tags"),
    ("wrong type: minutes", jsonl(good("x-19", reading_time_minutes="2")).strip(), "reading_time_minutes"),
    ("wrong type: image", jsonl(good("x-20", image="https://example.id/a.jpg")).strip(), "image"),
    ("unknown record type", jsonl(good("x-21", type="video")).strip(), "type"),
    ("unknown field", jsonl(good("x-22", headline="Judul")).strip(), "headline"),
    ("unknown image field", jsonl(good("x-23", image={"url": f"{BASE_URL}/a.jpg", "alt": "x"})).strip(), "image.alt"),
    ("lone surrogate", jsonl(good("x-24")).strip().replace(b'"Judul x-24', b'"Judul \\ud800 x-24'), "title"),
    ("lone surrogate in a tag", jsonl(good("x-25", tags=["ok"])).replace(b'"ok"', b'"\\udfff"').strip(), "tags[0]"),
    ("bad section slug", jsonl(section("Berita Baru")).strip(), "slug"),
    ("section without title", jsonl({"type": "section", "slug": "opini"}).strip(), "title"),
]


@pytest.fixture
def existing(db_path: Path) -> Path:
    """A database with content in it already, so "untouched" means something."""
    write_records(
        db_path,
        [
            section("berita"),
            section("berita/tiongkok", "Tiongkok"),
            good("old-1", image={"url": f"{BASE_URL}/a.jpg", "type": "image/jpeg"}),
            good("old-2", section="berita", tags=["a", "b"]),
        ],
    )
    return db_path


# --- the error report ---------------------------------------------------------------


@pytest.mark.parametrize(("kind", "line", "field"), BAD_RECORDS, ids=[b[0] for b in BAD_RECORDS])
def test_each_kind_of_bad_record_is_one_line_naming_the_field(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, existing: Path, kind: str, line: bytes, field: str | None
) -> None:
    source = tmp_path / "batch.jsonl"
    source.write_bytes(jsonl(good("fine-1"), line, good("fine-2")))
    before = snapshot(existing)

    code, _, err = run(capsys, "import", str(source), "--db", str(existing))

    assert code != 0
    errors = error_lines(err, str(source))
    assert list(errors) == [2], err
    reported_field, reason = errors[2]
    if field is not None:
        assert reported_field == field, err
    assert reason.strip()
    assert snapshot(existing) == before


def test_every_bad_line_is_reported_and_nothing_is_written(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, existing: Path
) -> None:
    # Good and bad records interleaved, blank lines in between (which count as lines
    # and are not records), and a good record that would change an existing article.
    lines: list[bytes] = [jsonl(good("old-1", title="Judul baru")).strip(), b""]
    bad_numbers: dict[int, str | None] = {}
    for n, (_, line, field) in enumerate(BAD_RECORDS):
        lines.append(line)
        bad_numbers[len(lines)] = field
        lines.append(jsonl(good(f"new-{n}")).strip())
        if n % 3 == 0:
            lines.append(b"   ")
    source = tmp_path / "batch.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    before = snapshot(existing)

    code, _, err = run(capsys, "import", str(source), "--db", str(existing))

    assert code != 0
    errors = error_lines(err, str(source))
    assert sorted(errors) == sorted(bad_numbers), err
    for number, field in bad_numbers.items():
        if field is not None:
            assert errors[number][0] == field, (number, err)
    assert snapshot(existing) == before
    assert article_row(existing, "old-1")["title"] != "Judul baru"


def test_a_bad_file_creates_no_database(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db_path = tmp_path / "fresh.sqlite"
    source = tmp_path / "batch.jsonl"
    source.write_bytes(jsonl(good("a-1"), b"{oops", good("a-2")))

    code, _, err = run(capsys, "import", str(source), "--db", str(db_path))

    assert code != 0
    assert list(error_lines(err, str(source))) == [2]
    assert not db_path.exists()


def test_dry_run_validates_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, existing: Path
) -> None:
    source = tmp_path / "batch.jsonl"
    source.write_bytes(jsonl(section("ekonomi"), good("old-1", title="Judul baru"), good("new-1", section="ekonomi")))
    before = snapshot(existing)

    code, _, err = run(capsys, "import", str(source), "--db", str(existing), "--dry-run")
    assert code == 0, err
    assert snapshot(existing) == before

    fresh = tmp_path / "fresh.sqlite"
    code, _, err = run(capsys, "import", str(source), "--db", str(fresh), "--dry-run")
    assert code == 0, err
    assert not fresh.exists()

    source.write_bytes(jsonl(good("new-2"), good("new-3", status="live")))
    code, _, err = run(capsys, "import", str(source), "--db", str(existing), "--dry-run")
    assert code != 0
    assert list(error_lines(err, str(source))) == [2]
    assert snapshot(existing) == before


# --- what is written ----------------------------------------------------------------


def test_upsert_by_id_replaces_the_article_its_authors_and_tags(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, db_path: Path
) -> None:
    source = tmp_path / "batch.jsonl"
    source.write_bytes(
        jsonl(
            good(
                "a-1",
                title="Pertama",
                authors=[{"name": "Sari"}, {"name": "Budi", "email": "budi@example.id"}],
                tags=["satu", "dua"],
                image={"url": f"{BASE_URL}/a.jpg", "caption": "Lama"},
            )
        )
    )
    assert run(capsys, "import", str(source), "--db", str(db_path))[0] == 0
    source.write_bytes(
        jsonl(
            good(
                "a-1",
                title="Kedua",
                url=f"{BASE_URL}/berita/tiongkok/slug-baru",
                authors=[{"name": "Dewi", "url": f"{BASE_URL}/penulis/dewi"}],
                tags=["tiga"],
            )
        )
    )
    assert run(capsys, "import", str(source), "--db", str(db_path))[0] == 0

    assert query(db_path, "SELECT count(*) FROM articles WHERE id = 'a-1'") == [(1,)]
    row = article_row(db_path, "a-1")
    assert row["title"] == "Kedua"
    assert row["url"] == f"{BASE_URL}/berita/tiongkok/slug-baru"
    assert row["authors"] == [("Dewi", f"{BASE_URL}/penulis/dewi", "")]
    assert row["tags"] == ["tiga"]
    assert row["image_url"] is None and row["image_caption"] is None


ODD_TEXT = "nul\x00 bel\x07 vt\x0b us\x1f nonchar\ufffe ]]> & < > \"'  北京 😀 \u200b\u2028 tab\tcr\rlf\n"


def site_records() -> list[dict[str, Any]]:
    return [
        section("berita", "Berita", "Kabar & <cerita>"),
        section("berita/tiongkok", "Tiongkok"),
        good(
            "odd-1",
            title="Judul " + ODD_TEXT,
            summary="Ringkasan " + ODD_TEXT,
            content_html="<p>" + ODD_TEXT + "</p>",
            authors=[{"name": "Nama " + ODD_TEXT, "email": "a@example.id"}, {"name": "Budi"}],
            tags=["tag " + ODD_TEXT, "北京"],
            image={
                "url": f"{BASE_URL}/media/a.jpg",
                "caption": "Keterangan " + ODD_TEXT,
                "credit": "Foto " + ODD_TEXT,
                "width": 1600,
                "height": 900,
                "type": "image/jpeg",
            },
            source="Sumber " + ODD_TEXT,
            language="zh-CN",
            reading_time_minutes=4,
            updated_at=(NOW + timedelta(hours=1)).isoformat(),
        ),
        good("plain-1", section="berita"),
        good("draft-1", status="draft"),
    ]


def test_control_characters_and_odd_text_are_stored_as_given(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, db_path: Path
) -> None:
    source = tmp_path / "odd.jsonl"
    source.write_bytes(jsonl(*site_records()))
    code, _, err = run(capsys, "import", str(source), "--db", str(db_path))
    assert code == 0, err

    record = site_records()[2]
    row = article_row(db_path, "odd-1")
    for key in ("title", "summary", "content_html", "source", "language"):
        assert row[key] == record[key], key
    assert row["image_caption"] == record["image"]["caption"]
    assert row["image_credit"] == record["image"]["credit"]
    assert row["authors"] == [(a["name"], a.get("url", ""), a.get("email", "")) for a in record["authors"]]
    assert row["tags"] == record["tags"]
    assert query(db_path, "SELECT description FROM sections WHERE slug = 'berita'") == [("Kabar & <cerita>",)]


def test_times_are_stored_as_instants_and_updated_at_defaults_to_published_at(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, db_path: Path
) -> None:
    published = "2025-06-16T09:04:00+07:00"
    source = tmp_path / "times.jsonl"
    source.write_bytes(
        jsonl(
            good("t-1", published_at=published),
            good("t-2", published_at="2025-06-16T02:04:00Z", updated_at="2025-06-16T10:00:00+07:00"),
            good("t-3", published_at="2025-06-15T21:04:00-05:00"),
        )
    )
    assert run(capsys, "import", str(source), "--db", str(db_path))[0] == 0

    one, two, three = (article_row(db_path, f"t-{n}") for n in (1, 2, 3))
    assert one["published_at"] == epoch(published)
    assert one["updated_at"] == one["published_at"]
    # The same instant written with other offsets is the same stored time.
    assert two["published_at"] == three["published_at"] == one["published_at"]
    assert two["updated_at"] == epoch("2025-06-16T10:00:00+07:00")
    assert three["updated_at"] == three["published_at"]


def test_reading_time_is_computed_when_absent(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, db_path: Path
) -> None:
    words = " ".join(f"kata{n}" for n in range(1000))
    hanzi = "中" * 2000
    source = tmp_path / "reading.jsonl"
    source.write_bytes(
        jsonl(
            good("short", content_html="<p>Pendek.</p>"),
            good("long", content_html=f"<p>{words}</p>"),
            good("given", content_html=f"<p>{words}</p>", reading_time_minutes=11),
            good("hanzi", content_html=f"<p>{hanzi}</p>"),
            good("summary-only", content_html="", summary=words),
        )
    )
    assert run(capsys, "import", str(source), "--db", str(db_path))[0] == 0

    minutes = {r: article_row(db_path, r)["reading_time_minutes"] for r in ("short", "long", "given", "hanzi")}
    assert minutes["short"] == 1
    # 200 words a minute (the importer's documented rate), tags not counted as words.
    assert minutes["long"] == math.ceil(1000 / 200)
    assert minutes["given"] == 11
    # Chinese text has no spaces: it is counted by characters, not as one "word".
    assert minutes["hanzi"] > 1
    assert article_row(db_path, "summary-only")["reading_time_minutes"] == minutes["long"]


def test_reimporting_the_same_file_changes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, db_path: Path
) -> None:
    source = tmp_path / "site.jsonl"
    source.write_bytes(jsonl(*site_records()))
    assert run(capsys, "import", str(source), "--db", str(db_path))[0] == 0
    # Date every section long ago, as if the file had been imported last year: a
    # re-import that rewrote anything would move changed_at to now (schema triggers).
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute("UPDATE sections SET changed_at = 1700000000")
    conn.close()
    before = snapshot(db_path)[1:]
    revisions = query(db_path, "SELECT id, revision FROM articles ORDER BY id")

    code, out, err = run(capsys, "import", str(source), "--db", str(db_path))

    assert code == 0, err
    articles = sum(1 for r in site_records() if r["type"] == "article")
    assert re.search(rf"\b0 article\(s\) written, {articles} unchanged\b", out), out
    assert snapshot(db_path)[1:] == before
    assert query(db_path, "SELECT DISTINCT changed_at FROM sections") == [(1700000000,)]
    assert query(db_path, "SELECT id, revision FROM articles ORDER BY id") == revisions


def test_changing_one_article_touches_only_its_section(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, db_path: Path
) -> None:
    source = tmp_path / "site.jsonl"
    source.write_bytes(jsonl(*site_records()))
    assert run(capsys, "import", str(source), "--db", str(db_path))[0] == 0
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute("UPDATE sections SET changed_at = 1700000000")
    conn.close()

    source.write_bytes(jsonl(good("plain-1", section="berita", title="Judul yang dibetulkan")))
    code, out, err = run(capsys, "import", str(source), "--db", str(db_path))

    assert code == 0, err
    assert re.search(r"\b1 article\(s\) written, 0 unchanged\b", out), out
    changed = dict(query(db_path, "SELECT slug, changed_at FROM sections"))
    assert changed["berita/tiongkok"] == 1700000000
    assert changed["berita"] > 1700000000


def test_an_undeclared_section_is_created_from_its_slug(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, db_path: Path
) -> None:
    source = tmp_path / "batch.jsonl"
    source.write_bytes(jsonl(good("bola-1", section="olahraga"), good("bola-2", section="olahraga/bola-basket")))
    assert run(capsys, "import", str(source), "--db", str(db_path))[0] == 0

    sections = dict(query(db_path, "SELECT slug, title FROM sections"))
    assert set(sections) == {"olahraga", "olahraga/bola-basket"}
    # Its title comes from the slug's last segment.
    assert "basket" in sections["olahraga/bola-basket"]
    assert "/" not in sections["olahraga/bola-basket"]
    assert sections["olahraga"].strip()


@pytest.mark.anyio
async def test_an_undeclared_section_gets_a_feed(tmp_path: Path, db_path: Path, clock: FakeClock) -> None:
    write_records(db_path, [article("bola-1", datetime.fromtimestamp(clock.now - 60, WIB), section="olahraga")])
    async with serve(make_settings(db_path), clock) as (client, _):
        response = await client.get("/section/olahraga/feed.json")
        assert response.status_code == 200
        assert [item["url"] for item in response.json()["items"]] == [f"{BASE_URL}/olahraga/bola-1"]


@pytest.mark.anyio
async def test_nested_slugs_declare_their_parents(db_path: Path, now: datetime, clock: FakeClock) -> None:
    """An article in an undeclared nested section makes every level a section,
    so each parent has a feed that includes it."""
    write_records(db_path, [article("deep", now - timedelta(hours=1), section="dunia/asia-timur/jepang")])
    conn = sqlite3.connect(db_path)
    try:
        slugs = dict(conn.execute("SELECT slug, title FROM sections"))
    finally:
        conn.close()
    assert slugs == {"dunia": "dunia", "dunia/asia-timur": "asia timur", "dunia/asia-timur/jepang": "jepang"}
    async with serve(make_settings(db_path), clock) as (client, _app):
        for parent in ("dunia", "dunia/asia-timur"):
            response = await client.get(f"/section/{parent}/feed.json")
            assert response.status_code == 200
            assert [item["url"] for item in response.json()["items"]] == [f"{BASE_URL}/dunia/asia-timur/jepang/deep"]


def test_times_beyond_the_calendar_are_bad_records(tmp_path: Path, db_path: Path, now: datetime) -> None:
    """Year 9999 at -12:00 is year 10000 in UTC: no format can write it, so the importer says so."""
    source = tmp_path / "far.jsonl"
    lines = [
        {**article("far", now), "published_at": "9999-12-31T23:59:59-12:00"},
        {**article("early", now), "updated_at": "0001-01-01T00:00:00+07:00"},
        article("fine", now),
    ]
    source.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    assert main(["import", str(source), "--db", str(db_path)]) == 1
    assert not db_path.exists()  # nothing of the file was written, not even the schema


@pytest.mark.parametrize("line", ["[" * 100_000, '{"id": ' + "9" * 5000 + "}"])
def test_pathological_json_is_one_bad_line(tmp_path: Path, db_path: Path, line: str, capsys: Any) -> None:
    source = tmp_path / "odd.jsonl"
    source.write_text(line + "\n", encoding="utf-8")
    assert main(["import", str(source), "--db", str(db_path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{source}:1: json: invalid JSON")
    assert "Traceback" not in "\n".join(err)
