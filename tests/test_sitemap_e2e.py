"""A crawler's view against a real uvicorn process: robots.txt, then its Sitemap
lines, parsed by a real sitemap parser (ultimate-sitemap-parser)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from usp.objects.sitemap import InvalidSitemap
from usp.tree import sitemap_tree_for_homepage

from tests.conftest import REPO, article, section, write_records
from tests.sitemap_checks import expected_urls

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(base: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"feedserver exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("feedserver did not start")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`python -m feedserver serve` on a free port, with base_url on that same origin."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    db_path = tmp_path / "site.sqlite"
    write_records(db_path, [section("berita")])
    env = {
        **os.environ,
        "FEEDSERVER_DATABASE_PATH": str(db_path),
        "FEEDSERVER_SITE_BASE_URL": base,
        "FEEDSERVER_SERVER_PORT": str(port),
        "FEEDSERVER_CACHE_REFRESH_SECONDS": "0.1",
        "FEEDSERVER_SITEMAPS_PAGE_SIZE": "5",
        "FEEDSERVER_SITEMAPS_NEWS_PAGE_SIZE": "3",
    }
    env.pop("FEEDSERVER_CONFIG", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "feedserver", "serve"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(base, process)
        yield base, db_path
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def site(base: str, now: datetime) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = [section("berita"), section("berita/tiongkok"), section("ekonomi")]
    for n in range(23):
        records.append(
            article(
                f"a-{n}",
                now - timedelta(hours=7 * n),  # several days: news pages and day files both
                section="ekonomi" if n % 3 else "berita/tiongkok",
                url=f"{base}/{'ekonomi' if n % 3 else 'berita/tiongkok'}/a-{n}",
                image={"url": f"https://img.example.id/{n}.jpg"} if n % 2 else None,
            )
        )
    records += [
        article("draft", now - timedelta(hours=2), status="draft", url=f"{base}/x/draft"),
        article("future", now + timedelta(days=1), url=f"{base}/x/future"),
        article("other-host", now - timedelta(hours=3), url="https://elsewhere.example/x"),
    ]
    return records


def test_a_crawler_finds_every_live_article(server: tuple[str, Path]) -> None:
    base, db_path = server
    now = datetime.now().astimezone().replace(microsecond=0)
    records = site(base, now)
    write_records(db_path, records)
    expected = expected_urls(records, now, base_url=base)
    deadline = time.monotonic() + 10
    while f"{base}/ekonomi<" not in httpx.get(f"{base}/sitemap-sections.xml").text:  # the import was seen
        assert time.monotonic() < deadline, "the import never showed"
        time.sleep(0.1)
    tree = sitemap_tree_for_homepage(f"{base}/", use_known_paths=False)
    sitemaps = list(tree.all_sitemaps())
    assert not [s for s in sitemaps if isinstance(s, InvalidSitemap)], [str(s) for s in sitemaps]
    found = {page.url for page in tree.all_pages()}
    assert found == expected
    assert any(getattr(page, "news_story", None) for page in tree.all_pages())
    urls = {s.url for s in sitemaps}
    assert f"{base}/sitemap.xml" in urls and f"{base}/news-sitemap.xml" in urls
