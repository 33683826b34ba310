"""URL routes. They hold no SQL and no XML: they pick a document and let the
service and http.py answer. The URLs are a promise to subscribers; keep them."""

from __future__ import annotations

import re

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from feedserver.db import DatabaseUnavailable
from feedserver.documents import Document, FeedDocument, HomeDocument
from feedserver.feeds import EXTENSIONS, Scope
from feedserver.http import RenderedResponse
from feedserver.service import FeedService

SECTION_PATH = re.compile(
    r"^(?P<slug>[a-z0-9]+(?:[-_][a-z0-9]+)*(?:/[a-z0-9]+(?:[-_][a-z0-9]+)*)*)/feed\.(?P<fmt>rss|atom|json)$"
)
RETRY_AFTER_SECONDS = 30


def _service(request: Request) -> FeedService:
    service: FeedService = request.app.state.service
    return service


async def serve_document(request: Request, document: Document) -> Response | RenderedResponse:
    service = _service(request)
    try:
        if not document.exists(service.state):
            raise HTTPException(404, "Unknown section.")
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
    return await serve_document(request, HomeDocument())


def site_feed(fmt: str) -> Route:
    async def endpoint(request: Request) -> Response | RenderedResponse:
        return await serve_document(request, FeedDocument(Scope(None), fmt))

    return Route(f"/{EXTENSIONS[fmt]}", endpoint, methods=["GET", "HEAD"], name=f"site_feed_{fmt}")


async def section_feed(request: Request) -> Response | RenderedResponse:
    match = SECTION_PATH.match(request.path_params["rest"])
    if match is None:
        raise HTTPException(404, "Not a feed URL: use /section/<section path>/feed.rss, feed.atom or feed.json.")
    return await serve_document(request, FeedDocument(Scope(match["slug"]), match["fmt"]))


async def healthz(request: Request) -> Response:
    service = _service(request)
    try:
        if service.problem:
            raise DatabaseUnavailable(service.problem)
        await service.pool.check_schema()
    except DatabaseUnavailable as exc:
        return PlainTextResponse(f"unavailable: {exc}\n", status_code=503, headers={"Cache-Control": "no-store"})
    return PlainTextResponse("ok\n", headers={"Cache-Control": "no-store"})


ROUTES = [
    Route("/", home, methods=["GET", "HEAD"]),
    *(site_feed(fmt) for fmt in EXTENSIONS),
    Route("/section/{rest:path}", section_feed, methods=["GET", "HEAD"]),
    Route("/healthz", healthz, methods=["GET", "HEAD"]),
]
