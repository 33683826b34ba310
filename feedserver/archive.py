"""The sitemap archive: which sitemap files exist, what range of articles each
holds, and a signature that moves whenever a file's bytes may change.

Partition (files must keep their URL and bytes as the archive grows):

- Articles are grouped by their publish time's calendar month in
  `site.timezone`: `/sitemap-articles-YYYY-MM.xml`.
- A month with more than `sitemaps.page_size` visible articles is served as one
  file per day instead: `/sitemap-articles-YYYY-MM-DD.xml`.
- A day with more than `sitemaps.page_size` is served as numbered pages in
  (published_at, id) order: `/sitemap-articles-YYYY-MM-DD-N.xml`.

Each file is a time range, so a write changes only the file its article is in
(an article moved in time: the two files), and a file of the past keeps its
bytes while new articles go to the current month. The only renames are a month
going over the page size (its files become days) and a day going over it.

What the partition needs is kept per day: the count and newest lastmod of its
visible articles, read from the index by range (queries.range_stats). The
schema's triggers stamp a UTC hour (sitemap_hours) with a new version on every
write a sitemap can show, so each reload reads only the stamps past the last
version seen and recounts only the days they fall in, plus the days in which a
scheduled article came due. Counts, like the files, take only articles whose
URL is on the site's own host (queries.ON_HOST).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from feedserver.config import Settings
from feedserver.db import ReadPool
from feedserver.listing import site_origin
from feedserver.queries import (
    HourStamp,
    news_window,
    published_between,
    range_keys,
    range_stats,
    sitemap_max_version,
    sitemap_stamps,
)
from feedserver.times import EARLIEST, LATEST

ONE_DAY = timedelta(days=1)
HOUR = 3600
NEWS_WINDOW_SECONDS = 2 * 86400  # Google News: articles of the last two days
# Publish times a calendar day can be found for in any time zone.
FIRST_MOMENT, LAST_MOMENT = EARLIEST, LATEST


class Calendar:
    """Midnights in the site's time zone, remembered (files are cut there).

    A day is the range [its midnight, the next midnight); with DST a day is 23
    or 25 hours long, and the range, not the local date of a time, decides.
    """

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self._midnights: dict[date, int] = {}

    def midnight(self, day: date) -> int:
        stamp = self._midnights.get(day)
        if stamp is None:
            stamp = int(datetime(day.year, day.month, day.day, tzinfo=self.tz).timestamp())
            self._midnights[day] = stamp
        return stamp

    def next_midnight(self, day: date) -> int:
        return self.midnight(day + ONE_DAY) if day < date.max else LAST_MOMENT

    def day_of(self, moment: int) -> date:
        """The day holding `moment`; one outside the calendar (before 0001-01-02 or
        after 9999-12-30, where a day's neighbours cannot be named) raises ValueError."""
        if not FIRST_MOMENT <= moment <= LAST_MOMENT:
            raise ValueError(f"{moment} is outside the calendar")
        day = datetime.fromtimestamp(moment, self.tz).date()
        while moment < self.midnight(day):  # a repeated hour may name the wrong date
            day -= ONE_DAY
        while moment >= self.next_midnight(day):
            day += ONE_DAY
        return day

    def days_overlapping(self, start: int, stop: int) -> Iterator[date]:
        """The days that share a moment with [start, stop), within the calendar."""
        day = self.day_of(min(max(start, FIRST_MOMENT), LAST_MOMENT))
        while self.midnight(day) < stop:
            yield day
            if day >= date.max - ONE_DAY:
                return
            day += ONE_DAY

    def month_range(self, day: date) -> tuple[int, int]:
        first = day.replace(day=1)
        if first.year == date.max.year and first.month == 12:
            return self.midnight(first), LAST_MOMENT
        following = (first + timedelta(days=32)).replace(day=1)
        return self.midnight(first), self.midnight(following)


@dataclass(frozen=True)
class DayStats:
    """Visible articles published on one day (site time zone)."""

    day: date
    start: int
    stop: int
    count: int  # an upper bound of the URLs listed (off-host URLs are left out)
    lastmod: int  # newest updated_at / published_at
    version: int  # newest sitemap_hours stamp of the day's hours
    changed_at: int
    pages: tuple[tuple[int, str], ...] = ()  # over the page size: the key each later page starts after


@dataclass(frozen=True)
class ArchiveFile:
    """One article sitemap: the visible articles in [start, stop) after `after`, at most `limit`."""

    name: str  # the URL path is /sitemap-{name}.xml
    start: int
    stop: int
    after: tuple[int, str] | None
    limit: int
    count: int  # visible articles in it whose URL is on the site's host: the URLs its file lists
    lastmod: int  # newest change of a URL in it: the index's <lastmod>
    last_modified: int  # HTTP Last-Modified: also moved by removals, so it never goes back
    signature: tuple[object, ...]


@dataclass(frozen=True)
class NewsState:
    """The Google News window (since, now]: its articles' keys, newest first."""

    since: int
    keys: tuple[tuple[int, str], ...]
    version: int
    last_modified: int
    page_size: int

    @property
    def expires_at(self) -> int | None:
        """When the oldest article leaves the window (no write announces it)."""
        return self.keys[-1][0] + NEWS_WINDOW_SECONDS if self.keys else None

    @property
    def pages(self) -> int:
        return max(1, math.ceil(len(self.keys) / self.page_size))

    def page_keys(self, page: int) -> tuple[tuple[int, str], ...]:
        return self.keys[(page - 1) * self.page_size : page * self.page_size]

    def before(self, page: int) -> tuple[int, str] | None:
        """The key page `page` (1-based) starts after, in newest-first order."""
        return self.keys[(page - 1) * self.page_size - 1] if page > 1 else None


@dataclass(frozen=True)
class ArchiveState:
    now: int
    version: int  # newest sitemap_hours version read
    page_size: int
    calendar: Calendar = field(compare=False)
    stamps: Mapping[date, tuple[int, int]]  # per day: newest (version, changed_at) of its hours
    days: Mapping[date, DayStats]  # days with at least one visible article
    files: Mapping[str, ArchiveFile]
    news: NewsState


def _month_name(day: date) -> str:
    return f"articles-{day.year:04d}-{day.month:02d}"


def _day_name(day: date) -> str:
    return f"articles-{day.year:04d}-{day.month:02d}-{day.day:02d}"


def partition(
    days: Mapping[date, DayStats], stamps: Mapping[date, tuple[int, int]], size: int, calendar: Calendar
) -> dict[str, ArchiveFile]:
    """The article files, newest first, from the per-day statistics."""
    months: dict[tuple[int, int], list[DayStats]] = {}
    for stats in days.values():
        months.setdefault((stats.day.year, stats.day.month), []).append(stats)
    written: dict[tuple[int, int], int] = {}  # newest write per month, removals included
    for day, (_, changed_at) in stamps.items():
        written[day.year, day.month] = max(written.get((day.year, day.month), 0), changed_at)
    files: dict[str, ArchiveFile] = {}
    for key in sorted(months, reverse=True):
        month_days = sorted(months[key], key=lambda s: s.day, reverse=True)
        first = month_days[0].day
        count = sum(s.count for s in month_days)
        if count <= size:
            start, stop = calendar.month_range(first)
            lastmod = max(s.lastmod for s in month_days)
            version = max(s.version for s in month_days)
            name = _month_name(first)
            signature = (name, start, stop, count, lastmod, version)
            files[name] = ArchiveFile(
                name, start, stop, None, size, count, lastmod, max(lastmod, written.get(key, 0)), signature
            )
            continue
        for stats in month_days:
            changed = max(stats.lastmod, stats.changed_at)
            base = (stats.start, stats.stop, stats.count, stats.lastmod, stats.version, stats.pages)
            if not stats.pages:
                name = _day_name(stats.day)
                files[name] = ArchiveFile(
                    name, stats.start, stats.stop, None, size, stats.count, stats.lastmod, changed, (name, *base)
                )
                continue
            afters: list[tuple[int, str] | None] = [None, *stats.pages]
            for number in range(len(afters), 0, -1):
                name = f"{_day_name(stats.day)}-{number}"
                in_page = min(size, stats.count - (number - 1) * size)
                files[name] = ArchiveFile(
                    name,
                    stats.start,
                    stats.stop,
                    afters[number - 1],
                    size,
                    in_page,
                    stats.lastmod,
                    changed,
                    (name, *base),
                )
    return files


def _merge_stamp(stamps: dict[date, tuple[int, int]], day: date, row: HourStamp) -> None:
    version, changed_at = stamps.get(day, (0, 0))
    stamps[day] = (max(version, row.version), max(changed_at, row.changed_at))


async def load_archive(pool: ReadPool, settings: Settings, now: int, previous: ArchiveState | None) -> ArchiveState:
    """The archive at `now`, recounting only what changed since `previous` (None: everything)."""
    size: int = settings["sitemaps.page_size"]
    if previous is not None and (
        now < previous.now or previous.page_size != size or previous.calendar.tz != settings.timezone
    ):
        previous = None
    if previous is not None and await sitemap_max_version(pool) < previous.version:
        previous = None  # another file with the same path: its versions are not comparable
    calendar = previous.calendar if previous is not None else Calendar(settings.timezone)
    stamps = dict(previous.stamps) if previous is not None else {}
    days = dict(previous.days) if previous is not None else {}
    version = previous.version if previous is not None else 0
    touched: set[date] = set()
    for row in await sitemap_stamps(pool, version):
        version = max(version, row.version)
        if not FIRST_MOMENT - HOUR <= row.hour_start <= LAST_MOMENT:
            continue  # outside the calendar: such an article is in no sitemap
        for day in calendar.days_overlapping(row.hour_start, row.hour_start + HOUR):
            _merge_stamp(stamps, day, row)
            touched.add(day)
    if previous is None:
        touched = set(stamps)
    else:
        due = await published_between(pool, previous.now, now)
        touched.update(calendar.day_of(moment) for moment in due if FIRST_MOMENT <= moment <= LAST_MOMENT)
    ordered = sorted(touched)
    ranges = [(calendar.midnight(day), calendar.next_midnight(day)) for day in ordered]
    origin = site_origin(settings.base_url)
    for day, stats in zip(ordered, await range_stats(pool, ranges, now, origin), strict=True):
        if stats.count == 0 or stats.lastmod is None:
            days.pop(day, None)
            continue
        pages: tuple[tuple[int, str], ...] = ()
        if stats.count > size:  # rare: a day over the page size is cut into numbered pages
            keys = await range_keys(pool, stats.start, stats.stop, now, origin)
            pages = tuple(keys[index - 1] for index in range(size, len(keys), size))
        day_version, changed_at = stamps.get(day, (0, 0))
        days[day] = DayStats(
            day, stats.start, stats.stop, stats.count, int(stats.lastmod), day_version, changed_at, pages
        )
    return ArchiveState(
        now=now,
        version=version,
        page_size=size,
        calendar=calendar,
        stamps=stamps,
        days=days,
        files=partition(days, stamps, size, calendar),
        news=await load_news(pool, now, origin, settings["sitemaps.news_page_size"]),
    )


async def load_news(pool: ReadPool, now: int, origin: str, page_size: int) -> NewsState:
    since = now - NEWS_WINDOW_SECONDS
    window = await news_window(pool, since, now, origin)
    exit_time = window.last_exit + NEWS_WINDOW_SECONDS if window.last_exit is not None else 0
    newest = window.keys[0][0] if window.keys else 0
    last_modified = max(newest, window.changed_at, exit_time if exit_time <= now else 0)
    return NewsState(since, window.keys, window.version, last_modified, page_size)
