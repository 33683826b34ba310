"""Feeds as WebSub topics: which feeds exist, which a change moved, and a topic URL's feed."""

from __future__ import annotations

import hashlib

from feedserver.config import Settings
from feedserver.documents import FeedDocument
from feedserver.events import ChangeReport
from feedserver.feeds import EXTENSIONS, FeedScope, ItemCache
from feedserver.routes import SECTION_PATH
from feedserver.state import SiteState


def scopes(state: SiteState) -> list[FeedScope]:
    """The site and every section, including parents only implied by a path."""
    slugs: set[str] = set()
    for slug in state.sections:
        parts = slug.split("/")
        slugs.update("/".join(parts[:n]) for n in range(1, len(parts) + 1))
    return [FeedScope(None), *(FeedScope(slug) for slug in sorted(slugs))]


def changed_feeds(report: ChangeReport, items: ItemCache | None = None) -> list[FeedDocument]:
    """Every feed, cached or not, whose content the change moved (its signature), and that still exists.

    An embargoed article moves no signature until its publish time (schema
    triggers; FeedScope.signature), so it causes nothing before then."""
    changed: list[FeedDocument] = []
    for scope in scopes(report.new):
        if scope.signature(report.old) != scope.signature(report.new):
            changed.extend(FeedDocument(scope, fmt, items) for fmt in EXTENSIONS)
    return changed


def version_of(document: FeedDocument, state: SiteState) -> str:
    """A name for the feed's version under `state`, the same in every worker (a hash of
    data read from the database; Python's hash() differs per process)."""
    return hashlib.blake2b(repr(document.signature(state)).encode(), digest_size=12).hexdigest()


def topic_document(settings: Settings, state: SiteState, topic: str, items: ItemCache | None) -> FeedDocument | None:
    """The feed a topic URL names, if it is one served here now."""
    base = settings.base_url
    if not topic.startswith(base + "/"):
        return None
    path = topic[len(base) :]
    document = None
    for fmt, name in EXTENSIONS.items():
        if path == "/" + name:
            document = FeedDocument(FeedScope(None), fmt, items)
    if path.startswith("/section/") and (match := SECTION_PATH.match(path.removeprefix("/section/"))):
        document = FeedDocument(FeedScope(match["slug"]), match["fmt"], items)
    if document is None or not document.exists(state):
        return None
    return document
