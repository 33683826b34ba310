"""The polling limit: a client that fetches one feed whole more often than
`polling.max_unconditional_per_hour` times an hour gets 429 with Retry-After.

Only unconditional fetches that get the document (200) count: a conditional
request answered 304 costs next to nothing and is never limited. The window is
an hour from the client's first counted fetch. Retry-After is whole seconds
(RFC 9110 10.2.3 allows a date too, but NetNewsWire and NewsBlur read only
seconds). Clients are keyed by a hash of (address, User-Agent, feed), and the
table is bounded: past `max_clients`, expired windows go first, then the oldest.
"""

from __future__ import annotations

import math

HOUR = 3600


class PollingLimit:
    def __init__(self, per_hour: int, max_clients: int = 50_000) -> None:
        self.per_hour = per_hour
        self.max_clients = max_clients
        self.windows: dict[int, list[float]] = {}  # client key -> [window start, fetches]
        self.limited = 0

    def retry_after(self, key: int, now: float) -> int:
        """0 to let this fetch through (and count it), else the seconds to wait."""
        windows = self.windows
        entry = windows.get(key)
        if entry is None or now >= entry[0] + HOUR:
            if entry is None and len(windows) >= self.max_clients:
                self._prune(now)
            windows[key] = [now, 1.0]
            return 0
        if entry[1] >= self.per_hour:
            self.limited += 1
            return max(1, math.ceil(entry[0] + HOUR - now))
        entry[1] += 1
        return 0

    def _prune(self, now: float) -> None:
        expired = [key for key, (start, _) in self.windows.items() if now >= start + HOUR]
        for key in expired:
            del self.windows[key]
        if len(self.windows) >= self.max_clients:
            for key in list(self.windows)[: len(self.windows) // 2]:
                del self.windows[key]
