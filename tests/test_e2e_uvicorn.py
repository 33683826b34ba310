"""End to end: real uvicorn on 127.0.0.1, started as
`python -m feedserver serve`, while a second process writes articles into the
database; the feeds are read all along with conditional GETs, with no error.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from tests.conftest import BASE_URL, seeded_records, write_records
from tests.readers import FEED_PATHS, fmt_of, item_ids
from tests.uvicorn_process import RunningServer, raw_get, running_server, stop

pytestmark = pytest.mark.e2e

REFRESH_SECONDS = 0.2
# A write shows within one refresh interval plus the check and the re-render
# (generous, for a loaded machine); see test_changes.py.
VISIBLE_WITHIN = REFRESH_SECONDS + 2.0
WRITER = Path(__file__).with_name("writer_process.py")
PATHS = (
    *FEED_PATHS,
    *(f"/section/berita{p}" for p in FEED_PATHS),
    *(f"/section/ekonomi{p}" for p in FEED_PATHS),
    "/section/berita/tiongkok/feed.json",
    "/",
    # Its bytes do not change with the articles: revalidated with 304s while every
    # feed and the site's page (which lists the newest articles) keep changing.
    "/assets/style.css",
)


@pytest.fixture
def server(tmp_path: Path, db_path: Path, now: datetime) -> Iterator[RunningServer]:
    write_records(db_path, seeded_records(now, count=80))
    with running_server(db_path, tmp_path, {"cache.refresh_seconds": REFRESH_SECONDS}) as running:
        yield running


class Reader:
    """Polls every path with the validators it last received, and checks each document."""

    def __init__(self, base_url: str) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=5)
        self.etags: dict[str, str] = {}
        self.bodies: dict[str, bytes] = {}  # the last 200's body: what the reader shows after a 304
        self.counts = {200: 0, 304: 0}
        self.problems: list[str] = []

    def read(self, path: str) -> httpx.Response:
        headers = {"If-None-Match": self.etags[path]} if path in self.etags else {}
        response = self.client.get(path, headers=headers)
        if response.status_code not in (200, 304):
            self.problems.append(f"{path}: {response.status_code} {response.text[:200]}")
            return response
        self.counts[response.status_code] += 1
        if response.status_code == 200:
            self.etags[path] = response.headers["etag"]
            self.bodies[path] = response.content
            if fmt_of(path) in ("rss", "atom", "json"):
                try:
                    ids = item_ids(response.content, fmt_of(path))
                except Exception as exc:  # collected, so one bad document does not hide the rest
                    self.problems.append(f"{path}: does not parse: {exc!r}")
                else:
                    if len(ids) != len(set(ids)):
                        self.problems.append(f"{path}: repeats an item id: {ids}")
        return response

    def run_until(self, done: threading.Event) -> None:
        try:
            while not done.is_set():
                for path in PATHS:
                    self.read(path)
        except Exception as exc:
            self.problems.append(f"reader failed: {exc!r}")
        finally:
            self.client.close()


def test_feeds_stay_valid_while_the_cms_writes(server: RunningServer, db_path: Path) -> None:
    started = time.monotonic()
    writer = subprocess.Popen(
        [sys.executable, str(WRITER), str(db_path), "--seconds", "3", "--rate", "12", "--base-url", BASE_URL],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    done = threading.Event()
    readers = [Reader(server.url) for _ in range(3)]
    threads = [threading.Thread(target=r.run_until, args=(done,), daemon=True) for r in readers]
    try:
        for thread in threads:
            thread.start()
        out, err = writer.communicate(timeout=15)
    finally:
        done.set()
        for thread in threads:
            thread.join(10)
        if writer.poll() is None:
            stop(writer)
    assert writer.returncode == 0, err.decode(errors="replace")
    result = json.loads(out.decode().strip().splitlines()[-1])
    assert len(result["written"]) >= 10, result
    problems = [p for r in readers for p in r.problems]
    assert not problems, "\n".join(problems[:20]) + "\n" + server.output()
    assert all(r.counts[200] > 0 for r in readers)

    # The last article written shows within the configured delay after the writer stops.
    last, deleted = result["last"], set(result["deleted"])
    reader = readers[0]
    reader.client = httpx.Client(base_url=server.url, timeout=5)
    written_at = time.monotonic()
    try:
        while True:
            reader.read("/feed.json")
            ids = [i.rsplit(":article/", 1)[-1] for i in item_ids(reader.bodies["/feed.json"], "json")]
            if last in ids or time.monotonic() - written_at > VISIBLE_WITHIN:
                break
            time.sleep(REFRESH_SECONDS / 4)
        # Once the writes have settled, the conditional GETs are answered as such:
        # every document revalidates with a 304. (During the writes every feed and
        # the site's page change all the time, and a loaded machine may not let a
        # reader come round to a path twice.)
        for path in PATHS:
            reader.read(path)
        before = reader.counts[304]
        for path in PATHS:
            reader.read(path)
        assert reader.counts[304] - before == len(PATHS), reader.counts
    finally:
        reader.client.close()
    assert last in ids, f"{last} not in the site feed {VISIBLE_WITHIN} s after the writer stopped"
    assert ids[0] == last
    assert not deleted & set(ids), deleted & set(ids)
    assert not reader.problems, reader.problems

    # The conditional GETs are answered as such: how many hit an unchanged version
    # while the writer ran depends on timing, so each path is revalidated once
    # more now that it is quiet, with the validator just received.
    with httpx.Client(base_url=server.url, timeout=5) as client:
        for path in PATHS:
            current = client.get(path)
            again = client.get(path, headers={"If-None-Match": current.headers["etag"]})
            assert again.status_code == 304, path

    # Malformed targets, sent verbatim to the real server: 4xx, never 5xx.
    for target in ("/section/../../etc/passwd", "/section/%ff%00/feed.rss", "/section/BERITA/feed.rss", "//feed.rss"):
        status, _, _ = raw_get(server.url, target.encode())
        assert 400 <= status < 500, (target, status)

    # SIGTERM: a graceful, prompt exit with status 0 (tests/test_shutdown.py has the details).
    assert stop(server.process) == 0, server.output()
    assert "Application shutdown complete" in server.output()
    assert time.monotonic() - started < 20
