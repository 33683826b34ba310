"""Hostile article content and metadata, as property tests.

Whatever a CMS hands the importer (any Unicode, control characters, lone
surrogates, `]]>`, `<script>`, entity look-alikes, huge fields, odd URLs in
the HTML), either the import rejects the record with one `FILE:LINE: field:
reason` line, writing nothing, or every feed and sitemap served afterwards is
well-formed and valid for its consumers: RSS (lxml, feedparser bozo 0), Atom
(the RELAX NG schema, feedparser), JSON Feed (its JSON Schema) and sitemaps
(their XSDs). Never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import re
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedserver.importer import import_records
from tests.conftest import BASE_URL, FakeClock, make_settings, serve
from tests.sitemap_checks import assert_valid, crawl
from tests.test_feed_formats import check_atom, check_json, check_rss

NOW = datetime.now(UTC).replace(microsecond=0)
SOURCE = "hostile.jsonl"
ERROR_LINE = re.compile(rf"^{re.escape(SOURCE)}:(?P<line>\d+): (?P<field>[^:\s][^:]*): (?P<reason>\S.*)$")
IDENTITY = {"Accept-Encoding": "identity"}

SPECIALS = [
    "]]>",
    "<![CDATA[",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "&",
    "&amp;",
    "&nbsp;",
    "&#0;",
    "&#x1F;",
    "&bogus;",
    "<!-- -->",
    "<?xml version='1.0'?>",
    "<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>&e;",
    "\x00",
    "\x08",
    "\x1b[31m",
    "\x7f",
    "\x85",
    "\ufffe",
    "\uffff",
    "\u202e",
    "\u2028",
    "\ufeff",
    "\U0001f600",
    "北京",
    "\r\n",
    "\t",
    "'",
    '"',
    "\\",
]
LONE_SURROGATES = ["\ud800", "\udfff", "a\udbff"]
ODD_URLS = [
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "//evil.example/x",
    "../../etc/passwd",
    "/relatif/gambar.jpg",
    "http://[::1",
    "http://exa mple.id/a b",
    "%zz%00",
    'https://example.id/路径?q=<x>&r="y"',
    "mailto:a@b",
    "\x00",
    "",
    " ",
    "https://example.id/" + "a" * 3000,
]

# Any character but a lone surrogate (those are the rejection path's, below).
any_char = st.characters(codec=None, exclude_categories=("Cs",))
odd_text = st.lists(st.one_of(st.text(any_char, max_size=12), st.sampled_from(SPECIALS)), max_size=8).map("".join)
odd_url = st.one_of(st.sampled_from(ODD_URLS), st.text(any_char, max_size=20))
html_with_odd_urls = st.builds(
    lambda url, label, tail: (
        f'<p><a href="{url}">{label}</a> <img src=\'{url}\' srcset="{url} 2x, {url} 640w"> '
        f"<video poster={url.replace(' ', '')}></video></p>{tail}"
    ),
    odd_url,
    odd_text,
    odd_text,
)
huge = st.sampled_from(["x" * 100_000, "]]>" * 10_000, "<b>" * 10_000, "\x00 " * 20_000, "北" * 30_000])
field_text = st.one_of(odd_text, odd_text, odd_text, html_with_odd_urls, huge)
# On the site, with any path the importer accepts (no white space), or elsewhere.
site_url = st.one_of(
    odd_text.map(lambda path: f"{BASE_URL}/berita/{''.join(path.split())}"),
    st.just("https://lain.example/berita/x?a=1&b=<2>#f"),
)
published = st.sampled_from(
    [
        (NOW - timedelta(hours=1)).isoformat(),
        (NOW - timedelta(days=3)).isoformat(),
        (NOW + timedelta(days=3)).isoformat(),
        "1970-01-01T00:00:00+00:00",
        "1900-01-01T00:00:00+07:00",
        "0001-01-01T00:00:00+00:00",
        "9999-12-30T00:00:00+00:00",  # scheduled far ahead: not shown
        "9999-12-31T23:00:00-12:00",  # past the end of Python's dates in UTC
        "2024-02-29T23:59:59-12:00",
    ]
)


@st.composite
def article_records(draw: st.DrawFn, n: int) -> dict[str, Any]:
    """An article the importer accepts, every text field hostile."""
    record: dict[str, Any] = {
        "type": "article",
        "id": draw(st.one_of(st.just(f"artikel-{n}"), odd_text.map(lambda t: f"{n}-{t}"[:200]))),
        "url": draw(site_url),
        "section": draw(st.sampled_from(["berita", "berita/tiongkok", "ekonomi"])),
        "title": draw(st.one_of(odd_text, huge)).strip() or "judul",
        "summary": draw(field_text),
        "content_html": draw(field_text),
        "published_at": draw(published),
        "status": "published",
        "authors": draw(
            st.lists(
                st.fixed_dictionaries(
                    {"name": odd_text.map(lambda t: t.strip() or "penulis")},
                    optional={"url": site_url, "email": st.just("penulis@example.id")},
                ),
                max_size=2,
            )
        ),
        "tags": draw(st.lists(odd_text.filter(lambda t: bool(t.strip())), max_size=3)),
    }
    optional = {
        "source": odd_text,
        "language": st.sampled_from(["id", "zh-CN", "en-x-hostile"]),
        "image": st.fixed_dictionaries(
            {"url": site_url},
            optional={
                "caption": field_text,
                "credit": odd_text,
                "width": st.integers(1, 10**6),
                "type": st.sampled_from(["image/jpeg", "image/svg+xml"]),
            },
        ),
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            record[name] = draw(strategy)
    return record


@st.composite
def poisoned(draw: st.DrawFn, record: dict[str, Any]) -> dict[str, Any]:
    """The same record with one thing the importer must refuse."""
    how = draw(st.sampled_from(["surrogate", "url", "time", "language", "image", "email", "id"]))
    if how == "surrogate":
        field = draw(st.sampled_from(["title", "summary", "content_html", "id"]))
        return {**record, field: record[field] + draw(st.sampled_from(LONE_SURROGATES))}
    if how == "url":
        return {**record, "url": draw(st.sampled_from(ODD_URLS))}
    if how == "time":
        return {**record, "published_at": draw(st.sampled_from(["not a time", "2025-01-01T00:00:00", ""]))}
    if how == "language":
        return {**record, "language": draw(st.sampled_from(["x", "en_US", "\x00", "<script>"]))}
    if how == "image":
        return {**record, "image": {"url": f"{BASE_URL}/a.jpg", "width": draw(st.integers(-5, 0))}}
    if how == "email":
        return {**record, "authors": [{"name": "a", "email": draw(st.sampled_from(["x y@z", "nobody"]))}]}
    return {**record, "id": "x" * 201}


@st.composite
def import_files(draw: st.DrawFn) -> list[bytes]:
    """A JSON Lines file: two sections with odd titles, then a few hostile articles,
    one of which may carry something the importer must refuse."""
    records: list[dict[str, Any]] = [
        {
            "type": "section",
            "slug": "berita",
            "title": draw(odd_text).strip() or "Berita",
            "description": draw(field_text),
        },
        {"type": "section", "slug": "ekonomi", "title": "Ekonomi", "description": draw(odd_text)},
    ]
    records += [draw(article_records(n)) for n in range(draw(st.integers(1, 3)))]
    if draw(st.booleans()):
        victim = draw(st.integers(2, len(records) - 1))
        records[victim] = draw(poisoned(records[victim]))
    lines = []
    for record in records:
        if draw(st.booleans()):
            lines.append(json.dumps(record, ensure_ascii=True).encode())  # a lone surrogate as a \ud800 escape
        else:  # raw UTF-8; a lone surrogate becomes bytes that are not UTF-8
            lines.append(json.dumps(record, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    return lines


async def check_feeds(db_path: Path, sections: tuple[str, ...] = ("berita", "berita/tiongkok", "ekonomi")) -> int:
    """Fetch every feed (and the front page) and check each with its consumers; return how many."""
    checked = 0
    async with serve(make_settings(db_path), FakeClock(NOW.timestamp())) as (client, _app):
        paths = ["/feed.rss", "/feed.atom", "/feed.json"]
        for slug in sections:
            paths += [f"/section/{slug}/feed.rss", f"/section/{slug}/feed.atom", f"/section/{slug}/feed.json"]
        for path in paths:
            response = await client.get(path, headers=IDENTITY)
            if response.status_code == 404 and path.startswith("/section/berita/tiongkok"):
                continue  # that section exists only when an article was filed under it
            assert response.status_code == 200, (path, response.status_code, response.text[:300])
            CHECKS[path.rsplit(".", 1)[1]](response.content)
            checked += 1
        home = await client.get("/")
        assert home.status_code == 200
    return checked


async def check_sitemaps(db_path: Path) -> int:
    """Crawl the sitemaps from /sitemap.xml, and the news sitemap, validating each file; return how many."""
    async with serve(make_settings(db_path), FakeClock(NOW.timestamp())) as (client, _app):
        crawled = await crawl(client)
        news = await client.get("/news-sitemap.xml", headers=IDENTITY)
        assert news.status_code == 200
        assert_valid(news.content, allow_empty=True)
    return len(crawled.files) + 1


CHECKS = {"rss": check_rss, "atom": check_atom, "json": check_json}
EXAMPLES = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def imported(directory: str, lines: list[bytes]) -> Path | None:
    """Import the file; None when it was rejected (after checking how)."""
    db_path = Path(directory) / "site.sqlite"
    result = import_records(db_path, SOURCE, lines)
    if not result.errors:
        return db_path
    for line in result.errors:
        match = ERROR_LINE.match(line)
        assert match is not None and "\n" not in line, line
        assert 1 <= int(match["line"]) <= len(lines)
    assert not db_path.exists()  # a bad file writes nothing
    return None


@EXAMPLES
@given(lines=import_files())
def test_hostile_records_are_rejected_cleanly_or_every_feed_stays_valid(lines: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        db_path = imported(directory, lines)
        if db_path is not None:
            assert asyncio.run(check_feeds(db_path)) >= 6


@EXAMPLES
@given(lines=import_files())
def test_hostile_records_leave_every_sitemap_valid(lines: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        db_path = imported(directory, lines)
        if db_path is not None:
            assert asyncio.run(check_sitemaps(db_path)) >= 1


def test_the_properties_reach_the_documents() -> None:
    """The strategies are not so hostile that every file is rejected: a plain hostile
    record (script, CDATA end, control characters, a huge field) is accepted and served."""
    record = {
        "type": "article",
        "id": "a-1",
        "url": f"{BASE_URL}/berita/a-1",
        "section": "berita",
        "title": "]]> <script>alert(1)</script> \x00\x08\ufffe 北京",
        "summary": "&bogus; &#0; <!-- x",
        "content_html": '<p><a href="javascript:alert(1)">x</a><img src="../../etc/passwd"></p>' + "]]>" * 20_000,
        "published_at": (NOW - timedelta(hours=1)).isoformat(),
        "status": "published",
    }
    section = {"type": "section", "slug": "berita", "title": "Berita", "description": "\x00\x01 \x02"}
    with tempfile.TemporaryDirectory() as directory:
        db_path = imported(directory, [json.dumps(section).encode(), json.dumps(record).encode()])
        assert db_path is not None
        assert asyncio.run(check_feeds(db_path, ("berita",))) >= 6
        assert asyncio.run(check_sitemaps(db_path)) >= 2


def test_times_before_standard_time_zones_are_valid_dates() -> None:
    """Asia/Jakarta before 1924 is local mean time, +07:07:12: RFC 3339 and RFC 822 only
    have whole minutes, so such a time is written in UTC (found by the property above)."""
    record = {
        "type": "article",
        "id": "lama",
        "url": f"{BASE_URL}/berita/lama",
        "section": "berita",
        "title": "Arsip 1900",
        "published_at": "1900-01-01T00:00:00+07:00",
        "status": "published",
    }
    with tempfile.TemporaryDirectory() as directory:
        db_path = imported(directory, [json.dumps(record).encode()])
        assert db_path is not None
        assert asyncio.run(check_feeds(db_path, ("berita",))) >= 6


def test_an_unparseable_url_is_one_clean_error_line() -> None:
    """urlsplit raises on an unbalanced IPv6 bracket (found by the property above)."""
    record = {
        "type": "article",
        "id": "a-1",
        "url": "http://[::1",
        "section": "berita",
        "title": "Judul",
        "published_at": (NOW - timedelta(hours=1)).isoformat(),
        "status": "published",
        "authors": [{"name": "Penulis", "url": "https://[::1/x"}],
    }
    with tempfile.TemporaryDirectory() as directory:
        result = import_records(Path(directory) / "site.sqlite", SOURCE, [json.dumps(record).encode()])
    assert result.errors == [f"{SOURCE}:1: url: not a valid URL: 'http://[::1'"]
