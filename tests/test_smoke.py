"""The app starts over a real database and serves the site feed."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import feedparser
import pytest

from tests.conftest import FakeClock, make_settings, seeded_records, serve, write_records


@pytest.mark.anyio
async def test_site_feed_parses(db_path: Path, now: datetime, clock: FakeClock) -> None:
    write_records(db_path, seeded_records(now))
    async with serve(make_settings(db_path), clock) as (client, _app):
        response = await client.get("/feed.rss")
        assert response.status_code == 200
        parsed = feedparser.parse(response.content)
        assert parsed.bozo == 0
        assert len(parsed.entries) > 10
