"""Shared test fixtures: real SQLite files, the real app with its lifespan, a movable clock."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from feedserver.app import create_app
from feedserver.config import Settings, load_settings
from feedserver.importer import import_records

REPO = Path(__file__).resolve().parents[1]
SCHEMAS = Path(os.environ.get("FEEDSERVER_SCHEMAS", REPO / "feedserver" / "schemas"))
WIB = timezone(timedelta(hours=7))
BASE_URL = "https://example.id"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FakeClock:
    """A clock tests move by hand instead of sleeping."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def iso(moment: datetime) -> str:
    return moment.astimezone(WIB).isoformat()


def section(slug: str, title: str | None = None, description: str = "") -> dict[str, Any]:
    return {
        "type": "section",
        "slug": slug,
        "title": title or slug.rsplit("/", 1)[-1].title(),
        "description": description,
    }


def article(
    article_id: str,
    published: datetime,
    section: str = "berita/tiongkok",
    status: str = "published",
    **fields: Any,
) -> dict[str, Any]:
    """An import record with sensible defaults; `fields` override any key."""
    record: dict[str, Any] = {
        "type": "article",
        "id": article_id,
        "url": f"{BASE_URL}/{section}/{article_id}",
        "section": section,
        "title": f"Judul {article_id} 北京",
        "summary": f"Ringkasan {article_id}.",
        "content_html": f"<p>Isi artikel {article_id} tentang 上海.</p>",
        "authors": [{"name": "Sari Wijaya"}],
        "published_at": iso(published),
        "status": status,
        "tags": ["tiongkok"],
    }
    record.update(fields)
    return {k: v for k, v in record.items() if v is not None}


def write_records(db_path: Path, records: Iterable[dict[str, Any]]) -> None:
    """Import records through the real importer; fail the test on any bad record."""
    lines = [json.dumps(r, ensure_ascii=False).encode() for r in records]
    result = import_records(db_path, "test.jsonl", lines)
    assert not result.errors, result.errors


def seeded_records(now: datetime, count: int = 60, seed: int = 7) -> list[dict[str, Any]]:
    """A random but reproducible site: nested sections, a mix of statuses and times."""
    rng = random.Random(seed)
    sections = ["berita", "berita/tiongkok", "berita/asia", "ekonomi", "budaya"]
    records: list[dict[str, Any]] = [section(s) for s in sections]
    for n in range(count):
        status = rng.choices(["published", "draft", "deleted"], [8, 1, 1])[0]
        offset = timedelta(minutes=rng.randint(-60 * 24 * 10, 60 * 3))  # some in the future
        records.append(article(f"r-{n:04d}", now + offset, section=rng.choice(sections), status=status))
    return records


SITE_TITLE = "Kabar Tiongkok"


def make_settings(db_path: Path, **overrides: Any) -> Settings:
    """The bundled config, with the database and the site's identity given explicitly
    (the identity has no default in code; tests do not lean on the example file's)."""
    values = {
        "database.path": str(db_path),
        "site.base_url": BASE_URL,
        "site.title": SITE_TITLE,
        "site.publication_name": SITE_TITLE,
    }
    values.update({k.replace("__", "."): v for k, v in overrides.items()})
    return load_settings(path=REPO / "config" / "feedserver.toml", environ={}, overrides=values)


@contextlib.asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """Run an ASGI app's lifespan (httpx's ASGITransport does not)."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    task = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, outbox.put)
    )
    await inbox.put({"type": "lifespan.startup"})
    message = await outbox.get()
    if message["type"] != "lifespan.startup.complete":
        task.cancel()
        raise RuntimeError(f"startup failed: {message}")
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task


@contextlib.asynccontextmanager
async def serve(
    settings: Settings, clock: FakeClock | None = None, watch: bool = False
) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """The real app over a real database: (client, app). With watch=False the test
    runs the change check itself: `await app.state.watcher.check()`."""
    app = create_app(settings, clock=clock or FakeClock(datetime.now(UTC).timestamp()), watch=watch)
    async with lifespan(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client, app


@pytest.fixture
def now() -> datetime:
    """The real present (the schema's triggers stamp writes with SQLite's clock), to the second."""
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def clock(now: datetime) -> FakeClock:
    return FakeClock(now.timestamp())


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "site.sqlite"


def hold_feed_renders(monkeypatch: pytest.MonkeyPatch) -> tuple[asyncio.Event, asyncio.Event]:
    """Stop every feed render before its first query: returns (entered, gate). `entered`
    is set once a render waits; setting `gate` lets them all go on. For tests of what
    a CMS write does to a render already under way."""
    import feedserver.documents

    entered, gate = asyncio.Event(), asyncio.Event()
    real = feedserver.documents.newest_article_keys

    async def held(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        await gate.wait()
        return await real(*args, **kwargs)

    monkeypatch.setattr(feedserver.documents, "newest_article_keys", held)
    return entered, gate
