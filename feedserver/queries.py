"""All SQL the server runs, returning small typed results.

The visibility rule (published, and its publish time has come) is written once,
in `VISIBLE`; every query that lists articles uses it. Each query here is served
by an index (tests/test_query_plans.py checks the plans).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import aiosqlite
import orjson

from feedserver.db import ReadPool
from feedserver.listing import ALWAYS_SHORT_BYTES, MAX_URL_LENGTH

# Deleted and draft articles, and those scheduled for later, never leave here.
# Nor does a publish time that is not whole seconds (a CMS that wrote
# '2026-11-30 08:00:00' or a REAL; schema version 2 refuses both): a TEXT sorts
# after every number, so `<= :now` already leaves it out, and typeof() the REAL.
VISIBLE = "a.status = 'published' AND a.published_at <= :now AND typeof(a.published_at) = 'integer'"
# An article's update time as the server reads it: a REAL is cut to whole
# seconds, and anything else (TEXT, NULL) is read as its publish time.
UPDATED_AT = (
    "CASE typeof(a.updated_at) WHEN 'integer' THEN a.updated_at WHEN 'real' THEN CAST(a.updated_at AS INTEGER) "
    "ELSE a.published_at END"
)


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
    revision: int  # bumped by the schema's triggers on every change to the article or its links
    authors: tuple[AuthorRow, ...] = field(default=(), kw_only=True)
    tags: tuple[str, ...] = field(default=(), kw_only=True)


ARTICLE_SELECT = (
    f"a.pk, a.id, a.url, a.section, a.title, a.summary, a.content_html, a.published_at, {UPDATED_AT}, "
    "a.image_url, a.image_caption, a.image_credit, a.image_width, a.image_height, a.image_type, "
    "a.source, a.language, a.reading_time_minutes, a.revision, typeof(a.updated_at) = 'integer', "
    # Authors and tags in order, in the same query: one round trip per feed.
    "(SELECT json_group_array(json_array(name, url, email)) FROM (SELECT au.name, au.url, au.email "
    " FROM article_authors aa JOIN authors au ON au.pk = aa.author_pk WHERE aa.article_pk = a.pk "
    " ORDER BY aa.position)) AS authors_json, "
    "(SELECT json_group_array(name) FROM (SELECT t.name FROM article_tags at JOIN tags t ON t.pk = at.tag_pk "
    " WHERE at.article_pk = a.pk ORDER BY at.position)) AS tags_json"
)
SUMMARY_SELECT = ARTICLE_SELECT.replace("a.content_html", "'' AS content_html")


def as_text(value: object) -> str:
    """A TEXT column as the CMS may have filled it: NULL, a number or a BLOB read as text."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def as_int(value: object, default: int = 0) -> int:
    """An INTEGER column the CMS may have filled with something else (read as `default`)."""
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value == value and abs(value) < 2**63:
        return int(value)
    return default


class SectionRow(NamedTuple):
    """A section as the change check reads it (feedserver.state.SectionState is built from it)."""

    slug: str
    title: str
    description: str
    changed_at: int  # newest write touching a public article (schema triggers)
    newest_published: int | None  # publish time of its newest visible article
    revision: int  # bumped by every such write: changed_at has whole seconds (schema triggers)
    implied: bool  # declared by the triggers from an article's slug (schema version 2)


def _in(name: str, values: Sequence[object], params: dict[str, object]) -> str:
    """`name IN (:v0, :v1, ...)`, its values added to `params`."""
    marks = []
    for index, value in enumerate(values):
        params[f"in{index}"] = value
        marks.append(f":in{index}")
    return f"{name} IN ({', '.join(marks)})"


async def section_rows(pool: ReadPool, now: int, slugs: Sequence[str] | None = None) -> list[SectionRow]:
    """Each section's change stamp and its newest visible publish time (of `slugs` only, if given)."""
    params: dict[str, object] = {"now": now}
    where = ""
    if slugs is not None:
        if not slugs:
            return []
        where = " WHERE " + _in("s.slug", slugs, params)
    rows = await pool.fetchall(
        "SELECT s.slug, s.title, s.description, s.changed_at, "
        f"(SELECT a.published_at FROM articles a WHERE a.section = s.slug AND {VISIBLE} "
        " ORDER BY a.published_at DESC LIMIT 1), s.revision, s.implied "
        f"FROM sections s{where}",
        params,
    )
    return [
        SectionRow(
            as_text(row[0]),
            as_text(row[1]),
            as_text(row[2]),
            as_int(row[3]),
            row[4],
            as_int(row[5]),
            bool(as_int(row[6])),
        )
        for row in rows
    ]


# Tags and authors: the two kinds of named scope, alike but for their tables.
TERM_TABLES = {"tag": ("tags", "article_tags", "tag_pk"), "author": ("authors", "article_authors", "author_pk")}


class TermRow(NamedTuple):
    """A tag or an author as the change check reads it (feedserver.state.TermState)."""

    pk: int
    name: str
    slug: str | None  # as stored; None: derived (feedserver.slugs)
    slug_source: str  # what a derived slug comes from
    url: str  # an author's page; '' for tags and authors without one
    changed_at: int  # scope_stamps.changed_at: newest write to one of its public articles (0: none)
    newest_published: int | None  # publish time of its newest visible article
    version: int  # its scope stamp (0: none yet)


async def term_rows(pool: ReadPool, kind: str, now: int, pks: Sequence[int] | None = None) -> list[TermRow]:
    """Every tag (kind 'tag') or author ('author'), or those of `pks` that still exist."""
    table, links, column = TERM_TABLES[kind]
    params: dict[str, object] = {"now": now, "kind": kind}
    where = ""
    if pks is not None:
        if not pks:
            return []
        where = " WHERE " + _in("t.pk", pks, params)
    url = "t.url" if kind == "author" else "''"
    rows = await pool.fetchall(
        f"SELECT t.pk, t.name, t.slug, coalesce(t.slug_source, t.name), {url}, coalesce(s.changed_at, 0), "
        f"(SELECT max(a.published_at) FROM {links} l CROSS JOIN articles a ON a.pk = l.article_pk "
        f" WHERE l.{column} = t.pk AND {VISIBLE}), coalesce(s.version, 0) "
        f"FROM {table} t LEFT JOIN scope_stamps s ON s.kind = :kind AND s.key = CAST(t.pk AS TEXT){where}",
        params,
    )
    return [TermRow(int(r[0]), str(r[1]), r[2], str(r[3]), str(r[4] or ""), int(r[5]), r[6], int(r[7])) for r in rows]


class Stamp(NamedTuple):
    """A row of scope_stamps: the newest change to one section, tag or author."""

    kind: str
    key: str
    version: int


async def scope_stamps(pool: ReadPool, after_version: int) -> list[Stamp]:
    """Scopes changed since `after_version`, oldest change first."""
    rows = await pool.fetchall(
        "SELECT kind, key, version FROM scope_stamps WHERE version > :after ORDER BY version", {"after": after_version}
    )
    return [Stamp(str(r[0]), str(r[1]), int(r[2])) for r in rows]


async def scope_stamps_version(pool: ReadPool) -> int:
    rows = await pool.fetchall("SELECT coalesce(max(version), 0) FROM scope_stamps")
    return int(rows[0][0])


class DueScopes(NamedTuple):
    """The scopes of the articles that came due (reached their publish time) in a span."""

    sections: frozenset[str]
    tags: frozenset[int]
    authors: frozenset[int]


async def due_scopes(pool: ReadPool, after: int, until: int) -> DueScopes:
    """Sections, tags and authors of the published articles with a publish time in
    (after, until]: no write announces them, so the change check asks."""
    rows = await pool.fetchall(
        "SELECT a.pk, a.section FROM articles a WHERE a.status = 'published' "
        "AND a.published_at > :after AND a.published_at <= :until",
        {"after": after, "until": until},
    )
    if not rows:
        return DueScopes(frozenset(), frozenset(), frozenset())
    pks = [int(row[0]) for row in rows]
    found: dict[str, frozenset[int]] = {}
    for kind, (_, links, column) in TERM_TABLES.items():
        linked: set[int] = set()
        for first in range(0, len(pks), 500):
            params: dict[str, object] = {}
            where = _in("article_pk", pks[first : first + 500], params)
            linked.update(
                int(row[0]) for row in await pool.fetchall(f"SELECT {column} FROM {links} WHERE {where}", params)
            )
        found[kind] = frozenset(linked)
    return DueScopes(frozenset(str(row[1]) for row in rows), found["tag"], found["author"])


async def next_publish_at(pool: ReadPool, now: int) -> int | None:
    """The earliest publish time of a published article still in the future."""
    upcoming = await pool.fetchall(
        "SELECT a.published_at FROM articles a WHERE a.status = 'published' AND a.published_at > :now "
        "AND typeof(a.published_at) = 'integer' ORDER BY a.published_at LIMIT 1",
        {"now": now},
    )
    return int(upcoming[0][0]) if upcoming else None


async def untimed_articles(pool: ReadPool, latest: int, limit: int = 100) -> list[tuple[str, str]]:
    """(id, type) of published articles whose publish time is not a number (a TEXT
    date, a BLOB): VISIBLE leaves them out; these are the ones to report. They sort
    after every number, so this reads only them (and any past `latest`)."""
    rows = await pool.fetchall(
        "SELECT a.id, typeof(a.published_at) FROM articles a WHERE a.status = 'published' "
        "AND a.published_at > :latest AND typeof(a.published_at) NOT IN ('integer', 'real') LIMIT :limit",
        {"latest": latest, "limit": limit},
    )
    return [(as_text(row[0]), str(row[1])) for row in rows]


@dataclass(frozen=True)
class ArticleKey:
    """Enough of an article to know whether its built feed item is still current."""

    pk: int
    id: str
    section: str
    revision: int
    updated_at: int
    published_at: int


def _published_window(params: dict[str, object], before: int | None, since: int | None) -> str:
    """The condition `published_at` in [since, before) (either end open when None), its
    values added to `params`: the window of a feed history page or archive."""
    window = ""
    if before is not None:
        window += " AND a.published_at < :before"
        params["before"] = before
    if since is not None:
        window += " AND a.published_at >= :since"
        params["since"] = since
    return window


async def newest_article_keys(
    pool: ReadPool,
    sections: Sequence[str] | None,
    now: int,
    limit: int,
    before: int | None = None,
    since: int | None = None,
) -> list[ArticleKey]:
    """The newest visible articles of the given sections (None: the whole site), newest
    first, equal publish times by id descending; only those published in
    [since, before) when given (feed history pages and archives); limit -1: all."""
    columns = f"a.pk, a.id, a.section, a.revision, {UPDATED_AT} AS updated_at, a.published_at"
    order = "ORDER BY a.published_at DESC, a.id DESC LIMIT :limit"
    params: dict[str, object] = {"now": now, "limit": limit}
    window = _published_window(params, before, since)
    if sections is None:
        sql = f"SELECT {columns} FROM articles a WHERE {VISIBLE}{window} {order}"
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
                f"SELECT * FROM (SELECT {columns} FROM articles a "
                f"WHERE a.section = :s{index} AND {VISIBLE}{window} {order})"
            )
        sql = "SELECT * FROM (" + " UNION ALL ".join(parts) + ") a " + order
    return [ArticleKey(*row) for row in await pool.fetchall(sql, params)]


async def oldest_published(pool: ReadPool, now: int) -> int | None:
    """Publish time of the site's oldest visible article: where feed archives begin."""
    rows = await pool.fetchall(
        f"SELECT a.published_at FROM articles a WHERE {VISIBLE} ORDER BY a.published_at LIMIT 1", {"now": now}
    )
    return int(rows[0][0]) if rows else None


async def feed_stamps(pool: ReadPool, after_version: int) -> list[HourStamp] | None:
    """feed_hours rows changed since `after_version`, oldest change first; None when
    the database predates the table (init-db adds it)."""
    exists = await pool.fetchall("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'feed_hours'")
    if not exists:
        return None
    rows = await pool.fetchall(
        "SELECT hour_start, version, changed_at FROM feed_hours WHERE version > :after ORDER BY version",
        {"after": after_version},
    )
    return [HourStamp(*row) for row in rows]


async def term_article_keys(
    pool: ReadPool,
    kind: str,
    pk: int,
    now: int,
    limit: int,
    before: int | None = None,
    since: int | None = None,
) -> list[ArticleKey]:
    """The newest visible articles of one tag or author, newest first, equal publish
    times by id descending; only those published in [since, before) when given
    (feed history pages and archives); limit -1: all."""
    _, links, column = TERM_TABLES[kind]
    params: dict[str, object] = {"pk": pk, "now": now, "limit": limit}
    window = _published_window(params, before, since)
    # CROSS JOIN keeps SQLite's join order: the tag's links first (an index
    # range), then each article by rowid. Left to itself the planner walks every
    # article in publish order to skip the sort, a scan of the whole archive
    # for a rare tag.
    rows = await pool.fetchall(
        f"SELECT a.pk, a.id, a.section, a.revision, a.updated_at, a.published_at FROM {links} l "
        f"CROSS JOIN articles a ON a.pk = l.article_pk WHERE l.{column} = :pk AND {VISIBLE}{window} "
        "ORDER BY a.published_at DESC, a.id DESC LIMIT :limit",
        params,
    )
    return [ArticleKey(*row) for row in rows]


async def articles_by_pk(pool: ReadPool, pks: Sequence[int], now: int, with_content: bool) -> dict[int, ArticleRow]:
    """Full rows, with authors and tags, of those of `pks` still visible."""
    columns = ARTICLE_SELECT if with_content else SUMMARY_SELECT
    found: dict[int, ArticleRow] = {}
    # In batches: a month's archive may list more articles than SQLite allows
    # variables in one statement (32,766).
    for first in range(0, len(pks), PK_BATCH):
        batch = pks[first : first + PK_BATCH]
        params: dict[str, object] = {"now": now}
        params.update({f"p{i}": pk for i, pk in enumerate(batch)})
        marks = ", ".join(f":p{i}" for i in range(len(batch)))
        # NOT INDEXED keeps the planner on the rowid lookups: left to itself it
        # serves VISIBLE from articles_status_published, which at a million
        # articles reads the whole index (170 ms a render instead of 1).
        rows = await pool.fetchall(
            f"SELECT {columns} FROM articles a NOT INDEXED WHERE a.pk IN ({marks}) AND {VISIBLE}", params
        )
        for row in rows:
            found[row[0]] = _article_row(pool, row)
    return found


PK_BATCH = 2000


def _article_row(pool: ReadPool, row: sqlite3.Row) -> ArticleRow:
    """An ArticleRow from ARTICLE_SELECT's columns, each read as its type whatever
    the CMS stored (a bad update time is reported)."""
    if not row[-3]:
        pool.rejects.report("articles", row[1], "updated_at is not whole seconds: read as published_at")
    image_url, image_caption, image_credit = (None if v is None else as_text(v) for v in row[9:12])
    source, language = (None if v is None else as_text(v) for v in row[15:17])
    image_type = None if row[14] is None else as_text(row[14])
    return ArticleRow(
        pk=row[0],
        id=as_text(row[1]),
        url=as_text(row[2]),
        section=as_text(row[3]),
        title=as_text(row[4]),
        summary=as_text(row[5]),
        content_html=as_text(row[6]),
        published_at=row[7],
        updated_at=row[8],
        image_url=image_url,
        image_caption=image_caption,
        image_credit=image_credit,
        image_width=row[12] if isinstance(row[12], int) else None,
        image_height=row[13] if isinstance(row[13], int) else None,
        image_type=image_type,
        source=source,
        language=language,
        reading_time_minutes=max(1, as_int(row[17], 1)),
        revision=as_int(row[18]),
        authors=tuple(AuthorRow(*map(as_text, author)) for author in orjson.loads(row[-2])),
        tags=tuple(as_text(tag) for tag in orjson.loads(row[-1])),
    )


# --- sitemaps -----------------------------------------------------------------
# Keyset queries over articles_status_published (status, published_at, id,
# updated_at, url, image_url): counts, lastmods and the URL lists of article
# sitemaps come from the index alone, a page at a time in index order.

# A sitemap lists only URLs on its own origin, and none longer than sitemap.xsd
# allows once percent-encoded: counted here with the rule the writer applies
# (feedserver.listing), so no file the index lists is empty. The prefix test is
# a range of the binary collation, and the length first that of the UTF-8 bytes:
# both far cheaper per index entry than substr() and length(); only a URL too
# long to be surely short costs a call of listing.sitemap_url_length.
ON_HOST = (
    f"a.url >= :origin AND a.url < :origin_end AND (length(CAST(a.url AS BLOB)) <= {ALWAYS_SHORT_BYTES} "
    f"OR sitemap_url_length(a.url) <= {MAX_URL_LENGTH})"
)


def _on_host(origin: str) -> dict[str, object]:
    """Parameters of ON_HOST: the strings starting with `origin` lie in [origin, origin_end)."""
    return {"origin": origin, "origin_end": origin[:-1] + chr(ord(origin[-1]) + 1)}


PUBLISHED_IN = (
    "a.status = 'published' AND a.published_at >= :start AND a.published_at < :stop AND a.published_at <= :now "
    f"AND typeof(a.published_at) = 'integer' AND {ON_HOST}"
)


@dataclass(frozen=True)
class HourStamp:
    """A row of sitemap_hours: the newest change to what sitemaps show of one UTC hour."""

    hour_start: int
    version: int
    changed_at: int


async def sitemap_stamps(pool: ReadPool, after_version: int) -> list[HourStamp]:
    """Hours changed since `after_version` (0: all), oldest change first."""
    rows = await pool.fetchall(
        "SELECT hour_start, version, changed_at FROM sitemap_hours WHERE version > :after ORDER BY version",
        {"after": after_version},
    )
    return [HourStamp(*row) for row in rows]


async def sitemap_max_version(pool: ReadPool) -> int:
    rows = await pool.fetchall("SELECT coalesce(max(version), 0) FROM sitemap_hours")
    return int(rows[0][0])


async def published_between(pool: ReadPool, after: int, until: int) -> list[int]:
    """Publish times in (after, until] of published articles: those that came due
    between two change checks (and any written there since, which stamps show too)."""
    rows = await pool.fetchall(
        "SELECT a.published_at FROM articles a WHERE a.status = 'published' "
        "AND a.published_at > :after AND a.published_at <= :until ORDER BY a.published_at",
        {"after": after, "until": until},
    )
    return [int(row[0]) for row in rows]


@dataclass(frozen=True)
class RangeStats:
    """Visible articles published in [start, stop): how many, and the newest lastmod."""

    start: int
    stop: int
    count: int
    lastmod: int | None


RANGE_BATCH = 2000  # ranges per query (two variables each; SQLite allows 32766)


async def range_stats(pool: ReadPool, ranges: Sequence[tuple[int, int]], now: int, origin: str) -> list[RangeStats]:
    """Count and newest lastmod (max of updated_at and published_at) of each range's
    articles on `origin`, one index range scan each, many ranges per round trip."""
    stats: list[RangeStats] = []
    for first in range(0, len(ranges), RANGE_BATCH):
        batch = ranges[first : first + RANGE_BATCH]
        params: dict[str, object] = {"now": now, **_on_host(origin)}
        values = []
        for index, (start, stop) in enumerate(batch):
            params[f"s{index}"], params[f"e{index}"] = start, stop
            values.append(f"(:s{index}, :e{index})")
        where = PUBLISHED_IN.replace(":start", "r.start").replace(":stop", "r.stop")
        rows = await pool.fetchall(
            f"WITH r(start, stop) AS (VALUES {', '.join(values)}) SELECT r.start, r.stop, "
            f"(SELECT count(*) FROM articles a WHERE {where}), "
            f"(SELECT max(max({UPDATED_AT}, a.published_at)) FROM articles a WHERE {where}) FROM r",
            params,
        )
        stats.extend(RangeStats(int(row[0]), int(row[1]), int(row[2]), row[3]) for row in rows)
    return stats


async def range_keys(pool: ReadPool, start: int, stop: int, now: int, origin: str) -> list[tuple[int, str]]:
    """The (published_at, id) keys of the visible articles on `origin` in [start, stop),
    in order: where the numbered pages of a day too big for one file begin."""
    rows = await pool.fetchall(
        f"SELECT a.published_at, a.id FROM articles a WHERE {PUBLISHED_IN} ORDER BY a.published_at, a.id",
        {"start": start, "stop": stop, "now": now, **_on_host(origin)},
    )
    return [(int(row[0]), str(row[1])) for row in rows]


class SitemapRow(NamedTuple):
    published_at: int
    id: str
    url: str
    updated_at: int
    image_url: str | None


async def sitemap_rows(
    pool: ReadPool, start: int, stop: int, now: int, origin: str, after: tuple[int, str] | None, limit: int
) -> list[SitemapRow]:
    """Visible articles on `origin` in [start, stop) after the key `after`, oldest first."""
    params: dict[str, object] = {"start": start, "stop": stop, "now": now, "limit": limit, **_on_host(origin)}
    keyset = ""
    if after is not None:
        # The range starts at the key's time, so the index seek lands on the key
        # instead of stepping over every row before it.
        keyset = " AND (a.published_at, a.id) > (:after_at, :after_id)"
        params["after_at"], params["after_id"] = after
        params["start"] = max(start, after[0])
    rows = await pool.fetchall(
        f"SELECT a.published_at, a.id, a.url, {UPDATED_AT}, a.image_url FROM articles a "
        f"WHERE {PUBLISHED_IN}{keyset} ORDER BY a.published_at, a.id LIMIT :limit",
        params,
    )
    return [SitemapRow(row[0], row[1], row[2], row[3], None if row[4] is None else as_text(row[4])) for row in rows]


@dataclass(frozen=True)
class NewsWindowRow:
    """The news sitemap's window (since, now] as the change check sees it."""

    keys: tuple[tuple[int, str], ...]  # visible articles in the window, newest first
    version: int  # newest stamp of the window's hours
    changed_at: int  # wall clock of that stamp
    last_exit: int | None  # publish time of the newest visible article already out of the window


async def news_window(pool: ReadPool, since: int, now: int, origin: str) -> NewsWindowRow:
    keys = await pool.fetchall(
        f"SELECT a.published_at, a.id FROM articles a WHERE {VISIBLE} AND a.published_at > :since AND {ON_HOST} "
        "ORDER BY a.published_at DESC, a.id DESC",
        {"since": since, "now": now, **_on_host(origin)},
    )
    stamps = await pool.fetchall(
        "SELECT coalesce(max(version), 0), coalesce(max(changed_at), 0) FROM sitemap_hours WHERE hour_start > :first",
        {"first": since - 3600},
    )
    out = await pool.fetchall(
        "SELECT a.published_at FROM articles a WHERE a.status = 'published' AND a.published_at <= :since "
        "ORDER BY a.published_at DESC LIMIT 1",
        {"since": since},
    )
    return NewsWindowRow(
        tuple((int(k[0]), str(k[1])) for k in keys),
        int(stamps[0][0]),
        int(stamps[0][1]),
        int(out[0][0]) if out else None,
    )


class NewsRow(NamedTuple):
    published_at: int
    id: str
    url: str
    title: str
    language: str | None


async def news_rows(
    pool: ReadPool, since: int, now: int, origin: str, before: tuple[int, str] | None, limit: int
) -> list[NewsRow]:
    """Visible articles on `origin` published in (since, now] before the key `before`, newest first."""
    params: dict[str, object] = {"since": since, "now": now, "limit": limit, **_on_host(origin)}
    keyset = ""
    if before is not None:
        # Nothing after the key's time can come before it: the backward scan starts there.
        keyset = " AND (a.published_at, a.id) < (:before_at, :before_id)"
        params["before_at"], params["before_id"] = before
        params["now"] = min(now, before[0])
    rows = await pool.fetchall(
        "SELECT a.published_at, a.id, a.url, a.title, a.language FROM articles a "
        f"WHERE {VISIBLE} AND a.published_at > :since AND {ON_HOST}{keyset} "
        "ORDER BY a.published_at DESC, a.id DESC LIMIT :limit",
        params,
    )
    return [
        NewsRow(row[0], row[1], row[2], as_text(row[3]), None if row[4] is None else as_text(row[4])) for row in rows
    ]


async def data_version(conn: aiosqlite.Connection) -> int:
    """PRAGMA data_version: changes when another connection commits (same connection only)."""
    rows = list(await conn.execute_fetchall("PRAGMA data_version"))
    return int(rows[0][0])


async def article_pk(pool: ReadPool, article_id: str) -> int | None:
    """The row id of the article with this CMS id (the UNIQUE index on articles.id);
    whether it may be shown is for articles_by_pk to say."""
    rows = await pool.fetchall("SELECT pk FROM articles WHERE id = :id", {"id": article_id})
    return int(rows[0][0]) if rows else None
