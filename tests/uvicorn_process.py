"""A real `feedserver serve` (uvicorn) on 127.0.0.1 for end-to-end tests.

`running_server(...)` starts it as a subprocess in its own process group on a
free port, with settings passed as FEEDSERVER_* variables the way an operator
would, waits for `/healthz`, and always stops it (SIGTERM, then SIGKILL of the
group) when the block ends. Its stdout and stderr go to a file, so a test can
count log lines and no pipe can fill up and stall the server.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from feedserver.config import SETTINGS_BY_KEY
from tests.conftest import BASE_URL, REPO

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def stop(process: subprocess.Popen[bytes], timeout: float = 15) -> int:
    """SIGTERM, then SIGKILL for the whole process group if it will not go; the exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
    return process.wait(timeout)


def server_environment(db_path: Path, settings: Mapping[str, object] | None = None) -> dict[str, str]:
    """This environment without any FEEDSERVER_* that could leak in, plus the test's settings by key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDSERVER_")}
    env.update(
        {
            "FEEDSERVER_CONFIG": str(REPO / "config" / "feedserver.toml"),
            "FEEDSERVER_DATABASE_PATH": str(db_path),
            "FEEDSERVER_SITE_BASE_URL": BASE_URL,
            "PYTHONUNBUFFERED": "1",
        }
    )
    for key, value in (settings or {}).items():
        env[SETTINGS_BY_KEY[key].env_name] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


@dataclass
class RunningServer:
    url: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        """Everything the server wrote to stdout and stderr so far."""
        return self.log.read_text(encoding="utf-8", errors="replace")

    def lines(self, needle: str) -> list[str]:
        """Log lines containing `needle`."""
        return [line for line in self.output().splitlines() if needle in line]

    def client(self, timeout: float = 10) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=timeout)

    def alive(self) -> bool:
        return self.process.poll() is None


@contextlib.contextmanager
def running_server(
    db_path: Path,
    workdir: Path,
    settings: Mapping[str, object] | None = None,
    ready_timeout: float = 15,
    port: int | None = None,
) -> Iterator[RunningServer]:
    """`python -m feedserver serve` on a free port of 127.0.0.1 (or `port`: a test whose
    site.base_url must name it, or a restart on the same address), stopped when the block ends."""
    port = port or free_port()
    log = workdir / f"server-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "feedserver", "serve", "--host", HOST, "--port", str(port)],
            cwd=workdir,
            env=server_environment(db_path, settings),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a stuck one is killed with its children
        )
    server = RunningServer(f"http://{HOST}:{port}", port, process, log)
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            if process.poll() is not None:
                raise AssertionError(f"the server exited ({process.returncode}):\n{server.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no /healthz 200 within {ready_timeout} s:\n{server.output()}")
            try:
                if httpx.get(server.url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        yield server
    finally:
        stop(process)


def raw_request(url: str, request: bytes, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    """Send `request` byte for byte (no client normalises it) and read the whole answer:
    (status, headers with lower-case names, body). The request should ask for `Connection: close`."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    data = b"".join(chunks)
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def raw_get(url: str, target: bytes, extra_headers: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """GET with a request target sent verbatim (may be invalid UTF-8, `..`, anything)."""
    host = url.removeprefix("http://").encode()
    request = b"GET " + target + b" HTTP/1.1\r\nHost: " + host + b"\r\n" + extra_headers + b"Connection: close\r\n\r\n"
    return raw_request(url, request)
