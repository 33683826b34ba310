"""The `feedserver` command: init-db, import from standard input and from the configured
database, demo-db. (`serve` refusing a bad start is in test_config.py.)"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from feedserver.cli import main
from feedserver.db import SCHEMA_VERSION
from tests.conftest import article, section

TABLES = {"sections", "articles", "authors", "article_authors", "tags", "article_tags"}


def jsonl(*records: dict[str, Any] | bytes) -> bytes:
    lines = [r if isinstance(r, bytes) else json.dumps(r, ensure_ascii=False).encode() for r in records]
    return b"\n".join(lines) + b"\n"


def pragma(db_path: Path, name: str) -> Any:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        conn.close()


def rows(db_path: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return list(conn.execute(sql))
    finally:
        conn.close()


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any FEEDSERVER_* setting that could leak in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDSERVER_")}
    env.update(extra)
    return env


RECENT = datetime.now(UTC) - timedelta(hours=1)


def test_init_db_creates_the_schema_in_wal_mode(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db_path = tmp_path / "new.sqlite"

    assert main(["init-db", str(db_path)]) == 0

    assert pragma(db_path, "user_version") == SCHEMA_VERSION
    assert pragma(db_path, "journal_mode") == "wal"
    names = {name for (name,) in rows(db_path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert names >= TABLES
    # Running it again on a current database changes nothing and succeeds.
    schema = rows(db_path, "SELECT type, name, sql FROM sqlite_master ORDER BY name")
    assert main(["init-db", str(db_path)]) == 0
    assert rows(db_path, "SELECT type, name, sql FROM sqlite_master ORDER BY name") == schema
    assert pragma(db_path, "user_version") == SCHEMA_VERSION
    capsys.readouterr()


def test_init_db_refuses_a_newer_schema(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db_path = tmp_path / "future.sqlite"
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA user_version = 7")
    conn.close()

    assert main(["init-db", str(db_path)]) != 0

    err = capsys.readouterr().err
    assert "7" in err
    assert pragma(db_path, "user_version") == 7


def test_import_from_standard_input_in_process(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    db_path = tmp_path / "stdin.sqlite"
    data = jsonl(section("berita"), article("a-1", RECENT, section="berita"))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))

    assert main(["import", "-", "--db", str(db_path)]) == 0

    assert rows(db_path, "SELECT id, section FROM articles") == [("a-1", "berita")]
    capsys.readouterr()


def test_import_from_standard_input_as_a_subprocess(tmp_path: Path) -> None:
    db_path = tmp_path / "stdin.sqlite"
    command = [sys.executable, "-m", "feedserver.cli", "import", "-", "--db", str(db_path)]
    bad = jsonl(
        article("a-1", RECENT),
        article("a-2", RECENT, url="/relatif"),
        b"",
        b"{not json",
        article("a-3", RECENT, status="arsip"),
    )

    failed = subprocess.run(command, input=bad, capture_output=True, timeout=60, cwd=tmp_path, env=clean_env())

    assert failed.returncode != 0
    reported = [line for line in failed.stderr.decode().splitlines() if line.startswith("<stdin>:")]
    numbered = [line.split(":")[1] for line in reported if line.split(":")[1].isdigit()]
    assert numbered == ["2", "4", "5"], failed.stderr.decode()
    assert "<stdin>:2: url: " in failed.stderr.decode()
    assert "<stdin>:5: status: " in failed.stderr.decode()
    assert not db_path.exists()

    good = jsonl(article("a-1", RECENT), article("a-2", RECENT, section="ekonomi"))
    done = subprocess.run(command, input=good, capture_output=True, timeout=60, cwd=tmp_path, env=clean_env())

    assert done.returncode == 0, done.stderr.decode()
    assert rows(db_path, "SELECT id FROM articles ORDER BY id") == [("a-1",), ("a-2",)]


def test_import_writes_to_the_configured_database(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    source = tmp_path / "batch.jsonl"
    source.write_bytes(jsonl(article("a-1", RECENT)))
    from_file = tmp_path / "from-file.sqlite"
    config = tmp_path / "feedserver.toml"
    config.write_text(f'[database]\npath = "{from_file}"\n')
    for name in [k for k in os.environ if k.startswith("FEEDSERVER_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)

    assert main(["import", str(source), "--config", str(config)]) == 0
    assert rows(from_file, "SELECT id FROM articles") == [("a-1",)]

    # The environment overrides the file.
    from_env = tmp_path / "from-env.sqlite"
    monkeypatch.setenv("FEEDSERVER_DATABASE_PATH", str(from_env))
    assert main(["import", str(source), "--config", str(config)]) == 0
    assert rows(from_env, "SELECT id FROM articles") == [("a-1",)]
    capsys.readouterr()


def test_import_of_a_missing_file_is_one_clear_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db_path = tmp_path / "x.sqlite"

    assert main(["import", str(tmp_path / "nope.jsonl"), "--db", str(db_path)]) != 0

    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "nope.jsonl" in err[0]
    assert not db_path.exists()


def test_demo_db_builds_a_current_nested_site(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db_path = tmp_path / "demo.sqlite"
    before = int(datetime.now(UTC).timestamp())

    assert main(["demo-db", str(db_path), "--base-url", "https://koran.example"]) == 0

    capsys.readouterr()
    slugs = [slug for (slug,) in rows(db_path, "SELECT slug FROM sections")]
    assert len(slugs) >= 4
    assert any("/" in slug for slug in slugs)
    published = rows(db_path, "SELECT count(*) FROM articles WHERE status = 'published'")[0][0]
    assert published >= 80
    # Times are placed relative to the build, so the newest article is recent.
    newest = rows(db_path, f"SELECT max(published_at) FROM articles WHERE published_at <= {before + 5}")[0][0]
    assert before - newest < 3 * 86400
    # Every URL is on the base URL it was built for.
    urls = [url for (url,) in rows(db_path, "SELECT url FROM articles")]
    assert all(url.startswith("https://koran.example/") for url in urls)
