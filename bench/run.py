"""Run feedserver's benchmark suite and print its tables (see bench/README.md).

    python bench/run.py                      # every part, full length
    python bench/run.py --quick              # every part, short runs (a smoke test of the suite)
    python bench/run.py --part ceiling --part miss

Parts: ceiling (1), miss (2), big (3), writer (4), audience (5). Everything runs on
127.0.0.1 and every process started is stopped at the end, also on failure,
Ctrl-C, SIGTERM or the --max-minutes bound.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from harness import BENCH, BenchError, Processes, TimeLimit, ensure_tools, log, save_json, time_limit, workdir

PARTS = ("ceiling", "miss", "big", "writer", "audience")


def machine() -> dict[str, Any]:
    def versions(*names: str) -> dict[str, str]:
        found = {}
        for name in names:
            try:
                found[name] = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                found[name] = "-"
        return found

    def command(*argv: str) -> str:
        try:
            return subprocess.run(argv, capture_output=True, text=True, check=False).stdout.strip()
        except OSError:
            return "-"

    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "nproc": command("nproc"),
        "memory": command("free", "-h"),
        "cpu": next(
            (line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "-"
        ),
        "python": platform.python_version(),
        "packages": versions("feedserver", "uvicorn", "uvloop", "httptools", "starlette", "feedgen", "lxml", "orjson"),
        "wrk": command("wrk", "-v").splitlines()[0] if command("wrk", "-v") else "-",
        "nginx": subprocess.run(
            ["sh", "-c", "nginx -v 2>&1 || /usr/sbin/nginx -v 2>&1"], capture_output=True, text=True
        )
        .stdout.strip()
        .splitlines()[-1:],
    }


def print_machine(info: dict[str, Any]) -> None:
    print(f"date: {info['date']}; nproc: {info['nproc']}; CPU: {info['cpu']}")
    print("\n".join("    " + line for line in info["memory"].splitlines()))
    packages = ", ".join(f"{name} {version}" for name, version in info["packages"].items())
    print(f"Python {info['python']}; {packages}; {info['wrk']}; {' '.join(info['nginx'])}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", action="append", choices=PARTS, help="run only this part (repeatable)")
    parser.add_argument("--quick", action="store_true", help="short runs: checks the suite works, figures are rough")
    parser.add_argument("--seconds", type=float, help="wrk duration per run (default 10, quick 3)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds per part (default 3: A..Z Z..A A..Z)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (default 64)")
    parser.add_argument("--big-db", type=Path, help="the 1M-article database for part 3 (default: bench/data/)")
    parser.add_argument("--max-minutes", type=float, help="stop everything after this long (default 60, quick 15)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, databases)")
    parser.add_argument("--json", type=Path, help="also write the figures here (default bench/results/<time>.json)")
    args = parser.parse_args(argv)
    parts = args.part or list(PARTS)
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    rounds = args.rounds or 3
    max_minutes = args.max_minutes or (15.0 if args.quick else 60.0)

    ensure_tools(need_nginx="ceiling" in parts)
    info = machine()
    print_machine(info)
    results: dict[str, Any] = {"machine": info, "quick": args.quick, "seconds": seconds, "rounds": rounds}
    failed: list[str] = []
    try:
        with time_limit(max_minutes * 60), workdir(args.keep) as work, Processes(work) as procs:
            for part in parts:
                started = time.monotonic()
                try:
                    results[part] = run_part(part, procs, args, seconds, rounds)
                except BenchError as exc:
                    log(f"part {part} failed: {exc}")
                    failed.append(part)
                finally:
                    for _name, proc in list(procs.children):
                        procs.stop(proc)
                    procs.children.clear()
                log(f"part {part} took {time.monotonic() - started:.0f} s")
    except (KeyboardInterrupt, TimeLimit) as exc:
        log(f"stopped: {exc or 'interrupted'}; every process started was stopped")
        return 130
    out = args.json or BENCH / "results" / time.strftime("%Y%m%d-%H%M%S.json")
    save_json(out, results)
    log(f"figures written to {out}")
    return 1 if failed else 0


def run_part(part: str, procs: Processes, args: argparse.Namespace, seconds: float, rounds: int) -> Any:
    if part == "ceiling":
        import ceiling

        return ceiling.run(procs, seconds, args.threads, args.connections, rounds)
    if part == "miss":
        import miss

        return miss.run(procs, quick=args.quick)
    if part == "big":
        import big

        return big.run(procs, args.big_db, quick=args.quick)
    if part == "audience":
        import audience

        return audience.run(procs, quick=args.quick)
    import writer

    return writer.run(procs, seconds, args.threads, args.connections, rounds, quick=args.quick)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
