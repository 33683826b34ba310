"""Running uvicorn with the settings' limits."""

from __future__ import annotations

import uvicorn

from feedserver.config import Settings


def run_uvicorn(settings: Settings) -> int:
    """Serve until stopped. Slow or idle clients are bounded by the keep-alive
    timeout and the concurrency limit (beyond it uvicorn answers 503)."""
    uvicorn.run(
        "feedserver.app:create_app",
        factory=True,
        host=settings["server.host"],
        port=settings["server.port"],
        workers=settings["server.workers"],
        timeout_keep_alive=settings["server.keep_alive_seconds"],
        limit_concurrency=settings["server.limit_concurrency"],
        timeout_graceful_shutdown=settings["server.graceful_shutdown_seconds"],
        proxy_headers=False,
        server_header=False,
        access_log=settings["server.access_log"],
        log_level="info",
    )
    return 0
