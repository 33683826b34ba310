"""/feeds.opml: every feed of the site as an OPML 2.0 subscription list.

OPML 2.0 (http://opml.org/spec2.opml), "Subscription lists": an outline with
type="rss" carries text, title, xmlUrl (here the RSS feed) and htmlUrl (the
scope's page). Sections nest as their paths nest; grouping outlines (the
sections, tags and authors headings) carry only text. A reader importing it
subscribes to each feed once.
"""

from __future__ import annotations

from collections.abc import Sequence
from email.utils import formatdate

from lxml import etree

from feedserver.pages.render import Index, Node

DOCS = "http://opml.org/spec2.opml"


def _subscription(parent: etree._Element, title: str, rss: str, page: str) -> etree._Element:
    return etree.SubElement(parent, "outline", type="rss", text=title, title=title, xmlUrl=rss, htmlUrl=page)


def _sections(parent: etree._Element, nodes: Sequence[Node]) -> None:
    for node in nodes:
        _sections(_subscription(parent, node.title, node.rss, node.url), node.children)


def render_opml(
    title: str,
    site_rss: str,
    site_page: str,
    sections_heading: str,
    tree: Sequence[Node],
    indexes: Sequence[Index],
    modified: int,
) -> bytes:
    """The site first, then a group per kind: the section tree, then each index's entries."""
    opml = etree.Element("opml", version="2.0")
    head = etree.SubElement(opml, "head")
    etree.SubElement(head, "title").text = title
    if modified:
        etree.SubElement(head, "dateModified").text = formatdate(modified, usegmt=True)  # RFC 822, as OPML 2.0 says
    etree.SubElement(head, "docs").text = DOCS
    body = etree.SubElement(opml, "body")
    _subscription(body, title, site_rss, site_page)
    if tree:
        _sections(etree.SubElement(body, "outline", text=sections_heading), tree)
    for index in indexes:
        if index.entries:
            group = etree.SubElement(body, "outline", text=index.title)
            for entry in index.entries:
                _subscription(group, entry.title, entry.rss, entry.url)
    return bytes(etree.tostring(opml, xml_declaration=True, encoding="UTF-8", pretty_print=True))
