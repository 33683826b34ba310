"""Which URLs a sitemap may list: the one rule, shared by the queries that count
a file's URLs and the writer that lists them, so no file the index names is empty.

sitemaps.org, "Sitemap file location": a sitemap lists only URLs on its own
origin (the scheme and host of site.base_url, spelt as there); sitemap.xsd's
tLoc allows at most 2,048 characters.
"""

from __future__ import annotations

from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048


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
        # UTF-8 bytes, as the query counts them (a character is at most 4 bytes).
        return url.startswith(self.prefix) and (len(url) <= MAX_URL_LENGTH // 4 or len(url.encode()) <= MAX_URL_LENGTH)
