"""Running uvicorn with the settings' limits."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import tempfile
from collections.abc import Iterator
from types import FrameType
from typing import Any

import uvicorn

from feedserver.config import Settings

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn.run's keyword arguments for these settings (bench/ serves its
    reference apps with the very same ones). Slow or idle clients are bounded by
    the keep-alive timeout and the concurrency limit (beyond it uvicorn answers 503)."""
    return {
        "host": settings["server.host"],
        "port": settings["server.port"],
        "workers": settings["server.workers"],
        "timeout_keep_alive": settings["server.keep_alive_seconds"],
        "limit_concurrency": settings["server.limit_concurrency"],
        "timeout_graceful_shutdown": settings["server.graceful_shutdown_seconds"],
        "proxy_headers": False,
        "server_header": False,
        "access_log": settings["server.access_log"],
        "log_level": "info",
    }


def listen_problem(host: str, port: int) -> str | None:
    """Why uvicorn could not listen on host:port (in use, not allowed), or None.

    Asked before anything is built, so a busy port costs nothing and says so in
    one line. Bound the way uvicorn binds (SO_REUSEADDR), then released: a port
    held by another listener is refused even so.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return f"cannot listen on {host}:{port}: {exc.strerror}"
    family, kind, proto, _, address = infos[0]
    try:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
            probe.listen()
    except OSError as exc:
        return f"cannot listen on {host}:{port}: {exc.strerror} (set server.port or --port)"
    return None


def _stopped(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def run_uvicorn(settings: Settings, factory: str = "feedserver.app:create_app") -> int:
    """Serve until stopped; a stop by SIGTERM or SIGINT exits 0.

    On either signal uvicorn stops accepting connections, lets the requests in
    flight finish (up to server.graceful_shutdown_seconds), runs the lifespan
    shutdown, and then puts back the handler it found and raises the signal
    again, which would end the process with 143 (128 + SIGTERM): a stop the
    supervisor asked for would look like a crash. The handler it finds is this
    one, which exits 0. A signal before uvicorn has set up its own handlers
    (still starting: nothing in flight) exits 0 at once. With several workers
    uvicorn's supervisor replaces these handlers, stops its workers the same
    graceful way and returns normally.
    """
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _stopped)
    with metrics_directory(settings):
        uvicorn.run(factory, factory=True, **uvicorn_options(settings))
    return 0


@contextlib.contextmanager
def metrics_directory(settings: Settings) -> Iterator[None]:
    """With metrics on and several workers, a fresh PROMETHEUS_MULTIPROC_DIR for this
    run (prometheus-client's multiprocess mode: each worker writes its values
    there, a scrape adds them up), removed at the end. Set before any worker
    imports prometheus-client, which reads it then. One already set is kept."""
    if not settings["metrics.token"] or settings["server.workers"] < 2 or os.environ.get(MULTIPROC_ENV):
        yield
        return
    directory = tempfile.mkdtemp(prefix="feedserver-metrics-")
    os.environ[MULTIPROC_ENV] = directory
    try:
        yield
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(directory, ignore_errors=True)
