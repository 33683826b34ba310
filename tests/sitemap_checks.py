"""Sitemap test helpers: XSD validation with the shipped schemas, a crawler that
follows the index from /sitemap.xml, and the URL set a site should list."""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from lxml import etree

from feedserver.text import uri
from tests.conftest import BASE_URL, SCHEMAS

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"
IMAGE = "{http://www.google.com/schemas/sitemap-image/1.1}"
PARSER = etree.XMLParser(resolve_entities=False, no_network=True)

# sitemap.xsd's wildcards are strict: a urlset with news or image elements only
# validates when their schemas are loaded too, so a small driver imports all
# three. siteindex.xsd shares sitemap.xsd's namespace: it is loaded on its own.
_DRIVER = f"""<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema">
  <xsd:import namespace="http://www.sitemaps.org/schemas/sitemap/0.9" schemaLocation="sitemap.xsd"/>
  <xsd:import namespace="{NEWS[1:-1]}" schemaLocation="sitemap-news.xsd"/>
  <xsd:import namespace="{IMAGE[1:-1]}" schemaLocation="sitemap-image.xsd"/>
</xsd:schema>"""
_schemas: dict[str, Any] = {}


def _schema(kind: str) -> Any:
    if kind not in _schemas:
        if kind == "urlset":
            driver = etree.fromstring(_DRIVER.encode(), base_url=(SCHEMAS / "driver.xsd").as_uri())
            _schemas[kind] = etree.XMLSchema(driver)
        else:
            _schemas[kind] = etree.XMLSchema(etree.parse(str(SCHEMAS / "siteindex.xsd")))
    return _schemas[kind]


def parse(content: bytes) -> Any:
    return etree.fromstring(content, PARSER)


def assert_valid(content: bytes, allow_empty: bool = False) -> Any:
    """Parse a sitemap file and validate it against its XSD; return the root."""
    root = parse(content)
    if root.tag == f"{SM}sitemapindex":
        schema = _schema("sitemapindex")
    else:
        assert root.tag == f"{SM}urlset", root.tag
        if allow_empty and len(root) == 0:
            return root  # the one case the XSD's "at least one url" does not apply
        schema = _schema("urlset")
    assert schema.validate(root), schema.error_log
    return root


@dataclass
class Crawl:
    """Every file reached from /sitemap.xml: path -> parsed root, and the URLs listed."""

    files: dict[str, Any] = field(default_factory=dict)
    urls: list[str] = field(default_factory=list)
    lastmods: dict[str, str] = field(default_factory=dict)
    images: dict[str, list[str]] = field(default_factory=dict)


def local_path(url: str, base_url: str = BASE_URL) -> str:
    assert url.startswith(base_url + "/"), url
    return url[len(base_url) :]


async def crawl(client: httpx.AsyncClient, start: str = "/sitemap.xml", base_url: str = BASE_URL) -> Crawl:
    """Follow a sitemap index (or a urlset) the way a crawler does, validating every file."""
    result = Crawl()
    todo = [start]
    while todo:
        path = todo.pop(0)
        response = await client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        assert response.headers["content-type"] == "application/xml; charset=utf-8"
        root = assert_valid(response.content)
        result.files[path] = root
        if root.tag == f"{SM}sitemapindex":
            for entry in root.iter(f"{SM}sitemap"):
                todo.append(local_path(entry.findtext(f"{SM}loc"), base_url))
            continue
        for entry in root.iter(f"{SM}url"):
            url = entry.findtext(f"{SM}loc")
            result.urls.append(url)
            result.lastmods[url] = entry.findtext(f"{SM}lastmod")
            result.images[url] = [i.findtext(f"{IMAGE}loc") for i in entry.iter(f"{IMAGE}image")]
    return result


def is_live(record: dict[str, Any], now: datetime) -> bool:
    return (
        record.get("type", "article") == "article"
        and record["status"] == "published"
        and datetime.fromisoformat(record["published_at"]) <= now
    )


def on_host(url: str, base_url: str = BASE_URL) -> bool:
    return urlsplit(url)[:2] == urlsplit(base_url)[:2]


def expected_urls(records: Iterable[dict[str, Any]], now: datetime, base_url: str = BASE_URL) -> set[str]:
    """Live on-host article URLs, the site's front page, and the front pages of sections
    with a live article in or below them."""
    records = list(records)
    live = [r for r in records if is_live(r, now)]
    urls = {uri(r["url"]) for r in live if on_host(r["url"], base_url)} | {f"{base_url}/"}
    # Every section with a live article in or below it; the importer declares
    # each level of a nested slug, so every ancestor is a section too.
    for record in live:
        parts = record["section"].split("/")
        urls.update(f"{base_url}/{'/'.join(parts[:n])}" for n in range(1, len(parts) + 1))
    return urls


def gunzip(content: bytes) -> bytes:
    return gzip.decompress(content)
