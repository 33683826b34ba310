"""The real nginx (Debian package `nginx`) on 127.0.0.1 with the shipped
config/nginx/feedserver.conf, its @NAME@ placeholders replaced by ports and paths.

The main context (pid, logs, temporary directories) is this test's own: it is
the host's business in production, where feedserver.conf is included in the
system's http {} block.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO
from tests.uvicorn_process import HOST, free_port, stop

SHIPPED = REPO / "config" / "nginx" / "feedserver.conf"


def nginx_binary() -> str:
    """nginx's path; in CI (`CI` set) a missing nginx fails the test instead of skipping it."""
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)
    if found is None:
        message = "nginx is not installed (Debian: apt-get install nginx; .ci/run does it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def render(template: str, values: Mapping[str, str]) -> str:
    """Replace every @NAME@; fail on one left over, so the shipped file and this stay in step."""
    for name, value in values.items():
        template = template.replace(f"@{name}@", value)
    assert "@" not in "".join(line.split("#")[0] for line in template.splitlines()), "a placeholder is left"
    return template


@dataclass
class RunningNginx:
    url: str
    port: int
    process: subprocess.Popen[bytes]
    workdir: Path

    def client(self, timeout: float = 10) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=timeout)

    def error_log(self) -> str:
        return (self.workdir / "error.log").read_text(encoding="utf-8", errors="replace")


@contextlib.contextmanager
def running_nginx(
    upstreams: list[int], workdir: Path, workers: int = 1, port: int | None = None
) -> Iterator[RunningNginx]:
    """nginx in front of feedserver replicas on these ports of 127.0.0.1, stopped when the block ends."""
    binary = nginx_binary()
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    site = render(
        SHIPPED.read_text(encoding="utf-8"),
        {
            "LISTEN": f"{HOST}:{port}",
            "UPSTREAM_1": f"{HOST}:{upstreams[0]}",
            "UPSTREAM_2": f"{HOST}:{upstreams[1]}",
            "CACHE_DIR": str(workdir / "cache"),
        },
    )
    (workdir / "feedserver.conf").write_text(site, encoding="utf-8")
    temp = {name: workdir / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    main = "\n".join(
        [
            # As root (CI), workers would run as nobody and could not write a
            # cache under the test's private temporary directory.
            "user root;" if os.geteuid() == 0 else "",
            f"worker_processes {workers};",
            "daemon off;",
            f"pid {workdir / 'nginx.pid'};",
            f"error_log {workdir / 'error.log'} warn;",
            "events { worker_connections 1024; }",
            "http {",
            "    log_format timed '$request $status $upstream_cache_status $request_time $upstream_addr "
            "$upstream_response_time';",
            f"    access_log {workdir / 'access.log'} timed;",
            "    default_type application/octet-stream;",
            f"    proxy_temp_path {temp['proxy']};",
            f"    client_body_temp_path {temp['body']};",
            f"    fastcgi_temp_path {temp['fastcgi']};",
            f"    uwsgi_temp_path {temp['uwsgi']};",
            f"    scgi_temp_path {temp['scgi']};",
            f"    include {workdir / 'feedserver.conf'};",
            "}",
        ]
    )
    (workdir / "nginx.conf").write_text(main + "\n", encoding="utf-8")
    check = subprocess.run(
        [binary, "-t", "-q", "-e", str(workdir / "error.log"), "-p", str(workdir), "-c", str(workdir / "nginx.conf")],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr + check.stdout
    process = subprocess.Popen(
        [binary, "-e", str(workdir / "error.log"), "-p", str(workdir), "-c", str(workdir / "nginx.conf")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    running = RunningNginx(f"http://{HOST}:{port}", port, process, workdir)
    try:
        deadline = time.monotonic() + 15
        while True:
            assert process.poll() is None, f"nginx exited:\n{running.error_log()}"
            assert time.monotonic() < deadline, f"nginx did not listen:\n{running.error_log()}"
            try:
                httpx.get(f"{running.url}/robots.txt", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield running
    finally:
        stop(process)
