"""The pages for people (/, /section/{path}/), /feeds.opml, the XSL, and the
browser variant of RSS and Atom: in-process, over a real SQLite file, parsed
with lxml (HTML, OPML, XSLT through libxslt: the engine Chromium runs) and
feedparser."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import feedparser
import html5lib
import httpx
import pytest
from lxml import etree, html

from feedserver.documents import FeedDocument
from feedserver.feeds import FeedScope
from feedserver.http import prefers_html
from feedserver.pages.i18n import LANGUAGES, MONTHS
from feedserver.pages.opml import render_opml
from feedserver.pages.render import Index, Node, render_index, render_page
from tests.cms import cms_connection, publish
from tests.conftest import BASE_URL, REPO, FakeClock, article, make_settings, section, serve, write_records

IDENTITY = {"Accept-Encoding": "identity"}
CHROMIUM = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8"
FIREFOX = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
FEEDPARSER = (
    "application/atom+xml,application/rdf+xml,application/rss+xml,application/x-netcdf,"
    "application/xml;q=0.9,text/xml;q=0.2,*/*;q=0.1"
)
BROWSER = {**IDENTITY, "Accept": CHROMIUM}


def records(now: datetime) -> list[dict[str, Any]]:
    """A small site: nested sections, one article with every field, one hostile title."""
    return [
        section("berita", "Berita"),
        section("berita/tiongkok", "Tiongkok", "Kabar dari 中国."),
        section("ekonomi", "Ekonomi"),
        article(
            "lengkap",
            now - timedelta(hours=1),
            title="Kereta cepat 高铁 tiba di Shenzhen",
            summary="Ringkasan tentang 深圳.",
            image={
                "url": "https://example.id/media/kereta.jpg",
                "caption": "Kereta di stasiun 深圳北",
                "credit": "Dok.",
            },
            source="Kantor Berita Antara",
            reading_time_minutes=4,
            authors=[{"name": "Sari Wijaya"}, {"name": "Budi 王"}],
        ),
        article("tanpa-gambar", now - timedelta(hours=2), section="berita", title="Pasar <script>alert(1)</script>"),
        article("ekonomi-1", now - timedelta(hours=3), section="ekonomi", title="Yuan 人民币 menguat"),
        article("rahasia", now - timedelta(hours=1), status="draft", title="RAHASIA draf"),
        article("nanti", now + timedelta(hours=5), title="Terjadwal nanti"),
    ]


@pytest.fixture
def site(db_path: Path, now: datetime) -> Path:
    write_records(db_path, records(now))
    return db_path


def path_of(url: str) -> str:
    assert url.startswith(BASE_URL + "/"), url  # absolute, from site.base_url
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def page(content: bytes) -> Any:
    return html.fromstring(content)


async def get_page(client: httpx.AsyncClient, path: str) -> Any:
    response = await client.get(path, headers=IDENTITY)
    assert response.status_code == 200, (path, response.status_code)
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    return page(response.content)


@pytest.mark.anyio
async def test_the_site_page_lists_the_newest_items_with_every_field(site: Path, clock: FakeClock) -> None:
    async with serve(make_settings(site), clock) as (client, _app):
        doc = await get_page(client, "/")
        feed = feedparser.parse((await client.get("/feed.rss")).content)
    assert doc.get("lang") == "id"
    # Landmarks, and one h1.
    for landmark in ("header", "main", "footer", "nav"):
        assert doc.findall(f".//{landmark}"), landmark
    assert [h.text_content() for h in doc.findall(".//h1")] == ["Kabar Tiongkok"]
    items = doc.findall(".//ol[@class='items']/li/article")
    # The same items as the feed, in the same order; never a draft or a scheduled one.
    assert [a.findtext("h3/a") for a in items] == [e.title for e in feed.entries]
    assert [a.find("h3/a").get("href") for a in items] == [e.link for e in feed.entries]
    text = doc.text_content()
    assert "RAHASIA" not in text and "Terjadwal" not in text
    first = items[0]
    assert first.findtext("h3/a") == "Kereta cepat 高铁 tiba di Shenzhen"
    when = first.find(".//time")
    published = datetime.fromisoformat(when.get("datetime"))
    assert published.utcoffset() == timedelta(hours=7)  # site.timezone, Asia/Jakarta
    month = MONTHS["id"][published.month - 1]
    assert when.text == f"{published.day} {month} {published.year}, {published.hour:02d}.{published.minute:02d} WIB"
    meta = first.find("p[@class='meta']").text_content()
    assert "4 menit baca" in meta
    section_link = first.find("p[@class='meta']/a")
    assert (section_link.text, section_link.get("href")) == ("Tiongkok", f"{BASE_URL}/section/berita/tiongkok/")
    credit = first.find("p[@class='credit']").text_content()
    assert "Oleh Sari Wijaya, Budi 王" in credit and "Sumber: Kantor Berita Antara" in credit and "Foto: Dok." in credit
    image = first.find("img")
    assert image.get("src") == "https://example.id/media/kereta.jpg"
    assert image.get("alt") == "Kereta di stasiun 深圳北"
    # Every image has an alt attribute (empty when it has no caption: WCAG H67).
    assert all(img.get("alt") is not None for img in doc.iter("img"))
    # CMS text is text: the hostile title is escaped, no script element appears.
    assert not doc.findall(".//script")
    assert any(a.findtext("h3/a") == "Pasar <script>alert(1)</script>" for a in items)


@pytest.mark.anyio
async def test_how_to_subscribe_is_on_every_page(site: Path, clock: FakeClock) -> None:
    async with serve(make_settings(site), clock) as (client, _app):
        for path, feed in (("/", "/feed"), ("/section/berita/tiongkok/", "/section/berita/tiongkok/feed")):
            doc = await get_page(client, path)
            box = doc.find(".//section[@class='subscribe']")
            assert box is not None
            assert "Umpan (feed)" in box.text_content()  # what a feed is, in the site's language
            field = box.find(".//input[@id='feed-url']")
            assert field.get("value") == f"{BASE_URL}{feed}.rss" and field.get("readonly") is not None
            assert box.find(".//label[@for='feed-url']") is not None
            links = {a.get("type"): a.get("href") for a in box.findall(".//a")}
            assert links["application/rss+xml"] == f"{BASE_URL}{feed}.rss"
            assert links["application/atom+xml"] == f"{BASE_URL}{feed}.atom"
            assert links["application/feed+json"] == f"{BASE_URL}{feed}.json"
            assert doc.find(".//link[@rel='canonical']").get("href") == BASE_URL + path
            og = {m.get("property"): m.get("content") for m in doc.findall(".//meta[@property]")}
            assert og["og:url"] == BASE_URL + path and og["og:title"] and og["og:locale"] == "id_ID"


@pytest.mark.anyio
async def test_the_site_page_shows_the_section_tree(site: Path, clock: FakeClock) -> None:
    async with serve(make_settings(site), clock) as (client, _app):
        doc = await get_page(client, "/")
        tree = doc.find(".//nav[@class='tree']")

        def walk(ul: Any) -> list[Any]:
            return [
                (li.find("a").text, li.find("a").get("href"), walk(li.find("ul")) if li.find("ul") is not None else [])
                for li in ul.findall("li")
            ]

        assert walk(tree.find("ul")) == [
            ("Berita", f"{BASE_URL}/section/berita/", [("Tiongkok", f"{BASE_URL}/section/berita/tiongkok/", [])]),
            ("Ekonomi", f"{BASE_URL}/section/ekonomi/", []),
        ]
        # A section page: breadcrumb to its ancestors, its subsections, only its articles.
        doc = await get_page(client, "/section/berita/")
        crumbs = [a.get("href") for a in doc.findall(".//nav[@class='breadcrumb']//a")]
        assert crumbs == [f"{BASE_URL}/"]
        assert [a.text for a in doc.findall(".//nav[@class='tree']/ul/li/a")][:1] == ["Tiongkok"]
        titles = [a.text for a in doc.findall(".//ol[@class='items']/li/article/h3/a")]
        assert "Yuan 人民币 menguat" not in titles and "Kereta cepat 高铁 tiba di Shenzhen" in titles
        doc = await get_page(client, "/section/berita/tiongkok/")
        crumbs = [a.text for a in doc.findall(".//nav[@class='breadcrumb']//a")]
        assert crumbs == ["Beranda", "Berita"]
        for bad in ("/section/nope/", "/section/berita", "/section/berita//", "/section/Berita/"):
            response = await client.get(bad)
            assert 400 <= response.status_code < 500, bad


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("language", "reading", "html_lang"),
    [
        ("en", "4 min read", "en"),
        ("en-GB", "4 min read", "en-GB"),
        ("fr", "4 min read", "fr"),
        ("id-ID", "4 menit baca", "id-ID"),
    ],
)
async def test_labels_and_dates_follow_the_site_language(
    site: Path, clock: FakeClock, language: str, reading: str, html_lang: str
) -> None:
    async with serve(make_settings(site, site__language=language), clock) as (client, _app):
        doc = await get_page(client, "/")
    assert doc.get("lang") == html_lang
    first = doc.find(".//ol[@class='items']/li/article")
    assert reading in first.find("p[@class='meta']").text_content()
    when = first.find(".//time")
    published = datetime.fromisoformat(when.get("datetime"))
    code = "id" if language.startswith("id") else "en"  # French has no labels: English
    separator = "." if code == "id" else ":"
    month = MONTHS[code][published.month - 1]
    assert (
        when.text
        == f"{published.day} {month} {published.year}, {published.hour:02d}{separator}{published.minute:02d} WIB"
    )


def test_every_language_has_every_label() -> None:
    for code, labels in LANGUAGES.items():
        assert set(labels) == set(LANGUAGES["en"]), code
        assert len(MONTHS[code]) == 12


@pytest.mark.anyio
async def test_autodiscovery_links_found_the_way_readers_find_them_all_answer(site: Path, clock: FakeClock) -> None:
    """As feed readers do it (feedparser's and newsboat's discovery: <link rel="alternate">
    with a feed type in the head), then each is fetched and parsed."""
    async with serve(make_settings(site), clock) as (client, _app):
        for path, own in (("/", "/feed"), ("/section/berita/", "/section/berita/feed")):
            doc = await get_page(client, path)
            found = [
                (link.get("type"), link.get("href"), link.get("title"))
                for link in doc.head.findall("link")
                if "alternate" in (link.get("rel") or "").lower().split()
            ]
            feeds = [(kind, href) for kind, href, _ in found if kind != "text/x-opml"]
            expected = [
                ("application/rss+xml", f"{BASE_URL}{own}.rss"),
                ("application/atom+xml", f"{BASE_URL}{own}.atom"),
                ("application/feed+json", f"{BASE_URL}{own}.json"),
            ]
            if path != "/":  # its own three, then the site's
                expected += [(k, h.replace(own, "/feed")) for k, h in expected]
            assert feeds == expected
            assert all(title for _, _, title in found)
            opml = [href for kind, href, _ in found if kind == "text/x-opml"]
            assert opml == ([f"{BASE_URL}/feeds.opml"] if path == "/" else [])
            for kind, href, _ in found:
                response = await client.get(path_of(href), headers=IDENTITY)
                assert response.status_code == 200, href
                assert response.headers["content-type"].split(";")[0] == kind
                if kind == "application/feed+json":
                    assert json.loads(response.content)["items"]
                elif kind == "text/x-opml":
                    assert etree.fromstring(response.content).tag == "opml"
                else:
                    parsed = feedparser.parse(response.content)
                    assert parsed.bozo == 0 and parsed.entries, href


def links_of(doc: Any) -> list[str]:
    return [
        element.get(attribute)
        for element, attribute in [(e, "href") for e in doc.iter("a", "link")] + [(e, "src") for e in doc.iter("img")]
        if element.get(attribute)
    ]


@pytest.mark.anyio
async def test_every_link_on_every_page_answers_200(site: Path, clock: FakeClock, now: datetime) -> None:
    """Crawl every HTML page from /, following every link the server serves. The
    articles' own URLs and their images are the CMS's (on the same host), not ours:
    they are the ones the feeds list, checked against the records instead."""
    articles = {r["url"] for r in records(now) if r.get("type") == "article"}
    images = {r["image"]["url"] for r in records(now) if "image" in r}
    async with serve(make_settings(site), clock) as (client, _app):
        seen: set[str] = set()
        queue = ["/"]
        pages = 0
        while queue:
            path = queue.pop()
            if path in seen:
                continue
            seen.add(path)
            response = await client.get(path, headers=IDENTITY)
            assert response.status_code == 200, (path, response.status_code)
            if response.headers["content-type"].startswith("text/html"):
                pages += 1
                for url in links_of(page(response.content)):
                    if url.startswith("#"):
                        continue
                    if url in images:
                        continue
                    if url in articles:
                        assert url.startswith(BASE_URL + "/")
                        continue
                    queue.append(path_of(url))
        assert pages >= 4  # /, /section/berita/, /section/berita/tiongkok/, /section/ekonomi/
        for path in seen:
            response = await client.get(path, headers=IDENTITY)
            if response.headers["content-type"].startswith("text/html"):
                # Conforming HTML: no parse error under the WHATWG algorithm.
                parser = html5lib.HTMLParser(strict=True)
                parser.parse(response.content)
                assert parser.errors == [], (path, parser.errors)
        assert {"/feeds.opml", "/assets/style.css", "/sitemap.xml", "/section/ekonomi/feed.json"} <= seen


@pytest.mark.anyio
async def test_opml_lists_every_feed_nested_as_sections_nest(site: Path, clock: FakeClock) -> None:
    async with serve(make_settings(site), clock) as (client, _app):
        response = await client.get("/feeds.opml", headers=IDENTITY)
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/x-opml; charset=utf-8"
        opml = etree.fromstring(response.content, etree.XMLParser(resolve_entities=False, no_network=True))
        assert (opml.tag, opml.get("version")) == ("opml", "2.0")
        assert opml.findtext("head/title") == "Kabar Tiongkok"
        body = opml.find("body")
        for outline in body.iter("outline"):
            if outline.get("type") == "rss":
                assert set(outline.attrib) == {"type", "text", "title", "xmlUrl", "htmlUrl"}
                assert outline.get("text") == outline.get("title")
                assert outline.get("xmlUrl").endswith("/feed.rss")
                assert outline.get("htmlUrl") == outline.get("xmlUrl").removesuffix("feed.rss")
                for url in (outline.get("xmlUrl"), outline.get("htmlUrl")):
                    assert (await client.get(path_of(url))).status_code == 200, url
            else:  # a grouping outline
                assert set(outline.attrib) == {"text"} and len(outline)

        def tree(element: Any) -> list[Any]:
            return [(o.get("text"), o.get("xmlUrl"), tree(o)) for o in element.findall("outline")]

        assert tree(body) == [
            ("Kabar Tiongkok", f"{BASE_URL}/feed.rss", []),
            (
                "Rubrik",
                None,
                [
                    (
                        "Berita",
                        f"{BASE_URL}/section/berita/feed.rss",
                        [("Tiongkok", f"{BASE_URL}/section/berita/tiongkok/feed.rss", [])],
                    ),
                    ("Ekonomi", f"{BASE_URL}/section/ekonomi/feed.rss", []),
                ],
            ),
            ("Topik", None, [("tiongkok", f"{BASE_URL}/tag/tiongkok/feed.rss", [])]),
            (
                "Penulis",
                None,
                [
                    ("Budi 王", f"{BASE_URL}/author/budi-wang/feed.rss", []),
                    ("Sari Wijaya", f"{BASE_URL}/author/sari-wijaya/feed.rss", []),
                ],
            ),
        ]
        # Linked from / too, not only discoverable.
        doc = await get_page(client, "/")
        assert f"{BASE_URL}/feeds.opml" in [a.get("href") for a in doc.findall(".//main//a")]


@pytest.mark.parametrize(
    ("accept", "browser"),
    [
        (CHROMIUM, True),
        (FIREFOX, True),
        ("text/html", True),
        ("text/html;q=0.9, application/rss+xml;q=0.5", True),
        (FEEDPARSER, False),
        ("*/*", False),
        ("", False),
        ("application/rss+xml, text/html", False),  # equal: the registered type wins
        ("text/html;q=0, */*", False),
        ("application/*, text/html;q=0.5", False),
        ("TEXT/HTML", True),
        ("text/html;q=abc", False),
        (",,;;q=;", False),
    ],
)
def test_a_browser_is_told_apart_by_accept(accept: str, browser: bool) -> None:
    assert prefers_html(accept.encode(), "application/rss+xml") is browser


@pytest.mark.anyio
@pytest.mark.parametrize("path", ["/feed.rss", "/section/berita/feed.atom"])
async def test_a_browser_gets_the_same_bytes_as_application_xml(site: Path, clock: FakeClock, path: str) -> None:
    registered = {"rss": "application/rss+xml", "atom": "application/atom+xml"}[path.rsplit(".", 1)[1]]
    async with serve(make_settings(site), clock) as (client, app):
        for round_ in ("miss", "hit"):  # the first request renders; the second is the fast path's hit
            reader = await client.get(path, headers=IDENTITY)
            browser = await client.get(path, headers=BROWSER)
            feed_reader = await client.get(path, headers={**IDENTITY, "Accept": FEEDPARSER})
            assert (
                reader.headers["content-type"] == feed_reader.headers["content-type"] == f"{registered}; charset=utf-8"
            )
            assert browser.headers["content-type"] == "application/xml; charset=utf-8", round_
            assert browser.content == reader.content == feed_reader.content
            assert reader.headers["vary"] == browser.headers["vary"] == "Accept, Accept-Encoding"
            assert browser.headers["etag"] != reader.headers["etag"] == feed_reader.headers["etag"]
            assert browser.headers["etag"].endswith('-xsl"')
        assert app.state.service.cache.renders == 1  # one version, two variants
        gz = await client.get(path, headers={"Accept": FIREFOX, "Accept-Encoding": "gzip"})
        assert gz.headers["etag"].endswith('-xsl-gz"') and gz.headers["content-type"].startswith("application/xml")
        # Conditional GET per variant: each one's own ETag is fresh, the other's is not
        # (a shared cache must not relabel one variant's copy as the other).
        again = await client.get(path, headers={**BROWSER, "If-None-Match": browser.headers["etag"]})
        assert again.status_code == 304 and again.headers["etag"] == browser.headers["etag"]
        assert again.headers["vary"] == "Accept, Accept-Encoding"
        crossed = await client.get(path, headers={**IDENTITY, "If-None-Match": browser.headers["etag"]})
        assert crossed.status_code == 200 and crossed.headers["content-type"].startswith(registered)
        crossed = await client.get(path, headers={**BROWSER, "If-None-Match": reader.headers["etag"]})
        assert crossed.status_code == 200 and crossed.headers["content-type"].startswith("application/xml")
        head = await client.head(path, headers=BROWSER)
        assert head.headers["content-type"].startswith("application/xml") and head.content == b""
        # Other documents do not vary: JSON Feed, pages, sitemaps (already application/xml).
        for other in ("/feed.json", "/", "/sitemap.xml", "/feeds.opml"):
            response = await client.get(other, headers=BROWSER)
            assert response.headers["vary"] == "Accept-Encoding", other


SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
XSL_PI = f'<?xml-stylesheet type="text/xsl" href="{BASE_URL}/assets/feed.xsl"?>'


@pytest.mark.anyio
async def test_feeds_and_sitemaps_carry_the_stylesheet_and_it_renders_them(site: Path, clock: FakeClock) -> None:
    async with serve(make_settings(site), clock) as (client, _app):
        xsl = await client.get("/assets/feed.xsl", headers=IDENTITY)
        assert xsl.status_code == 200 and xsl.headers["content-type"] == "text/xsl; charset=utf-8"
        transform = etree.XSLT(etree.fromstring(xsl.content, etree.XMLParser(resolve_entities=False, no_network=True)))
        index = await client.get("/sitemap.xml", headers=IDENTITY)
        children = [path_of(loc.text) for loc in etree.fromstring(index.content).iter("{*}loc")]
        for path in ("/feed.rss", "/section/berita/feed.rss", "/section/berita/feed.atom", "/sitemap.xml", *children):
            response = await client.get(path, headers=IDENTITY)
            lines = response.content.split(b"\n")
            assert lines[0].startswith(b"<?xml ") and lines[1].decode() == XSL_PI, path
            document = etree.fromstring(response.content)
            pis = [
                node for node in document.itersiblings(preceding=True) if isinstance(node, etree._ProcessingInstruction)
            ]
            assert [pi.get("href") for pi in pis] == [f"{BASE_URL}/assets/feed.xsl"]
            result = html.fromstring(str(transform(document)))
            assert result.get("lang") == "id"
            anchors = {a.get("href"): a.text_content() for a in result.iter("a")}
            if path.startswith("/section/berita/"):
                # The feed's items, and a link to its page.
                parsed = feedparser.parse(response.content)
                assert parsed.bozo == 0
                titles = [h.text_content() for h in result.iter("h3")]
                assert titles == [e.title for e in parsed.entries] and "Kereta cepat 高铁 tiba di Shenzhen" in titles
                assert anchors[f"{BASE_URL}/section/berita/"] == "Buka halaman umpan ini"
                assert result.find(".//input").get("value") == f"{BASE_URL}{path}"
            elif path == "/feed.rss":
                assert anchors[f"{BASE_URL}/"]
            else:
                locs = [loc.text for loc in document.iter(f"{{{SITEMAP_NS}}}loc")]
                assert locs and set(locs) <= set(anchors)
        json_feed = await client.get("/feed.json")
        assert b"xml-stylesheet" not in json_feed.content


@pytest.mark.anyio
async def test_pages_are_cached_and_re_rendered_only_when_what_they_show_changes(
    site: Path, clock: FakeClock, now: datetime
) -> None:
    paths = ("/", "/section/berita/", "/section/berita/tiongkok/", "/section/ekonomi/", "/feeds.opml")
    async with serve(make_settings(site), clock) as (client, app):
        first = {p: await client.get(p, headers=IDENTITY) for p in paths}
        for path, response in first.items():
            again = await client.get(path, headers={**IDENTITY, "If-None-Match": response.headers["etag"]})
            assert again.status_code == 304, path
            assert response.headers["last-modified"] and "max-age" in response.headers["cache-control"]
        renders = app.state.service.cache.renders
        assert await app.state.watcher.check() is False
        assert app.state.service.cache.renders == renders
        with cms_connection(site, clock) as conn:
            publish(conn, "baru", now - timedelta(minutes=1), section="berita/tiongkok", title="Berita baru 新闻")
        assert await app.state.watcher.check() is True
        after = {p: await client.get(p, headers=IDENTITY) for p in paths}
        for path in ("/", "/section/berita/", "/section/berita/tiongkok/"):
            assert after[path].headers["etag"] != first[path].headers["etag"], path
            assert "Berita baru 新闻" in after[path].text
        assert after["/section/ekonomi/"].headers["etag"] == first["/section/ekonomi/"].headers["etag"]
        # A new section shows in the tree and in the OPML.
        with cms_connection(site, clock) as conn:
            publish(conn, "olah", now - timedelta(minutes=1), section="olahraga/bola", title="Gol 进球")
        assert await app.state.watcher.check() is True
        home = await get_page(client, "/")
        assert f"{BASE_URL}/section/olahraga/bola/" in [a.get("href") for a in home.findall(".//nav[@class='tree']//a")]
        opml = await client.get("/feeds.opml", headers=IDENTITY)
        assert f"{BASE_URL}/section/olahraga/bola/feed.rss" in opml.text
        # A parent nobody declared still has its page.
        assert (await client.get("/section/olahraga/")).status_code == 200
        # The scheduled article shows by itself once its time comes, never before.
        assert "Terjadwal nanti" not in (await client.get("/", headers=IDENTITY)).text
        clock.advance(5 * 3600 + 1)
        assert await app.state.watcher.check() is True
        assert "Terjadwal nanti" in (await client.get("/", headers=IDENTITY)).text
        assert "Terjadwal nanti" in (await client.get("/section/berita/tiongkok/", headers=IDENTITY)).text


@pytest.mark.anyio
async def test_tag_and_author_indexes_show_on_the_site_page_their_own_page_and_the_opml(
    site: Path, clock: FakeClock
) -> None:
    """The templates for tags and authors, given their entries (the state that lists
    them plugs in here: Index)."""
    tags = Index(
        "tags",
        "Topik",
        f"{BASE_URL}/tags/",
        (Node("panda", "Panda 熊猫", f"{BASE_URL}/tag/panda/", f"{BASE_URL}/tag/panda/feed.rss"),),
    )
    authors = Index(
        "authors",
        "Penulis",
        f"{BASE_URL}/authors/",
        (Node("sari", "Sari <b>Wijaya</b>", f"{BASE_URL}/author/sari/", f"{BASE_URL}/author/sari/feed.rss"),),
    )
    settings = make_settings(site)
    async with serve(settings, clock) as (_client, app):
        service = app.state.service
        found = await FeedDocument(FeedScope.site(), "rss").feed(service.pool, settings, service.state, 20)
        feed = found.build()
        home = page(render_page(FeedScope.site(), feed, service.state, settings, "Kabar", "", (), (tags, authors)))
    clouds = home.findall(".//nav[@class='cloud']")
    assert [c.find("h2/a").get("href") for c in clouds] == [f"{BASE_URL}/tags/", f"{BASE_URL}/authors/"]
    assert [[a.text for a in c.findall("ul/li/a")] for c in clouds] == [["Panda 熊猫"], ["Sari <b>Wijaya</b>"]]
    index = page(render_index(authors, settings))
    assert index.findtext(".//h1") == "Penulis"
    assert [a.get("href") for a in index.findall(".//ul[@class='index']/li/a")] == [
        f"{BASE_URL}/author/sari/",
        f"{BASE_URL}/author/sari/feed.rss",
    ]
    assert not index.findall(".//b")  # escaped
    opml = etree.fromstring(
        render_opml("Kabar", f"{BASE_URL}/feed.rss", f"{BASE_URL}/", "Rubrik", (), (tags, authors), 0)
    )
    groups = opml.findall("body/outline")[1:]
    assert [(g.get("text"), [o.get("xmlUrl") for o in g]) for g in groups] == [
        ("Topik", [f"{BASE_URL}/tag/panda/feed.rss"]),
        ("Penulis", [f"{BASE_URL}/author/sari/feed.rss"]),
    ]


@pytest.mark.anyio
async def test_the_stylesheet_sends_an_archive_reader_to_the_subscription_document(
    site: Path, clock: FakeClock
) -> None:
    """An RFC 5005 archive names its subscription document rel="current": the page
    offers that address to copy, and links the feed's page, not the archive's folder."""
    archive = f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:fh="http://purl.org/syndication/history/1.0">
  <title>Berita – Kabar Tiongkok</title><id>tag:example.id,2025:section/berita</id>
  <updated>2025-06-30T10:00:00+07:00</updated>
  <fh:archive/>
  <link rel="self" href="{BASE_URL}/section/berita/archive/2025-06/feed.atom"/>
  <link rel="current" href="{BASE_URL}/section/berita/feed.atom"/>
  <entry><title>Arsip 旧闻</title><id>tag:example.id,2025:article/x</id><updated>2025-06-01T10:00:00+07:00</updated>
    <link rel="alternate" href="{BASE_URL}/berita/x"/></entry>
</feed>""".encode()
    async with serve(make_settings(site), clock) as (client, _app):
        xsl = (await client.get("/assets/feed.xsl")).content
    transform = etree.XSLT(etree.fromstring(xsl, etree.XMLParser(resolve_entities=False, no_network=True)))
    result = html.fromstring(str(transform(etree.fromstring(archive))))
    assert result.find(".//input").get("value") == f"{BASE_URL}/section/berita/feed.atom"
    assert f"{BASE_URL}/section/berita/" in {a.get("href") for a in result.iter("a")}
    assert [h.text_content() for h in result.iter("h3")] == ["Arsip 旧闻"]


def contrast(foreground: str, background: str) -> float:
    """WCAG 2.2 contrast ratio of two #rgb or #rrggbb colours."""

    def luminance(colour: str) -> float:
        digits = colour[1:] if len(colour) == 7 else "".join(c * 2 for c in colour[1:])
        channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_every_text_colour_of_the_stylesheet_has_aa_contrast_on_every_background() -> None:
    """WCAG 1.4.3 (AA): 4.5:1 for text. Every colour against every background the
    stylesheet sets (a pair that never meets only makes the test stricter)."""
    css = (REPO / "feedserver" / "pages" / "static" / "style.css").read_text()
    hex_colour = r"(#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b)"
    colours = set(re.findall(r"(?<![-\w])color:\s*" + hex_colour, css))
    backgrounds = set(re.findall(r"background:\s*" + hex_colour, css))
    assert len(colours) >= 5 and len(backgrounds) >= 3
    assert contrast("#777", "#fff") < 4.5  # the check can fail
    for colour in colours:
        for background in backgrounds:
            assert contrast(colour, background) >= 4.5, (colour, background)


@pytest.mark.anyio
async def test_a_page_lists_the_newest_pages_items_of_its_feed(site: Path, clock: FakeClock) -> None:
    async with serve(make_settings(site, pages__items=2), clock) as (client, _app):
        doc = await get_page(client, "/")
        feed = feedparser.parse((await client.get("/feed.rss")).content)
    assert len(feed.entries) == 3
    assert [a.text for a in doc.findall(".//ol[@class='items']/li/article/h3/a")] == [e.title for e in feed.entries[:2]]


@pytest.mark.anyio
async def test_tag_and_author_pages_and_their_indexes(db_path: Path, now: datetime, clock: FakeClock) -> None:
    records_ = [
        *records(now),
        article(
            "panda",
            now - timedelta(minutes=30),
            title="Panda 熊猫 baru",
            tags=["Panda", "北京"],
            authors=[{"name": "Dewi"}],
        ),
        article(
            "bocor", now - timedelta(minutes=5), status="draft", tags=["bocoran rahasia"], authors=[{"name": "Anon X"}]
        ),
    ]
    write_records(db_path, records_)
    async with serve(make_settings(db_path), clock) as (client, app):
        tags = await get_page(client, "/tags/")
        listed = [(a.text, a.get("href")) for a in tags.findall(".//ul[@class='index']/li/a[1]")]
        assert listed == [
            ("Panda", f"{BASE_URL}/tag/panda/"),
            ("tiongkok", f"{BASE_URL}/tag/tiongkok/"),
            ("北京", f"{BASE_URL}/tag/beijing/"),
        ]
        assert "bocoran" not in tags.text_content()  # known only from a draft: private
        assert (await client.get("/tag/bocoran-rahasia/")).status_code == 404
        authors = await get_page(client, "/authors/")
        assert "Dewi" in authors.text_content() and "Anon X" not in authors.text_content()

        doc = await get_page(client, "/tag/beijing/")
        assert doc.findtext(".//h1") == "北京"
        assert [a.text for a in doc.findall(".//nav[@class='breadcrumb']//a")] == ["Beranda", "Topik"]
        assert [a.text for a in doc.findall(".//ol[@class='items']/li/article/h3/a")] == ["Panda 熊猫 baru"]
        feeds = [link.get("href") for link in doc.head.findall("link[@rel='alternate']")]
        assert feeds[:3] == [f"{BASE_URL}/tag/beijing/feed.{fmt}" for fmt in ("rss", "atom", "json")]
        assert feeds[3:] == [f"{BASE_URL}/feed.{fmt}" for fmt in ("rss", "atom", "json")]
        doc = await get_page(client, "/author/dewi/")
        assert doc.findtext(".//h1") == "Dewi"
        assert doc.find(".//input[@id='feed-url']").get("value") == f"{BASE_URL}/author/dewi/feed.rss"
        # The site page names the tags and authors, and links the indexes.
        home = await get_page(client, "/")
        clouds = {
            c.find("h2/a").get("href"): [a.text for a in c.findall("ul/li/a")]
            for c in home.findall(".//nav[@class='cloud']")
        }
        assert set(clouds) == {f"{BASE_URL}/tags/", f"{BASE_URL}/authors/"}
        assert set(clouds[f"{BASE_URL}/tags/"]) == {"Panda", "北京", "tiongkok"}
        for bad in ("/tag/Panda/", "/tag/panda", "/tag/x y/", "/tags", "/author/"):
            assert 400 <= (await client.get(bad)).status_code < 500, bad

        # A write to one tag re-renders its pages, and leaves another author's page as it was.
        before = {
            p: await client.get(p, headers=IDENTITY) for p in ("/tag/panda/", "/author/dewi/", "/author/budi-wang/")
        }
        renders = app.state.service.cache.renders
        with cms_connection(db_path, clock) as conn:
            conn.execute("UPDATE articles SET title = 'Panda 熊猫 diganti' WHERE id = 'panda'")
        assert await app.state.watcher.check() is True
        after = {p: await client.get(p, headers=IDENTITY) for p in before}
        assert "Panda 熊猫 diganti" in after["/tag/panda/"].text and "Panda 熊猫 diganti" in after["/author/dewi/"].text
        assert after["/author/budi-wang/"].headers["etag"] == before["/author/budi-wang/"].headers["etag"]
        assert app.state.service.cache.renders > renders
