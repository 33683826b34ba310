"""HTML pages from the feed model, through Jinja2 templates with autoescaping.

A page lists what its scope's feed lists (feedserver.documents.FeedDocument.feed):
the same items, built once per article revision, so a page and its feed never
disagree. Everything here is plain data in and bytes out: no HTTP, no cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from jinja2 import Environment, PackageLoader, StrictUndefined

from feedserver.config import Settings
from feedserver.feeds import FeedScope
from feedserver.listing import is_section_slug
from feedserver.model import Feed, FeedItem
from feedserver.pages.i18n import Labels
from feedserver.state import SiteState, TermState
from feedserver.text import xml_safe

ENV = Environment(
    loader=PackageLoader("feedserver.pages", "templates"),
    autoescape=True,  # every template: text from the CMS is never markup here
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
STYLE_PATH = "/assets/style.css"
OPML_PATH = "/feeds.opml"
FEED_TYPES = (
    ("rss", "RSS", "application/rss+xml"),
    ("atom", "Atom", "application/atom+xml"),
    ("json", "JSON Feed", "application/feed+json"),
)


def page_path(scope: FeedScope) -> str:
    """Where a scope's page is: the folder of its feeds (/feed.rss is the site's, at /)."""
    return scope.feed_path("rss").removesuffix("feed.rss")


@dataclass(frozen=True)
class Link:
    title: str
    url: str
    type: str = ""


@dataclass(frozen=True)
class Node:
    """A section in the tree: its page, its RSS feed, its subsections."""

    slug: str
    title: str
    url: str
    rss: str
    children: tuple[Node, ...] = ()
    atom: str = ""
    json: str = ""


def section_title(slug: str, state: SiteState) -> str:
    """A section's title; a parent nobody declared is titled from its slug (as in feeds.build_feed)."""
    section = state.sections.get(slug)
    return xml_safe(section.title) if section else slug.rsplit("/", 1)[-1].replace("-", " ")


def all_sections(state: SiteState) -> list[str]:
    """Every section with a feed: the declared ones and the parents their paths imply."""
    slugs: set[str] = set()
    for slug in state.sections:
        parts = slug.split("/")
        slugs.update("/".join(parts[:n]) for n in range(1, len(parts) + 1))
    return sorted(slugs)


def section_tree(state: SiteState, settings: Settings, below: str | None = None) -> tuple[Node, ...]:
    """The sections under `below` (None: the whole site), nested as their paths nest."""
    slugs = all_sections(state)

    def children(parent: str | None) -> tuple[Node, ...]:
        depth = 0 if parent is None else parent.count("/") + 1
        prefix = "" if parent is None else parent + "/"
        return tuple(
            node(slug) for slug in slugs if slug.startswith(prefix) and slug.count("/") == depth and slug != parent
        )

    def node(slug: str) -> Node:
        scope = FeedScope.of_section(slug)
        base = settings.base_url
        return Node(
            slug,
            section_title(slug, state),
            base + page_path(scope),
            base + scope.feed_path("rss"),
            children(slug),
            base + scope.feed_path("atom"),
            base + scope.feed_path("json"),
        )

    return children(below)


def scope_title(scope: FeedScope, state: SiteState, settings: Settings) -> str:
    """The name a page is headed with: the site's, a section's, a tag's or an author's."""
    if scope.kind == "site":
        return xml_safe(settings["site.title"])
    if scope.section is not None:
        return section_title(scope.section, state)
    term = scope.term(state)
    return xml_safe(term.name) if term is not None else scope.key


INDEX_PATHS = {"tag": "/tags/", "author": "/authors/"}
INDEX_LABELS = {"tag": "tags", "author": "authors"}


def live_terms(kind: str, state: SiteState) -> list[TermState]:
    """The tags (or authors) that have a page and feeds: those with a live article
    (FeedScope.exists), by name, case and accents aside."""
    terms = [t for t in state.terms(kind).by_slug.values() if t.newest_published is not None]
    return sorted(terms, key=lambda t: (xml_safe(t.name).casefold(), t.slug))


def term_node(kind: str, term: TermState, settings: Settings) -> Node:
    scope = FeedScope(kind, term.slug)
    base = settings.base_url
    return Node(term.slug, xml_safe(term.name), base + page_path(scope), base + scope.feed_path("rss"))


def newest_terms(kind: str, state: SiteState, count: int) -> list[TermState]:
    """The `count` live tags (or authors) most recently written about, newest first."""
    return sorted(live_terms(kind, state), key=lambda t: (-t.last_modified, t.slug))[:count]


def term_index(kind: str, state: SiteState, settings: Settings, newest: int | None = None) -> Index:
    """Every live tag (or author) by name; or, with `newest`, that many of them, those
    most recently written about first (the site page's short list)."""
    terms = live_terms(kind, state) if newest is None else newest_terms(kind, state, newest)
    labels = Labels(settings["site.language"])
    return Index(
        f"{kind}s",
        labels[INDEX_LABELS[kind]],
        settings.base_url + INDEX_PATHS[kind],
        tuple(term_node(kind, t, settings) for t in terms),
    )


def index_signature(kind: str, state: SiteState) -> tuple[tuple[str, str], ...]:
    """What an index shows of its terms: for a document's signature."""
    return tuple((t.slug, t.name) for t in live_terms(kind, state))


def tree_signature(state: SiteState) -> tuple[tuple[str, str], ...]:
    """What section_tree shows: for a document's signature."""
    return tuple((slug, section_title(slug, state)) for slug in all_sections(state))


@dataclass(frozen=True)
class Index:
    """A kind of scope listed on the front page, in the OPML and on its own page
    (/tags/, /authors/): each entry with its page and RSS feed."""

    kind: str
    title: str
    url: str
    entries: tuple[Node, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Thumbnail:
    url: str
    alt: str
    credit: str
    width: int | None
    height: int | None


@dataclass(frozen=True, slots=True)
class ItemView:
    """An item as a page shows it: text and URLs ready for the template (attributes, not
    a dict: Jinja reads an attribute first, so this is its fast path)."""

    title: str
    url: str
    iso: str
    when: str
    section_title: str
    section_url: str  # "" when the section has no page (a slug no URL can hold)
    reading_time: str
    source: str
    authors: str
    image: Thumbnail | None
    summary: str
    lang: str


def _item(item: FeedItem, labels: Labels, settings: Settings) -> ItemView:
    section = item.categories[0] if item.categories else None
    image = None
    if item.image is not None:
        sized = bool(item.image.width and item.image.height)
        image = Thumbnail(
            url=item.image.url,
            # The caption describes the picture; with none, the picture only
            # repeats the title beside it: alt="" (WCAG H67).
            alt=item.image.caption,
            credit=item.image.credit,
            width=item.image.width if sized else None,
            height=item.image.height if sized else None,
        )
    base = settings.base_url
    section_url = base + "/"
    if section is not None:
        # A slug outside the URL grammar has no page (listing.is_section_slug): its title is shown unlinked.
        section_url = base + page_path(FeedScope.of_section(section.term)) if is_section_slug(section.term) else ""
    return ItemView(
        title=item.title,
        url=item.url,
        iso=item.published.isoformat(),
        when=labels.date(item.published),
        section_title=(section.label or section.term) if section else "",
        section_url=section_url,
        reading_time=labels.reading_time(item.reading_time_minutes) if item.reading_time_minutes > 0 else "",
        source=item.source,
        authors=", ".join(a.name for a in item.authors),
        image=image,
        summary=item.summary,
        lang=item.language,
    )


def _alternates(scope_feeds: dict[str, str], title: str, site: FeedScope | None, settings: Settings) -> list[Link]:
    """Autodiscovery: the page's own three feeds, then the site's (when the page is not the site's)."""
    site_title = xml_safe(settings["site.title"])
    links = [Link(f"{title} ({label})", scope_feeds[fmt], mime) for fmt, label, mime in FEED_TYPES]
    if site is not None:
        links += [
            Link(f"{site_title} ({label})", settings.base_url + site.feed_path(fmt), mime)
            for fmt, label, mime in FEED_TYPES
        ]
    return links


def render_page(
    scope: FeedScope,
    feed: Feed,
    state: SiteState,
    settings: Settings,
    title: str,
    description: str,
    breadcrumb: Sequence[Link] = (),
    indexes: Sequence[Index] = (),
) -> bytes:
    """A scope's page: its newest items, how to subscribe, and (for the site) the section tree."""
    labels = Labels(settings["site.language"])
    base = settings.base_url
    site_title = xml_safe(settings["site.title"])
    is_site = scope.kind == "site"
    feeds = {fmt: base + scope.feed_path(fmt) for fmt, _, _ in FEED_TYPES}
    alternates = _alternates(feeds, title, None if is_site else FeedScope.site(), settings)
    if is_site:
        alternates.append(Link(f"{site_title} (OPML)", base + OPML_PATH, "text/x-opml"))
    context = {
        "lang": settings["site.language"],
        "labels": labels,
        "site": {"title": site_title, "url": base + "/", "logo": settings["site.logo"]},
        "page": {
            "title": title,
            "head_title": title if is_site else f"{title} – {site_title}",
            "description": description,
            "url": base + page_path(scope),
            "feeds": feeds,
        },
        "alternates": alternates,
        "stylesheet_url": base + STYLE_PATH,
        "breadcrumb": breadcrumb,
        "opml_url": base + OPML_PATH if is_site else "",
        "items": [_item(item, labels, settings) for item in feed.items],
        "tree": section_tree(state, settings) if is_site else (),
        "subsections": () if scope.section is None else section_tree(state, settings, scope.section),
        "indexes": indexes,
        "footer_links": _footer(labels, settings),
    }
    template = ENV.get_template("home.html" if is_site else "page.html")
    return template.render(context).encode("utf-8")


def render_index(index: Index, settings: Settings) -> bytes:
    """An index page (/tags/, /authors/): every entry with its page and RSS feed."""
    labels = Labels(settings["site.language"])
    base = settings.base_url
    site_title = xml_safe(settings["site.title"])
    site = FeedScope.site()
    context = {
        "lang": settings["site.language"],
        "labels": labels,
        "site": {"title": site_title, "url": base + "/", "logo": settings["site.logo"]},
        "page": {
            "title": index.title,
            "head_title": f"{index.title} – {site_title}",
            "description": index.title,
            "url": index.url,
            "feeds": {fmt: base + site.feed_path(fmt) for fmt, _, _ in FEED_TYPES},
        },
        "alternates": _alternates(
            {fmt: base + site.feed_path(fmt) for fmt, _, _ in FEED_TYPES}, site_title, None, settings
        ),
        "stylesheet_url": base + STYLE_PATH,
        "breadcrumb": [Link(labels["home"], base + "/")],
        "opml_url": "",
        "entries": index.entries,
        "footer_links": _footer(labels, settings),
    }
    return ENV.get_template("index.html").render(context).encode("utf-8")


def _footer(labels: Labels, settings: Settings) -> list[Link]:
    base = settings.base_url
    return [
        Link("OPML", base + OPML_PATH, "text/x-opml"),
        Link(labels["sitemap"], base + "/sitemap.xml"),
    ]
