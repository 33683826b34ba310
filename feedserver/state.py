"""The site state: everything a document's freshness depends on, read in a few cheap queries.

It is read whole once (at start, and when the database file is replaced);
after that each change check brings it up to date from the scope stamps
(`scope_stamps`, kept by the schema's triggers) and the articles that came due,
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
from feedserver.listing import is_section_slug
from feedserver.queries import (
    SectionRow,
    TermRow,
    due_scopes,
    next_publish_at,
    scope_stamps,
    scope_stamps_version,
    section_rows,
    term_rows,
    untimed_articles,
)
from feedserver.rejects import RejectedRows
from feedserver.slugs import SlugRow, resolve
from feedserver.times import LATEST

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
    changed_at: int  # newest write to one of its public articles (scope_stamps; 0: none)
    newest_published: int | None  # publish time of its newest visible article
    version: int  # its scope stamp: moves with every write to it, even two in one second

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
    history: HistoryState | None = None  # the feeds' month stamps (feedserver.history); None until loaded
    tags: Terms = field(default_factory=Terms)
    authors: Terms = field(default_factory=Terms)
    stamp_version: int = 0  # the newest scope stamp read
    site_version: int = 0  # grows (in this process) with every change to any section: the site feed's signature
    site_last_modified: int = 0  # newest change of any section (FeedScope.last_modified of the site)
    # Every section row as read, by slug, those left out too: the incremental
    # update decides again from them which sections exist (existing_sections).
    section_rows: Mapping[str, SectionRow] = field(default_factory=dict)

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
    version = await scope_stamps_version(pool)
    rows = {row.slug: row for row in await section_rows(pool, now)}
    sections = existing_sections(rows.values(), pool.rejects)
    await _report_untimed(pool)
    return SiteState(
        now,
        sections,
        await next_publish_at(pool, now),
        tags=Terms.of(await term_rows(pool, "tag", now)),
        authors=Terms.of(await term_rows(pool, "author", now)),
        stamp_version=version,
        site_last_modified=_site_last_modified(sections),
        section_rows=rows,
    )


async def _report_untimed(pool: ReadPool) -> None:
    for article_id, kind in await untimed_articles(pool, LATEST):
        pool.rejects.report("articles", article_id, f"published_at is {kind}, not whole seconds: shown nowhere")


def _paths(slug: str) -> list[str]:
    """The slug and each of its parents: berita/tiongkok -> berita, berita/tiongkok."""
    parts = slug.split("/")
    return ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]


def existing_sections(rows: Iterable[SectionRow], rejects: RejectedRows) -> dict[str, SectionState]:
    """The sections that exist, by slug.

    A section declared by a writer exists even while empty. One the schema's
    triggers declared from an article's slug (`implied`) exists once an article
    in it or below it is live, or a write to a public article touched it (its
    revision moved): a section only an embargoed article implies must not show
    its name, its feed or a new date before that article's time. The parents of
    an existing section exist. A slug no feed URL can hold is left out (reported).
    Both the full load and the incremental update decide with this, from all rows.
    """
    valid = []
    for row in rows:
        if is_section_slug(row.slug):
            valid.append(row)
        else:
            rejects.report("sections", row.slug, "slug is not a path of a-z, 0-9, '-', '_' and '/': no URL holds it")
    shown: set[str] = set()
    for row in valid:
        if not row.implied or row.revision > 0 or row.newest_published is not None:
            shown.update(_paths(row.slug))
    return {
        row.slug: SectionState(
            row.slug,
            row.title if row.title.strip() else row.slug.rsplit("/", 1)[-1].replace("-", " "),
            row.description,
            row.changed_at,
            row.newest_published,
            row.revision,
        )
        for row in sorted(valid, key=lambda row: row.slug)
        if row.slug in shown
    }


async def update_site_state(pool: ReadPool, previous: SiteState, now: int) -> tuple[SiteState, StateChange]:
    """The state at `now`, from `previous` and what changed since: the scope stamps past
    its version and the articles that came due. Reads only the changed rows; which
    sections exist is decided as load_site_state does (existing_sections), over the
    rows read before and the ones read again."""
    stamps = await scope_stamps(pool, previous.stamp_version)
    due = await due_scopes(pool, previous.now, now) if now > previous.now else None
    changed: dict[str, set[str]] = {"section": set(), "tag": set(), "author": set()}
    for stamp in stamps:
        if stamp.kind in changed:
            changed[stamp.kind].add(stamp.key)
    if due is not None:
        changed["section"] |= due.sections
        changed["tag"] |= {str(pk) for pk in due.tags}
        changed["author"] |= {str(pk) for pk in due.authors}
    if stamps:
        await _report_untimed(pool)
    scopes: set[ScopeId] = set()

    sections = previous.sections
    raw_rows = previous.section_rows
    site_last_modified = previous.site_last_modified
    site_version = previous.site_version
    if changed["section"]:
        slugs = sorted(changed["section"])
        fresh = {row.slug: row for row in await section_rows(pool, now, slugs)}
        raw = dict(previous.section_rows)
        for slug in slugs:
            raw.pop(slug, None)
        raw.update(fresh)
        raw_rows = raw
        # An implied section's existence follows the rows below it, and a parent's
        # its children's: decide again over all rows, then compare.
        sections = existing_sections(raw.values(), pool.rejects)
        moved = {
            slug
            for slug in previous.sections.keys() | sections.keys()
            if previous.sections.get(slug) != sections.get(slug)
        }
        if moved:
            grows = True  # the site's date can be carried forward: no section's date went back
            for slug in moved:
                old = previous.sections.get(slug)
                new = sections.get(slug)
                if old is not None and (new is None or new.last_modified < old.last_modified):
                    grows = False
                scopes.update(("section", path) for path in ancestors(slug))
                if old is None or new is None or old.title != new.title:
                    # Items name their section's parents too (feeds.section_trail): a
                    # renamed, added or removed section changes the feeds below it.
                    prefix = slug + "/"
                    scopes.update(("section", path) for path in sections if path.startswith(prefix))
                    scopes.update(("section", path) for path in previous.sections if path.startswith(prefix))
            scopes.add(SITE)
            site_version += 1
            site_last_modified = (
                max([site_last_modified, *(sections[slug].last_modified for slug in moved if slug in sections)])
                if grows
                else _site_last_modified(sections)
            )
        else:
            sections = previous.sections

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
        section_rows=raw_rows,
    )
    return state, StateChange(frozenset(scopes))
