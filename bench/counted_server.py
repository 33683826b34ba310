"""feedserver's app on uvicorn, as `feedserver serve` runs it, writing its counters when it stops.

    python bench/counted_server.py COUNTERS.json     # settings from FEEDSERVER_* variables

The app is `feedserver.app.create_app()` and uvicorn gets the same keyword
arguments as `feedserver serve` (one worker); the only addition is that, once
stopped (SIGTERM or SIGINT), the process writes the counters the app already
keeps for the tests (renders, compressions, queries, change checks), and the
renders of each document (counted by wrapping the cache's render here), to
COUNTERS.json. Part 4 uses it to count renders per change.
"""

from __future__ import annotations

import json
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import uvicorn

from feedserver.app import create_app
from feedserver.config import load_settings
from feedserver.server import uvicorn_options


def main(argv: list[str]) -> int:
    out = Path(argv[0])
    settings = load_settings()
    app = create_app(settings)
    cache = app.state.service.cache  # type: ignore[attr-defined]
    per_document: Counter[str] = Counter()
    render = cache._render

    async def counted_render(key: str, renderer: Any) -> Any:  # renders of each document, for part 4
        per_document[key] += 1
        return await render(key, renderer)

    cache._render = counted_render
    options = {**uvicorn_options(settings), "workers": 1}
    server = uvicorn.Server(uvicorn.Config(app, **options))
    # uvicorn raises the stopping signal again once it has shut down: let it
    # reach a handler that does nothing, so the counters get written.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: None)
    server.run()
    state = app.state  # type: ignore[attr-defined]
    service, watcher = state.service, state.watcher
    counters = {
        "renders": service.cache.renders,
        "compressions": service.cache.compressions,
        "queries": service.pool.queries,
        "item_builds": service.items.builds,
        "checks": watcher.checks,
        "reloads": watcher.reloads,
        "cached_documents": sorted(service.cache.entries),
        "renders_by_document": dict(per_document),
    }
    out.write_text(json.dumps(counters))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
