"""The three formats to the letter of their specs, read by real consumers: lxml (with entities
and network off), feedparser, the Atom RELAX NG schema and the JSON Feed 1.1 JSON Schema in feedserver/schemas/.

Expected values come from the import records, never from the code under test.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit
from zoneinfo import ZoneInfo

import feedparser
import httpx
import jsonschema
import lxml.html
import pytest
from lxml import etree

from tests.conftest import (
    BASE_URL,
    SCHEMAS,
    FakeClock,
    article,
    make_settings,
    section,
    serve,
    write_records,
)

ATOM = "http://www.w3.org/2005/Atom"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
DC = "http://purl.org/dc/elements/1.1/"
MEDIA = "http://search.yahoo.com/mrss/"
NS = {"atom": ATOM, "content": CONTENT, "dc": DC, "media": MEDIA}
XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)
MEDIA_TYPES = {"rss": "application/rss+xml", "atom": "application/atom+xml", "json": "application/feed+json"}
LOGO = f"{BASE_URL}/static/logo.png"
ICON = f"{BASE_URL}/static/icon.png"

# RFC 4151 as the W3C validator checks it (fv-notes.md, section 13).
TAG_URI = re.compile(r"^tag:(?:[^@,]+@)?[a-z0-9.-]+,\d{4}(?:-\d{2}(?:-\d{2})?)?:[A-Za-z0-9;/?:@&=+$.\-_!~*'()%,]*$")
RFC822 = re.compile(
    r"^(?P<dow>Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    r"\d{2}:\d{2}:\d{2} (?P<offset>[+-]\d{4})$"
)
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


# --- consumers ----------------------------------------------------------------------


def schema_file(name: str) -> Path:
    path = SCHEMAS / name
    if not path.is_file():
        pytest.fail(f"{path} is missing: the schemas ship in feedserver/schemas (or set FEEDSERVER_SCHEMAS)")
    return path


@cache
def atom_schema() -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(schema_file("atom.rng")), XML_PARSER))


@cache
def json_feed_schema() -> dict[str, Any]:
    return dict(json.loads(schema_file("jsonfeed-v1.1.schema.json").read_text(encoding="utf-8")))


def parse_xml(content: bytes) -> etree._Element:
    """Well-formed or the test fails (lxml raises)."""
    return etree.fromstring(content, XML_PARSER)


def check_rss(content: bytes) -> etree._Element:
    root = parse_xml(content)
    assert root.tag == "rss" and root.get("version") == "2.0"
    parsed = feedparser.parse(content)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "rss20"
    return root


def check_atom(content: bytes) -> etree._Element:
    root = parse_xml(content)
    assert root.tag == f"{{{ATOM}}}feed"
    schema = atom_schema()
    assert schema.validate(root), schema.error_log
    parsed = feedparser.parse(content)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return root


def check_json(content: bytes) -> dict[str, Any]:
    document = json.loads(content.decode("utf-8"))
    jsonschema.validate(document, json_feed_schema(), format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    return dict(document)


def text(element: etree._Element | None) -> str:
    assert element is not None
    return element.text or ""


def html_text(fragment: str) -> str:
    """What a reader shows for an HTML fragment (RSS description, Atom type="html")."""
    if not fragment:
        return ""
    return str(lxml.html.fragment_fromstring(fragment, create_parent="div").text_content())


def rss_items(root: etree._Element) -> dict[str, etree._Element]:
    """Items by their link (the article URL), in document order."""
    return {text(item.find("link")): item for item in root.iterfind("channel/item")}


def atom_link(element: etree._Element, rel: str) -> etree._Element:
    links = [link for link in element.iterfind("atom:link", NS) if link.get("rel", "alternate") == rel]
    assert len(links) == 1, [etree.tostring(link) for link in links]
    return links[0]


def atom_entries(root: etree._Element) -> dict[str, etree._Element]:
    return {atom_link(entry, "alternate").get("href", ""): entry for entry in root.iterfind("atom:entry", NS)}


def json_items(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["url"]: item for item in document["items"]}


def ids_in_order(fmt: str, content: bytes) -> list[str]:
    if fmt == "rss":
        return [text(guid) for guid in check_rss(content).iterfind("channel/item/guid")]
    if fmt == "atom":
        return [text(entry.find("atom:id", NS)) for entry in check_atom(content).iterfind("atom:entry", NS)]
    return [item["id"] for item in check_json(content)["items"]]


def urls_in_order(fmt: str, content: bytes) -> list[str]:
    if fmt == "rss":
        return list(rss_items(check_rss(content)))
    if fmt == "atom":
        return list(atom_entries(check_atom(content)))
    return [item["url"] for item in check_json(content)["items"]]


def instant(value: datetime | str) -> int:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    assert moment.tzinfo is not None
    return int(moment.timestamp())


def feed_paths(scope: str | None) -> dict[str, str]:
    prefix = "" if scope is None else f"/section/{scope}"
    return {fmt: f"{prefix}/feed.{fmt}" for fmt in ("rss", "atom", "json")}


async def fetch(client: httpx.AsyncClient, path: str) -> bytes:
    response = await client.get(path)
    assert response.status_code == 200, (path, response.status_code, response.text[:200])
    return response.content


# --- the site -----------------------------------------------------------------------

SECTIONS = [
    section("berita", "Berita", "Kabar terbaru"),
    section("berita/tiongkok", "Tiongkok", "Dari 北京 sampai 成都"),
    section("berita/asia", "Asia & <Pasifik>"),
    section("berita-lain", "Berita Lain"),
    section("ekonomi", "Ekonomi"),
    section("kosong", "Kosong", "Belum ada artikel"),
]


def site_records(now: datetime) -> list[dict[str, Any]]:
    """A small site in the past: one fully described article, several sharing a publish
    time (across sections), and one article in each section."""
    rich = article(
        "rich-1",
        now - timedelta(hours=1),
        section="berita/tiongkok",
        title="Kereta cepat 高铁 tiba di Shenzhen",
        summary="Jalur baru memangkas waktu tempuh & biaya.",
        content_html=(
            '<p>Jaringan <em>高铁</em> bertambah. <a href="https://example.id/berita/lain">Baca juga</a>.</p>'
            '<figure><img src="https://example.id/media/kereta.jpg" alt="Kereta"></figure>'
        ),
        authors=[
            {"name": "Hendra Kurniawan", "url": f"{BASE_URL}/penulis/hendra", "email": "hendra@example.id"},
            {"name": "Lina Wijaya (林丽娜)"},
        ],
        updated_at=(now - timedelta(minutes=20)).isoformat(),
        image={
            "url": f"{BASE_URL}/media/kereta.jpg",
            "caption": "Kereta di stasiun",
            "credit": "Foto: Redaksi",
            "width": 1600,
            "height": 900,
            "type": "image/jpeg",
        },
        tags=["kereta-cepat", "infrastruktur"],
        source="Kantor berita",
        language="id",
    )
    tie = now - timedelta(hours=3)
    ties = [
        article(article_id, tie, section=slug, url=f"{BASE_URL}/{slug}/{slug_name}")
        for article_id, slug, slug_name in [
            ("tie-a", "berita", "tie-a"),
            ("tie-B", "berita/tiongkok", "tie-b"),
            ("tie-c", "berita/asia", "tie-c"),
            ("tie-10", "berita", "tie-10"),
            ("tie-9", "berita/tiongkok", "tie-9"),
            ("tie-Z", "ekonomi", "tie-z"),
            ("tie-北", "berita/asia", "tie-bei"),
        ]
    ]
    singles = [
        article("berita-1", now - timedelta(hours=2), section="berita"),
        article("asia-1", now - timedelta(hours=4), section="berita/asia", tags=["asia", "pelajar"]),
        article("lain-1", now - timedelta(minutes=30), section="berita-lain"),
        article("ekonomi-1", now - timedelta(hours=5), section="ekonomi", authors=None),
    ]
    return [*SECTIONS, rich, *ties, *singles]


def section_trail(slug: str, sections: Iterable[dict[str, Any]] = SECTIONS) -> list[tuple[str, str]]:
    """(path, title) of a section and of each parent, nearest first, from the import records."""
    titles = {s["slug"]: s["title"] for s in sections}
    parts = slug.split("/")
    paths = ["/".join(parts[:n]) for n in range(len(parts), 0, -1)]
    return [(p, titles.get(p, p.rsplit("/", 1)[-1].replace("-", " "))) for p in paths]


def articles_of(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r.get("type", "article") == "article"]


def in_scope(record: dict[str, Any], scope: str | None) -> bool:
    return scope is None or record["section"] == scope or record["section"].startswith(scope + "/")


def expected_order(records: Iterable[dict[str, Any]], scope: str | None) -> list[str]:
    """URLs newest first, equal publish times by id descending (UTF-8 byte order = code point order)."""
    chosen = [r for r in articles_of(records) if in_scope(r, scope) and r["status"] == "published"]
    chosen.sort(key=lambda r: (instant(r["published_at"]), r["id"]), reverse=True)
    return [r["url"] for r in chosen]


def newest_change(db_path: Path, scope: str | None, now: int) -> int:
    """The newest change in scope straight from the database: a section's write stamp or
    a visible article's publish time. An empty section takes the site's."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        sections = [(slug, changed) for slug, changed in conn.execute("SELECT slug, changed_at FROM sections")]
        published = list(
            conn.execute(
                "SELECT section, published_at FROM articles WHERE status = 'published' AND published_at <= ?", (now,)
            )
        )
    finally:
        conn.close()

    def covers(slug: str) -> bool:
        return scope is None or slug == scope or slug.startswith(scope + "/")

    visible = [p for slug, p in published if covers(slug)]
    if not visible:
        return newest_change(db_path, None, now) if scope is not None else max(c for _, c in sections)
    return max([c for slug, c in sections if covers(slug)] + visible)


@pytest.fixture
def site(db_path: Path, now: datetime) -> list[dict[str, Any]]:
    records = site_records(now)
    write_records(db_path, records)
    return records


def site_settings(db_path: Path, **overrides: Any) -> Any:
    return make_settings(db_path, site__logo=LOGO, site__icon=ICON, **overrides)


# --- every format parses with real consumers ------------------------------------------

SCOPES = [None, "berita", "berita/tiongkok", "berita/asia", "berita-lain", "ekonomi", "kosong"]


def test_schemas_are_present() -> None:
    # Loud, never skipped: without them the format tests below would prove nothing.
    assert schema_file("atom.rng").is_file()
    assert schema_file("jsonfeed-v1.1.schema.json").is_file()


@pytest.mark.anyio
async def test_every_feed_parses_and_validates(db_path: Path, site: list[dict[str, Any]], clock: FakeClock) -> None:
    async with serve(site_settings(db_path), clock) as (client, _):
        for scope in SCOPES:
            paths = feed_paths(scope)
            check_rss(await fetch(client, paths["rss"]))
            check_atom(await fetch(client, paths["atom"]))
            check_json(await fetch(client, paths["json"]))


@pytest.mark.anyio
async def test_media_types_with_charset(db_path: Path, site: list[dict[str, Any]], clock: FakeClock) -> None:
    async with serve(site_settings(db_path), clock) as (client, _):
        for scope in (None, "berita/tiongkok"):
            for fmt, path in feed_paths(scope).items():
                response = await client.get(path)
                mime, _, params = response.headers["content-type"].partition(";")
                assert mime.strip() == MEDIA_TYPES[fmt]
                parameters = dict(p.strip().lower().split("=", 1) for p in params.split(";") if p.strip())
                assert parameters == {"charset": "utf-8"}


# --- RSS 2.0 ------------------------------------------------------------------------


@pytest.mark.anyio
async def test_rss_channel(db_path: Path, site: list[dict[str, Any]], clock: FakeClock) -> None:
    settings = site_settings(db_path)
    async with serve(settings, clock) as (client, _):
        for scope, home in ((None, f"{BASE_URL}/"), ("berita/tiongkok", f"{BASE_URL}/berita/tiongkok")):
            path = feed_paths(scope)["rss"]
            channel = check_rss(await fetch(client, path)).find("channel")
            assert channel is not None
            title = text(channel.find("title"))
            assert settings["site.title"] in title
            if scope is not None:
                assert "Tiongkok" in title
                assert text(channel.find("description")) == "Dari 北京 sampai 成都"
            else:
                assert text(channel.find("description")) == settings["site.description"]
            # The channel link is the HTML page the feed is about, not the feed itself.
            assert text(channel.find("link")) == home
            assert text(channel.find("language")) == settings["site.language"]
            assert int(text(channel.find("ttl"))) == settings["feeds.ttl_minutes"]
            built = parsedate_to_datetime(text(channel.find("lastBuildDate")))
            assert int(built.timestamp()) == newest_change(db_path, scope, int(clock.now))
            self_links = channel.findall("atom:link", NS)
            assert [(link.get("rel"), link.get("href"), link.get("type")) for link in self_links] == [
                ("self", BASE_URL + path, "application/rss+xml")
            ]
            image = channel.find("image")
            assert image is not None
            assert text(image.find("url")) == LOGO
            assert text(image.find("title")) == title
            assert text(image.find("link")) == text(channel.find("link"))
            # Channel metadata comes before the first item (MisplacedItem).
            tags = [child.tag for child in channel]
            assert "item" not in tags[: tags.index("ttl")]


@pytest.mark.anyio
async def test_rss_items(db_path: Path, site: list[dict[str, Any]], clock: FakeClock) -> None:
    settings = site_settings(db_path)
    zone = ZoneInfo(settings["site.timezone"])
    async with serve(settings, clock) as (client, _):
        items = rss_items(check_rss(await fetch(client, "/feed.rss")))
    assert list(items) == expected_order(site, None)
    for record in articles_of(site):
        item = items[record["url"]]
        assert text(item.find("title")) == record["title"]
        guid = item.find("guid")
        assert guid is not None and guid.get("isPermaLink") == "false"
        published = instant(record["published_at"])
        pub_date = text(item.find("pubDate"))
        assert int(parsedate_to_datetime(pub_date).timestamp()) == published
        assert pub_date.endswith(" " + datetime.fromtimestamp(published, zone).strftime("%z"))
        # The summary, as HTML, then the full content.
        children = [child.tag for child in item]
        assert children.index("description") < children.index(f"{{{CONTENT}}}encoded")
        assert html_text(text(item.find("description"))) == record["summary"]
        assert text(item.find("content:encoded", NS)) == record["content_html"]
        authors = record.get("authors") or [{"name": settings["site.publication_name"]}]
        assert [text(c) for c in item.findall("dc:creator", NS)] == [a["name"] for a in authors]
        assert item.find("author") is None
        categories = [(c.get("domain"), text(c)) for c in item.findall("category")]
        trail = section_trail(record["section"])
        # The section, then its parents, by title in the section tree's domain; then the tags.
        assert [t for d, t in categories if d is not None] == [title for _, title in trail]
        assert {d for d, _ in categories if d is not None} == {f"{BASE_URL}/section/"}
        assert sorted(t for d, t in categories if d is None) == sorted(record["tags"])
        # Their paths and titles (Media RSS media:category: the text a hierarchic path, the label a title).
        assert [(c.get("scheme"), c.get("label"), text(c)) for c in item.findall("media:category", NS)] == [
            (f"{BASE_URL}/section/", title, path) for path, title in trail
        ]
        assert item.findtext("dc:source", None, NS) == record.get("source")
        assert item.find("source") is None  # RSS <source> names a feed, by URL: not a credit
        enclosures = [(e.get("url"), e.get("length"), e.get("type")) for e in item.findall("enclosure")]
        assert enclosures == ([(record["image"]["url"], "0", record["image"]["type"])] if "image" in record else [])
        media = item.findall("media:content", NS)
        if "image" in record:
            image = record["image"]
            assert len(media) == 1
            assert media[0].get("url") == image["url"]
            assert media[0].get("type") == image["type"]
            assert media[0].get("medium") == "image"
            assert (media[0].get("width"), media[0].get("height")) == (str(image["width"]), str(image["height"]))
            assert text(media[0].find("media:description", NS)) == image["caption"]
            assert text(media[0].find("media:credit", NS)) == image["credit"]
        else:
            assert media == []


# --- Atom 1.0 -----------------------------------------------------------------------


@pytest.mark.anyio
async def test_atom_feed(db_path: Path, site: list[dict[str, Any]], clock: FakeClock) -> None:
    settings = site_settings(db_path)
    async with serve(settings, clock) as (client, _):
        ids = set()
        for scope, home in ((None, f"{BASE_URL}/"), ("berita", f"{BASE_URL}/berita")):
            path = feed_paths(scope)["atom"]
            root = check_atom(await fetch(client, path))
            feed_id = text(root.find("atom:id", NS))
            assert TAG_URI.match(feed_id), feed_id
            ids.add(feed_id)
            assert settings["site.title"] in text(root.find("atom:title", NS))
            subtitle = text(root.find("atom:subtitle", NS))
            assert subtitle == (settings["site.description"] if scope is None else "Kabar terbaru")
            updated = text(root.find("atom:updated", NS))
            assert RFC3339.match(updated)
            assert instant(updated) == newest_change(db_path, scope, int(clock.now))
            assert atom_link(root, "self").get("href") == BASE_URL + path
            assert atom_link(root, "self").get("type") == "application/atom+xml"
            assert atom_link(root, "alternate").get("href") == home
            assert [text(a.find("atom:name", NS)) for a in root.findall("atom:author", NS)] == [
                settings["site.publication_name"]
            ]
            assert text(root.find("atom:icon", NS)) == ICON
            assert text(root.find("atom:logo", NS)) == LOGO
        assert len(ids) == 2  # each feed its own id
    # A stable id: the same after a restart, whatever the request's host.
    async with serve(site_settings(db_path), FakeClock(clock.now + 3600)) as (client, _):
        response = await client.get("/feed.atom", headers={"Host": "other.example:8080"})
        assert text(check_atom(response.content).find("atom:id", NS)) in ids


@pytest.mark.anyio
async def test_atom_entries(db_path: Path, site: list[dict[str, Any]], clock: FakeClock) -> None:
    settings = site_settings(db_path)
    async with serve(settings, clock) as (client, _):
        entries = atom_entries(check_atom(await fetch(client, "/feed.atom")))
    assert list(entries) == expected_order(site, None)
    for record in articles_of(site):
        entry = entries[record["url"]]
        assert TAG_URI.match(text(entry.find("atom:id", NS)))
        assert text(entry.find("atom:title", NS)) == record["title"]
        # feedgen 1.0.0 drops an entry link's rel and type: they must be there.
        link = entry.find("atom:link", NS)
        assert link is not None
        assert (link.get("rel"), link.get("type"), link.get("href")) == ("alternate", "text/html", record["url"])
        published, updated = text(entry.find("atom:published", NS)), text(entry.find("atom:updated", NS))
        assert RFC3339.match(published) and RFC3339.match(updated)
        assert instant(published) == instant(record["published_at"])
        assert instant(updated) == instant(record.get("updated_at", record["published_at"]))
        authors = record.get("authors") or [{"name": settings["site.publication_name"], "url": f"{BASE_URL}/"}]
        assert [
            (text(a.find("atom:name", NS)), a.findtext("atom:uri", None, NS)) for a in entry.findall("atom:author", NS)
        ] == [(a["name"], a.get("url")) for a in authors]
        assert all(a.find("atom:email", NS) is None for a in entry.findall("atom:author", NS))
        summary = entry.find("atom:summary", NS)
        assert summary is not None and summary.get("type") == "html"
        assert html_text(text(summary)) == record["summary"]
        content = entry.find("atom:content", NS)
        assert content is not None and content.get("type") == "html"
        assert text(content) == record["content_html"]
        categories = [(c.get("term"), c.get("scheme"), c.get("label")) for c in entry.findall("atom:category", NS)]
        trail = section_trail(record["section"])
        # The section, then its parents (term: the path, label: the title), then the tags.
        assert categories[: len(trail)] == [(path, f"{BASE_URL}/section/", title) for path, title in trail]
        assert sorted(term for term, _, _ in categories[len(trail) :]) == sorted(record["tags"])
        assert all(scheme is None and label is None for _, scheme, label in categories[len(trail) :])
        assert entry.findtext("dc:source", None, NS) == record.get("source")
        enclosures = [link for link in entry.iterfind("atom:link", NS) if link.get("rel") == "enclosure"]
        media = entry.findall("media:content", NS)
        if "image" in record:
            image = record["image"]
            assert [(e.get("href"), e.get("type"), e.get("length")) for e in enclosures] == [
                (image["url"], image["type"], None)  # length is advisory (RFC 4287 4.2.7.6): not guessed
            ]
            assert [(m.get("url"), m.findtext("media:description", None, NS)) for m in media] == [
                (image["url"], image["caption"])
            ]
            assert text(media[0].find("media:credit", NS)) == image["credit"]
        else:
            assert enclosures == [] and media == []


# --- JSON Feed 1.1 ------------------------------------------------------------------


@pytest.mark.anyio
async def test_json_feed(db_path: Path, site: list[dict[str, Any]], clock: FakeClock) -> None:
    settings = site_settings(db_path)
    async with serve(settings, clock) as (client, _):
        document = check_json(await fetch(client, "/feed.json"))
        section_document = check_json(await fetch(client, "/section/berita/asia/feed.json"))
    assert document["title"] == settings["site.title"]
    assert document["home_page_url"] == f"{BASE_URL}/"
    assert document["feed_url"] == f"{BASE_URL}/feed.json"
    assert document["description"] == settings["site.description"]
    assert document["language"] == settings["site.language"]
    assert document["icon"] == LOGO
    assert document["favicon"] == ICON
    assert [a["name"] for a in document["authors"]] == [settings["site.publication_name"]]
    assert section_document["feed_url"] == f"{BASE_URL}/section/berita/asia/feed.json"
    assert section_document["home_page_url"] == f"{BASE_URL}/berita/asia"
    assert "Asia & <Pasifik>" in section_document["title"]

    items = json_items(document)
    assert list(items) == expected_order(site, None)
    for record in articles_of(site):
        item = items[record["url"]]
        assert TAG_URI.match(item["id"])
        assert item["title"] == record["title"]
        assert item["summary"] == record["summary"]
        assert item["content_html"] == record["content_html"]
        assert instant(item["date_published"]) == instant(record["published_at"])
        assert instant(item["date_modified"]) == instant(record.get("updated_at", record["published_at"]))
        authors = record.get("authors") or [{"name": settings["site.publication_name"], "url": f"{BASE_URL}/"}]
        assert item["authors"] == [{k: v for k, v in a.items() if k in ("name", "url")} for a in authors]
        assert item["tags"] == record["tags"]
        assert item["language"] == record.get("language", settings["site.language"])
        assert item.get("image") == record.get("image", {}).get("url")
        # What JSON Feed has no field for, in one extension object (JSON Feed 1.1, "Extensions").
        extension = item["_feedserver"]
        assert extension["about"].startswith("https://")
        trail = section_trail(record["section"])
        pages = [{"path": path, "title": title, "url": f"{BASE_URL}/{path}"} for path, title in trail]
        assert extension["section"] == {**pages[0], "parents": pages[1:]}
        assert extension.get("source") == record.get("source")
        assert isinstance(extension["reading_time_minutes"], int) and extension["reading_time_minutes"] >= 1
        if "image" in record:
            image = record["image"]
            assert extension["image"] == {
                "url": image["url"],
                "caption": image["caption"],
                "credit": image["credit"],
                "type": image["type"],
                "width": image["width"],
                "height": image["height"],
            }
        else:
            assert "image" not in extension


# --- identity, order, determinism, scope ------------------------------------------------


@pytest.mark.anyio
async def test_an_article_has_one_id_everywhere_and_keeps_it_when_its_url_changes(
    db_path: Path, site: list[dict[str, Any]], clock: FakeClock
) -> None:
    record = next(r for r in site if r.get("id") == "rich-1")

    async def ids_for(url: str) -> set[str]:
        found: set[str] = set()
        async with serve(site_settings(db_path), clock) as (client, _):
            for scope in (None, "berita", "berita/tiongkok"):
                for fmt, path in feed_paths(scope).items():
                    content = await fetch(client, path)
                    pairs = dict(zip(urls_in_order(fmt, content), ids_in_order(fmt, content), strict=True))
                    found.add(pairs[url])
        return found

    before = await ids_for(record["url"])
    assert len(before) == 1
    (item_id,) = before
    assert TAG_URI.match(item_id)
    assert "rich-1" in item_id
    assert urlsplit(BASE_URL).hostname in item_id
    # Every article's id is its own.
    async with serve(site_settings(db_path), clock) as (client, _):
        all_ids = ids_in_order("atom", await fetch(client, "/feed.atom"))
    assert len(set(all_ids)) == len(articles_of(site))

    moved = {**record, "url": "http://example.id/berita/tiongkok/kereta-cepat-tiba-di-shenzhen"}
    write_records(db_path, [moved])
    assert await ids_for(moved["url"]) == before


@pytest.mark.anyio
async def test_newest_first_and_equal_times_by_id_descending(
    db_path: Path, site: list[dict[str, Any]], clock: FakeClock
) -> None:
    async with serve(site_settings(db_path), clock) as (client, _):
        for scope in (None, "berita", "berita/tiongkok", "berita/asia"):
            expected = expected_order(site, scope)
            for fmt, path in feed_paths(scope).items():
                assert urls_in_order(fmt, await fetch(client, path)) == expected, path
    ties = [r["id"] for r in articles_of(site) if r["id"].startswith("tie-")]
    assert len(ties) >= 5  # the order of equal times is really exercised


@pytest.mark.anyio
async def test_items_per_feed_keeps_the_newest(db_path: Path, site: list[dict[str, Any]], clock: FakeClock) -> None:
    async with serve(site_settings(db_path, feeds__items=4), clock) as (client, _):
        for scope in (None, "berita"):
            for fmt, path in feed_paths(scope).items():
                assert urls_in_order(fmt, await fetch(client, path)) == expected_order(site, scope)[:4]


@pytest.mark.anyio
async def test_the_same_database_renders_the_same_bytes(
    db_path: Path, site: list[dict[str, Any]], clock: FakeClock
) -> None:
    paths = [path for scope in SCOPES for path in feed_paths(scope).values()]

    async def render(at: float) -> dict[str, tuple[bytes, str, str]]:
        async with serve(site_settings(db_path), FakeClock(at)) as (client, _):
            responses = [await client.get(path) for path in paths]
        return {
            p: (r.content, r.headers["etag"], r.headers["last-modified"]) for p, r in zip(paths, responses, strict=True)
        }

    first = await render(clock.now)
    later = await render(clock.now + 86400)  # another worker, a day later: nothing new is visible
    assert first == later
    for scope in SCOPES:
        expected = newest_change(db_path, scope, int(clock.now))
        channel = parse_xml(first[feed_paths(scope)["rss"]][0]).find("channel")
        built = int(parsedate_to_datetime(text(channel.find("lastBuildDate"))).timestamp())
        assert built == expected, scope
        assert built < clock.now + 86400 - 3600  # the data's date, not the clock's


@pytest.mark.anyio
async def test_a_section_feed_holds_its_subsections_and_nothing_else(
    db_path: Path, site: list[dict[str, Any]], clock: FakeClock
) -> None:
    async with serve(site_settings(db_path), clock) as (client, _):
        for scope in SCOPES:
            expected = set(expected_order(site, scope))
            for fmt, path in feed_paths(scope).items():
                assert set(urls_in_order(fmt, await fetch(client, path))) == expected, path
    berita = set(expected_order(site, "berita"))
    assert any("/berita/tiongkok/" in url for url in berita)
    assert any("/berita/asia/" in url for url in berita)
    assert not any("/berita-lain/" in url for url in berita)  # same prefix, another section


@pytest.mark.anyio
async def test_a_declared_empty_section_is_a_valid_empty_feed_dated_by_the_site(
    db_path: Path, site: list[dict[str, Any]], clock: FakeClock
) -> None:
    async with serve(site_settings(db_path), clock) as (client, _):
        rss = check_rss(await fetch(client, "/section/kosong/feed.rss"))
        atom = check_atom(await fetch(client, "/section/kosong/feed.atom"))
        document = check_json(await fetch(client, "/section/kosong/feed.json"))
        site_rss = check_rss(await fetch(client, "/feed.rss"))
    assert rss.findall("channel/item") == []
    assert atom.findall("atom:entry", NS) == []
    assert document["items"] == []
    built = text(rss.find("channel/lastBuildDate"))
    assert built == text(site_rss.find("channel/lastBuildDate"))
    assert parsedate_to_datetime(built).year > 1970
    assert instant(text(atom.find("atom:updated", NS))) == int(parsedate_to_datetime(built).timestamp())


@pytest.mark.anyio
async def test_summary_only_feeds_carry_no_content(db_path: Path, site: list[dict[str, Any]], clock: FakeClock) -> None:
    async with serve(site_settings(db_path, feeds__full_content=False), clock) as (client, _):
        rss = check_rss(await fetch(client, "/feed.rss"))
        atom = check_atom(await fetch(client, "/feed.atom"))
        document = check_json(await fetch(client, "/feed.json"))
    records = {r["url"]: r for r in articles_of(site)}
    for url, item in rss_items(rss).items():
        assert item.find("content:encoded", NS) is None
        assert html_text(text(item.find("description"))) == records[url]["summary"]
    for entry in atom_entries(atom).values():
        assert entry.find("atom:content", NS) is None
        assert entry.find("atom:summary", NS) is not None
    for url, item in json_items(document).items():
        assert "content_html" not in item
        assert item["content_text"] == records[url]["summary"]


# --- text ---------------------------------------------------------------------------

FORBIDDEN = "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x1f\ufffe\uffff"
SURVIVORS = "Harga \"naik\" 5% & <turun> ]]> 北京 😀 'kutip' S&P500 x<y AT&T Q&A a]]>b 𠀀"


def strip_forbidden(value: str) -> str:
    return "".join(ch for ch in value if ch not in FORBIDDEN)


def text_records(now: datetime) -> list[dict[str, Any]]:
    dirty = "Awal" + FORBIDDEN[:8] + "tengah" + FORBIDDEN[8:] + "akhir"
    return [
        section("berita", "Berita " + SURVIVORS),
        article(
            "teks-1",
            now - timedelta(hours=1),
            section="berita",
            title="Judul " + SURVIVORS,
            summary="Ringkasan " + SURVIVORS,
            content_html="<p>Isi &amp; &lt;kode&gt; ]]&gt; a]]>b 北京 😀 \"q\" 'k'</p><pre>x &lt; y</pre>",
            authors=[{"name": "Penulis " + SURVIVORS}],
            tags=["tag " + SURVIVORS],
            image={"url": f"{BASE_URL}/a.jpg", "caption": "Keterangan " + SURVIVORS, "type": "image/png"},
        ),
        article(
            "teks-2",
            now - timedelta(hours=2),
            section="berita",
            title=dirty,
            summary=dirty,
            content_html=f"<p>{dirty}</p>",
            authors=[{"name": dirty}],
            tags=[dirty],
            image={"url": f"{BASE_URL}/b.jpg", "caption": dirty, "credit": dirty},
        ),
    ]


@pytest.mark.anyio
async def test_text_survives_exactly_in_every_format(db_path: Path, now: datetime, clock: FakeClock) -> None:
    records = text_records(now)
    write_records(db_path, records)
    async with serve(site_settings(db_path), clock) as (client, _):
        rss = check_rss(await fetch(client, "/section/berita/feed.rss"))
        atom = check_atom(await fetch(client, "/section/berita/feed.atom"))
        document = check_json(await fetch(client, "/section/berita/feed.json"))
    for record in records[1:]:
        want = {key: strip_forbidden(record[key]) for key in ("title", "summary", "content_html")}
        author, tag = strip_forbidden(record["authors"][0]["name"]), strip_forbidden(record["tags"][0])
        caption = strip_forbidden(record["image"]["caption"])

        item = rss_items(rss)[record["url"]]
        assert text(item.find("title")) == want["title"]
        assert html_text(text(item.find("description"))) == want["summary"]
        assert text(item.find("content:encoded", NS)) == want["content_html"]
        assert [text(c) for c in item.findall("dc:creator", NS)] == [author]
        assert tag in [text(c) for c in item.findall("category")]
        assert text(item.find("media:content/media:description", NS)) == caption

        entry = atom_entries(atom)[record["url"]]
        assert text(entry.find("atom:title", NS)) == want["title"]
        assert html_text(text(entry.find("atom:summary", NS))) == want["summary"]
        assert text(entry.find("atom:content", NS)) == want["content_html"]
        assert text(entry.find("atom:author/atom:name", NS)) == author
        assert tag in [c.get("term") for c in entry.findall("atom:category", NS)]

        json_item = json_items(document)[record["url"]]
        assert {key: json_item[key] for key in want} == want
        assert json_item["authors"][0]["name"] == author
        assert json_item["tags"] == [tag]
    section_title = strip_forbidden(records[0]["title"])
    assert section_title in text(rss.find("channel/title"))
    assert section_title in document["title"]


@pytest.mark.anyio
async def test_characters_xml_forbids_never_reach_the_output(db_path: Path, now: datetime, clock: FakeClock) -> None:
    write_records(db_path, text_records(now))
    async with serve(site_settings(db_path), clock) as (client, _):
        for scope in (None, "berita"):
            for fmt, path in feed_paths(scope).items():
                content = await fetch(client, path)
                decoded = content.decode("utf-8")
                assert not any(ch in decoded for ch in FORBIDDEN), path
                # Not as character references either (&#0; .. &#x1F;, &#xFFFE;), nor JSON escapes.
                assert not re.search(
                    r"&#(?:x0*(?:[0-8bcef]|1[0-9a-f]|fff[ef])|0*(?:[0-8]|1[124-9]|[23][0-9]|6553[45]));", decoded, re.I
                )
                if fmt == "json":
                    values = json.dumps(json.loads(decoded), ensure_ascii=False)
                    assert not any(ch in values for ch in FORBIDDEN)
                    assert not re.search(r"\\u00(?:0[0-8bcef]|1[0-9a-f])|\\ufff[ef]", decoded, re.I)


def links_in(fragment: str) -> list[str]:
    """Every URL an HTML fragment points at: href, src, and each srcset candidate."""
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    found = []
    for element in root.iter():
        for name in ("href", "src", "poster"):
            if element.get(name) is not None:
                found.append(element.get(name))
        if element.get("srcset") is not None:
            found.extend(part.strip().split()[0] for part in element.get("srcset").split(","))
    return found


RELATIVE_LINKS = [
    "/berita/lain",
    "../naik",
    "foto.jpg",
    "#catatan",
    "?hal=2",
    "//cdn.example.id/x.png",
    "k.jpg",
    "b.jpg",
]
ABSOLUTE_LINKS = ["https://other.example/x", "mailto:redaksi@example.id"]


def relative_content() -> str:
    return (
        '<p><a href="/berita/lain">a</a> <a href=\'../naik\'>b</a> <img src="foto.jpg" alt="f">'
        ' <a title="t" href="#catatan">c</a> <a href=?hal=2>d</a> <img alt="x" src="//cdn.example.id/x.png"/>'
        ' <img src="https://other.example/x" srcset="k.jpg 1x, b.jpg 2x"> <a href="mailto:redaksi@example.id">g</a></p>'
    )


@pytest.mark.anyio
async def test_relative_links_in_content_become_absolute_against_the_article(
    db_path: Path, now: datetime, clock: FakeClock
) -> None:
    url = f"{BASE_URL}/berita/tiongkok/2025/rel-1"
    write_records(db_path, [article("rel-1", now - timedelta(hours=1), url=url, content_html=relative_content())])
    expected = sorted([urljoin(url, link) for link in RELATIVE_LINKS] + ABSOLUTE_LINKS)
    assert sorted(links_in(relative_content())) == sorted(RELATIVE_LINKS + ABSOLUTE_LINKS)  # the input really has them
    async with serve(site_settings(db_path), clock) as (client, _):
        rss = check_rss(await fetch(client, "/feed.rss"))
        atom = check_atom(await fetch(client, "/feed.atom"))
        document = check_json(await fetch(client, "/feed.json"))
    contents = [
        text(rss.find("channel/item/content:encoded", NS)),
        text(atom.find("atom:entry/atom:content", NS)),
        document["items"][0]["content_html"],
    ]
    for content in contents:
        assert sorted(links_in(content)) == expected


@pytest.mark.anyio
async def test_a_non_ascii_article_url_becomes_a_percent_encoded_uri(
    db_path: Path, now: datetime, clock: FakeClock
) -> None:
    iri = f"{BASE_URL}/berita/路径/artikel-北京?q=é"
    write_records(
        db_path,
        [article("iri-1", now - timedelta(hours=1), url=iri, content_html='<p><img src="gambar 1.jpg"></p>')],
    )
    async with serve(site_settings(db_path), clock) as (client, _):
        rss = check_rss(await fetch(client, "/feed.rss"))
        atom = check_atom(await fetch(client, "/feed.atom"))
        document = check_json(await fetch(client, "/feed.json"))
    links = [
        text(rss.find("channel/item/link")),
        atom_link(atom.find("atom:entry", NS), "alternate").get("href", ""),
        document["items"][0]["url"],
    ]
    for link in links:
        assert link.isascii() and " " not in link
        assert unquote(link) == iri
    image = links_in(text(rss.find("channel/item/content:encoded", NS)))[0]
    assert image.isascii() and unquote(image) == urljoin(iri, "gambar 1.jpg")


@pytest.mark.anyio
async def test_invalid_utf8_written_by_the_cms_still_renders(db_path: Path, now: datetime, clock: FakeClock) -> None:
    write_records(db_path, site_records(now))
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute(
            "UPDATE articles SET title = CAST(X'E4B8' AS TEXT), summary = 'a' || CAST(X'FF' AS TEXT) || 'b', "
            "content_html = CAST(X'3C703EC3283C2F703E' AS TEXT), url = url || CAST(X'E282' AS TEXT) "
            "WHERE id = 'rich-1'"
        )
        conn.execute("UPDATE sections SET title = CAST(X'F0908D' AS TEXT) WHERE slug = 'berita/tiongkok'")
        conn.execute("UPDATE authors SET name = CAST(X'C0AF' AS TEXT) WHERE name = 'Hendra Kurniawan'")
        conn.execute("UPDATE tags SET name = CAST(X'EDA080' AS TEXT) WHERE name = 'infrastruktur'")
    conn.close()
    async with serve(site_settings(db_path), clock) as (client, _):
        for scope in (None, "berita", "berita/tiongkok"):
            paths = feed_paths(scope)
            rss = check_rss(await fetch(client, paths["rss"]))
            check_atom(await fetch(client, paths["atom"]))
            document = check_json(await fetch(client, paths["json"]))
            assert (
                len(rss.findall("channel/item"))
                == len(document["items"])
                == len(expected_order(site_records(now), scope))
            )
        assert (await client.get("/")).status_code == 200


# --- what the W3C Feed Validator taught us (fv-notes.md) ----------------------------------

# RFC 5005's fh: the validator reads fh:archive and fh:complete (tests/test_history.py).
KNOWN_NAMESPACES = {ATOM, CONTENT, DC, MEDIA, "http://purl.org/syndication/history/1.0"}
MEDIA_CONTENT_ATTRIBUTES = {"url", "type", "medium", "width", "height", "fileSize", "isDefault", "lang"}
PLAIN_TEXT_TITLE = "S&P500 naik, AT&T & Q&A: x<y, <b>tebal</b> &amp; &#8217;"


def validator_records(now: datetime) -> list[dict[str, Any]]:
    return [
        section("berita", "Berita & <Kabar>"),
        article(
            "berita 北京 [1]",  # an id the tag: URI's specific part cannot hold as it is
            now - timedelta(hours=1),
            section="berita",
            url=f"{BASE_URL}/berita/北京-1",
            title=PLAIN_TEXT_TITLE,
            summary="Ringkasan & <kutipan>",
            content_html=relative_content(),
            authors=[{"name": "Budi & <Sari>", "email": "budi@example.id"}, {"name": "Dewi"}],
            tags=["S&P500", "<tag>"],
            image={
                "url": f"{BASE_URL}/foto/北京 [1].jpg".replace(" ", "_"),
                "caption": "A & <b>",
                "width": 800,
                "height": 450,
                "type": "image/jpeg",
            },
            source="Xinhua & <Antara>",
        ),
        article(
            "dua",
            now - timedelta(hours=2),
            section="berita/tiongkok",
            summary="",
            image={"url": f"{BASE_URL}/foto/dua.png", "credit": "Foto & Grafis"},  # no type: from the extension
        ),
        article("tiga", now - timedelta(hours=3), image={"url": f"{BASE_URL}/foto/tiga"}),  # no type at all
    ]


def raw_elements(content: bytes, name: str) -> list[bytes]:
    """The source of each `<name ...>...</name>` (the validator reads the source line)."""
    return re.findall(
        rb"<" + re.escape(name.encode()) + rb"(?:\s[^>]*)?>(.*?)</" + re.escape(name.encode()) + rb">", content, re.S
    )


@pytest.mark.anyio
@pytest.mark.parametrize("timezone", ["Asia/Jakarta", "America/Sao_Paulo"])
async def test_what_the_w3c_validator_checks(db_path: Path, now: datetime, clock: FakeClock, timezone: str) -> None:
    write_records(db_path, validator_records(now))
    async with serve(site_settings(db_path, site__timezone=timezone), clock) as (client, _):
        rss_bytes = await fetch(client, "/feed.rss")
        atom_bytes = await fetch(client, "/feed.atom")
    rss, atom = check_rss(rss_bytes), check_atom(atom_bytes)
    zone = ZoneInfo(timezone)

    # Only namespaces the validator knows, bound to their exact URIs (UnknownNamespace, ReservedPrefix).
    for root in (rss, atom):
        assert set(root.nsmap.values()) <= KNOWN_NAMESPACES
    assert rss.nsmap.get("media") == MEDIA and rss.nsmap.get("content") == CONTENT
    # Atom in the default namespace (AvoidNamespacePrefix).
    assert atom.prefix is None

    # RFC 822 dates with a numeric offset and the right English weekday (InvalidRFC2822Date, IncorrectDOW).
    channel = rss.find("channel")
    dates = [text(channel.find("lastBuildDate"))] + [text(d) for d in channel.iterfind("item/pubDate")]
    for value in dates:
        match = RFC822.match(value)
        assert match, value
        moment = parsedate_to_datetime(value)
        assert match["dow"] == WEEKDAYS[moment.weekday()]
        assert match["offset"] == moment.astimezone(zone).strftime("%z")
        assert match["offset"][-2:] in ("00", "30")  # other minutes: ProblematicalRFC822Date
    # Atom dates: RFC 3339 with seconds and a colon in the offset (InvalidRFC3339Date).
    for element in atom.iter(f"{{{ATOM}}}updated", f"{{{ATOM}}}published"):
        assert element.text == element.text.strip() and RFC3339.match(element.text), element.text

    # guid isPermaLink="false" holding a tag: URI, unique in the feed (InvalidPermalink, DuplicateValue).
    guids = channel.findall("item/guid")
    assert [g.get("isPermaLink") for g in guids] == ["false"] * len(guids)
    assert len({text(g) for g in guids}) == len(guids)
    # Atom ids: RFC 4151 tag: URIs whose specific part is ASCII from the allowed set (InvalidTAG).
    for element in atom.iter(f"{{{ATOM}}}id"):
        assert element.text and element.text.isascii() and TAG_URI.match(element.text), element.text
    assert {text(g) for g in guids} == {text(e.find("atom:id", NS)) for e in atom.iterfind("atom:entry", NS)}

    for item in channel.iterfind("item"):
        # No RSS <author> beside dc:creator (DuplicateItemSemantics; <author> wants an e-mail).
        assert item.find("author") is None and item.findall("dc:creator", NS)
        # description before content:encoded (NeedDescriptionBeforeContent).
        tags = [child.tag for child in item]
        if f"{{{CONTENT}}}encoded" in tags:
            assert "description" in tags and tags.index("description") < tags.index(f"{{{CONTENT}}}encoded")
        # No relative URL in description or content:encoded (ContainsRelRef).
        for field in (item.find("description"), item.find("content:encoded", NS)):
            if field is not None:
                for link in links_in(text(field)):
                    assert urlsplit(link).scheme in ("http", "https", "mailto"), link
        # Absolute ASCII URLs (InvalidFullLink, UriNotIri, InvalidUriChar).
        assert urlsplit(text(item.find("link"))).scheme == "https"
        for media in item.findall("media:content", NS):
            assert set(media.attrib) <= MEDIA_CONTENT_ATTRIBUTES  # UnexpectedAttribute
            url = media.get("url", "")
            assert url.isascii() and not set(url) & set(' "<>\\^`{|}[]') and urlsplit(url).scheme == "https", url
            assert media.get("medium") in (None, "image")
            assert re.fullmatch(r"[a-z]+/[a-z0-9.+-]+", media.get("type", "image/jpeg"))
            for size in ("width", "height"):
                assert media.get(size) is None or int(media.get(size)) > 0
        # The hero image as an enclosure: url, length and type all present (MissingAttribute), the
        # length a whole number, 0 when unknown (UseZeroForUnknown, the RSS Best Practices Profile),
        # the type a MIME type (InvalidMIMEAttribute), at most one per item (DuplicateEnclosure).
        enclosures = item.findall("enclosure")
        assert len(enclosures) <= 1
        for enclosure in enclosures:
            assert set(enclosure.attrib) == {"url", "length", "type"}
            assert enclosure.get("length") == "0"
            assert re.fullmatch(r"image/[a-z0-9.+-]+", enclosure.get("type", ""))
            assert enclosure.get("url") == item.find("media:content", NS).get("url")
        # The source credit as dc:source, never beside RSS <source> (DuplicateItemSemantics).
        assert item.find("source") is None
        # The section tree as media:category: a scheme that is a full URL, a plain-text label.
        for category in item.findall("media:category", NS):
            assert set(category.attrib) == {"scheme", "label"} and urlsplit(category.get("scheme")).scheme == "https"
    by_guid = {text(i.find("guid")): i for i in channel.iterfind("item")}
    # A type from the URL's extension when the CMS gave none; no enclosure when no type is known
    # (RSS 2.0 requires one), but the image stays in media:content.
    dua, tiga = (by_guid[g] for g in sorted(by_guid) if g.endswith(("/dua", "/tiga")))
    assert dua.find("enclosure").get("type") == "image/png"
    assert tiga.find("enclosure") is None and tiga.find("media:content", NS).get("type") is None
    for link in [text(channel.find("link")), *(text(i.find("link")) for i in channel.iterfind("item"))]:
        assert link.isascii() and not set(link) & set(' "<>\\^`{|}[]'), link

    # The channel image repeats the channel's title and link exactly (ImageTitle/LinkDoesntMatch).
    image = channel.find("image")
    assert image is not None
    assert text(image.find("title")) == text(channel.find("title"))
    assert text(image.find("link")) == text(channel.find("link"))
    # Self links, typed (MissingAtomSelfLink, MissingSelf, SelfNotAtom).
    assert channel.find("atom:link[@rel='self']", NS).get("type") == "application/rss+xml"
    assert atom_link(atom, "self").get("type") == "application/atom+xml"
    # Every entry has an author, its own or the feed's (MissingElement author).
    assert atom.find("atom:author/atom:name", NS) is not None

    # Plain text keeps '&' and '<' as typed, written as hexadecimal character references
    # (ContainsHTML, ContainsUndeclaredHTML, CharacterData): the validator then takes
    # "S&P500" for text, not for an HTML entity.
    assert text(channel.find("item/title")) == PLAIN_TEXT_TITLE
    plain = {
        rss_bytes: ["title", "category", "dc:creator", "media:description", "media:credit", "dc:source"],
        atom_bytes: ["title", "name", "dc:source", "media:credit"],
    }
    for content, names in plain.items():
        for name in names:
            for raw in raw_elements(content, name):
                assert b"&amp;" not in raw and b"&lt;" not in raw, (name, raw)
    for label in re.findall(rb'label="([^"]*)"', atom_bytes + rss_bytes):
        assert b"&amp;" not in label and b"&lt;" not in label
    assert text(channel.find("item/dc:source", NS)) == "Xinhua & <Antara>"


# --- the site's identity and its own pages -------------------------------------------------


@pytest.mark.anyio
async def test_item_ids_survive_a_move_to_another_host(
    db_path: Path, site: list[dict[str, Any]], clock: FakeClock
) -> None:
    """site.id_authority, set once at first setup, keeps every id when base_url moves."""

    async def ids(**overrides: Any) -> dict[str, list[str]]:
        async with serve(site_settings(db_path, **overrides), clock) as (client, _):
            return {fmt: ids_in_order(fmt, await fetch(client, path)) for fmt, path in feed_paths("berita").items()}

    # Left empty, the authority is the base URL's host (so existing ids did not change).
    first = await ids(site__id_authority="")
    assert all(i.startswith("tag:example.id,2025:") for i in first["atom"])
    moved = await ids(site__base_url="https://kabar-baru.example", site__id_authority="example.id")
    assert moved == first
    # Without it, a move changes every id: what the setting is for.
    unpinned = await ids(site__base_url="https://kabar-baru.example", site__id_authority="")
    assert set(unpinned["atom"]).isdisjoint(first["atom"])


@pytest.mark.anyio
async def test_the_sites_own_pages_come_from_the_settings(
    db_path: Path, site: list[dict[str, Any]], clock: FakeClock
) -> None:
    settings = site_settings(
        db_path, site__home_url="{base_url}/beranda/", site__section_url="{base_url}/kanal/{slug}/"
    )
    home, tiongkok = f"{BASE_URL}/beranda/", f"{BASE_URL}/kanal/berita/tiongkok/"
    async with serve(settings, clock) as (client, _):
        for scope, page in ((None, home), ("berita/tiongkok", tiongkok)):
            paths = feed_paths(scope)
            assert text(check_rss(await fetch(client, paths["rss"])).find("channel/link")) == page
            assert atom_link(check_atom(await fetch(client, paths["atom"])), "alternate").get("href") == page
            document = check_json(await fetch(client, paths["json"]))
            assert document["home_page_url"] == page
        item = next(i for i in document["items"] if i["_feedserver"]["section"]["path"] == "berita/tiongkok")
        assert item["_feedserver"]["section"]["url"] == tiongkok
        assert item["_feedserver"]["section"]["parents"][0]["url"] == f"{BASE_URL}/kanal/berita/"
        sitemap = parse_xml(await fetch(client, "/sitemap-sections.xml"))
    locs = {loc.text for loc in sitemap.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")}
    assert home in locs and tiongkok in locs
    assert all(loc.startswith((home, f"{BASE_URL}/kanal/")) for loc in locs)


@pytest.mark.anyio
async def test_a_renamed_parent_section_shows_in_its_subsections_feeds(
    db_path: Path, site: list[dict[str, Any]], clock: FakeClock
) -> None:
    """Items name their section's parents: a parent renamed by the CMS (plain SQL) is a
    change to every feed below it, even one whose scope does not hold the parent."""
    from tests.cms import cms_connection

    async with serve(site_settings(db_path), clock) as (client, app):
        before = check_json(await fetch(client, "/section/berita/tiongkok/feed.json"))
        assert {i["_feedserver"]["section"]["parents"][0]["title"] for i in before["items"]} == {"Berita"}
        with cms_connection(db_path, clock) as conn:
            conn.execute("UPDATE sections SET title = 'Warta' WHERE slug = 'berita'")
        await app.state.watcher.check()
        after = check_json(await fetch(client, "/section/berita/tiongkok/feed.json"))
        atom = check_atom(await fetch(client, "/section/berita/tiongkok/feed.atom"))
    assert {i["_feedserver"]["section"]["parents"][0]["title"] for i in after["items"]} == {"Warta"}
    labels = {c.get("label") for c in atom.iterfind("atom:entry/atom:category[@term='berita']", NS)}
    assert labels == {"Warta"}


@pytest.mark.anyio
async def test_a_parent_nobody_declared_is_named_from_its_path_in_every_format(
    db_path: Path, now: datetime, clock: FakeClock
) -> None:
    """The CMS wrote only `olahraga/sepakbola` (plain SQL): the parent follows from the path."""
    from tests.cms import cms_connection, publish

    write_records(db_path, [section("berita")])
    with cms_connection(db_path) as conn:
        conn.execute("INSERT INTO sections (slug, title) VALUES ('olahraga/sepak-bola', 'Sepak Bola')")
        publish(conn, "bola-1", now - timedelta(hours=1), section="olahraga/sepak-bola")
        conn.execute(
            "UPDATE articles SET source = 'Kantor Berita & Co', reading_time_minutes = 4, "
            "image_url = '/media/bola.webp', image_credit = 'Foto: 张伟' WHERE id = 'bola-1'"
        )
    async with serve(site_settings(db_path), clock) as (client, _):
        rss = check_rss(await fetch(client, "/section/olahraga/feed.rss"))
        atom = check_atom(await fetch(client, "/section/olahraga/feed.atom"))
        document = check_json(await fetch(client, "/section/olahraga/feed.json"))
    trail = [("olahraga/sepak-bola", "Sepak Bola"), ("olahraga", "olahraga")]
    item = rss.find("channel/item")
    assert [(c.get("label"), c.text) for c in item.findall("media:category", NS)] == [(t, p) for p, t in trail]
    assert item.findtext("dc:source", None, NS) == "Kantor Berita & Co"
    image_url = f"{BASE_URL}/media/bola.webp"  # root-relative: against the article's URL
    assert (item.find("enclosure").get("url"), item.find("enclosure").get("type")) == (image_url, "image/webp")
    entry = atom.find("atom:entry", NS)
    assert [(c.get("term"), c.get("label")) for c in entry.findall("atom:category", NS)][:2] == trail
    assert atom_link(entry, "enclosure").get("href") == image_url
    extension = document["items"][0]["_feedserver"]
    assert extension["section"] == {
        "path": "olahraga/sepak-bola",
        "title": "Sepak Bola",
        "url": f"{BASE_URL}/olahraga/sepak-bola",
        "parents": [{"path": "olahraga", "title": "olahraga", "url": f"{BASE_URL}/olahraga"}],
    }
    assert extension["reading_time_minutes"] == 4 and extension["source"] == "Kantor Berita & Co"
    assert extension["image"] == {"url": image_url, "credit": "Foto: 张伟", "type": "image/webp"}
    assert document["items"][0]["image"] == image_url


@pytest.mark.anyio
async def test_readers_find_the_hero_image_as_an_enclosure(
    db_path: Path, site: list[dict[str, Any]], clock: FakeClock
) -> None:
    """feedparser (what many readers are built on) reports the hero image as each entry's
    enclosure, in RSS and in Atom, and none for an article without one."""
    async with serve(site_settings(db_path), clock) as (client, _):
        documents = {fmt: await fetch(client, path) for fmt, path in feed_paths(None).items() if fmt != "json"}
    for fmt, content in documents.items():
        parsed = feedparser.parse(content)
        assert parsed.bozo == 0
        entries = {entry.link: entry for entry in parsed.entries}
        for record in articles_of(site):
            found = [(e.get("href"), e.get("type")) for e in entries[record["url"]].enclosures]
            expected = [(record["image"]["url"], record["image"]["type"])] if "image" in record else []
            assert found == expected, (fmt, record["id"])


@pytest.mark.anyio
async def test_an_image_type_the_cms_wrote_wrong_never_makes_an_invalid_enclosure(
    db_path: Path, now: datetime, clock: FakeClock
) -> None:
    """Written with plain SQL, past the importer's check: a type that is no media type is
    replaced by the one the URL's extension names, or left out (InvalidMIMEAttribute)."""
    from tests.cms import cms_connection, publish

    write_records(db_path, [section("berita/tiongkok", "Tiongkok")])
    cases = {
        "jpeg-kata": ("/m/a.jpg", "jpeg", "image/jpeg"),
        "besar": ("/m/b.png", "IMAGE/PNG", "image/png"),
        "spasi": ("/m/c", "image/ jpeg", None),
        "kosong": ("/m/d.gif", "", "image/gif"),
    }
    with cms_connection(db_path) as conn:
        for n, (article_id, (url, kind, _)) in enumerate(cases.items()):
            publish(conn, article_id, now - timedelta(hours=n + 1))
            conn.execute("UPDATE articles SET image_url = ?, image_type = ? WHERE id = ?", (url, kind, article_id))
    async with serve(site_settings(db_path), clock) as (client, _):
        rss = check_rss(await fetch(client, "/feed.rss"))
    found = {
        text(item.find("guid")).rsplit("/", 1)[-1]: item.find("enclosure") for item in rss.iterfind("channel/item")
    }
    for article_id, (_, _, expected) in cases.items():
        enclosure = found[article_id]
        assert (enclosure.get("type") if enclosure is not None else None) == expected, article_id
