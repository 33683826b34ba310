"""The reference servers: fixed bytes from memory on the same uvicorn, with the same options.

    python bench/bare.py asgi|starlette DIR PORT

DIR holds what `ceiling.py` captured from feedserver: `body` (the identity
bytes), `body.gz` (its gzip bytes) and `headers.json` (the response headers of
each variant). The bare ASGI callable is the Python ceiling: no routing, no
request object, no header parsing; its paths pick the variant (`/feed.rss`
200, `/304` the 304, `/gzip` the gzip 200). The Starlette app is the framework
ceiling: one route, a plain `Response`. uvicorn runs with the keyword
arguments `feedserver serve` uses (`feedserver.server.uvicorn_options`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from feedserver.config import load_settings
from feedserver.server import uvicorn_options

Headers = list[tuple[bytes, bytes]]


def _headers(pairs: list[list[str]]) -> Headers:
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in pairs]


def asgi_app(directory: Path) -> Any:
    body = (directory / "body").read_bytes()
    gzip_body = (directory / "body.gz").read_bytes()
    captured = json.loads((directory / "headers.json").read_text())
    responses: dict[str, tuple[int, Headers, bytes]] = {
        "/feed.rss": (200, _headers(captured["identity"]), body),
        "/gzip": (200, _headers(captured["gzip"]), gzip_body),
        "/304": (304, _headers(captured["not_modified"]), b""),
    }

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":  # lifespan: nothing to set up
            message = await receive()
            while message["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
                message = await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        status, headers, content = responses.get(scope["path"], (404, [], b""))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    return app


def starlette_app(directory: Path) -> Starlette:
    body = (directory / "body").read_bytes()
    captured = json.loads((directory / "headers.json").read_text())
    headers = {name: value for name, value in captured["identity"] if name != "content-length"}

    async def feed(request: Request) -> Response:
        return Response(body, headers=headers)

    return Starlette(routes=[Route("/feed.rss", feed)])


def main(argv: list[str]) -> int:
    kind, directory, port = argv[0], Path(argv[1]), int(argv[2])
    app = asgi_app(directory) if kind == "asgi" else starlette_app(directory)
    options = uvicorn_options(load_settings(overrides={"server.port": port, "server.workers": 1}, required=False))
    uvicorn.run(app, **options)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
