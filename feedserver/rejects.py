"""Rows the server reads around: ones the CMS wrote that break the database contract.

A row that cannot be shown as it is (a publish time that is not whole seconds, a
title with nothing visible, a section slug no URL can hold) is left out of
every document instead of failing them all. Each is logged once, with its id,
and counted: /healthz reports the count, so a publisher learns of it without
reading every feed.
"""

from __future__ import annotations

import logging
import threading

logger = logging.getLogger("feedserver.rejects")


class RejectedRows:
    """The rows left out so far, by (table, id, reason). Renders report from worker
    threads, hence the lock."""

    def __init__(self) -> None:
        self._seen: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()

    def report(self, table: str, row_id: object, reason: str) -> None:
        """Note a row left out; the first report of each is logged."""
        key = (table, str(row_id), reason)
        with self._lock:
            if key in self._seen:
                return
            self._seen.add(key)
        logger.warning("left out %s row %r: %s (the database contract is in the README)", table, str(row_id), reason)

    @property
    def count(self) -> int:
        """How many distinct rows were left out."""
        with self._lock:
            return len({(table, row_id) for table, row_id, _ in self._seen})
