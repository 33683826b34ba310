"""Real clients against a real uvicorn: newsboat subscribes through /feeds.opml, and
headless Chromium renders the pages, an RSS feed (through the XSL) and the sitemap
index. Screenshots are kept under test-artifacts/chromium/ (not committed).

The server's site.base_url is its own address here, so the URLs in the OPML, the
pages and the xml-stylesheet lead back to it (a browser applies an XSL only from the
document's own origin)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree, html

from tests.conftest import REPO, article, section, write_records
from tests.uvicorn_process import HOST, RunningServer, free_port, running_server

pytestmark = pytest.mark.e2e
ARTIFACTS = REPO / "test-artifacts" / "chromium"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def program(name: str) -> str:
    """The program's path; a skip where it is missing, but a failure in CI (.ci/run installs it)."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is missing in CI: .ci/run installs it")
        pytest.skip(f"{name} is not installed (Debian package {name})")
    return path


def site_records(now: datetime) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = [
        section("berita", "Berita"),
        section("berita/tiongkok", "Tiongkok"),
        section("ekonomi", "Ekonomi"),
    ]
    titles = [
        ("berita/tiongkok", "Kereta 高铁 baru ke Shenzhen"),
        ("berita/tiongkok", "Panda 熊猫 lahir di Chengdu"),
        ("berita", "Ringkasan pagi: 北京 dan Jakarta"),
        ("ekonomi", "Yuan 人民币 menguat tipis"),
        ("ekonomi", "Ekspor teh 绿茶 naik"),
    ]
    for n, (slug, title) in enumerate(titles):
        tags = ["Kereta api"] if "Kereta" in title or "Ekspor" in title else ["熊猫"] if "Panda" in title else []
        authors = [{"name": "Wang Lei 王磊"}] if n % 2 else [{"name": "Sari Wijaya"}]
        records.append(
            article(f"a-{n}", now - timedelta(hours=n + 1), section=slug, title=title, tags=tags, authors=authors)
        )
    records.append(article("draf", now - timedelta(hours=1), title="RAHASIA 秘密", status="draft"))
    return records


def expected(now: datetime, scope: str | None) -> set[str]:
    """Titles of the live articles of the site (None), a section (its path), a tag
    ("tag:NAME") or an author ("author:NAME")."""

    def within(record: dict[str, Any]) -> bool:
        if scope is None:
            return True
        if scope.startswith("tag:"):
            return scope[4:] in record["tags"]
        if scope.startswith("author:"):
            return scope[7:] in [a["name"] for a in record["authors"]]
        return bool(record["section"] == scope or record["section"].startswith(scope + "/"))

    return {
        r["title"] for r in site_records(now) if r.get("type") == "article" and r["status"] == "published" and within(r)
    }


def start(db_path: Path, workdir: Path, now: datetime) -> Any:
    write_records(db_path, site_records(now))
    port = free_port()
    return running_server(db_path, workdir, {"site.base_url": f"http://{HOST}:{port}"}, port=port)


def newsboat(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """newsboat with its own files under `home` (no user configuration leaks in)."""
    command = [program("newsboat"), "-C", str(home / "config"), "-u", str(home / "urls"), "-c", str(home / "cache.db")]
    result = subprocess.run(
        [*command, *args],
        env={**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home), "XDG_DATA_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result
    return result


def fresh_home(path: Path) -> Path:
    path.mkdir()
    (path / "config").write_text("")
    (path / "urls").write_text("")
    return path


def items_by_feed(cache: Path) -> dict[str, set[str]]:
    with sqlite3.connect(cache) as conn:
        rows = conn.execute("SELECT feedurl, title FROM rss_item WHERE deleted = 0").fetchall()
    found: dict[str, set[str]] = {}
    for feed, title in rows:
        found.setdefault(feed, set()).add(title)
    return found


def test_newsboat_subscribes_through_the_opml_and_reads_every_feed(
    tmp_path: Path, db_path: Path, now: datetime
) -> None:
    program("newsboat")
    with start(db_path, tmp_path, now) as server:
        opml = httpx.get(server.url + "/feeds.opml").content
        xml_urls = [o.get("xmlUrl") for o in etree.fromstring(opml).iter("outline") if o.get("xmlUrl")]
        home = fresh_home(tmp_path / "newsboat")
        (home / "feeds.opml").write_bytes(opml)
        newsboat(home, "-i", str(home / "feeds.opml"))
        subscribed = [line.split()[0] for line in (home / "urls").read_text().splitlines() if line.strip()]
        assert subscribed == xml_urls
        assert f"{server.url}/section/berita/tiongkok/feed.rss" in subscribed
        newsboat(home, "-x", "reload")
        with sqlite3.connect(home / "cache.db") as conn:
            titles = dict(conn.execute("SELECT rssurl, title FROM rss_feed").fetchall())
        assert titles[f"{server.url}/feed.rss"] == "Kabar Tiongkok"
        assert titles[f"{server.url}/section/berita/tiongkok/feed.rss"] == "Tiongkok – Kabar Tiongkok"
        # newsboat keeps an item once however many feeds list it (by guid, the same
        # in every feed): together the feeds hold every live article.
        assert set().union(*items_by_feed(home / "cache.db").values()) == expected(now, None)
        assert f"{server.url}/tag/kereta-api/feed.rss" in subscribed
        assert f"{server.url}/author/wang-lei-wanglei/feed.rss" in subscribed
        # Each feed read alone: exactly its articles, Chinese characters intact.
        paths = {
            None: "/feed.rss",
            "berita": "/section/berita/feed.rss",
            "ekonomi": "/section/ekonomi/feed.rss",
            "tag:熊猫": "/tag/xiongmao/feed.rss",
            "tag:Kereta api": "/tag/kereta-api/feed.rss",
            "author:Wang Lei 王磊": "/author/wang-lei-wanglei/feed.rss",
        }
        for scope, path in paths.items():
            url = server.url + path
            alone = fresh_home(tmp_path / f"newsboat-{scope}")
            (alone / "urls").write_text(url + "\n")
            newsboat(alone, "-x", "reload")
            assert items_by_feed(alone / "cache.db") == {url: expected(now, scope)}, scope


def chromium(server: RunningServer, profile: Path, *args: str) -> str:
    """Run headless Chromium with a fresh profile; its standard output."""
    result = subprocess.run(
        [program("chromium"), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.parametrize(
    ("name", "path", "scope"),
    [
        ("home", "/", None),
        ("section", "/section/berita/", "berita"),
        ("rss", "/section/ekonomi/feed.rss", "ekonomi"),
        ("sitemap-index", "/sitemap.xml", "sitemaps"),
    ],
)
def test_chromium_renders_pages_feeds_and_sitemaps(
    tmp_path: Path, db_path: Path, now: datetime, name: str, path: str, scope: str | None
) -> None:
    program("chromium")
    with start(db_path, tmp_path, now) as server:
        url = server.url + path
        dom = html.fromstring(chromium(server, tmp_path / "profile-dom", "--dump-dom", url))
        text = dom.text_content()
        if scope == "sitemaps":
            # The XSL ran: the index's sitemaps are links in an HTML list.
            index = etree.fromstring(httpx.get(url).content)
            locs = [loc.text for loc in index.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
            assert locs and set(locs) <= {a.get("href") for a in dom.iter("a")}
        else:
            titles = {a.text_content() for a in dom.iter("h3")}
            assert titles == expected(now, scope), titles
        assert "RAHASIA" not in text
        assert dom.get("lang") == "id"
        if path.endswith(".rss"):  # rendered through the XSL: a link to the feed's page
            assert f"{server.url}/section/ekonomi/" in {a.get("href") for a in dom.iter("a")}
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / f"{name}.png"
        shot.unlink(missing_ok=True)
        chromium(server, tmp_path / "profile-shot", "--window-size=412,1400", f"--screenshot={shot}", url)
        assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
