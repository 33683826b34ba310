"""Epoch seconds as the aware local times every format writes."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

# The instants any time zone can show as a date between years 1 and 9999
# (Python's range); the importer refuses times outside them, and a CMS that
# writes one directly gets it clamped here rather than a failed render.
EARLIEST = int(datetime(1, 1, 3, tzinfo=UTC).timestamp())
LATEST = int(datetime(9999, 12, 29, tzinfo=UTC).timestamp())


def local_time(timestamp: int, tz: ZoneInfo) -> datetime:
    """`timestamp` in `tz`. An offset that is not whole minutes (local mean time,
    before a zone's standard time: Jakarta was +07:07:12 until 1924) cannot be
    written in RFC 822 or RFC 3339, so such an instant is given in UTC."""
    moment = datetime.fromtimestamp(min(max(timestamp, EARLIEST), LATEST), tz)
    offset = moment.utcoffset()
    if offset is not None and offset.total_seconds() % 60:
        return moment.astimezone(UTC)
    return moment
