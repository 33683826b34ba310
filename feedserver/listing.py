"""Which URLs a sitemap may list: the one rule, shared by the queries that count
a file's URLs and the writer that lists them, so no file the index names is empty.

sitemaps.org, "Sitemap file location": a sitemap lists only URLs on its own
origin (the scheme and host of site.base_url, spelt as there); sitemap.xsd's
tLoc allows at most 2,048 characters, counted in the URI a <loc> holds, after
percent-encoding (one non-ASCII character may become 12).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from feedserver.text import uri

MAX_URL_LENGTH = 2048
# Percent-encoding makes at most 3 characters of a byte: a URL of this many
# UTF-8 bytes or fewer fits whatever it holds (the queries test this first, and
# call sitemap_url_length only for longer ones).
ALWAYS_SHORT_BYTES = MAX_URL_LENGTH // 3
# A section path as its feed URL holds it (/section/{slug}/feed.rss): words of
# a-z and 0-9 joined by one '-' or '_', levels by '/'. schema.sql refuses other
# slugs (schema version 2) with the same rule, written as GLOBs.
SECTION_SLUG = r"[a-z0-9]+(?:[-_][a-z0-9]+)*(?:/[a-z0-9]+(?:[-_][a-z0-9]+)*)*"
_SECTION_SLUG = re.compile(SECTION_SLUG)


def is_section_slug(slug: str) -> bool:
    """May this section be linked to? A slug outside the grammar (`Luar Negeri`)
    would put feed links that 404 on the front page and in the sitemap."""
    return _SECTION_SLUG.fullmatch(slug) is not None


# A URL made only of characters a URI may hold as they are (no brackets, no
# spaces, no quotes, ASCII) and with '%' only as an escape: uri() would return it
# unchanged. Most are like this; the check is 10x cheaper than uri().
_PLAIN_URI = re.compile(r"[A-Za-z0-9\-._~:/?#@!$&'()*+,;=%]*")
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def sitemap_uri(url: str) -> str:
    """The URI a sitemap's <loc> holds for `url` (before XML escaping): an xsd:anyURI."""
    if not _PLAIN_URI.fullmatch(url) or ("%" in url and _STRAY_PERCENT.search(url)):
        # A '%' that starts no escape is a literal one: an xsd:anyURI needs it as %25.
        url = _STRAY_PERCENT.sub("%25", uri(url))
    return url


def sitemap_url_length(url: object) -> int:
    """Characters of the <loc> for `url` (registered as an SQL function on the
    server's connections, so the queries count with this very rule)."""
    return len(sitemap_uri(url)) if isinstance(url, str) else MAX_URL_LENGTH + 1


def site_origin(base_url: str) -> str:
    """`scheme://host[:port]/` of the base URL, as written there."""
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}/"


class SameHost:
    """May a sitemap list this URL? Only one on the site's own origin: the scheme
    and host of the sitemap's own location (sitemaps.org, "Sitemap file location"),
    spelt as in site.base_url, and no longer than sitemap.xsd allows. The
    queries count with the same rule (queries.ON_HOST)."""

    def __init__(self, base_url: str) -> None:
        self.prefix = site_origin(base_url)

    def __call__(self, url: str) -> bool:
        # As the query tests it (queries.ON_HOST): short in UTF-8 bytes (a
        # character is at most 4), or short once percent-encoded.
        return url.startswith(self.prefix) and (
            len(url) <= ALWAYS_SHORT_BYTES // 4
            or len(url.encode()) <= ALWAYS_SHORT_BYTES
            or sitemap_url_length(url) <= MAX_URL_LENGTH
        )
