"""Pages for people: each scope's HTML page, the OPML subscription list, and the
stylesheet and XSL that make feeds and sitemaps readable in a browser.

They are documents like the feeds (cached, compressed, conditional GET, re-rendered
by the change check through their signatures); routes.py picks them by URL.
"""

from feedserver.pages.documents import ASSETS, AssetDocument, OpmlDocument, PageDocument
from feedserver.pages.render import OPML_PATH, STYLE_PATH, page_path

__all__ = ["ASSETS", "OPML_PATH", "STYLE_PATH", "AssetDocument", "OpmlDocument", "PageDocument", "page_path"]
