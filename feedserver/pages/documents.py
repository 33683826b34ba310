"""The documents of the pages: each scope's HTML page, /feeds.opml, the stylesheet
and the XSL. Cached, compressed and answered like the feeds (feedserver.cache,
feedserver.http), with signatures the change check compares."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path

from feedserver.body import Body
from feedserver.config import Settings
from feedserver.db import ReadPool
from feedserver.documents import FeedDocument, scope_keys
from feedserver.feeds import FeedScope, ItemCache
from feedserver.origin.keys import SITE, section_chain
from feedserver.pages.i18n import Labels
from feedserver.pages.opml import render_opml
from feedserver.pages.render import (
    ENV,
    INDEX_LABELS,
    INDEX_PATHS,
    OPML_PATH,
    STYLE_PATH,
    Index,
    Link,
    index_signature,
    newest_terms,
    page_path,
    render_index,
    render_page,
    scope_title,
    section_title,
    section_tree,
    term_index,
    tree_signature,
)
from feedserver.state import ScopeId, SiteState
from feedserver.stylesheet import STYLESHEET_PATH
from feedserver.text import xml_safe

HTML_MEDIA_TYPE = "text/html; charset=utf-8"
OPML_MEDIA_TYPE = "text/x-opml; charset=utf-8"
HERE = Path(__file__).parent
# How many tags and authors the site page names (the most recently written about);
# /tags/ and /authors/ list them all.
HOME_INDEX_ENTRIES = 30


def home_indexes(state: SiteState, settings: Settings) -> tuple[Index, ...]:
    return tuple(term_index(kind, state, settings, newest=HOME_INDEX_ENTRIES) for kind in INDEX_PATHS)


def ancestors(slug: str) -> list[str]:
    """`berita/tiongkok/ekonomi` -> [`berita`, `berita/tiongkok`]."""
    parts = slug.split("/")
    return ["/".join(parts[:n]) for n in range(1, len(parts))]


@dataclass(frozen=True)
class PageDocument:
    """The page of a scope (/ for the site, /section/{path}/): what its feed lists, for a person."""

    scope: FeedScope
    items: ItemCache | None = field(default=None, compare=False, hash=False)

    @property
    def key(self) -> str:
        return page_path(self.scope)

    def exists(self, state: SiteState) -> bool:
        return self.scope.exists(state)

    def signature(self, state: SiteState) -> Hashable:
        # The scope's signature covers what its feed shows; a section page also
        # shows its ancestors' titles, the site's page the newest tags and authors.
        section = self.scope.section
        crumbs = () if section is None else tuple(section_title(s, state) for s in ancestors(section))
        if self.scope.kind != "site":
            return ("page", self.scope.signature(state), crumbs)
        newest = tuple(
            tuple((t.slug, t.name) for t in newest_terms(kind, state, HOME_INDEX_ENTRIES)) for kind in INDEX_PATHS
        )
        return ("page", self.scope.signature(state), tree_signature(state), newest)

    def surrogate_keys(self, state: SiteState) -> tuple[str, ...]:
        """Its feed's key; a section page also names its parents' (its breadcrumb), the
        site's page every section, tag and author (SITE: any of them touches it)."""
        if self.scope.section is not None:
            return tuple(dict.fromkeys([*scope_keys(self.scope), *section_chain(self.scope.section)]))
        return scope_keys(self.scope)

    async def render(self, pool: ReadPool, settings: Settings, state: SiteState) -> Body:
        found = await FeedDocument(self.scope, "rss", self.items).feed(pool, settings, state, settings["pages.items"])
        section = self.scope.section
        base = settings.base_url
        labels = Labels(settings["site.language"])
        title = scope_title(self.scope, state, settings)
        breadcrumb: list[Link] = []
        if self.scope.kind != "site":
            breadcrumb.append(Link(labels["home"], base + "/"))
        if section is not None:
            breadcrumb += [
                Link(section_title(s, state), base + page_path(FeedScope.of_section(s))) for s in ancestors(section)
            ]
        elif self.scope.kind in INDEX_PATHS:
            breadcrumb.append(Link(labels[INDEX_LABELS[self.scope.kind]], base + INDEX_PATHS[self.scope.kind]))
        indexes = home_indexes(state, settings) if self.scope.kind == "site" else ()

        def write() -> bytes:  # in the cache's worker thread
            feed = found.build()
            return render_page(self.scope, feed, state, settings, title, feed.description, breadcrumb, indexes)

        return Body(write, self.scope.last_modified(state), HTML_MEDIA_TYPE)


@dataclass(frozen=True)
class ScopedPageDocument(PageDocument):
    """A section's, tag's or author's page. It changes with its feed, so it says which
    scopes it depends on (those of its feed, which include the parent sections it
    names), and the change check looks at it only when one of them changed. The
    site's page says nothing (PageDocument): it is looked at after every change, as
    it shows every section and the newest tags and authors."""

    def depends_on(self, state: SiteState) -> tuple[ScopeId, ...]:
        return self.scope.depends_on(state)


def page_document(scope: FeedScope, items: ItemCache | None = None) -> PageDocument:
    return PageDocument(scope, items) if scope.kind == "site" else ScopedPageDocument(scope, items)


@dataclass(frozen=True)
class IndexDocument:
    """/tags/ and /authors/: every live tag or author, with its page and RSS feed."""

    kind: str  # "tag" or "author"

    @property
    def key(self) -> str:
        return INDEX_PATHS[self.kind]

    def exists(self, state: SiteState) -> bool:
        return True

    def signature(self, state: SiteState) -> Hashable:
        return ("index", index_signature(self.kind, state))

    def surrogate_keys(self, state: SiteState) -> tuple[str, ...]:
        return (SITE,)  # any tag or author change touches the site key too (origin.keys)

    async def render(self, pool: ReadPool, settings: Settings, state: SiteState) -> Body:
        index = term_index(self.kind, state, settings)
        terms = state.terms(self.kind).by_slug
        modified = max((terms[n.slug].last_modified for n in index.entries), default=0)
        return Body(render_index(index, settings), modified or FeedScope.site().last_modified(state), HTML_MEDIA_TYPE)


@dataclass(frozen=True)
class OpmlDocument:
    """/feeds.opml: every scope's RSS feed and page, sections nested (feedserver.pages.opml)."""

    key: str = OPML_PATH

    def exists(self, state: SiteState) -> bool:
        return True

    def signature(self, state: SiteState) -> Hashable:
        terms = tuple(index_signature(kind, state) for kind in INDEX_PATHS)
        return ("opml", tree_signature(state), terms, FeedScope.site().last_modified(state))

    def surrogate_keys(self, state: SiteState) -> tuple[str, ...]:
        return (SITE,)

    async def render(self, pool: ReadPool, settings: Settings, state: SiteState) -> Body:
        base = settings.base_url
        modified = FeedScope.site().last_modified(state)
        content = render_opml(
            xml_safe(settings["site.title"]),
            base + FeedScope.site().feed_path("rss"),
            base + "/",
            Labels(settings["site.language"])["sections"],
            section_tree(state, settings),
            tuple(term_index(kind, state, settings) for kind in INDEX_PATHS),
            modified,
        )
        return Body(content, modified, OPML_MEDIA_TYPE)


@dataclass(frozen=True)
class AssetDocument:
    """A file the pages and the XSL use: the stylesheet, or the XSL rendered with the
    site's labels. Their bytes depend on the installed package and the settings only;
    dated by the file's modification time (the same in every worker)."""

    key: str

    def exists(self, state: SiteState) -> bool:
        return self.key in ASSETS

    def signature(self, state: SiteState) -> Hashable:
        return ("asset", self.key)

    def surrogate_keys(self, state: SiteState) -> tuple[str, ...]:
        return ()  # the package and the settings only: purged with `all`

    async def render(self, pool: ReadPool, settings: Settings, state: SiteState) -> Body:
        source, media_type = ASSETS[self.key]
        modified = int(source.stat().st_mtime)
        if source.suffix == ".xsl":
            labels = Labels(settings["site.language"])
            content = (
                ENV.get_template(source.name)
                .render(
                    lang=settings["site.language"],
                    labels=labels,
                    site_title=xml_safe(settings["site.title"]),
                    home_url=settings.base_url + "/",
                    stylesheet_url=settings.base_url + STYLE_PATH,
                )
                .encode("utf-8")
            )
        else:
            content = source.read_bytes()
        return Body(content, modified, media_type)


ASSETS = {
    STYLE_PATH: (HERE / "static" / "style.css", "text/css; charset=utf-8"),
    # text/xsl: the type browsers load an xml-stylesheet's XSLT under (with nosniff too).
    STYLESHEET_PATH: (HERE / "templates" / "feed.xsl", "text/xsl; charset=utf-8"),
}
