"""The OpenAPI description of the public routes, generated from the route table.

Starlette's schema generator walks the routes, so a new route is described as
soon as it exists. What a route answers follows from its URL: the media type
from the file name it serves, the status codes from what every document route
can answer (200, 304 to a conditional GET, 404, and 503 with Retry-After while
the database is unavailable and no copy is cached). Path parameters are
described by routes.py, which owns their patterns.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from starlette.schemas import BaseSchemaGenerator, EndpointInfo

from feedserver import __version__

OPENAPI_VERSION = "3.0.3"
MEDIA_TYPES = {  # by the end of the URL path
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".json": "application/feed+json",
    ".xml": "application/xml",
    ".txt": "text/plain",
    ".opml": "text/x-opml",
    ".css": "text/css",
    ".xsl": "text/xsl",
    "/": "text/html",
}
KINDS = {
    ".rss": "RSS 2.0 feed",
    ".atom": "Atom 1.0 feed",
    ".json": "JSON Feed 1.1",
    ".xml": "Sitemap",
    ".txt": "robots.txt",
    ".opml": "OPML 2.0 subscription list of every feed",
    ".css": "The pages' stylesheet",
    ".xsl": "XSLT that renders feeds and sitemaps in a browser",
    "/": "Front page",
}
TEXT = {"text/plain": {"schema": {"type": "string"}}}
BODIES = {  # the JSON body's outline; XML is described by its own schemas
    "application/feed+json": {
        "schema": {
            "type": "object",
            "required": ["version", "title", "items"],
            "properties": {"version": {"type": "string"}, "title": {"type": "string"}, "items": {"type": "array"}},
        }
    },
}
REQUEST_HEADERS = [
    ("If-None-Match", "ETags the client holds (RFC 9110 13.1.2), compared weakly."),
    ("If-Modified-Since", "An HTTP date; ignored when malformed or in the future."),
    ("Accept-Encoding", "gzip is served when accepted; the ETag then ends in -gz."),
    (
        "Accept",
        "RSS and Atom: when text/html ranks above the feed's type (a browser's navigation), the same bytes "
        "come as application/xml, so the browser applies their xml-stylesheet; the ETag then has -xsl.",
    ),
]


def _header(description: str, required: bool = True) -> dict[str, Any]:
    return {"description": description, "required": required, "schema": {"type": "string"}}


def _media_types(path: str, parameters: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """What a route serves; a path ending in a parameter may serve any of the
    types its parameter's `x-media-types` names (routes.py sets them)."""
    if path.endswith("}"):
        name = path.rsplit("{", 1)[1][:-1]
        return list(parameters.get(name, {}).get("x-media-types", ["application/octet-stream"]))
    for suffix, media_type in MEDIA_TYPES.items():
        if path.endswith(suffix):
            return [media_type]
    return ["application/octet-stream"]


def _kind(path: str) -> str:
    for suffix, kind in KINDS.items():
        if path.endswith(suffix):
            return kind
    return "Document"


class OpenAPISchema(BaseSchemaGenerator):
    """The description of the routes given to `get_schema`, served by `endpoint`."""

    def __init__(self, parameters: Mapping[str, Mapping[str, Any]], health_path: str = "/healthz") -> None:
        self.parameters = parameters
        self.health_path = health_path
        self._schema: dict[str, Any] | None = None

    def get_schema(self, routes: list[BaseRoute]) -> dict[str, Any]:
        paths: dict[str, dict[str, Any]] = {}
        for endpoint in self.get_endpoints(routes):
            paths.setdefault(endpoint.path, {})[endpoint.http_method] = self.operation(endpoint)
        return {
            "openapi": OPENAPI_VERSION,
            "info": {
                "title": "feedserver",
                "version": __version__,
                "description": "RSS, Atom, JSON Feed and sitemaps of a news site. Every route also answers HEAD.",
            },
            "paths": paths,
        }

    def operation(self, endpoint: EndpointInfo) -> dict[str, Any]:
        path = endpoint.path
        doc = (endpoint.func.__doc__ or "").strip().splitlines()
        operation: dict[str, Any] = {
            "operationId": (endpoint.http_method + path).replace("/", "_").replace("{", "").replace("}", "") or "root",
            "summary": doc[0] if doc else _kind(path),
        }
        path_parameters = [
            {"name": name, "in": "path", "required": True, **self._parameter(name)}
            for name in re.findall(r"{(\w+)}", path)
        ]
        if path == self.health_path:
            operation["summary"] = "Health: can the database be read?"
            operation["parameters"] = path_parameters
            operation["responses"] = {
                "200": {"description": "The database is readable (or only locked by a writer).", "content": TEXT},
                "503": {"description": "The database is unavailable; the body says why.", "content": TEXT},
            }
            return operation
        validators = {
            "ETag": _header("Strong validator of these bytes."),
            "Cache-Control": _header("Includes stale-if-error: caches may serve the copy while this server cannot."),
        }
        operation["parameters"] = path_parameters + [
            {"name": name, "in": "header", "required": False, "description": text, "schema": {"type": "string"}}
            for name, text in REQUEST_HEADERS
        ]
        operation["responses"] = {
            "200": {
                "description": _kind(path),
                "headers": {**validators, "Last-Modified": _header("Time of the newest change shown.")},
                "content": {
                    media_type: BODIES.get(media_type, {}) for media_type in _media_types(path, self.parameters)
                },
            },
            "304": {"description": "Not modified: the client's copy is current.", "headers": validators},
            "404": {"description": "No such document.", "content": TEXT},
            "503": {
                "description": "The database is unavailable and no copy of this document is cached.",
                "headers": {"Retry-After": _header("Seconds to wait before trying again.")},
                "content": TEXT,
            },
        }
        return operation

    def _parameter(self, name: str) -> dict[str, Any]:
        described = dict(self.parameters.get(name, {}))
        described.pop("x-media-types", None)
        described.setdefault("schema", {"type": "string"})
        return described

    async def endpoint(self, request: Request) -> Response:
        """The OpenAPI description of this server's routes."""
        if self._schema is None:  # the route table does not change while the app runs
            self._schema = self.get_schema(request.app.routes)
        return JSONResponse(self._schema, headers={"Cache-Control": "public, max-age=3600"})
