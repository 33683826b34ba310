"""The running server's state: settings, database pool, site state and cache.

One `FeedService` lives in the app for its whole life (created in the
lifespan). Routes ask it for documents; the change watcher asks it to refresh
the site state, and it re-renders exactly the cached documents whose signature
moved. It looks only at the documents of the scopes that changed (an index
from scope to cached documents, filled as documents render), so a change
check costs what the writes touched, not what is cached.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Hashable
from dataclasses import replace

from feedserver.archive import load_archive
from feedserver.body import Body, Gone
from feedserver.cache import DocumentCache, Rendered
from feedserver.config import Settings
from feedserver.db import DatabaseUnavailable, ReadPool
from feedserver.documents import Document
from feedserver.events import ChangeListener, ChangeReport, DocumentChange
from feedserver.feeds import ItemCache
from feedserver.history import load_history
from feedserver.origin.headers import cache_control, origin_headers
from feedserver.origin.purge import Purger
from feedserver.state import ScopeId, SiteState, StateChange, load_site_state, update_site_state

logger = logging.getLogger("feedserver")


class FeedService:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.pool = self._new_pool()
        self.cache = DocumentCache(
            settings["cache.max_entries"],
            cache_control(settings),
            settings["cache.gzip_level"],
            max_bytes=settings["cache.max_bytes"],
            identity_max_bytes=settings["cache.identity_max_bytes"],
        )
        self.documents: dict[str, Document] = {}
        # Scope -> keys of the documents that depend on it (Document.depends_on);
        # documents that do not say are looked at after every change.
        self.dependents: dict[ScopeId, set[str]] = {}
        self.unscoped: set[str] = set()
        # Background re-renders at a time: each holds the GIL for part of its
        # work, and the hits served meanwhile need their share of it.
        self._rerender_slots = asyncio.Semaphore(2)
        self.items = ItemCache()
        self.purger = Purger(settings)  # tells a shared cache what a change touched (off unless configured)
        self._state: SiteState | None = None
        self.problem: str | None = None  # why the database cannot be served now, if it cannot
        self.database_errors = 0  # checks that found it unavailable (read by the metrics)
        # A cached version may be older than the state (a re-render failed):
        # the change check reloads and re-renders even with no new write.
        self.stale = False
        self._replaced = False  # the file was replaced: no cached signature can be trusted
        self._reported: SiteState | None = None  # the state listeners last heard of
        self.listeners: list[ChangeListener] = []  # told of every applied change (feedserver.events)

    def set_problem(self, reason: str) -> None:
        """Record that the database is unavailable; logged once per distinct reason."""
        self.database_errors += 1
        if reason != self.problem:
            logger.error("database unavailable: %s (serving cached copies; retrying)", reason)
        self.problem = reason

    def clear_problem(self) -> None:
        if self.problem is not None:
            logger.warning("database available again (was: %s)", self.problem)
        self.problem = None

    @property
    def state(self) -> SiteState:
        assert self._state is not None, "FeedService.open() was not awaited"
        return self._state

    def now(self) -> int:
        return int(self.clock())

    async def open(self) -> None:
        await self.pool.open()
        self._state = self._reported = await self.load_state(self.now())

    async def load_state(self, now: int) -> SiteState:
        """Read the whole site state at `now`; see next_state."""
        state, _ = await self.next_state(now, whole=True)
        return state

    async def next_state(self, now: int, whole: bool = False) -> tuple[SiteState, StateChange]:
        """The site state at `now` and what changed: brought up to date from the current
        one (only what the writes since touched is read), or read whole at start and
        after the file was replaced. So are the sitemap archive and the feeds' history."""
        current = None if self._replaced or whole else self._state
        if current is None:
            state, change = await load_site_state(self.pool, now), StateChange(frozenset(), everything=True)
        else:
            state, change = await update_site_state(self.pool, current, now)
        archive = await load_archive(self.pool, self.settings, now, current.archive if current else None)
        previous = current.history if current is not None else None
        history = await load_history(self.pool, archive.calendar, now, previous)
        if previous is not None and (history.current_month, history.first_month) != (
            previous.current_month,
            previous.first_month,
        ):
            # A month is over (or the first one moved): every feed's archive boundary
            # moved, with no write to stamp a scope.
            change = replace(change, everything=True)
        return replace(state, archive=archive, history=history), change

    async def refresh(self, now: int) -> int:
        """Bring the state up to date and re-render what changed (the change check)."""
        state, change = await self.next_state(now)
        if self.stale:  # a version is older than its state (a render failed): look at all
            change = replace(change, everything=True)
        self.stale = False  # cleared before: a render that fails during apply sets it again
        return await self.apply_state(state, change)

    async def close(self) -> None:
        await self.cache.close()
        await self.pool.close()

    def _new_pool(self) -> ReadPool:
        settings = self.settings
        return ReadPool(
            settings.database_path,
            settings["database.readers"],
            settings["database.query_timeout_seconds"],
            settings["database.busy_timeout_seconds"],
            hold=settings["database.hold_connections"],
        )

    async def reopen(self) -> None:
        """Open a fresh pool on the file now at the path (it was replaced), then drop the old one."""
        pool = self._new_pool()
        await pool.open()
        old, self.pool = self.pool, pool
        self.items.clear()
        # Signatures are made of the old file's stamps, which a new file can
        # repeat (rebuilt in the same second): re-render every cached document.
        self._replaced = True
        await old.close()

    async def serve(self, document: Document) -> Rendered:
        """The current version of `document`, rendered at most once per version."""
        self.documents.setdefault(document.key, document)
        try:
            rendered = await self.cache.get_or_render(document.key, lambda: self._render(document))
        except BaseException:
            if document.key not in self.cache.entries:
                self.documents.pop(document.key, None)  # a page that does not exist leaves nothing behind
            raise
        # A change check that ran while this version was being written and
        # compressed found no entry to refresh, and the version it stored is
        # already stale: bring it up to date now, or it would stay until the
        # next write.
        while document.exists(self.state) and rendered.signature != document.signature(self.state):
            try:
                rendered = await self._rerender(document)
            except Gone:
                self.cache.discard(document.key)
                self.documents.pop(document.key, None)
                raise
            except DatabaseUnavailable:
                self.stale = True  # the next change check brings it up to date
                break  # the version in hand is still the best there is
        return rendered

    def _index(self, document: Document, state: SiteState) -> None:
        depends_on = getattr(document, "depends_on", None)
        if depends_on is None:
            self.unscoped.add(document.key)
            return
        for scope in depends_on(state):
            self.dependents.setdefault(scope, set()).add(document.key)

    async def _render(self, document: Document) -> tuple[Body, Hashable]:
        # Render against the newest state; if a newer one arrived while this
        # ran, the result may already be stale: render again with it.
        while True:
            state = self.state
            body = await document.render(self.pool, self.settings, state)
            if (
                self.state is state
                or not document.exists(self.state)  # gone meanwhile (a removed section, a split month)
                or document.signature(self.state) == document.signature(state)
            ):
                self._index(document, state)
                headers = origin_headers(self.settings, document.surrogate_keys(state), body.max_age)
                return replace(body, headers=headers), document.signature(state)

    async def _rerender(self, document: Document) -> Rendered:
        return await self.cache.render(document.key, lambda: self._render(document))

    async def _rerender_in_background(self, document: Document) -> Rendered:
        async with self._rerender_slots:
            return await self._rerender(document)

    def _affected(self, change: StateChange) -> list[str]:
        """Keys of the cached documents the change may have changed."""
        if change.everything:
            return list(self.cache.entries)
        keys = set(self.unscoped)
        for scope in change.scopes:
            keys |= self.dependents.get(scope, set())
        return [key for key in keys if key in self.cache.entries]

    async def apply_state(self, state: SiteState, change: StateChange | None = None) -> int:
        """Adopt a new site state and re-render the cached documents it changed.

        Returns how many were re-rendered. Documents that no longer exist (a
        removed section) are dropped. Without `change`, every cached document
        is looked at.
        """
        old, self._state = self._state, state
        replaced, self._replaced = self._replaced, False
        if old is not None:
            self.purger.changed(old, state, replaced)
        stale = []
        changes: list[DocumentChange] = []
        for key in self._affected(change or StateChange(frozenset(), everything=True)):
            entry = self.cache.entries.get(key)
            document = self.documents.get(key)
            if entry is None:
                continue
            if document is None or not document.exists(state):
                self.cache.discard(key)
                self.documents.pop(key, None)
                changes.append(DocumentChange(key, entry, None))
            elif replaced or document.signature(state) != entry.signature:
                stale.append((document, entry))
        if stale:
            results = await asyncio.gather(*(self._rerender_in_background(d) for d, _ in stale), return_exceptions=True)
            for (document, entry), result in zip(stale, results, strict=True):
                if isinstance(result, Gone):  # no longer exists (a feed's month back in its paging)
                    self.cache.discard(document.key)
                    self.documents.pop(document.key, None)
                    changes.append(DocumentChange(document.key, entry, None))
                elif isinstance(result, BaseException):
                    self._replaced = self._replaced or replaced
                    self.stale = True  # the retry looks at every cached document again
                    raise result  # the watcher retries; entries that failed keep their old version
                elif result.etag != entry.etag:
                    changes.append(DocumentChange(document.key, entry, result))
        # Reported against the last state reported: a check that failed half way
        # (a render met a lock) is reported whole by the retry that succeeds.
        if self._reported is not None:
            await self._report(ChangeReport(self._reported, state, tuple(changes)))
        self._reported = state
        return len(stale)

    async def _report(self, report: ChangeReport) -> None:
        for listener in self.listeners:
            try:
                await listener(report)
            except Exception:  # a listener's fault must not stop the change check
                logger.exception("change listener failed")
