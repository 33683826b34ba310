"""Pages for people: each scope's HTML page, the OPML subscription list, and the
stylesheet and XSL that make feeds and sitemaps readable in a browser.

They are documents like the feeds (cached, compressed, conditional GET, re-rendered
by the change check through their signatures); routes.py picks them by URL.
"""

from feedserver.pages.documents import (
    ASSETS,
    AssetDocument,
    IndexDocument,
    OpmlDocument,
    PageDocument,
    ScopedPageDocument,
    page_document,
)
from feedserver.pages.render import INDEX_PATHS, OPML_PATH, STYLE_PATH, page_path

__all__ = [
    "ASSETS",
    "INDEX_PATHS",
    "OPML_PATH",
    "STYLE_PATH",
    "AssetDocument",
    "IndexDocument",
    "OpmlDocument",
    "PageDocument",
    "ScopedPageDocument",
    "page_document",
    "page_path",
]
