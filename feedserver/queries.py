"""All SQL the server runs, returning small typed results.

The visibility rule (published, and its publish time has come) is written once,
in `VISIBLE`; every query that lists articles uses it. Each query here is served
by an index (tests/test_query_plans.py checks the plans).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import aiosqlite

from feedserver.db import ReadPool

# Deleted and draft articles, and those scheduled for later, never leave here.
VISIBLE = "a.status = 'published' AND a.published_at <= :now"


@dataclass(frozen=True)
class SectionState:
    """A section as the change check sees it."""

    slug: str
    title: str
    description: str
    changed_at: int  # newest write touching a public article (schema triggers)
    newest_published: int | None  # publish time of its newest visible article


@dataclass(frozen=True)
class SiteState:
    """Everything a feed's freshness depends on, read in two cheap queries."""

    now: int  # the moment visibility was judged at; renders use the same one
    sections: dict[str, SectionState]
    next_publish_at: int | None  # earliest scheduled article still in the future


@dataclass(frozen=True)
class AuthorRow:
    name: str
    url: str
    email: str


@dataclass(frozen=True)
class ArticleRow:
    pk: int
    id: str
    url: str
    section: str
    title: str
    summary: str
    content_html: str
    published_at: int
    updated_at: int
    image_url: str | None
    image_caption: str | None
    image_credit: str | None
    image_width: int | None
    image_height: int | None
    image_type: str | None
    source: str | None
    language: str | None
    reading_time_minutes: int
    authors: tuple[AuthorRow, ...] = field(default=(), kw_only=True)
    tags: tuple[str, ...] = field(default=(), kw_only=True)


ARTICLE_SELECT = (
    "a.pk, a.id, a.url, a.section, a.title, a.summary, a.content_html, a.published_at, a.updated_at, "
    "a.image_url, a.image_caption, a.image_credit, a.image_width, a.image_height, a.image_type, "
    "a.source, a.language, a.reading_time_minutes"
)
SUMMARY_SELECT = ARTICLE_SELECT.replace("a.content_html", "'' AS content_html")


async def site_state(pool: ReadPool, now: int) -> SiteState:
    """Each section's change stamp and newest visible publish time, plus the next scheduled one."""
    rows = await pool.fetchall(
        "SELECT s.slug, s.title, s.description, s.changed_at, "
        f"(SELECT a.published_at FROM articles a WHERE a.section = s.slug AND {VISIBLE} "
        " ORDER BY a.published_at DESC LIMIT 1) "
        "FROM sections s",
        {"now": now},
    )
    sections = {row[0]: SectionState(row[0], row[1], row[2], int(row[3]), row[4]) for row in rows}
    upcoming = await pool.fetchall(
        "SELECT a.published_at FROM articles a WHERE a.status = 'published' AND a.published_at > :now "
        "ORDER BY a.published_at LIMIT 1",
        {"now": now},
    )
    return SiteState(now, sections, int(upcoming[0][0]) if upcoming else None)


async def newest_articles(
    pool: ReadPool, sections: Sequence[str] | None, now: int, limit: int, with_content: bool = True
) -> list[ArticleRow]:
    """The newest visible articles of the given sections (None: the whole site), newest
    first, equal publish times by id descending, with their authors and tags."""
    columns = ARTICLE_SELECT if with_content else SUMMARY_SELECT
    order = "ORDER BY a.published_at DESC, a.id DESC LIMIT :limit"
    params: dict[str, object] = {"now": now, "limit": limit}
    if sections is None:
        sql = f"SELECT {columns} FROM articles a WHERE {VISIBLE} {order}"
    elif not sections:
        return []
    else:
        # One index range per section, each cut at `limit`, merged: this stays
        # cheap for a parent section over a million-article archive, where a
        # single `section IN (...)` query would sort every match.
        parts = []
        for index, slug in enumerate(sections):
            params[f"s{index}"] = slug
            parts.append(
                f"SELECT * FROM (SELECT {columns} FROM articles a WHERE a.section = :s{index} AND {VISIBLE} {order})"
            )
        sql = "SELECT * FROM (" + " UNION ALL ".join(parts) + ") a " + order
    rows = await pool.fetchall(sql, params)
    if not rows:
        return []
    pks = [row[0] for row in rows]
    marks = ", ".join("?" for _ in pks)
    authors: dict[int, list[AuthorRow]] = {}
    for pk, name, url, email in await pool.fetchall(
        "SELECT aa.article_pk, au.name, au.url, au.email FROM article_authors aa "
        f"JOIN authors au ON au.pk = aa.author_pk WHERE aa.article_pk IN ({marks}) "
        "ORDER BY aa.article_pk, aa.position",
        tuple(pks),
    ):
        authors.setdefault(pk, []).append(AuthorRow(name, url, email))
    tags: dict[int, list[str]] = {}
    for pk, name in await pool.fetchall(
        "SELECT at.article_pk, t.name FROM article_tags at JOIN tags t ON t.pk = at.tag_pk "
        f"WHERE at.article_pk IN ({marks}) ORDER BY at.article_pk, at.position",
        tuple(pks),
    ):
        tags.setdefault(pk, []).append(name)
    return [ArticleRow(*row, authors=tuple(authors.get(row[0], ())), tags=tuple(tags.get(row[0], ()))) for row in rows]


async def schema_version(pool: ReadPool) -> int:
    rows = await pool.fetchall("PRAGMA user_version")
    return int(rows[0][0])


async def data_version(conn: aiosqlite.Connection) -> int:
    """PRAGMA data_version: changes when another connection commits (same connection only)."""
    rows = list(await conn.execute_fetchall("PRAGMA data_version"))
    return int(rows[0][0])
