"""The `xml-stylesheet` processing instruction that makes RSS, Atom and sitemaps
readable in a browser.

The stylesheet itself is served by feedserver.pages; the core only names it, so
the writers need nothing from the pages. A processing instruction is ignored by
every feed reader and crawler (XML 1.0 section 2.6: it is for the application
named in it), and goes after the XML declaration, before the root element
(Associating Style Sheets with XML documents 1.0, section 2).
"""

from __future__ import annotations

from html import escape

STYLESHEET_PATH = "/assets/feed.xsl"


def stylesheet_pi(base_url: str) -> str:
    """The processing instruction naming the stylesheet by absolute URL (from site.base_url)."""
    href = escape(base_url + STYLESHEET_PATH, quote=True)
    return f'<?xml-stylesheet type="text/xsl" href="{href}"?>\n'


def with_stylesheet(xml: bytes, base_url: str) -> bytes:
    """`xml` with the processing instruction after its XML declaration (or first, without one)."""
    pi = stylesheet_pi(base_url).encode()
    if xml.startswith(b"<?xml "):
        end = xml.index(b"?>") + 2
        return xml[:end] + b"\n" + pi + xml[end:].lstrip(b"\n")
    return pi + xml
