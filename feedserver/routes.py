"""URL routes. They hold no SQL and no XML: they pick a document and let the
service and http.py answer. The URLs are a promise to subscribers; keep them."""

from __future__ import annotations

import re

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from feedserver.db import DatabaseUnavailable
from feedserver.documents import Document, FeedDocument
from feedserver.feeds import EXTENSIONS, FeedScope
from feedserver.http import RenderedResponse
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

SECTION_PATH = re.compile(
    r"^(?P<slug>[a-z0-9]+(?:[-_][a-z0-9]+)*(?:/[a-z0-9]+(?:[-_][a-z0-9]+)*)*)/feed\.(?P<fmt>rss|atom|json)$"
)
SECTION_PAGE = re.compile(r"^(?P<slug>[a-z0-9]+(?:[-_][a-z0-9]+)*(?:/[a-z0-9]+(?:[-_][a-z0-9]+)*)*)/$")
# feedserver.slugs: lower-case ASCII letters, digits and single hyphens (a stored
# slug may be longer than a derived one, so no length bound here).
TERM_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
RETRY_AFTER_SECONDS = 30
SECTIONS_SITEMAP = re.compile(r"^sections(?:-(?P<page>[2-9]|[1-9][0-9]{1,5}))?$")
ARTICLES_SITEMAP = re.compile(r"^articles-[0-9]{4}-[0-9]{2}(?:-[0-9]{2}(?:-[1-9][0-9]{0,5})?)?$")
NEWS_PAGE = re.compile(r"^[1-9][0-9]{0,5}$")


def _service(request: Request) -> FeedService:
    service: FeedService = request.app.state.service
    return service


async def serve_document(
    request: Request, document: Document, missing: str = "Unknown section."
) -> Response | RenderedResponse:
    service = _service(request)
    try:
        if not document.exists(service.state):
            raise HTTPException(404, missing)
        cached = service.cache.get(document.key)
        if cached is None and service.problem:
            raise DatabaseUnavailable(service.problem)
        rendered = cached or await service.serve(document)
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


async def home(request: Request) -> Response | RenderedResponse:
    """The site's page: its newest articles, how to subscribe, the section tree."""
    return await serve_document(request, page_document(FeedScope.site(), _service(request).items))


async def opml(request: Request) -> Response | RenderedResponse:
    return await serve_document(request, OpmlDocument())


def asset(path: str) -> Route:
    async def endpoint(request: Request) -> Response | RenderedResponse:
        return await serve_document(request, AssetDocument(path))

    return Route(path, endpoint, methods=["GET", "HEAD"])


def site_feed(fmt: str) -> Route:
    async def endpoint(request: Request) -> Response | RenderedResponse:
        return await serve_document(request, FeedDocument(FeedScope.site(), fmt, _service(request).items))

    return Route(f"/{EXTENSIONS[fmt]}", endpoint, methods=["GET", "HEAD"], name=f"site_feed_{fmt}")


async def section_feed(request: Request) -> Response | RenderedResponse:
    """A section's page, /section/<section path>/, or its feed: feed.rss, feed.atom or feed.json there."""
    rest = request.path_params["rest"]
    if page := SECTION_PAGE.match(rest):
        return await serve_document(request, page_document(FeedScope.of_section(page["slug"]), _service(request).items))
    match = SECTION_PATH.match(rest)
    if match is None:
        raise HTTPException(
            404, "Not a section URL: use /section/<section path>/ or feed.rss, feed.atom or feed.json there."
        )
    document = FeedDocument(FeedScope.of_section(match["slug"]), match["fmt"], _service(request).items)
    return await serve_document(request, document)


def term_feed(kind: str, fmt: str) -> Route:
    """A tag's or an author's feed: /tag/<slug>/feed.rss, /author/<slug>/feed.json..."""

    async def endpoint(request: Request) -> Response | RenderedResponse:
        slug: str = request.path_params["slug"]
        missing = f"Unknown {kind}: /{kind}/<slug>/feed.rss, feed.atom or feed.json, with the {kind}'s slug."
        if not TERM_SLUG.match(slug):
            raise HTTPException(404, missing)
        document = FeedDocument(FeedScope(kind, slug), fmt, _service(request).items)
        return await serve_document(request, document, missing)

    return Route(f"/{kind}/{{slug}}/{EXTENSIONS[fmt]}", endpoint, methods=["GET", "HEAD"], name=f"{kind}_feed_{fmt}")


def term_page(kind: str) -> Route:
    """A tag's or an author's page: /tag/<slug>/, /author/<slug>/."""

    async def endpoint(request: Request) -> Response | RenderedResponse:
        slug: str = request.path_params["slug"]
        missing = f"Unknown {kind}: /{kind}/<slug>/, with the {kind}'s slug ({INDEX_PATHS[kind]} lists them)."
        if not TERM_SLUG.match(slug):
            raise HTTPException(404, missing)
        return await serve_document(request, page_document(FeedScope(kind, slug), _service(request).items), missing)

    return Route(f"/{kind}/{{slug}}/", endpoint, methods=["GET", "HEAD"], name=f"{kind}_page")


def term_index(kind: str) -> Route:
    async def endpoint(request: Request) -> Response | RenderedResponse:
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
            return PlainTextResponse(f"ok (waiting: {exc})\n", headers={"Cache-Control": "no-store"})
        return PlainTextResponse(f"unavailable: {exc}\n", status_code=503, headers={"Cache-Control": "no-store"})
    return PlainTextResponse("ok\n", headers={"Cache-Control": "no-store"})


async def serve_sitemap(request: Request, document: Document) -> Response | RenderedResponse:
    if not document.exists(_service(request).state):
        raise HTTPException(404, "No such sitemap: /sitemap.xml and /news-sitemap.xml list them all.")
    return await serve_document(request, document)


async def robots(request: Request) -> Response | RenderedResponse:
    return await serve_document(request, RobotsDocument())


async def sitemap_index(request: Request) -> Response | RenderedResponse:
    return await serve_document(request, SitemapIndexDocument())


async def sitemap_child(request: Request) -> Response | RenderedResponse:
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


async def news_sitemap(request: Request) -> Response | RenderedResponse:
    return await serve_document(request, NewsSitemapDocument())


async def news_sitemap_page(request: Request) -> Response | RenderedResponse:
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
            "description": "A section path, then / for its page or the feed file: berita/tiongkok/feed.rss, "
            ".atom or .json.",
            "schema": {"type": "string", "pattern": _openapi_pattern(SECTION_PATH, SECTION_PAGE)},
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
    Route("/section/{rest:path}", section_feed, methods=["GET", "HEAD"]),
    *(term_feed(kind, fmt) for kind in ("tag", "author") for fmt in EXTENSIONS),
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
