"""Sitemap rules (sitemaps.org 0.9 and Google's news and image extensions): the
XSDs, absolute same-site URLs, the protocol's limits, no lastmod in the future."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lxml import etree

import feedserver.check.schemas as schemas
from feedserver.check.report import Report

SM = "{" + schemas.SITEMAP_NS + "}"
MAX_URLS = 50_000  # sitemaps.org: at most 50,000 URLs and 50 MB (uncompressed) per file
MAX_BYTES = 50 * 1024 * 1024
SKEW_SECONDS = 300


def check_sitemap(body: bytes, url: str, now: float, report: Report) -> list[str]:
    """Validate one sitemap file; returns the child sitemaps an index lists."""
    try:
        root: Any = etree.fromstring(body, schemas.PARSER)
    except etree.XMLSyntaxError as exc:
        report.error(url, f"ill-formed XML: {exc}")
        return []
    if len(body) > MAX_BYTES:
        report.error(url, f"{len(body):,} bytes: over the sitemap protocol's 50 MB")
    if root.tag == f"{SM}sitemapindex":
        schema, entry = schemas.sitemapindex(), "sitemap"
    elif root.tag == f"{SM}urlset":
        schema, entry = schemas.urlset(), "url"
    else:
        report.error(url, f"not a sitemap: the root element is {root.tag}")
        return []
    # An empty urlset is what a news sitemap with no recent article is; the
    # XSD's "at least one url" is the one rule not applied to it.
    if len(root) or entry == "sitemap":
        for error in schemas.xml_errors(schema, root):
            report.error(url, f"schema (sitemaps.org XSD): {error}")
    entries = root.findall(f"{SM}{entry}")
    if len(entries) > MAX_URLS:
        report.error(url, f"{len(entries):,} entries: over the sitemap protocol's 50,000")
    relative = [loc for loc in (e.findtext(f"{SM}loc", "").strip() for e in entries) if "://" not in loc]
    if relative:
        report.error(url, f"{len(relative)} relative loc(s), e.g. {relative[0]!r}: sitemaps need absolute URLs")
    for element in entries:
        lastmod = element.findtext(f"{SM}lastmod")
        try:
            moment = datetime.fromisoformat(lastmod.strip().replace("Z", "+00:00")) if lastmod else None
        except ValueError:
            continue  # the XSD reported it
        if moment is not None:
            moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            if moment.timestamp() > now + SKEW_SECONDS:
                report.warning(url, f"lastmod in the future: {lastmod}")
                break
    if entry == "sitemap":
        return [e.findtext(f"{SM}loc", "").strip() for e in entries]
    return []
