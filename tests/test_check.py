"""`feedserver check` against a deliberately broken site (tests/broken_server.py,
real HTTP on 127.0.0.1), where it must name every fault, and against feedserver
itself (real uvicorn), where it must find nothing. Run as the command line is."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from feedserver.audience import load_counts
from tests.broken_server import PROBLEMS, broken_site
from tests.conftest import article, section, write_records
from tests.uvicorn_process import free_port, running_server

pytestmark = pytest.mark.e2e


def check(workdir: Path, *args: str) -> tuple[int, dict[str, Any]]:
    """Run `feedserver check --json` in `workdir` (no config file there: defaults)."""
    result = subprocess.run(
        [sys.executable, "-m", "feedserver", "check", "--json", "--state", str(workdir / "state.json"), *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.returncode, json.loads(result.stdout)


def test_every_fault_of_a_broken_site_is_named(tmp_path: Path) -> None:
    with broken_site() as site:
        status, report = check(tmp_path, "--base-url", site.base, "--max-bytes", "4096")
        assert status == 1 and report["ok"] is False
        problems = report["problems"]
        for path, severity, words in PROBLEMS:
            url = site.base + path
            found = [p for p in problems if p["url"] == url and p["severity"] == severity and words in p["message"]]
            assert found, f"no {severity} {words!r} for {url}; got {[p for p in problems if p['url'] == url]}"
        # Only the faults planted: the good copies of a feed raise nothing else.
        named = {(p["url"].removeprefix(site.base), p["severity"]) for p in problems}
        assert named <= {(path, severity) for path, severity, _ in PROBLEMS}, named
        assert not any("item id(s) changed" in p["message"] for p in problems)  # a first run has nothing to compare

        status, again = check(tmp_path, "--base-url", site.base, "--max-bytes", "4096")
    assert status == 1
    changed = [p for p in again["problems"] if "item id(s) changed since the last run" in p["message"]]
    assert [(p["url"], p["severity"]) for p in changed] == [(site.base + "/feed.rss", "error")]


def test_a_server_that_cannot_be_reached_exits_2(tmp_path: Path) -> None:
    status, report = check(tmp_path, "--base-url", f"http://127.0.0.1:{free_port()}")
    assert status == 2
    assert report["ok"] is False and "cannot reach" in report["problems"][0]["message"]


def test_feedserver_itself_has_no_problem(tmp_path: Path, db_path: Path, now: datetime) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    records: list[dict[str, Any]] = [section("berita"), section("berita/tiongkok"), section("ekonomi")]
    for n in range(30):
        slug = ("berita", "berita/tiongkok", "ekonomi")[n % 3]
        records.append(
            article(
                f"c-{n:02d}",
                now - timedelta(hours=n * 7 + 1),
                section=slug,
                url=f"{base}/{slug}/c-{n:02d}",
                content_html=f'<p>Kereta cepat 高铁 ke-{n}.</p><img src="{base}/img/{n}.jpg" alt="peta">',
                image={"url": f"{base}/img/{n}.jpg", "caption": "Stasiun 北京南"},
            )
        )
    write_records(db_path, records)
    stats = tmp_path / "stats.sqlite"
    settings = {"site.base_url": base, "server.workers": 2, "stats.path": str(stats), "stats.flush_seconds": 0.2}
    with running_server(db_path, tmp_path, settings, port=port):
        for _ in range(2):  # the second run compares ids with the first
            status, report = check(tmp_path, "--base-url", base)
            assert report == {"ok": True, "problems": []}
            assert status == 0
    state = json.loads((tmp_path / "state.json").read_text())
    assert {f"{base}/feed.rss", f"{base}/section/berita/tiongkok/feed.json"} <= set(state["ids"])
    # The check fetched as newsboat, NetNewsWire, Feedly...: none of it is counted as a subscriber.
    assert load_counts(stats, int(now.timestamp()) + 60, 7 * 86400) == []
