"""A short run of bench/load.py: pollers with conditional GETs over every
feed and sitemap of a real uvicorn while a writer process adds and edits articles. No timing
thresholds beyond the configured delay: zero errors, every write visible within it, memory not
growing between the first and last third, and a clean exit 0 on SIGTERM."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = [pytest.mark.e2e, pytest.mark.load]

REFRESH_SECONDS = 0.2


def test_short_load_run_has_no_errors_and_shows_every_write() -> None:
    command = [
        sys.executable,
        str(REPO / "bench" / "load.py"),
        "--seconds",
        "5",
        "--pollers",
        "16",
        "--writes-per-second",
        "5",
        "--refresh",
        str(REFRESH_SECONDS),
        "--max-growth-mb",
        "60",  # generous: a short run on a shared machine; the point is "no unbounded growth"
        "--json",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=90, cwd=REPO, check=False)
    assert result.stdout.strip(), result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["errors"] == 0, report["error_samples"]
    assert report["requests"] > 100
    assert report["statuses"].get("304", 0) > 0  # the conditional GETs were answered as such
    assert any(path.startswith("/sitemap") for path in report["path_list"])
    assert report["writes"] >= 10 and report["edits"] > 0
    assert report["not_visible"] == []
    assert report["visibility_s"]["max"] <= report["visibility_s"]["bound"]
    assert report["memory_mb"]["samples"] > 5
    assert report["server_exit"] == 0 and report["writer_exit"] == 0
    assert report["server_log_tracebacks"] == 0
    assert report["failures"] == [], report["failures"]
    assert result.returncode == 0
