"""Feeds as WebSub topics: which feeds exist, which a change moved, and a topic URL's feed."""

from __future__ import annotations

import hashlib
import re

from feedserver.config import Settings
from feedserver.documents import FeedDocument
from feedserver.events import ChangeReport
from feedserver.feeds import EXTENSIONS, FeedScope, ItemCache
from feedserver.routes import SECTION_PATH, TERM_SLUG
from feedserver.state import SiteState

TERM_PATH = re.compile(r"^/(?P<kind>tag|author)/(?P<slug>[^/]+)/(?P<name>[^/]+)$")


def _ancestors(slug: str) -> list[str]:
    """`a`, `a/b`, `a/b/c` for `a/b/c`: the section and every parent its path implies."""
    parts = slug.split("/")
    return ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]


def scopes(state: SiteState) -> list[FeedScope]:
    """The site and every section, including parents only implied by a path."""
    slugs = {ancestor for slug in state.sections for ancestor in _ancestors(slug)}
    return [FeedScope.site(), *(FeedScope.of_section(slug) for slug in sorted(slugs))]


def _candidates(report: ChangeReport) -> set[str | None]:
    """Scopes whose feed may have changed: the site, the sections a write touched,
    their parents (whose feeds list them) and their subsections (whose items name
    their parents' titles), and, when the site's date moved, every scope with no
    live article (dated by the site: FeedScope.last_modified). Not every scope: with
    a thousand sections, comparing all signatures on each change would cost a
    million steps. tests/test_websub_publisher.py checks it against comparing all."""
    old, new = report.old.sections, report.new.sections
    touched = {slug for slug in old.keys() | new.keys() if old.get(slug) != new.get(slug)}
    found: set[str | None] = {None, *(a for slug in touched for a in _ancestors(slug))}
    if touched:
        for state in (report.old, report.new):
            found.update(
                scope.section
                for scope in scopes(state)
                if scope.section is not None and not touched.isdisjoint(_ancestors(scope.section))
            )
    site = FeedScope.site()
    if site.last_modified(report.old) != site.last_modified(report.new):
        for state in (report.old, report.new):
            live = {a for s in state.sections.values() if s.newest_published is not None for a in _ancestors(s.slug)}
            found.update(scope.section for scope in scopes(state) if scope.section not in live)
    return found


def changed_feeds(report: ChangeReport, items: ItemCache | None = None) -> list[FeedDocument]:
    """Every feed, cached or not, whose content the change moved (its signature), and that still exists.

    An embargoed article moves no signature until its publish time (schema
    triggers; FeedScope.signature), so it causes nothing before then."""
    existing = {scope.section for scope in scopes(report.new)}
    changed: list[FeedDocument] = []
    for section in sorted(_candidates(report), key=lambda s: "" if s is None else s):
        scope = FeedScope.site_or_section(section)
        if section in existing and scope.signature(report.old) != scope.signature(report.new):
            changed.extend(FeedDocument(scope, fmt, items) for fmt in EXTENSIONS)
    for kind in ("tag", "author"):
        old, new = report.old.terms(kind), report.new.terms(kind)
        if old is new:
            continue  # no write touched one (update_site_state keeps the object)
        for slug in sorted(new.by_slug):
            if old.by_slug.get(slug) != new.by_slug[slug]:
                term = FeedScope(kind, slug)
                if term.exists(report.new) and term.signature(report.old) != term.signature(report.new):
                    changed.extend(FeedDocument(term, fmt, items) for fmt in EXTENSIONS)
    return changed


def version_of(document: FeedDocument, state: SiteState) -> str:
    """A name for the feed's version under `state`, the same in every worker (a hash of
    data read from the database; Python's hash() differs per process).

    The site feed's cache signature counts the changes this process has seen
    (`SiteState.site_version`), which differs between workers that grouped the same
    writes into different checks: its version is named from the sections' rows
    instead (tests/test_websub_publisher.py, two workers ping once per change)."""
    if document.scope.kind == "site":
        data: object = (
            state.site_last_modified,
            tuple(
                sorted(
                    (s.slug, s.title, s.description, s.changed_at, s.newest_published, s.revision)
                    for s in state.sections.values()
                )
            ),
        )
    else:
        data = document.signature(state)
    return hashlib.blake2b(repr(data).encode(), digest_size=12).hexdigest()


def topic_document(settings: Settings, state: SiteState, topic: str, items: ItemCache | None) -> FeedDocument | None:
    """The feed a topic URL names, if it is one served here now."""
    base = settings.base_url
    if not topic.startswith(base + "/"):
        return None
    path = topic[len(base) :]
    document = None
    for fmt, name in EXTENSIONS.items():
        if path == "/" + name:
            document = FeedDocument(FeedScope.site(), fmt, items)
    if path.startswith("/section/") and (match := SECTION_PATH.match(path.removeprefix("/section/"))):
        document = FeedDocument(FeedScope.of_section(match["slug"]), match["fmt"], items)
    if (term := TERM_PATH.match(path)) and TERM_SLUG.match(term["slug"]):
        for fmt, name in EXTENSIONS.items():
            if term["name"] == name:
                document = FeedDocument(FeedScope(term["kind"], term["slug"]), fmt, items)
    if document is None or not document.exists(state):
        return None
    return document
