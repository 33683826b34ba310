"""URL routes. They hold no SQL and no XML: they pick a document and let the
service and http.py answer. The URLs are a promise to subscribers; keep them."""

from __future__ import annotations

import re
from dataclasses import replace

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from feedserver.body import Gone
from feedserver.cache import Discarded
from feedserver.db import DatabaseUnavailable
from feedserver.documents import Document, FeedDocument
from feedserver.feeds import EXTENSIONS, FeedScope
from feedserver.history import ARCHIVE, PAGED, Page, parse_cursor, parse_month
from feedserver.http import NotModifiedResponse, RenderedResponse, is_not_modified
from feedserver.listing import SECTION_SLUG
from feedserver.openapi import OpenAPISchema
from feedserver.pages import ASSETS, INDEX_PATHS, AssetDocument, IndexDocument, OpmlDocument, page_document
from feedserver.service import FeedService
from feedserver.sitemaps import (
    ArticleSitemapDocument,
    NewsSitemapDocument,
    RobotsDocument,
    SectionsSitemapDocument,
    SitemapIndexDocument,
)

SLUG = SECTION_SLUG
SECTION_PATH = re.compile(rf"^(?P<slug>{SLUG})/feed\.(?P<fmt>rss|atom|json)$")
# A feed's history (feedserver.history): /archive/YYYY-MM/ and /page/YYYYMMDDTHHMMSSZ-N/
# before the file name. `archive` followed by a month is therefore never read
# as the end of a section path.
MONTH = r"[0-9]{4}-[0-9]{2}"
CURSOR = r"[0-9]{8}T[0-9]{6}Z-[1-9][0-9]{0,5}"
HISTORY_PATH = re.compile(
    rf"^(?P<slug>{SLUG})/(?:archive/(?P<month>{MONTH})|page/(?P<cursor>{CURSOR}))/feed\.(?P<fmt>rss|atom|json)$"
)
SECTION_PAGE = re.compile(rf"^(?P<slug>{SLUG})/$")
# feedserver.slugs: lower-case ASCII letters, digits and single hyphens (a stored
# slug may be longer than a derived one, so no length bound here).
TERM_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MONTH_PATH = re.compile(rf"^{MONTH}$")
CURSOR_PATH = re.compile(rf"^{CURSOR}$")
RETRY_AFTER_SECONDS = 30
SECTIONS_SITEMAP = re.compile(r"^sections(?:-(?P<page>[2-9]|[1-9][0-9]{1,5}))?$")
ARTICLES_SITEMAP = re.compile(r"^articles-[0-9]{4}-[0-9]{2}(?:-[0-9]{2}(?:-[1-9][0-9]{0,5})?)?$")
NEWS_PAGE = re.compile(r"^[1-9][0-9]{0,5}$")


def _service(request: Request) -> FeedService:
    service: FeedService = request.app.state.service
    return service


async def serve_document(
    request: Request, document: Document, missing: str = "Unknown section."
) -> Response | RenderedResponse | NotModifiedResponse:
    service = _service(request)
    try:
        if not document.exists(service.state):
            if (
                isinstance(document, FeedDocument)
                and document.page is not None
                and replace(document, page=None).exists(service.state)
            ):
                raise HTTPException(404, "No such page of this feed: follow the links of its feed.")
            raise HTTPException(404, missing)
        cached = service.cache.get(document.key)
        if cached is None:
            # Dropped from the cache but unchanged: a revalidation needs no render.
            validators = service.unchanged(document)
            if validators is not None and is_not_modified(validators, request.scope, service.clock()):
                return NotModifiedResponse(validators)
            if service.problem:
                raise DatabaseUnavailable(service.problem)
        rendered = cached or await service.serve(document)
    except Discarded:
        raise HTTPException(404, "Not found: it was removed while it was being prepared.") from None
    except Gone as exc:
        raise HTTPException(404, f"No such page of this feed ({exc}): follow the links of its feed.") from None
    except DatabaseUnavailable:
        # Cached documents are still served (stale-if-error); one never
        # rendered cannot be, until the database is back.
        return unavailable()
    return RenderedResponse(rendered, service.clock())


def unavailable() -> Response:
    return PlainTextResponse(
        "The feed database is unavailable; try again shortly.\n",
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"},
    )


async def home(request: Request) -> Response | RenderedResponse | NotModifiedResponse:
    """The site's page: its newest articles, how to subscribe, the section tree."""
    return await serve_document(request, page_document(FeedScope.site(), _service(request).items))


async def opml(request: Request) -> Response | RenderedResponse | NotModifiedResponse:
    return await serve_document(request, OpmlDocument())


def asset(path: str) -> Route:
    async def endpoint(request: Request) -> Response | RenderedResponse | NotModifiedResponse:
        return await serve_document(request, AssetDocument(path))

    return Route(path, endpoint, methods=["GET", "HEAD"])


def site_feed(fmt: str) -> Route:
    async def endpoint(request: Request) -> Response | RenderedResponse | NotModifiedResponse:
        return await serve_document(request, FeedDocument(FeedScope.site(), fmt, _service(request).items))

    return Route(f"/{EXTENSIONS[fmt]}", endpoint, methods=["GET", "HEAD"], name=f"site_feed_{fmt}")


def history_page(month: str | None, cursor: str | None) -> Page:
    """The page a history URL names; 404 for a month or moment that does not exist."""
    if month is not None:
        index = parse_month(month)
        if index is None:
            raise HTTPException(404, "No such month: archives are /archive/YYYY-MM/.")
        return Page(ARCHIVE, index)
    parsed = parse_cursor(cursor or "")
    if parsed is None:
        raise HTTPException(404, "No such page: pages are /page/YYYYMMDDTHHMMSSZ-N/ (UTC).")
    return Page(PAGED, *parsed)


def site_history(kind: str, fmt: str) -> Route:
    """/archive/YYYY-MM/feed.rss and /page/YYYYMMDDTHHMMSSZ-N/feed.rss (and .atom, .json)."""
    parameter = "month" if kind == ARCHIVE else "cursor"
    pattern = MONTH_PATH if kind == ARCHIVE else CURSOR_PATH

    async def endpoint(request: Request) -> Response | RenderedResponse | NotModifiedResponse:
        value: str = request.path_params[parameter]
        if not pattern.match(value):
            raise HTTPException(404, "Not a feed URL: follow the links of /feed.rss, /feed.atom or /feed.json.")
        page = history_page(value if kind == ARCHIVE else None, value if kind == PAGED else None)
        return await serve_document(request, FeedDocument(FeedScope.site(), fmt, _service(request).items, page))

    return Route(
        f"/{kind}/{{{parameter}}}/{EXTENSIONS[fmt]}", endpoint, methods=["GET", "HEAD"], name=f"site_{kind}_{fmt}"
    )


async def section_feed(request: Request) -> Response | RenderedResponse | NotModifiedResponse:
    """A section's page, /section/<section path>/; its feed: feed.rss, feed.atom or feed.json
    there; and its history: /section/<section path>/archive/YYYY-MM/feed.rss, .../page/.../feed.rss."""
    rest: str = request.path_params["rest"]
    items = _service(request).items
    if page := SECTION_PAGE.match(rest):
        return await serve_document(request, page_document(FeedScope.of_section(page["slug"]), items))
    if match := HISTORY_PATH.match(rest):
        history = history_page(match["month"], match["cursor"])
        return await serve_document(
            request, FeedDocument(FeedScope.of_section(match["slug"]), match["fmt"], items, history)
        )
    match = SECTION_PATH.match(rest)
    if match is None:
        raise HTTPException(
            404, "Not a section URL: use /section/<section path>/ or feed.rss, feed.atom or feed.json there."
        )
    return await serve_document(request, FeedDocument(FeedScope.of_section(match["slug"]), match["fmt"], items))


def term_feed(kind: str, fmt: str, history: str | None = None) -> Route:
    """A tag's or an author's feed: /tag/<slug>/feed.rss, /author/<slug>/feed.json...,
    and its history: /tag/<slug>/archive/YYYY-MM/feed.rss, /tag/<slug>/page/.../feed.rss."""
    parameter = {None: "", ARCHIVE: "month", PAGED: "cursor"}[history]
    missing = f"Unknown {kind}: /{kind}/<slug>/feed.rss, feed.atom or feed.json, with the {kind}'s slug."

    async def endpoint(request: Request) -> Response | RenderedResponse | NotModifiedResponse:
        slug: str = request.path_params["slug"]
        if not TERM_SLUG.match(slug):
            raise HTTPException(404, missing)
        page = None
        if history is not None:
            value: str = request.path_params[parameter]
            if not (MONTH_PATH if history == ARCHIVE else CURSOR_PATH).match(value):
                raise HTTPException(404, f"Not a feed URL: follow the links of /{kind}/{slug}/feed.rss.")
            page = history_page(value if history == ARCHIVE else None, value if history == PAGED else None)
        document = FeedDocument(FeedScope(kind, slug), fmt, _service(request).items, page)
        return await serve_document(request, document, missing)

    folder = "" if history is None else f"{history}/{{{parameter}}}/"
    return Route(
        f"/{kind}/{{slug}}/{folder}{EXTENSIONS[fmt]}",
        endpoint,
        methods=["GET", "HEAD"],
        name=f"{kind}_{history or 'feed'}_{fmt}",
    )


def term_page(kind: str) -> Route:
    """A tag's or an author's page: /tag/<slug>/, /author/<slug>/."""

    async def endpoint(request: Request) -> Response | RenderedResponse | NotModifiedResponse:
        slug: str = request.path_params["slug"]
        missing = f"Unknown {kind}: /{kind}/<slug>/, with the {kind}'s slug ({INDEX_PATHS[kind]} lists them)."
        if not TERM_SLUG.match(slug):
            raise HTTPException(404, missing)
        return await serve_document(request, page_document(FeedScope(kind, slug), _service(request).items), missing)

    return Route(f"/{kind}/{{slug}}/", endpoint, methods=["GET", "HEAD"], name=f"{kind}_page")


def term_index(kind: str) -> Route:
    async def endpoint(request: Request) -> Response | RenderedResponse | NotModifiedResponse:
        """Every tag (or author) with an article, with its page and feeds."""
        return await serve_document(request, IndexDocument(kind))

    return Route(INDEX_PATHS[kind], endpoint, methods=["GET", "HEAD"], name=f"{kind}_index")


async def healthz(request: Request) -> Response:
    service = _service(request)
    try:
        if service.problem:
            raise DatabaseUnavailable(service.problem)
        await service.pool.check_schema()
    except DatabaseUnavailable as exc:
        if exc.is_lock:
            # A CMS write in progress is a delay, not a fault (cached copies are
            # served meanwhile); every server reads the same file, so failing
            # here would take them all out of rotation at once.
            return PlainTextResponse(
                f"ok (waiting: {exc}){_left_out(service)}\n", headers={"Cache-Control": "no-store"}
            )
        return PlainTextResponse(f"unavailable: {exc}\n", status_code=503, headers={"Cache-Control": "no-store"})
    return PlainTextResponse(f"ok{_left_out(service)}\n", headers={"Cache-Control": "no-store"})


def _left_out(service: FeedService) -> str:
    """Rows the CMS wrote that break the contract are served around, not a fault:
    still 200, with their count (each is in the log with its id)."""
    count = service.rejects.count
    return f" ({count} database row(s) left out: see the log)" if count else ""


async def serve_sitemap(request: Request, document: Document) -> Response | RenderedResponse | NotModifiedResponse:
    if not document.exists(_service(request).state):
        raise HTTPException(404, "No such sitemap: /sitemap.xml and /news-sitemap.xml list them all.")
    return await serve_document(request, document)


async def robots(request: Request) -> Response | RenderedResponse | NotModifiedResponse:
    return await serve_document(request, RobotsDocument())


async def sitemap_index(request: Request) -> Response | RenderedResponse | NotModifiedResponse:
    return await serve_document(request, SitemapIndexDocument())


async def sitemap_child(request: Request) -> Response | RenderedResponse | NotModifiedResponse:
    """/sitemap-articles-2025-06.xml (-DD, -DD-N) and /sitemap-sections.xml (-N)."""
    name: str = request.path_params["name"]
    document: Document
    if ARTICLES_SITEMAP.match(name):
        document = ArticleSitemapDocument(name)
    elif match := SECTIONS_SITEMAP.match(name):
        document = SectionsSitemapDocument(int(match["page"] or 1))
    else:
        raise HTTPException(404, "No such sitemap: /sitemap.xml lists them all.")
    return await serve_sitemap(request, document)


async def news_sitemap(request: Request) -> Response | RenderedResponse | NotModifiedResponse:
    return await serve_document(request, NewsSitemapDocument())


async def news_sitemap_page(request: Request) -> Response | RenderedResponse | NotModifiedResponse:
    page: str = request.path_params["page"]
    if not NEWS_PAGE.match(page):
        raise HTTPException(404, "No such sitemap: /news-sitemap.xml lists them all.")
    return await serve_sitemap(request, NewsSitemapDocument(int(page)))


def _openapi_pattern(*patterns: re.Pattern[str]) -> str:
    """One JSON Schema pattern matching any of these (named groups are Python's only)."""
    return "^" + "|".join(f"(?:{re.sub(r'[?]P<[a-z]+>', '', p.pattern)[1:-1]})" for p in patterns) + "$"


# The description of the public routes: generated from ROUTES, with
# their path parameters described here, beside the patterns that judge them.
OPENAPI = OpenAPISchema(
    parameters={
        "rest": {
            "description": "A section path, then / for its page, the feed file (berita/tiongkok/feed.rss, .atom "
            "or .json), or a page of its history (berita/archive/2025-06/feed.rss).",
            "schema": {"type": "string", "pattern": _openapi_pattern(SECTION_PATH, SECTION_PAGE, HISTORY_PATH)},
            "example": "berita/feed.rss",
            "x-media-types": ["text/html", "application/rss+xml", "application/atom+xml", "application/feed+json"],
        },
        "slug": {
            "description": "A tag's or an author's slug: lower-case ASCII letters, digits and hyphens.",
            "schema": {"type": "string", "pattern": TERM_SLUG.pattern},
            "example": "tiongkok",
        },
        "name": {
            "description": "articles-YYYY-MM, articles-YYYY-MM-DD, articles-YYYY-MM-DD-N, sections or sections-N.",
            "schema": {"type": "string", "pattern": _openapi_pattern(ARTICLES_SITEMAP, SECTIONS_SITEMAP)},
            "example": "sections",
        },
        "month": {
            "description": "A month that is over, in the site's time zone: the feed's archive of it (RFC 5005).",
            "schema": {"type": "string", "pattern": _openapi_pattern(MONTH_PATH)},
            "example": "2025-06",
        },
        "cursor": {
            "description": "A UTC second and N: the page of the feed after the N-th article published then "
            "(RFC 5005 paging).",
            "schema": {"type": "string", "pattern": _openapi_pattern(CURSOR_PATH)},
            "example": "20250616T020400Z-1",
        },
        "page": {
            "description": "Page 2 and up of the news sitemap, as its index lists them.",
            "schema": {"type": "string", "pattern": _openapi_pattern(NEWS_PAGE)},
            "example": "2",
        },
    }
)

ROUTES = [
    Route("/", home, methods=["GET", "HEAD"]),
    *(site_feed(fmt) for fmt in EXTENSIONS),
    *(site_history(kind, fmt) for kind in (ARCHIVE, PAGED) for fmt in EXTENSIONS),
    Route("/section/{rest:path}", section_feed, methods=["GET", "HEAD"]),
    *(
        term_feed(kind, fmt, history)
        for kind in ("tag", "author")
        for history in (None, ARCHIVE, PAGED)
        for fmt in EXTENSIONS
    ),
    *(term_page(kind) for kind in ("tag", "author")),
    *(term_index(kind) for kind in ("tag", "author")),
    Route("/feeds.opml", opml, methods=["GET", "HEAD"]),
    *(asset(path) for path in ASSETS),
    Route("/healthz", healthz, methods=["GET", "HEAD"]),
    Route("/robots.txt", robots, methods=["GET", "HEAD"]),
    Route("/sitemap.xml", sitemap_index, methods=["GET", "HEAD"]),
    Route("/sitemap-{name}.xml", sitemap_child, methods=["GET", "HEAD"]),
    Route("/news-sitemap.xml", news_sitemap, methods=["GET", "HEAD"]),
    Route("/news-sitemap-{page}.xml", news_sitemap_page, methods=["GET", "HEAD"]),
    Route("/openapi.json", OPENAPI.endpoint, methods=["GET", "HEAD"], include_in_schema=False),
]
