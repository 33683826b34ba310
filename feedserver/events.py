"""Change events: what one change check did, for the capabilities that react to it.

The change check hands every listener one `ChangeReport` per applied state:
the states before and after, and each cached document it re-rendered or
dropped, with its old and new version. Listeners (feedserver.push) only
record what to do and return; their own background tasks do the work, so a
slow hub never delays the next check.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from feedserver.cache import Rendered
from feedserver.state import SiteState


@dataclass(frozen=True)
class DocumentChange:
    """A cached document whose version moved: `old` None when it was not rendered
    before, `new` None when it no longer exists."""

    key: str
    old: Rendered | None
    new: Rendered | None

    @property
    def old_etag(self) -> str | None:
        return None if self.old is None else self.old.etag

    @property
    def new_etag(self) -> str | None:
        return None if self.new is None else self.new.etag


@dataclass(frozen=True)
class ChangeReport:
    """One applied change: the site before and after, and the cached documents it moved.

    Documents that were not cached are not rendered for the report: a listener
    that needs one compares `document.signature(old)` with `signature(new)`
    and asks the service for it."""

    old: SiteState
    new: SiteState
    documents: tuple[DocumentChange, ...]


ChangeListener = Callable[[ChangeReport], Awaitable[None]]
