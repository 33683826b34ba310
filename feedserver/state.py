"""The site state: everything a document's freshness depends on, read in a few cheap queries.

It is read whole once (at start, and when the database file is replaced);
after that each change check brings it up to date from the feed stamps
(`feed_stamps`, kept by the schema's triggers) and the articles that came due,
and says which scopes changed (`StateChange`), so the service looks only at
the documents of those scopes (feedserver.service). Each document then
compares its signature under the old and the new state to know whether its
bytes may have changed (feedserver.documents).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from feedserver.archive import ArchiveState
from feedserver.db import ReadPool
from feedserver.history import HistoryState
from feedserver.queries import (
    TermRow,
    due_scopes,
    feed_stamps,
    feed_stamps_version,
    next_publish_at,
    section_rows,
    term_rows,
)
from feedserver.slugs import SlugRow, resolve

# A feed scope's identity: ("site", ""), ("section", path), ("tag", slug), ("author", slug).
ScopeId = tuple[str, str]
SITE: ScopeId = ("site", "")


@dataclass(frozen=True)
class SectionState:
    """A section as the change check sees it."""

    slug: str
    title: str
    description: str
    changed_at: int  # newest write touching a public article (schema triggers)
    newest_published: int | None  # publish time of its newest visible article
    revision: int = 0  # bumped by every such write: changed_at has whole seconds (schema triggers)

    @property
    def last_modified(self) -> int:
        return max(self.changed_at, self.newest_published or 0)


@dataclass(frozen=True)
class TermState:
    """A tag or an author as the change check sees it."""

    pk: int
    slug: str
    name: str
    url: str  # an author's own page ('' for none, and for tags)
    changed_at: int  # newest write to one of its public articles (feed_stamps; 0: none)
    newest_published: int | None  # publish time of its newest visible article
    version: int  # its feed stamp: moves with every write to it, even two in one second

    @property
    def last_modified(self) -> int:
        return max(self.changed_at, self.newest_published or 0)


@dataclass(frozen=True)
class Terms:
    """All tags (or all authors): by slug, and what their slugs are decided from."""

    by_slug: Mapping[str, TermState] = field(default_factory=dict)
    slug_of: Mapping[int, str] = field(default_factory=dict)  # pk -> slug
    slug_rows: Mapping[int, SlugRow] = field(default_factory=dict)

    @classmethod
    def of(cls, rows: Iterable[TermRow]) -> Terms:
        found = {row.pk: row for row in rows}
        slug_rows = {pk: SlugRow(pk, row.slug, row.slug_source) for pk, row in found.items()}
        slugs = resolve(slug_rows.values())
        return cls({slugs[pk]: _term(row, slugs[pk]) for pk, row in found.items()}, slugs, slug_rows)

    def updated(self, pks: Iterable[int], rows: Iterable[TermRow]) -> tuple[Terms, set[str]]:
        """These terms after `pks` were read again (`rows`: those still there), and the
        slugs whose feeds may have changed: old and new, of every term whose slug moved."""
        fresh = {row.pk: row for row in rows}
        changed = set(pks) | set(fresh)
        slug_rows = dict(self.slug_rows)
        for pk in changed:
            if pk in fresh:
                slug_rows[pk] = SlugRow(pk, fresh[pk].slug, fresh[pk].slug_source)
            else:
                slug_rows.pop(pk, None)
        touched = {self.slug_of[pk] for pk in changed if pk in self.slug_of}
        if all(self.slug_rows.get(pk) == slug_rows.get(pk) for pk in changed):
            # The usual case, a write to articles: no slug moves.
            slug_of = self.slug_of
            by_slug = dict(self.by_slug)
        else:
            # A term came, went or changed its slug: collisions are settled over all
            # of them (feedserver.slugs), which may move another term's slug.
            slug_of = resolve(slug_rows.values())
            moved = {pk for pk in self.slug_of.keys() | slug_of.keys() if self.slug_of.get(pk) != slug_of.get(pk)}
            touched |= {self.slug_of[pk] for pk in moved if pk in self.slug_of}
            touched |= {slug_of[pk] for pk in moved if pk in slug_of}
            by_slug = {
                slug_of[term.pk]: replace(term, slug=slug_of[term.pk])
                for term in self.by_slug.values()
                if term.pk in slug_of and term.pk not in changed
            }
        for pk in changed:
            old = self.slug_of.get(pk)
            if old is not None and old in by_slug and by_slug[old].pk == pk:
                del by_slug[old]
        for pk, row in fresh.items():
            by_slug[slug_of[pk]] = _term(row, slug_of[pk])
            touched.add(slug_of[pk])
        return Terms(by_slug, slug_of, slug_rows), touched


def _term(row: TermRow, slug: str) -> TermState:
    return TermState(row.pk, slug, row.name, row.url, row.changed_at, row.newest_published, row.version)


@dataclass(frozen=True)
class StateChange:
    """The scopes a change check found changed (their documents are looked at), and
    whether anything else may have (documents without scopes, such as sitemaps)."""

    scopes: frozenset[ScopeId]
    everything: bool = False  # read whole: look at every cached document


@dataclass(frozen=True)
class SiteState:
    """The sections, tags, authors, the next scheduled change and the sitemap archive at one moment."""

    now: int  # the moment visibility was judged at; renders use the same one
    sections: dict[str, SectionState]
    next_publish_at: int | None  # earliest scheduled article still in the future
    archive: ArchiveState | None = None  # what the sitemaps show (feedserver.archive); None until loaded
    tags: Terms = field(default_factory=Terms)
    authors: Terms = field(default_factory=Terms)
    stamp_version: int = 0  # the newest feed stamp read
    site_version: int = 0  # grows (in this process) with every change to any section: the site feed's signature
    site_last_modified: int = 0  # newest change of any section (FeedScope.last_modified of the site)
    history: HistoryState | None = None  # the feeds' month stamps (feedserver.history); None until loaded

    @property
    def next_change_at(self) -> int | None:
        """The next moment the site changes with no write: a scheduled article comes
        due, an article leaves the news sitemap's window, or a month is over (a
        feed's archive boundary moves)."""
        moments = [
            self.next_publish_at,
            self.archive.news.expires_at if self.archive else None,
            self.history.rollover_at if self.history else None,
        ]
        return min((m for m in moments if m is not None), default=None)

    def terms(self, kind: str) -> Terms:
        return self.tags if kind == "tag" else self.authors

    @functools.cached_property
    def children(self) -> Mapping[str, tuple[str, ...]]:
        """Each section path's direct subsections (declared or implied by a deeper path),
        computed once per state: a section feed lists its subtree."""
        found: dict[str, set[str]] = {}
        for slug in self.sections:
            parts = slug.split("/")
            for depth in range(1, len(parts)):
                found.setdefault("/".join(parts[:depth]), set()).add("/".join(parts[: depth + 1]))
        return {parent: tuple(sorted(kids)) for parent, kids in found.items()}

    def subtree(self, path: str) -> list[str]:
        """The declared sections at `path` and below it, sorted."""
        found, stack = [], [path]
        while stack:
            slug = stack.pop()
            if slug in self.sections:
                found.append(slug)
            stack.extend(self.children.get(slug, ()))
        return sorted(found)


def _site_last_modified(sections: Mapping[str, SectionState]) -> int:
    return max((s.last_modified for s in sections.values()), default=0)


def ancestors(path: str) -> list[str]:
    """`path` and every section path above it: berita/tiongkok -> berita/tiongkok, berita."""
    parts = path.split("/")
    return ["/".join(parts[:depth]) for depth in range(len(parts), 0, -1)]


async def load_site_state(pool: ReadPool, now: int) -> SiteState:
    """Read the whole state at `now` (the archive is added by the service). The stamp
    version is read first: a write after it is seen again by the next update."""
    version = await feed_stamps_version(pool)
    sections = {row.slug: SectionState(*row) for row in await section_rows(pool, now)}
    return SiteState(
        now,
        sections,
        await next_publish_at(pool, now),
        tags=Terms.of(await term_rows(pool, "tag", now)),
        authors=Terms.of(await term_rows(pool, "author", now)),
        stamp_version=version,
        site_last_modified=_site_last_modified(sections),
    )


async def update_site_state(pool: ReadPool, previous: SiteState, now: int) -> tuple[SiteState, StateChange]:
    """The state at `now`, from `previous` and what changed since: the feed stamps past
    its version and the articles that came due. Reads only the changed rows."""
    stamps = await feed_stamps(pool, previous.stamp_version)
    due = await due_scopes(pool, previous.now, now) if now > previous.now else None
    changed: dict[str, set[str]] = {"section": set(), "tag": set(), "author": set()}
    for stamp in stamps:
        if stamp.kind in changed:
            changed[stamp.kind].add(stamp.key)
    if due is not None:
        changed["section"] |= due.sections
        changed["tag"] |= {str(pk) for pk in due.tags}
        changed["author"] |= {str(pk) for pk in due.authors}
    scopes: set[ScopeId] = set()

    sections = previous.sections
    site_last_modified = previous.site_last_modified
    site_version = previous.site_version
    if changed["section"]:
        slugs = sorted(changed["section"])
        rows = {row.slug: SectionState(*row) for row in await section_rows(pool, now, slugs)}
        sections = dict(previous.sections)
        grows = True  # the site's date can be carried forward: no section's date went back
        for slug in slugs:
            old = sections.pop(slug, None)
            new = rows.get(slug)
            if new is not None:
                sections[slug] = new
            if old is not None and (new is None or new.last_modified < old.last_modified):
                grows = False
            scopes.update(("section", path) for path in ancestors(slug))
        scopes.add(SITE)
        site_version += 1
        site_last_modified = (
            max([site_last_modified, *(s.last_modified for s in rows.values())])
            if grows
            else _site_last_modified(sections)
        )

    terms: dict[str, Terms] = {}
    for kind in ("tag", "author"):
        terms[kind] = previous.terms(kind)
        pks = sorted(int(key) for key in changed[kind] if key.isdigit())
        if pks:
            terms[kind], slugs_touched = terms[kind].updated(pks, await term_rows(pool, kind, now, pks))
            scopes.update((kind, slug) for slug in slugs_touched)

    state = SiteState(
        now,
        sections,
        await next_publish_at(pool, now),
        tags=terms["tag"],
        authors=terms["author"],
        stamp_version=max([previous.stamp_version, *(s.version for s in stamps)]),
        site_version=site_version,
        site_last_modified=site_last_modified,
    )
    return state, StateChange(frozenset(scopes))
