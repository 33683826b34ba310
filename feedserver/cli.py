"""The `feedserver` command: init-db, import, demo-db, serve, stats and check."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sqlite3
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from feedserver import __version__
from feedserver.audience import FeedCount, load_counts, stats_path, stats_problem, window_seconds
from feedserver.config import CONFIG_ENV, SETTINGS_BY_KEY, ConfigError, Settings, load_settings
from feedserver.db import DatabaseUnavailable, init_db, read_only_uri, schema_problem
from feedserver.importer import import_records, read_lines

DEMO_DATABASE = Path("feedserver-demo.sqlite")


def _fail(message: str, code: int = 2) -> int:
    print(f"feedserver: {message}", file=sys.stderr)
    return code


def cmd_init_db(args: argparse.Namespace) -> int:
    try:
        version = init_db(Path(args.path))
    except (DatabaseUnavailable, sqlite3.Error) as exc:
        return _fail(str(exc))
    print(f"{args.path}: schema version {version}")
    return 0


def _database_from(args: argparse.Namespace) -> Path:
    if args.db:
        return Path(args.db)
    # Importing needs no site identity: only database.path is read.
    return load_settings(Path(args.config) if args.config else None, required=False).database_path


def cmd_import(args: argparse.Namespace) -> int:
    try:
        db_path = _database_from(args)
    except ConfigError as exc:
        return _fail(str(exc))
    name = "<stdin>" if args.file == "-" else args.file
    try:
        result = import_records(db_path, name, read_lines(args.file), dry_run=args.dry_run)
    except OSError as exc:
        return _fail(f"cannot read {name}: {exc.strerror}")
    except (DatabaseUnavailable, sqlite3.Error) as exc:
        return _fail(f"{db_path}: {exc}")
    for line in result.errors:
        print(line, file=sys.stderr)
    if result.errors:
        print(f"{name}: {len(result.errors)} bad record(s); nothing was written", file=sys.stderr)
        return 1
    if args.dry_run:
        print(f"{name}: {len(result.sections)} section(s), {len(result.articles)} article(s) valid (dry run)")
    else:
        print(
            f"{name}: {len(result.sections)} section(s), {result.written_articles} article(s) written, "
            f"{result.unchanged_articles} unchanged, into {db_path}"
        )
    return 0


def build_demo_database(path: Path, base_url: str) -> int:
    """A fresh demo database whose times are relative to now and URLs on `base_url`."""
    from feedserver.demo import DEMO_BASE_URL, demo_records

    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    lines = []
    for record in demo_records(datetime.now(UTC)):
        text = json.dumps(record, ensure_ascii=False).replace(DEMO_BASE_URL, base_url.rstrip("/"))
        lines.append(text.encode("utf-8"))
    result = import_records(path, "<demo>", lines)
    if result.errors:  # the bundled data is tested; this would be a bug
        raise RuntimeError("; ".join(result.errors))
    return len(result.articles)


def cmd_demo_db(args: argparse.Namespace) -> int:
    count = build_demo_database(Path(args.path), args.base_url)
    print(f"{args.path}: demo site with {count} articles on {args.base_url}")
    return 0


def check_database(settings: Settings) -> str | None:
    """Why the configured database cannot be served, or None (run before starting uvicorn)."""
    path = settings.database_path
    if not path.is_file():
        return f"database {path} does not exist (set database.path, or run feedserver init-db / import)"
    try:
        conn = sqlite3.connect(read_only_uri(path), uri=True)
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return f"database {path} cannot be read: {exc}"
    return schema_problem(version, path)


def cmd_serve(args: argparse.Namespace) -> int:
    overrides: dict[str, object] = {}
    for option, key in (("host", "server.host"), ("port", "server.port"), ("workers", "server.workers")):
        if getattr(args, option) is not None:
            overrides[key] = getattr(args, option)
    from feedserver.demo import DEMO_SITE
    from feedserver.server import listen_problem, run_uvicorn

    config = Path(args.config) if args.config else None
    fallbacks = DEMO_SITE if args.demo else None
    try:
        settings = load_settings(config, overrides=overrides, fallbacks=fallbacks, required=not args.demo)
        if args.demo:
            base = f"http://{settings['server.host']}:{settings['server.port']}"
            overrides.update({"site.base_url": base, "database.path": str(DEMO_DATABASE.resolve())})
            settings = load_settings(config, overrides=overrides, fallbacks=fallbacks)
    except ConfigError as exc:
        return _fail(str(exc))
    if args.demo:
        # Before anything is built: a busy port is one line, not a rebuilt
        # demo and then a uvicorn traceback.
        problem = listen_problem(settings["server.host"], settings["server.port"])
        if problem:
            return _fail(problem)
        count = build_demo_database(DEMO_DATABASE, settings.base_url)
        print(f"feedserver: built demo database {DEMO_DATABASE} ({count} articles)", file=sys.stderr)
        # Workers must see the demo's identity too, where the config set none.
        overrides.update({key: settings[key] for key in DEMO_SITE})
    problem = (
        check_database(settings)
        or stats_problem(settings)
        or listen_problem(settings["server.host"], settings["server.port"])
    )
    if problem:
        return _fail(problem)
    # Workers are separate processes that build their own settings: hand them
    # the same file and overrides through the environment.
    if args.config:
        os.environ[CONFIG_ENV] = str(Path(args.config).resolve())
    for key, value in overrides.items():
        os.environ[SETTINGS_BY_KEY[key].env_name] = str(value)
    return run_uvicorn(settings, "feedserver.app:create_demo_app" if args.demo else "feedserver.app:create_app")


def format_stats(counts: list[FeedCount]) -> str:
    """The table `feedserver stats` prints: per feed its total, then by aggregator or reader."""
    if not counts:
        return "no subscribers counted yet"
    width = max(len(c.feed) for c in counts)
    width = max([width, *(len(agent) + 2 for c in counts for agent in c.by_agent), len("feed")])
    lines = [f"{'feed':<{width}}  subscribers"]
    for count in counts:
        lines.append(f"{count.feed:<{width}}  {count.subscribers:>11,}")
        lines.extend(f"  {agent:<{width - 2}}  {n:>11,}" for agent, n in count.by_agent.items())
    return "\n".join(lines)


def cmd_stats(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(Path(args.config) if args.config else None, required=False)
    except ConfigError as exc:
        return _fail(str(exc))
    path = stats_path(settings)
    if path is None:
        return _fail("stats.path is empty: subscriber counting is off")
    try:
        counts = load_counts(path, int(time.time()), window_seconds(settings))
    except sqlite3.Error as exc:
        return _fail(f"{path}: {exc}")
    if args.json:
        print(json.dumps([c.as_json() for c in counts], ensure_ascii=False))
    else:
        print(format_stats(counts))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from feedserver.check import READERS, CannotRun, CheckOptions, run_check

    try:
        settings = load_settings(Path(args.config) if args.config else None, required=False)
    except ConfigError as exc:
        return _fail(str(exc))
    base_url = (args.base_url or settings.values.get("site.base_url") or "").rstrip("/")
    if not base_url:
        return _fail("no server to check: give --base-url or set site.base_url")
    if not base_url.startswith(("http://", "https://")):
        return _fail(f"--base-url {base_url!r} is not an http(s) URL")
    options = CheckOptions(
        base_url=base_url,
        readers=tuple(args.user_agent) if args.user_agent else READERS,
        max_bytes=args.max_bytes or settings["check.max_bytes"],
        state_path=Path(args.state or settings["check.state_path"]),
    )
    try:
        report = run_check(options)
    except CannotRun as exc:
        if args.json:
            print(json.dumps({"ok": False, "problems": [{"url": base_url, "severity": "error", "message": str(exc)}]}))
        return _fail(str(exc))
    print(report.as_json() if args.json else report.as_text())
    return 0 if report.ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="feedserver", description=__doc__)
    parser.add_argument("--version", action="version", version=f"feedserver {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    init = commands.add_parser("init-db", help="create or migrate the database schema")
    init.add_argument("path")
    init.set_defaults(handler=cmd_init_db)

    imp = commands.add_parser("import", help="import JSON Lines records (FILE, or - for standard input)")
    imp.add_argument("file")
    imp.add_argument("--db", help="database path (default: database.path from the config)")
    imp.add_argument("--config", help="config file (default: $FEEDSERVER_CONFIG or config/feedserver.toml)")
    imp.add_argument("--dry-run", action="store_true", help="only validate")
    imp.set_defaults(handler=cmd_import)

    demo = commands.add_parser("demo-db", help="build the bundled demo site into a fresh database")
    demo.add_argument("path")
    demo.add_argument("--base-url", default="http://127.0.0.1:8000")
    demo.set_defaults(handler=cmd_demo_db)

    serve = commands.add_parser("serve", help="serve the feeds with uvicorn")
    serve.add_argument("--config", help="config file (default: $FEEDSERVER_CONFIG or config/feedserver.toml)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.add_argument("--demo", action="store_true", help=f"build and serve the demo site ({DEMO_DATABASE})")
    serve.set_defaults(handler=cmd_serve)

    stats = commands.add_parser("stats", help="subscribers per feed, from stats.path")
    stats.add_argument("--config", help="config file (default: $FEEDSERVER_CONFIG or config/feedserver.toml)")
    stats.add_argument("--json", action="store_true", help='a list of {"feed", "subscribers", "by_agent"} objects')
    stats.set_defaults(handler=cmd_stats)

    check = commands.add_parser(
        "check", help="fetch every document a running server publishes and report what readers would see"
    )
    check.add_argument("--base-url", help="the server to check (default: site.base_url)")
    check.add_argument(
        "--user-agent",
        action="append",
        help="a reader's User-Agent to fetch with (repeatable; default: the main readers)",
    )
    check.add_argument("--json", action="store_true", help='one object: {"ok": bool, "problems": [...]}')
    check.add_argument("--config", help="config file (default: $FEEDSERVER_CONFIG or config/feedserver.toml)")
    check.add_argument("--max-bytes", type=int, help="report documents larger than this (default: check.max_bytes)")
    check.add_argument("--state", help="the ids of the last run (default: check.state_path)")
    check.set_defaults(handler=cmd_check)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
