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
import contextlib
import gc
import logging
import time
from collections.abc import Callable, Hashable
from dataclasses import replace

from feedserver.archive import load_archive
from feedserver.body import Body, Gone
from feedserver.cache import Discarded, DocumentCache, Rendered, Validators
from feedserver.config import Settings
from feedserver.db import DatabaseUnavailable, ReadPool
from feedserver.documents import Document
from feedserver.events import ChangeListener, ChangeReport, DocumentChange
from feedserver.feeds import ItemCache
from feedserver.history import load_history
from feedserver.origin.headers import cache_control, origin_headers
from feedserver.origin.purge import Purger
from feedserver.rejects import RejectedRows
from feedserver.state import ScopeId, SiteState, StateChange, load_site_state, update_site_state

logger = logging.getLogger("feedserver")
# Renders of one cold document before its version is kept even if a newer state
# arrived meanwhile (writes landing faster than a render runs); the change check
# re-renders it then.
RENDER_ATTEMPTS = 3
FREEZE_ROUNDS = 1000  # change checks between two releases of the frozen objects (freeze_long_lived)


class FeedService:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.rejects = RejectedRows()  # kept across reopened pools: what /healthz counts
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
        self._rerender_slots = asyncio.Semaphore(1)
        self.items = ItemCache()
        self.purger = Purger(settings)  # tells a shared cache what a change touched (off unless configured)
        self._state: SiteState | None = None
        self.problem: str | None = None  # why the database cannot be served now, if it cannot
        self.database_errors = 0  # checks that found it unavailable (read by the metrics)
        # A cached version may be older than the state (a re-render failed):
        # the change check reloads and re-renders even with no new write.
        self.stale = False
        self._replaced = False  # the file was replaced: no cached signature can be trusted
        self._freezes = 0
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
        after the file was replaced. So is the sitemap archive."""
        current = None if self._replaced or whole else self._state
        if current is None:
            state, change = await load_site_state(self.pool, now), StateChange(frozenset(), everything=True)
        else:
            state, change = await update_site_state(self.pool, current, now)
        archive = await load_archive(self.pool, self.settings, now, current.archive if current else None)
        history = await load_history(self.pool, archive.calendar, now, current.history if current else None)
        if (
            current is not None
            and current.history is not None
            and (
                (current.history.current_month, current.history.first_month)
                != (history.current_month, history.first_month)
            )
        ):
            # A month is over, or the oldest article moved: every feed's links move.
            change = replace(change, everything=True)
        return replace(state, archive=archive, history=history), change

    async def refresh(self, now: int) -> int:
        """Bring the state up to date and re-render what changed (the change check)."""
        state, change = await self.next_state(now)
        if self.stale:  # a version is older than its state (a render failed): look at all
            change = replace(change, everything=True)
        self.stale = False  # cleared before: a render that fails during apply sets it again
        return await self.apply_state(state, change)

    def freeze_long_lived(self) -> None:
        """Take what is cached out of the cyclic garbage collector's sight (gc.freeze).

        A full collection walks every tracked object, about 20 per cached document
        (versions, documents, state): at 20,000 feeds it stalled the event loop for
        0.3-0.7 s (bench/scale.py). Those objects hold no reference cycles, and
        reference counting frees them when they are replaced, frozen or not.
        Young cyclic garbage is collected first; what a freeze may still catch is
        released every FREEZE_ROUNDS calls (one full collection then). The change
        watcher calls it after every check, off the requests' path."""
        self._freezes += 1
        if self._freezes % FREEZE_ROUNDS == 0:
            gc.unfreeze()
            return
        gc.collect(1)
        gc.freeze()

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
            rejects=self.rejects,
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
        """The current version of `document`, rendered at most once per version.

        Raises Discarded when the document ceased to exist while it rendered
        (a removed section): nothing is cached for it then.
        """
        self.documents.setdefault(document.key, document)
        try:
            rendered = await self.cache.get_or_render(
                document.key, lambda: self._render(document), keep=lambda: document.exists(self.state)
            )
            if not document.exists(self.state):
                self.cache.discard(document.key)  # a check removed it after the version was stored
                raise Discarded(document.key)
            if rendered.signature != document.signature(self.state):
                # A change check that ran while this version was being written and
                # compressed found no entry to refresh, and the version it stored is
                # already stale: bring it up to date once, or leave it to the next
                # check (never a loop: writes may keep landing faster than renders).
                with contextlib.suppress(DatabaseUnavailable):  # the version in hand is still the best there is
                    rendered = await self._rerender(document)
        except Gone:
            self.cache.discard(document.key)
            self.documents.pop(document.key, None)  # a page that does not exist leaves nothing behind
            raise
        except BaseException:
            if document.key not in self.cache.entries:
                self.documents.pop(document.key, None)
            raise
        if document.exists(self.state) and rendered.signature != document.signature(self.state):
            self.stale = True  # the next change check brings it up to date
        return rendered

    def unchanged(self, document: Document) -> Validators | None:
        """The validators of `document`'s last version, dropped from the cache, if the
        document has not changed since: a conditional request is answered with them."""
        validators = self.cache.evicted.get(document.key)
        if validators is None or validators.signature != document.signature(self.state):
            return None
        return validators

    def _index(self, document: Document, state: SiteState) -> None:
        depends_on = getattr(document, "depends_on", None)
        if depends_on is None:
            self.unscoped.add(document.key)
            return
        for scope in depends_on(state):
            self.dependents.setdefault(scope, set()).add(document.key)

    async def _render(self, document: Document) -> tuple[Body, Hashable]:
        # Render against the newest state; if a newer one that changes this
        # document arrived while this ran, render again with it, a few times at
        # most. The version then kept carries the signature of the state it was
        # rendered with, so the next change check sees it is stale and renders it.
        for _ in range(RENDER_ATTEMPTS):
            state = self.state
            body = await document.render(self.pool, self.settings, state)
            if (
                self.state is state
                or not document.exists(self.state)  # gone meanwhile: the cache will not keep it (serve)
                or document.signature(self.state) == document.signature(state)
            ):
                break
        else:
            self.stale = True
        self._index(document, state)
        headers = origin_headers(self.settings, document.surrogate_keys(state), body.max_age)
        return replace(body, headers=headers), document.signature(state)

    async def _rerender(self, document: Document) -> Rendered:
        return await self.cache.render(
            document.key, lambda: self._render(document), keep=lambda: document.exists(self.state)
        )

    async def _rerender_in_background(self, document: Document) -> Rendered:
        async with self._rerender_slots:
            rendered = await self._rerender(document)
        self.cache.wanted.discard(document.key)  # asked for again before the next change, or not re-rendered
        return rendered

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
        removed section) are dropped; changed ones nobody asked for since their
        last re-render are dropped too, keeping their validators, and rendered
        on their next request. Without `change`, every cached document is
        looked at.
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
                if key in self.cache.wanted:
                    stale.append((document, entry))
                else:
                    # Not asked for since its last re-render (a feed nobody polls
                    # now): rendered again when it is, not ahead of time.
                    self.cache.retire(key)
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
