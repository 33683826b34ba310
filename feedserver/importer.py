"""`feedserver import`: validate JSON Lines records and upsert them in one transaction.

The record format is a public contract (README, "Import format"). Validation
collects every bad record as `FILE:LINE: field: reason` before anything is
written, so a bad file changes nothing.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from feedserver.db import init_db, open_for_writing
from feedserver.slugs import SLUG_RE as TERM_SLUG_RE
from feedserver.slugs import SlugRow, resolve
from feedserver.times import EARLIEST, LATEST

SLUG_RE = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*(?:/[a-z0-9]+(?:[-_][a-z0-9]+)*)*$")
LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
STATUSES = ("published", "draft", "deleted")
MAX_ID_LENGTH = 200
TAG_RE = re.compile(r"<[^>]*>")
CJK_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")

SECTION_FIELDS = {"type", "slug", "title", "description"}
ARTICLE_FIELDS = {
    "type",
    "id",
    "url",
    "section",
    "title",
    "summary",
    "content_html",
    "authors",
    "published_at",
    "updated_at",
    "status",
    "image",
    "tags",
    "source",
    "language",
    "reading_time_minutes",
}
IMAGE_FIELDS = {"url", "caption", "credit", "width", "height", "type"}
AUTHOR_FIELDS = {"name", "url", "email", "slug"}
TAG_FIELDS = {"name", "slug"}


class BadRecord(Exception):
    """One invalid field of one record; `field` is the dotted path to it."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Section:
    slug: str
    title: str
    description: str


@dataclass(frozen=True)
class Author:
    name: str
    url: str
    email: str
    # Given by the record (None: keep the stored one, or derive it). Not part of
    # the article: a new slug alone does not rewrite it (see write).
    slug: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Article:
    """One validated article, with times as epoch seconds (UTC)."""

    id: str
    url: str
    section: str
    title: str
    summary: str
    content_html: str
    published_at: int
    updated_at: int
    status: str
    image_url: str | None
    image_caption: str | None
    image_credit: str | None
    image_width: int | None
    image_height: int | None
    image_type: str | None
    source: str | None
    language: str | None
    reading_time_minutes: int
    authors: tuple[Author, ...] = field(default=(), kw_only=True)
    tags: tuple[str, ...] = field(default=(), kw_only=True)
    tag_slugs: tuple[tuple[str, str], ...] = field(default=(), kw_only=True, compare=False)  # (name, slug) given
    line: int = field(default=0, kw_only=True, compare=False)  # where the record was, for errors

    def row(self) -> tuple[object, ...]:
        """The articles-table columns, in ARTICLE_COLUMNS order."""
        return tuple(getattr(self, name) for name in ARTICLE_COLUMNS)


ARTICLE_COLUMNS = (
    "id",
    "url",
    "section",
    "title",
    "summary",
    "content_html",
    "published_at",
    "updated_at",
    "status",
    "image_url",
    "image_caption",
    "image_credit",
    "image_width",
    "image_height",
    "image_type",
    "source",
    "language",
    "reading_time_minutes",
)


@dataclass
class ImportResult:
    errors: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    articles: list[Article] = field(default_factory=list)
    written_articles: int = 0
    unchanged_articles: int = 0


# --- field validation -------------------------------------------------------


def _text(record: dict[str, Any], name: str, *, required: bool = False, nonempty: bool = False) -> str | None:
    value = record.get(name)
    if value is None:
        if required:
            raise BadRecord(name, "required field is missing")
        return None
    if not isinstance(value, str):
        raise BadRecord(name, f"expected a string, got {type(value).__name__}")
    _check_encodable(name, value)
    if nonempty and not value.strip():
        raise BadRecord(name, "must not be empty")
    return value


def _check_encodable(name: str, value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRecord(name, "contains a lone surrogate, which UTF-8 cannot store") from None


def _absolute_url(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        parts = urlsplit(value.strip())
    except ValueError:  # e.g. an unbalanced IPv6 bracket: http://[::1
        raise BadRecord(name, f"not a valid URL: {value[:80]!r}") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadRecord(name, f"not an absolute http(s) URL: {value[:80]!r}")
    if any(ch.isspace() for ch in value.strip()):
        raise BadRecord(name, "URL contains white space")
    return value.strip()


def _timestamp(record: dict[str, Any], name: str, *, required: bool) -> int | None:
    value = _text(record, name, required=required)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadRecord(name, f"not an ISO 8601 time: {value[:40]!r}") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise BadRecord(name, f"time has no UTC offset (write e.g. {value[:19]}+07:00)")
    timestamp = math.floor(moment.timestamp())
    if not EARLIEST <= timestamp <= LATEST:
        raise BadRecord(name, "time out of range: years 0001 to 9999 in every time zone")
    return timestamp


def _positive_int(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRecord(name, f"expected a whole number, got {type(value).__name__}")
    if value <= 0 or value > 1_000_000:
        raise BadRecord(name, "must be a positive whole number")
    return value


def _slug(name: str, value: str) -> str:
    if not SLUG_RE.match(value):
        raise BadRecord(name, f"not a section slug such as berita/tiongkok: {value[:80]!r}")
    return value


def _unknown_fields(record: dict[str, Any], allowed: set[str], prefix: str = "") -> None:
    for key in record:
        if key not in allowed:
            raise BadRecord(prefix + str(key), "unknown field")


def reading_time(content_html: str, summary: str) -> int:
    """Minutes to read: 200 words a minute, and 400 Chinese characters a minute."""
    text = TAG_RE.sub(" ", content_html or summary)
    cjk = len(CJK_RE.findall(text))
    words = len(CJK_RE.sub(" ", text).split())
    return max(1, math.ceil(words / 200 + cjk / 400))


def parse_section(record: dict[str, Any]) -> Section:
    _unknown_fields(record, SECTION_FIELDS)
    slug = _slug("slug", _text(record, "slug", required=True) or "")
    title = _text(record, "title", required=True, nonempty=True) or ""
    return Section(slug, title, _text(record, "description") or "")


def _parse_authors(value: Any) -> tuple[Author, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise BadRecord("authors", f"expected a list, got {type(value).__name__}")
    authors = []
    for index, item in enumerate(value):
        where = f"authors[{index}]"
        if not isinstance(item, dict):
            raise BadRecord(where, f"expected an object, got {type(item).__name__}")
        _unknown_fields(item, AUTHOR_FIELDS, where + ".")
        name = _text(item, "name", required=True, nonempty=True) or ""
        url = _absolute_url(where + ".url", _text(item, "url")) or ""
        email = _text(item, "email") or ""
        if email and ("@" not in email or any(ch.isspace() for ch in email)):
            raise BadRecord(where + ".email", f"not an e-mail address: {email[:80]!r}")
        authors.append(Author(name, url, email, _term_slug(where + ".slug", _text(item, "slug"))))
    return tuple(authors)


def _term_slug(name: str, value: str | None) -> str | None:
    if value is not None and not TERM_SLUG_RE.match(value):
        raise BadRecord(name, f"not a slug (lower-case ASCII letters, digits and single hyphens): {value[:80]!r}")
    return value


def _parse_tags(value: Any) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """The tag names in order, and the slugs the record gives for some of them."""
    if value is None:
        return (), ()
    if not isinstance(value, list):
        raise BadRecord("tags", f"expected a list, got {type(value).__name__}")
    tags: list[str] = []
    slugs: dict[str, str] = {}
    for index, tag in enumerate(value):
        where = f"tags[{index}]"
        slug = None
        if isinstance(tag, dict):
            _unknown_fields(tag, TAG_FIELDS, where + ".")
            slug = _term_slug(where + ".slug", _text(tag, "slug"))
            tag = tag.get("name")
            where += ".name"
        if not isinstance(tag, str) or not tag.strip():
            raise BadRecord(where, "expected a non-empty string")
        _check_encodable(where, tag)
        if tag not in tags:
            tags.append(tag)
        if slug is not None:
            if slugs.get(tag, slug) != slug:
                raise BadRecord(where, f"tag {tag!r} is given two slugs")
            slugs[tag] = slug
    return tuple(tags), tuple(slugs.items())


def parse_article(record: dict[str, Any]) -> Article:
    _unknown_fields(record, ARTICLE_FIELDS)
    article_id = _text(record, "id", required=True, nonempty=True) or ""
    if len(article_id) > MAX_ID_LENGTH:
        raise BadRecord("id", f"longer than {MAX_ID_LENGTH} characters")
    url = _absolute_url("url", _text(record, "url", required=True)) or ""
    section = _slug("section", _text(record, "section", required=True) or "")
    title = _text(record, "title", required=True, nonempty=True) or ""
    summary = _text(record, "summary") or ""
    content_html = _text(record, "content_html") or ""
    published = _timestamp(record, "published_at", required=True)
    assert published is not None
    updated = _timestamp(record, "updated_at", required=False)
    status = _text(record, "status", required=True)
    if status not in STATUSES:
        raise BadRecord("status", f"must be one of {', '.join(STATUSES)}, got {status!r}")
    image = record.get("image")
    if image is not None and not isinstance(image, dict):
        raise BadRecord("image", f"expected an object, got {type(image).__name__}")
    image = image or {}
    _unknown_fields(image, IMAGE_FIELDS, "image.")
    image_url = _absolute_url("image.url", _text(image, "url", required=bool(image)))
    image_type = _text(image, "type")
    if image_type is not None and not re.match(r"^image/[A-Za-z0-9.+-]+$", image_type):
        raise BadRecord("image.type", f"not an image MIME type: {image_type[:40]!r}")
    language = _text(record, "language")
    if language is not None and not LANGUAGE_RE.match(language):
        raise BadRecord("language", f"not a language tag such as id or zh-CN: {language[:20]!r}")
    minutes = _positive_int("reading_time_minutes", record.get("reading_time_minutes"))
    tags, tag_slugs = _parse_tags(record.get("tags"))
    return Article(
        id=article_id,
        url=url,
        section=section,
        title=title,
        summary=summary,
        content_html=content_html,
        published_at=published,
        updated_at=published if updated is None else updated,
        status=status,
        image_url=image_url,
        image_caption=_text(image, "caption"),
        image_credit=_text(image, "credit"),
        image_width=_positive_int("image.width", image.get("width")),
        image_height=_positive_int("image.height", image.get("height")),
        image_type=image_type,
        source=_text(record, "source"),
        language=language,
        reading_time_minutes=minutes or reading_time(content_html, summary),
        authors=_parse_authors(record.get("authors")),
        tags=tags,
        tag_slugs=tag_slugs,
    )


def parse_lines(name: str, lines: Iterable[bytes]) -> ImportResult:
    """Validate every line; collect the records and one error line per bad record."""
    result = ImportResult()
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise BadRecord("line", f"invalid UTF-8 at byte {exc.start}") from None
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                raise BadRecord("json", f"invalid JSON: {exc.msg} at column {exc.colno}") from None
            except ValueError:  # a number of thousands of digits: Python refuses to convert it
                raise BadRecord("json", "invalid JSON: a number too long to read") from None
            except RecursionError:
                raise BadRecord("json", "invalid JSON: nested too deeply") from None
            if not isinstance(record, dict):
                raise BadRecord("json", "each line must be a JSON object")
            kind = record.get("type", "article")
            if kind == "section":
                result.sections.append(parse_section(record))
            elif kind == "article":
                result.articles.append(replace(parse_article(record), line=number))
            else:
                raise BadRecord("type", f"must be section or article, got {kind!r}")
        except BadRecord as bad:
            result.errors.append(f"{name}:{number}: {bad.field}: {bad.reason}")
    return result


def read_lines(source: str) -> Iterator[bytes]:
    """Lines of a file, or of standard input for '-'."""
    import sys

    if source == "-":
        yield from sys.stdin.buffer
        return
    with open(source, "rb") as handle:
        yield from handle


# --- writing ----------------------------------------------------------------


def _existing(conn: sqlite3.Connection, article_id: str) -> tuple[int, Article] | None:
    row = conn.execute(f"SELECT pk, {', '.join(ARTICLE_COLUMNS)} FROM articles WHERE id = ?", (article_id,)).fetchone()
    if row is None:
        return None
    pk = row[0]
    authors = tuple(
        Author(*a)
        for a in conn.execute(
            "SELECT au.name, au.url, au.email FROM article_authors aa JOIN authors au ON au.pk = aa.author_pk "
            "WHERE aa.article_pk = ? ORDER BY aa.position",
            (pk,),
        )
    )
    tags = tuple(
        t
        for (t,) in conn.execute(
            "SELECT t.name FROM article_tags at JOIN tags t ON t.pk = at.tag_pk WHERE at.article_pk = ? "
            "ORDER BY at.position",
            (pk,),
        )
    )
    return pk, Article(*row[1:], authors=authors, tags=tags)


def _pk_of(conn: sqlite3.Connection, insert: str, select: str, params: tuple[object, ...]) -> int:
    conn.execute(insert, params)
    return int(conn.execute(select, params).fetchone()[0])


def write(conn: sqlite3.Connection, result: ImportResult) -> None:
    """Upsert everything in one transaction; unchanged articles are not rewritten,
    so re-importing a file moves no feed's date."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for section in result.sections:
            conn.execute(
                "INSERT INTO sections (slug, title, description) VALUES (?, ?, ?) "
                "ON CONFLICT (slug) DO UPDATE SET title = excluded.title, description = excluded.description, "
                "changed_at = max(changed_at, CAST(strftime('%s', 'now') AS INTEGER)) "
                "WHERE title IS NOT excluded.title OR description IS NOT excluded.description",
                (section.slug, section.title, section.description),
            )
        # A nested slug implies its parents: declare the missing ones (titled
        # from their slug, as the schema's trigger does for an undeclared
        # section), so /section/<parent>/feed.rss exists for every subsection.
        slugs = {s.slug for s in result.sections} | {a.section for a in result.articles if a.status == "published"}
        for slug in sorted({"/".join(s.split("/")[:n]) for s in slugs for n in range(1, s.count("/") + 1)}):
            conn.execute(
                "INSERT OR IGNORE INTO sections (slug, title) VALUES (?, ?)",
                (slug, slug.rsplit("/", 1)[-1].replace("-", " ")),
            )
        placeholders = ", ".join("?" for _ in ARTICLE_COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in ARTICLE_COLUMNS if c != "id")
        for article in result.articles:
            existing = _existing(conn, article.id)
            if existing is not None and existing[1] == article:
                result.unchanged_articles += 1
                continue
            conn.execute(
                f"INSERT INTO articles ({', '.join(ARTICLE_COLUMNS)}) VALUES ({placeholders}) "
                f"ON CONFLICT (id) DO UPDATE SET {updates}",
                article.row(),
            )
            pk = int(conn.execute("SELECT pk FROM articles WHERE id = ?", (article.id,)).fetchone()[0])
            conn.execute("DELETE FROM article_authors WHERE article_pk = ?", (pk,))
            conn.execute("DELETE FROM article_tags WHERE article_pk = ?", (pk,))
            for position, author in enumerate(article.authors):
                author_pk = _pk_of(
                    conn,
                    "INSERT OR IGNORE INTO authors (name, url, email) VALUES (?, ?, ?)",
                    "SELECT pk FROM authors WHERE name = ? AND url = ? AND email = ?",
                    (author.name, author.url, author.email),
                )
                conn.execute(
                    "INSERT INTO article_authors (article_pk, position, author_pk) VALUES (?, ?, ?)",
                    (pk, position, author_pk),
                )
            for position, tag in enumerate(article.tags):
                tag_pk = _pk_of(
                    conn, "INSERT OR IGNORE INTO tags (name) VALUES (?)", "SELECT pk FROM tags WHERE name = ?", (tag,)
                )
                conn.execute(
                    "INSERT INTO article_tags (article_pk, position, tag_pk) VALUES (?, ?, ?)", (pk, position, tag_pk)
                )
            result.written_articles += 1
        _write_slugs(conn, result)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


# --- tag and author slugs ----------------------------------------------------
# A record may give a tag's or an author's slug; otherwise the row keeps the one
# it has, or the server derives one (feedserver.slugs). A given slug must not be
# another's: within the file, or already served for another tag or author.

TermIdentity = tuple[str, ...]  # a tag's name; an author's (name, url, email)


def _given_slugs(result: ImportResult) -> dict[str, dict[TermIdentity, tuple[str, int]]]:
    """kind -> identity -> (slug, line) of every slug the records give."""
    given: dict[str, dict[TermIdentity, tuple[str, int]]] = {"tag": {}, "author": {}}
    for article in result.articles:
        for name, slug in article.tag_slugs:
            given["tag"][(name,)] = (slug, article.line)
        for author in article.authors:
            if author.slug is not None:
                given["author"][(author.name, author.url, author.email)] = (author.slug, article.line)
    return given


def _served_slugs(conn: sqlite3.Connection, kind: str) -> dict[str, TermIdentity]:
    """slug -> identity of every tag or author the server serves now."""
    columns = "name" if kind == "tag" else "name, url, email"
    rows = conn.execute(f"SELECT pk, slug, coalesce(slug_source, name), {columns} FROM {kind}s").fetchall()
    slugs = resolve(SlugRow(int(r[0]), r[1], str(r[2])) for r in rows)
    return {slugs[int(r[0])]: tuple(r[3:]) for r in rows}


def check_slugs(conn: sqlite3.Connection, name: str, result: ImportResult) -> None:
    """Add an error for each given slug that another tag or author has or is given."""
    for kind, given in _given_slugs(result).items():
        served = _served_slugs(conn, kind)
        claimed: dict[str, TermIdentity] = {}
        for identity, (slug, line) in sorted(given.items(), key=lambda item: item[1][1]):
            other = claimed.get(slug) or served.get(slug)
            if other is not None and other != identity:
                result.errors.append(f"{name}:{line}: {kind}s: slug {slug!r} is already {kind} {other[0]!r}'s")
            claimed.setdefault(slug, identity)


def _write_slugs(conn: sqlite3.Connection, result: ImportResult) -> None:
    for kind, given in _given_slugs(result).items():
        where = "name = ?" if kind == "tag" else "name = ? AND url = ? AND email = ?"
        for identity, (slug, _) in given.items():
            conn.execute(f"UPDATE {kind}s SET slug = ? WHERE {where} AND slug IS NOT ?", (slug, *identity, slug))


def import_records(db_path: Path, name: str, lines: Iterable[bytes], dry_run: bool = False) -> ImportResult:
    """Validate all lines; unless there were errors or this is a dry run, write them."""
    result = parse_lines(name, lines)
    if result.errors or dry_run:
        return result
    init_db(db_path)
    conn = open_for_writing(db_path)
    try:
        check_slugs(conn, name, result)
        if result.errors:
            return result
        write(conn, result)
    finally:
        conn.close()
    return result
