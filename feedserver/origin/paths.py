"""Every document a site state serves, so a purge by path can name each one a
change touched (for caches that purge by URL only, such as nginx)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from feedserver.documents import Document, FeedDocument
from feedserver.feeds import EXTENSIONS, FeedScope
from feedserver.origin.keys import ALL
from feedserver.pages import ASSETS, INDEX_PATHS, AssetDocument, IndexDocument, OpmlDocument, page_document
from feedserver.sitemaps import (
    ArticleSitemapDocument,
    NewsSitemapDocument,
    RobotsDocument,
    SectionsSitemapDocument,
    SitemapIndexDocument,
    section_pages,
)
from feedserver.state import SiteState


def all_documents(state: SiteState) -> Iterator[Document]:
    """The site's, every section path's (parents included), every live tag's and
    author's feeds and pages; the indexes, the OPML, the assets, robots.txt and
    every sitemap file."""
    yield RobotsDocument()
    yield OpmlDocument()
    yield from (AssetDocument(path) for path in ASSETS)
    yield from (IndexDocument(kind) for kind in INDEX_PATHS)
    sections = {"/".join(slug.split("/")[:n]) for slug in state.sections for n in range(1, slug.count("/") + 2)}
    scopes = [FeedScope.site(), *(FeedScope.of_section(section) for section in sorted(sections))]
    for kind in INDEX_PATHS:
        terms = state.terms(kind).by_slug.values()
        scopes += [FeedScope(kind, t.slug) for t in sorted(terms, key=lambda t: t.slug) if t.newest_published]
    for scope in scopes:
        yield page_document(scope)
        for fmt in EXTENSIONS:
            yield FeedDocument(scope, fmt)
    if state.archive is None:
        return
    yield SitemapIndexDocument()
    for page in range(1, len(section_pages(state)) + 1):
        yield SectionsSitemapDocument(page)
    for name in state.archive.files:
        yield ArticleSitemapDocument(name)
    yield NewsSitemapDocument()
    if state.archive.news.pages > 1:
        for page in range(1, state.archive.news.pages + 1):
            yield NewsSitemapDocument(page)


def paths_for_keys(keys: Iterable[str], *states: SiteState) -> list[str]:
    """The paths of the documents, in any of `states`, that carry one of `keys` (`all`: every one)."""
    wanted = set(keys)
    paths: dict[str, None] = {}
    for state in states:
        for document in all_documents(state):
            if ALL in wanted or wanted & set(document.surrogate_keys(state)):
                paths[document.key] = None
    return list(paths)
