"""A publisher's first run, as a newcomer does it: `feedserver serve --demo` in an empty
directory (no config file), a reader clicking an item, a port already taken, and the
README's own import example imported as printed."""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import lxml.html
import pytest

from feedserver.importer import import_records
from tests.conftest import REPO, article, write_records
from tests.uvicorn_process import HOST, free_port, stop

IDENTITY = {
    "FEEDSERVER_SITE_BASE_URL": "https://koran.example",
    "FEEDSERVER_SITE_TITLE": "Koran Contoh",
    "FEEDSERVER_SITE_PUBLICATION_NAME": "Koran Contoh",
}


def clean_environment(**extra: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FEEDSERVER_")}
    environment.update(extra)
    return environment


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port of 127.0.0.1 some other program is listening on."""
    with socket.socket() as holder:
        holder.bind((HOST, 0))
        holder.listen()
        yield int(holder.getsockname()[1])


def refused(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_serve_demo_on_a_busy_port_fails_before_building_anything(tmp_path: Path, busy_port: int) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "feedserver", "serve", "--demo", "--host", HOST, "--port", str(busy_port)],
        cwd=tmp_path,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    line = refused(result)
    assert str(busy_port) in line and "in use" in line
    assert list(tmp_path.iterdir()) == []  # no demo database was built


def test_serve_on_a_busy_port_fails_with_one_line(tmp_path: Path, busy_port: int) -> None:
    database = tmp_path / "situs.sqlite"
    write_records(database, [article("a-1", __import__("datetime").datetime.now().astimezone())])
    result = subprocess.run(
        [sys.executable, "-m", "feedserver", "serve", "--host", HOST, "--port", str(busy_port)],
        cwd=tmp_path,
        env=clean_environment(FEEDSERVER_DATABASE_PATH=str(database), **IDENTITY),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert str(busy_port) in refused(result)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`feedserver serve --demo` in an empty directory: (its URL, the demo database)."""
    port = free_port()
    log = tmp_path / "demo.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "feedserver", "serve", "--demo", "--host", HOST, "--port", str(port)],
            cwd=tmp_path,
            env=clean_environment(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        yield url, tmp_path / "feedserver-demo.sqlite"
    finally:
        stop(process)


def test_the_demo_runs_without_a_config_and_shows_each_article_at_its_url(demo: tuple[str, Path]) -> None:
    url, database = demo
    with httpx.Client(timeout=10) as client:
        feed = client.get(url + "/feed.json").json()
        assert feed["title"] == "Kabar Tiongkok"  # the demo's identity, with no config file
        assert feed["home_page_url"] == url + "/"
        assert len(feed["items"]) > 20
        for item in feed["items"]:
            assert item["url"].startswith(url + "/")  # a reader's click lands on this server
            response = client.get(item["url"])
            assert response.status_code == 200, item["url"]
            assert response.headers["content-type"].startswith("text/html")
            page = lxml.html.fromstring(response.text)
            assert page.findtext(".//h1") == item["title"]
            extension = item["_feedserver"]
            shown = page.text_content()
            if "source" in extension:
                assert extension["source"] in shown
            assert f"{extension['reading_time_minutes']} min" in shown
            if "image" in item:
                assert page.xpath("//img/@src")[0] == item["image"]
        # Drafts, deleted and scheduled articles have no page, and other paths are 404s.
        conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            hidden = [
                row[0]
                for row in conn.execute(
                    "SELECT url FROM articles WHERE status != 'published' OR published_at > strftime('%s', 'now')"
                )
            ]
        finally:
            conn.close()
        assert len(hidden) >= 5
        for hidden_url in hidden:
            assert client.get(hidden_url).status_code == 404, hidden_url
        listed = feed["items"][0]["url"]
        for path in (listed + "x", listed + "/", "/budaya/tidak-ada-99", "/tidak-ada"):
            target = path if path.startswith("http") else url + path
            assert client.get(target).status_code == 404, path


# --- the README's import example ----------------------------------------------------------


def readme_import_example() -> list[bytes]:
    """The JSON Lines block under "Import format" in README.md, as printed."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Import format", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```jsonl\n(.*?)```", section, re.S)
    assert match, "README.md's Import format section has no ```jsonl block"
    return [line.encode() for line in match.group(1).splitlines()]


def test_the_readme_import_example_is_json_lines_that_imports_as_printed(tmp_path: Path) -> None:
    lines = readme_import_example()
    assert len(lines) >= 3
    records = [json.loads(line) for line in lines]  # one JSON object per line
    assert {r.get("type", "article") for r in records} == {"section", "article"}
    database = tmp_path / "contoh.sqlite"
    result = import_records(database, "README.md", lines)
    assert result.errors == []
    assert len(result.articles) == sum(r.get("type", "article") == "article" for r in records)
    # Every field the format has is shown in it.
    fields = set().union(*(r.keys() for r in records if r.get("type", "article") == "article"))
    assert {"image", "tags", "source", "reading_time_minutes", "authors", "updated_at"} <= fields


def test_import_needs_only_the_database_from_the_config(tmp_path: Path) -> None:
    """The identity is required to serve, not to import: a CMS's import job may run with a
    config that names only the database."""
    from feedserver.cli import main

    config = tmp_path / "impor.toml"
    config.write_text(f'[database]\npath = "{tmp_path / "situs.sqlite"}"\n', encoding="utf-8")
    source = tmp_path / "contoh.jsonl"
    source.write_bytes(b"\n".join(readme_import_example()) + b"\n")
    assert main(["import", str(source), "--config", str(config)]) == 0
    assert (tmp_path / "situs.sqlite").is_file()
