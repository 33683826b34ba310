"""Real HTTP servers on 127.0.0.1 that a test starts: a WebSub hub, a subscriber, an IndexNow receiver.

Each records every request it gets (method, path, query, headers, body) and
answers with the test's `reply` function, so a test can make it fail (5xx),
refuse, or echo a challenge, and read back exactly what the server sent.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}


Reply = Callable[[Received], tuple[int, dict[str, str], bytes]]


def accept(request: Received) -> tuple[int, dict[str, str], bytes]:
    """A hub or receiver that takes everything; a subscriber that confirms every challenge."""
    if request.method == "GET" and "hub.challenge" in request.query:
        return 200, {"Content-Type": "text/plain"}, request.query["hub.challenge"][0].encode()
    return 202, {}, b""


@dataclass
class Recorder:
    """A server's log and behaviour; `reply` may be swapped while it runs."""

    reply: Reply = accept
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def received(self, method: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if method is None or r.method == method]

    def wait_for(self, count: int, method: str | None = None, timeout: float = 20) -> list[Received]:
        """Until `count` requests came (a deadline for a stuck server, not a timing assertion)."""
        deadline = time.monotonic() + timeout
        while len(self.received(method)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.received(method))} requests, expected {count}: {self.received()}")
            time.sleep(0.02)
        return self.received(method)


def _handler(recorder: Recorder) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            request = Received(
                self.command,
                parts.path,
                parse_qs(parts.query, keep_blank_values=True),
                {k.lower(): v for k, v in self.headers.items()},
                body,
            )
            with recorder.lock:
                recorder.requests.append(request)
            status, headers, reply = recorder.reply(request)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        do_GET = do_POST = _handle

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


class _Server(ThreadingHTTPServer):
    # socketserver's default backlog is 5: a burst of deliveries (16 at once)
    # would overflow it and some connections stall or reset.
    request_queue_size = 128


@contextlib.contextmanager
def http_recorder(reply: Reply = accept, port: int = 0, path: str = "/") -> Iterator[Recorder]:
    """A recording server on 127.0.0.1 (port 0: a free one), stopped when the block ends."""
    recorder = Recorder(reply)
    server = _Server(("127.0.0.1", port), _handler(recorder))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    recorder.url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextlib.contextmanager
def down_server() -> Iterator[int]:
    """A port on 127.0.0.1 where nothing answers: bound but not listening, so a
    connection is refused at once, and no other process can take the port while
    the test plays a server that is down. The block's end frees it for the
    recorder that plays the server coming back."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    try:
        yield int(sock.getsockname()[1])
    finally:
        sock.close()
