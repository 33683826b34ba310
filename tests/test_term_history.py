"""A tag's and an author's feed history (RFC 5005): the same walk as a section's
(tests/test_history.py), over the routes and keys of tag and author scopes."""

from __future__ import annotations

from pathlib import Path

import pytest

import tests.test_history as history
from tests.cms import cms_connection
from tests.conftest import FakeClock, make_settings, serve

TAGGED = {
    "feb-1",
    "mar-1",
    "mar-3",
    "apr-1",
    "apr-x",
    "apr-d",
    "may-2",
    "may-3",
    "jun-1",
    "jun-4",
    "jun-9",
    "jun-later",
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(history.NOW.timestamp())  # the history test's fixed months


def tag_articles(db_path: Path, clock: FakeClock) -> None:
    """The history test's articles; those in TAGGED tagged 熊猫 and written by Dewi."""
    history.build(db_path, clock, history.ARTICLES)
    with cms_connection(db_path, clock) as conn:
        tag = conn.execute("INSERT INTO tags (name) VALUES ('熊猫')").lastrowid
        author = conn.execute("INSERT INTO authors (name) VALUES ('Dewi')").lastrowid
        for article_id in TAGGED:
            pk = conn.execute("SELECT pk FROM articles WHERE id = ?", (article_id,)).fetchone()[0]
            conn.execute("INSERT INTO article_tags (article_pk, position, tag_pk) VALUES (?, 0, ?)", (pk, tag))
            conn.execute("INSERT INTO article_authors (article_pk, position, author_pk) VALUES (?, 0, ?)", (pk, author))


@pytest.mark.anyio
@pytest.mark.parametrize("fmt", history.FORMATS)
@pytest.mark.parametrize("scope", ["/tag/xiongmao", "/author/dewi"])
async def test_a_reader_walking_a_tag_or_author_feed_collects_each_of_its_articles_once(
    db_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, scope: str, fmt: str
) -> None:
    tag_articles(db_path, clock)
    monkeypatch.setattr(history, "prefix", lambda path: path)  # the walk starts at {scope}/feed.{fmt}
    expected = sorted(article_id for article_id in history.live(history.ARTICLES, None) if article_id in TAGGED)
    async with serve(make_settings(db_path, feeds__items=3), clock) as (client, _app):
        seen, paths = await history.walk(client, scope, fmt)
    assert sorted(seen) == expected and len(seen) == len(set(seen))
    assert len(paths) > 2  # it really walked: pages and archives
    assert all(path.startswith(scope + "/") for path in paths)
