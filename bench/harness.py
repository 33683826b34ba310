"""What every part of the benchmark shares: tools, processes, ports, wrk, CPU and memory, tables.

Everything runs on 127.0.0.1. Every process started here is started through a
`Processes` context (in its own process group) and stopped when the context
closes, whether the run ended, failed or was interrupted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
# The site identity a bench's in-process settings need (it has no default in code).
BENCH_SITE = {"site.title": "Kabar Tiongkok", "site.publication_name": "Kabar Tiongkok"}
PYTHON = sys.executable
CLK_TCK = os.sysconf("SC_CLK_TCK")
NGINX_CANDIDATES = ("nginx", "/usr/sbin/nginx")


class BenchError(Exception):
    """The benchmark cannot go on (a tool is missing, a server did not start)."""


class TimeLimit(Exception):
    """The run went past its --max-minutes bound."""


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- tools -------------------------------------------------------------------------------------


def nginx_binary() -> str | None:
    for candidate in NGINX_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def ensure_tools(need_nginx: bool = True) -> None:
    """Install wrk (and nginx) from Debian's packages when missing."""
    missing = [] if shutil.which("wrk") else ["wrk"]
    if need_nginx and nginx_binary() is None:
        missing.append("nginx-light")
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise BenchError(f"missing {', '.join(missing)}: install them (Debian: apt-get install -y {' '.join(missing)})")
    log(f"installing {' '.join(missing)} with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", *missing], check=True, env=env, stdout=subprocess.DEVNULL)


# --- processes ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Processes(contextlib.AbstractContextManager["Processes"]):
    """Children started in their own process groups and all stopped on exit.

    SIGTERM and SIGHUP are turned into KeyboardInterrupt while the context is
    open, so `kill <bench pid>` cleans up the same way Ctrl-C does.
    """

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> Processes:
        for signum in (signal.SIGTERM, signal.SIGHUP):
            self._previous[signum] = signal.signal(signum, _interrupt)
        return self

    def start(self, name: str, argv: Sequence[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        logfile = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            cwd=self.workdir,
            start_new_session=True,
        )
        logfile.close()
        self.children.append((name, proc))
        return proc

    def log_of(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)  # the group we created: the process and its workers
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # a worker that outlived its parent

    def __exit__(self, *exc: object) -> None:
        for _name, proc in reversed(self.children):
            self.stop(proc)
        self.children.clear()
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise TimeLimit in the main thread once `seconds` have passed."""

    def expire(signum: int, frame: object) -> None:
        raise TimeLimit(f"the run went past its limit of {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def workdir(keep: bool = False) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="feedserver-bench-"))
    try:
        yield path
    finally:
        if keep:
            log(f"kept work directory {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Wait until `url` answers (any status) or fail if the process died or time ran out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{proc.args!r} exited with {proc.returncode} before serving {url}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise BenchError(f"{url} did not answer within {timeout:.0f} s")


@dataclasses.dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def fetch(url: str, headers: dict[str, str] | None = None) -> Reply:
    """One GET with urllib (no automatic decompression; 304 is not an error)."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Reply(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read())


# --- CPU and memory of a process tree ----------------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # fields from 3 (state) on


def process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, ()))
    return tree


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU of a process and its live descendants."""
    total = 0
    for pid in process_tree(root):
        fields = _stat_fields(pid)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLK_TCK


def machine_busy_seconds() -> float:
    """CPU time every process on the machine has used (user, nice, system, irq, softirq, steal)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def tree_rss_mb(root: int) -> float:
    total = 0
    for pid in process_tree(root):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


# --- wrk ---------------------------------------------------------------------------------------

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"cannot read latency {text!r}")
    return float(match[1]) * _UNITS[match[2]]


@dataclasses.dataclass
class WrkResult:
    label: str
    rps: float
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int  # socket errors plus non-2xx/3xx responses
    wrk_cpu: float  # wrk's CPU over the wall time, in cores (1.0 = one core busy)
    server_cpu: float  # the server tree's CPU over the same time, in cores
    other_cpu: float  # everything else on the machine meanwhile, in cores: a noisy neighbour shows here
    mb_per_s: float

    @property
    def wrk_saturated(self) -> bool:
        """wrk -t1 uses one thread: near a full core, the figure is a lower bound."""
        return self.wrk_cpu >= 0.9


def run_wrk(
    label: str,
    url: str,
    seconds: float,
    threads: int,
    connections: int,
    headers: Sequence[str] = (),
    server_pid: int | None = None,
) -> WrkResult:
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency"]
    for header in headers:
        argv += ["-H", header]
    argv.append(url)
    server_before = tree_cpu_seconds(server_pid) if server_pid else 0.0
    busy_before = machine_busy_seconds()
    with tempfile.TemporaryFile() as out:
        started = time.monotonic()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = started + seconds + 30
        try:
            while True:  # wait4 gives wrk's own CPU (rusage) when it exits
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.monotonic() > deadline:
                    proc.kill()
                time.sleep(0.05)
        except BaseException:  # interrupted or out of time: wrk goes too
            proc.kill()
            proc.wait()
            raise
        wall = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        server_after = tree_cpu_seconds(server_pid) if server_pid else 0.0
        busy = machine_busy_seconds() - busy_before
        out.seek(0)
        text = out.read().decode(errors="replace")
    if proc.returncode != 0:
        raise BenchError(f"wrk failed ({proc.returncode}) on {url}:\n{text}")
    wrk_cpu = (usage.ru_utime + usage.ru_stime) / wall
    server_cpu = (server_after - server_before) / wall
    other_cpu = max(0.0, busy / wall - wrk_cpu - server_cpu)
    return parse_wrk(label, text, wrk_cpu, server_cpu, other_cpu)


def parse_wrk(label: str, text: str, wrk_cpu: float, server_cpu: float, other_cpu: float = 0.0) -> WrkResult:
    def find(pattern: str) -> re.Match[str]:
        match = re.search(pattern, text, re.MULTILINE)
        if match is None:
            raise BenchError(f"cannot read wrk output ({pattern!r}):\n{text}")
        return match

    total = find(r"^\s*(\d+) requests in ([\d.]+)(ms|s|m)")
    errors = 0
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if non_2xx:
        errors += int(non_2xx[1])
    transfer = find(r"^Transfer/sec:\s+([\d.]+)(B|KB|MB|GB)")
    scale = {"B": 1 / 2**20, "KB": 1 / 1024, "MB": 1.0, "GB": 1024.0}[transfer[2]]
    return WrkResult(
        label=label,
        rps=float(find(r"^Requests/sec:\s+([\d.]+)")[1]),
        requests=int(total[1]),
        seconds=_ms(total[2] + total[3]) / 1000,
        p50_ms=_ms(find(r"^\s+50%\s+(\S+)")[1]),
        p99_ms=_ms(find(r"^\s+99%\s+(\S+)")[1]),
        errors=errors,
        wrk_cpu=wrk_cpu,
        server_cpu=server_cpu,
        other_cpu=other_cpu,
        mb_per_s=float(transfer[1]) * scale,
    )


def interleaved(labels: Sequence[str], rounds: int) -> list[str]:
    """A B C ... C B A, repeated: slow drift of a shared machine hits every label alike."""
    order: list[str] = []
    for n in range(rounds):
        order.extend(labels if n % 2 == 0 else reversed(labels))
    return order


# --- nginx -------------------------------------------------------------------------------------

NGINX_CONF = """\
{user}worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 100000000;
    open_file_cache max=64 inactive=600s;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    types {{ {media_type} {extension}; }}
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        root {prefix}/www;
    }}
}}
"""


def start_nginx(procs: Processes, files: dict[str, bytes], media_type: str) -> tuple[str, subprocess.Popen[bytes]]:
    """nginx serving `files` (name -> bytes) statically on a free port: one worker,
    no daemon, no access log, its own prefix in the work directory."""
    binary = nginx_binary()
    if binary is None:
        raise BenchError("nginx is not installed")
    prefix = procs.workdir / "nginx"
    (prefix / "www").mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (prefix / "www" / name).write_bytes(data)
    extension = next(iter(files)).rsplit(".", 1)[-1]
    # As root, nginx would switch its worker to an unprivileged user that cannot
    # read the private work directory: keep the current user.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};\n" if os.geteuid() == 0 else ""
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(user=user, prefix=prefix, port=port, media_type=media_type.split(";")[0], extension=extension)
    )
    proc = procs.start("nginx", [binary, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "nginx-error.log")])
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/" + next(iter(files)), proc)
    return base, proc


# --- feedserver through its CLI ------------------------------------------------------------------


def feedserver_env(
    database: Path, port: int, workers: int = 1, settings: dict[str, object] | None = None
) -> dict[str, str]:
    """FEEDSERVER_* variables for `feedserver serve`: the database, the address, and `settings` by key."""
    from feedserver.config import SETTINGS_BY_KEY

    values: dict[str, object] = {
        "database.path": database,
        "server.host": "127.0.0.1",
        "server.port": port,
        "server.workers": workers,
        "site.base_url": "https://example.id",
        **(settings or {}),
    }
    env = {"FEEDSERVER_CONFIG": str(REPO / "config" / "feedserver.toml")}
    for key, value in values.items():
        env[SETTINGS_BY_KEY[key].env_name] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


def feedserver_cli() -> list[str]:
    script = Path(PYTHON).with_name("feedserver")
    return [str(script)] if script.exists() else [PYTHON, "-m", "feedserver"]


def start_feedserver(
    procs: Processes, name: str, database: Path, workers: int = 1, settings: dict[str, object] | None = None
) -> tuple[str, subprocess.Popen[bytes]]:
    """`feedserver serve` on a free port, configured through the environment only."""
    port = free_port()
    env = feedserver_env(database, port, workers, settings)
    proc = procs.start(name, [*feedserver_cli(), "serve"], env=env)
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/healthz", proc)
    return base, proc


# --- output ------------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers], *[[_cell(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append("| " + " | ".join(value.ljust(widths[i]) for i, value in enumerate(row)) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n" + "\n".join(lines)  # a blank line first: Markdown starts a new table there


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def verdict(value: float, target: float, higher_is_better: bool = True) -> str:
    ok = value >= target if higher_is_better else value <= target
    return "met" if ok else "MISSED"


def save_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=lambda o: dataclasses.asdict(o)))
