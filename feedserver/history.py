"""Feed history (RFC 5005): which documents a feed's past is split into, and how they link.

Every scope (the site, a section, any FeedScope) is cut the same way, in the
feeds' order (newest publish time first, equal times by id descending):

- The subscription document (`/feed.rss`) lists the newest `feeds.items` articles.
- The archive boundary B is the start of the earlier of the current month and
  the month of the subscription document's oldest article (site time zone).
- Archives (`/archive/YYYY-MM/feed.rss`, `fh:archive`) are the calendar months
  from the month of the site's oldest live article F up to the month before B,
  one document per month, empty months included, so a write to one month never
  changes another month's links. A single month would be an archive with
  neither prev-archive nor next-archive (the W3C validator's "Archive
  incomplete"), so when [F, B) is one month it is not archived: B moves back to
  F and that month is reached by paging until a second month is over.
- The rest, from B to the subscription document's oldest article, is reached by
  paging (`next`): `/page/YYYYMMDDTHHMMSSZ-N/feed.rss` continues after the N-th
  article published at that UTC second, with `feeds.items` articles, down to B.
  A page is named after where it starts, so one reached from an older copy of
  the subscription document still continues where that copy ended. Pages may
  change and carry no fh:archive.

Links: the subscription document and each page link `next` (the next page),
`prev-archive` (the newest archive, when the scope has an article before B);
pages and archives link `current` (the subscription document); an archive links
`prev-archive` (the month before, from F on) and, only the oldest,
`next-archive`. An archive's links do not depend on articles arriving later,
so it keeps its bytes until one of its own articles changes. JSON Feed has one
chain, `next_url`: the subscription document, the pages, then the archives
newest first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from feedserver.archive import FIRST_MOMENT, HOUR, LAST_MOMENT, Calendar
from feedserver.body import Gone
from feedserver.db import ReadPool
from feedserver.queries import ArticleKey, feed_hour_stamps, oldest_published

ARCHIVE, PAGED = "archive", "page"  # the two kinds of history document, named as in their URLs
CURSOR_FORMAT = "%Y%m%dT%H%M%SZ"
MAX_SKIP = 999_999


# A scope's article keys, newest first: (limit, before, since) -> the visible articles
# published in [since, before) (None: unbounded), at most `limit` (-1: all). The
# one thing a scope kind supplies (queries.newest_article_keys for sections).
KeyQuery = Callable[[int, int | None, int | None], Awaitable[list[ArticleKey]]]


class NoSuchPage(Gone):
    """A history URL that names no document of the scope (now): answered 404 by the route."""


def month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def month_of(calendar: Calendar, moment: int) -> int:
    """The month holding `moment` (times outside the calendar are clamped, as feeds show them)."""
    return month_index(calendar.day_of(min(max(moment, FIRST_MOMENT), LAST_MOMENT)))


def month_date(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def month_name(index: int) -> str:
    first = month_date(index)
    return f"{first.year:04d}-{first.month:02d}"


def parse_month(text: str) -> int | None:
    """`YYYY-MM` as a month index, or None when it names no month."""
    try:
        year, month = int(text[:4]), int(text[5:7])
    except ValueError:
        return None
    if len(text) != 7 or text[4] != "-" or not (1 <= year <= 9999 and 1 <= month <= 12):
        return None
    return year * 12 + month - 1


def cursor_name(moment: int, skip: int) -> str:
    return f"{datetime.fromtimestamp(moment, UTC).strftime(CURSOR_FORMAT)}-{skip}"


def parse_cursor(text: str) -> tuple[int, int] | None:
    """`YYYYMMDDTHHMMSSZ-N` as (epoch seconds, N), or None."""
    moment, _, skip = text.partition("-")
    if not skip.isascii() or not skip.isdigit() or skip.startswith("0") or int(skip) > MAX_SKIP:
        return None
    try:
        return int(datetime.strptime(moment, CURSOR_FORMAT).replace(tzinfo=UTC).timestamp()), int(skip)
    except ValueError:
        return None


@dataclass(frozen=True)
class Page:
    """Which history document of a scope: an archived month, or a page continuing after an article."""

    kind: str  # ARCHIVE or PAGED
    value: int  # month index, or the publish time (epoch seconds) the page continues at
    skip: int = 0  # PAGED: how many articles of that second came before the page

    @property
    def path(self) -> str:
        """The path segment between the scope's prefix and the file name."""
        name = month_name(self.value) if self.kind == ARCHIVE else cursor_name(self.value, self.skip)
        return f"/{self.kind}/{name}"


@dataclass(frozen=True)
class HistoryState:
    """What the history documents' freshness depends on, beyond the sections."""

    version: int  # newest feed_hours version read
    months: Mapping[int, tuple[int, int]]  # per month: newest (version, changed_at) of its hours
    stamped: bool  # the database has feed_hours (else archives re-render on any write to their scope)
    first_month: int | None  # month of the site's oldest live article: where archives begin
    current_month: int
    rollover_at: int  # the next month's start: the archive boundary moves with no write

    def month_stamp(self, month: int) -> tuple[int, int]:
        return self.months.get(month, (0, 0))


async def load_history(pool: ReadPool, calendar: Calendar, now: int, previous: HistoryState | None) -> HistoryState:
    """The month stamps at `now`, reading only the feed_hours rows past `previous`."""
    version = previous.version if previous is not None else 0
    stamps = await feed_hour_stamps(pool, version)
    if stamps is not None and previous is not None and not previous.stamped:
        stamps, version = await feed_hour_stamps(pool, 0), 0  # the table appeared (init-db ran): read it whole
    months = dict(previous.months) if previous is not None and stamps is not None and version else {}
    for row in stamps or ():
        version = max(version, row.version)
        if not FIRST_MOMENT - HOUR <= row.hour_start <= LAST_MOMENT:
            continue  # outside the calendar: such an article is in no month
        for day in calendar.days_overlapping(row.hour_start, row.hour_start + HOUR):
            old = months.get(month_index(day), (0, 0))
            months[month_index(day)] = (max(old[0], row.version), max(old[1], row.changed_at))
    oldest = await oldest_published(pool, now)
    today = month_of(calendar, now)
    return HistoryState(
        version=version,
        months=months,
        stamped=stamps is not None,
        first_month=month_of(calendar, oldest) if oldest is not None else None,
        current_month=today,
        rollover_at=calendar.month_range(month_date(today))[1],
    )


@dataclass(frozen=True)
class Links:
    """A history document's links, as path prefixes (the scope's prefix and page;
    the writer adds the file name of its format)."""

    next: str | None = None  # RFC 5005 paging: the next (older) page
    prev_archive: str | None = None
    next_archive: str | None = None
    current: str | None = None  # the subscription document
    archive: bool = False  # fh:archive
    complete: bool = False  # fh:complete (RFC 5005 section 2): the scope has no other article
    json_next: str | None = None  # JSON Feed next_url: pages, then archives


@dataclass(frozen=True)
class Listing:
    """The articles a history document lists and its links."""

    keys: list[ArticleKey]
    links: Links
    newest_change: int  # newest updated/published time of its articles (archives are dated by it)


def _newest_change(keys: Sequence[ArticleKey]) -> int:
    return max((max(k.updated_at, k.published_at) for k in keys), default=0)


async def _run(
    keys_of: KeyQuery,
    limit: int,
    at: int | None,
    skip: int,
    since: int | None,
) -> tuple[list[ArticleKey], Page | None, int] | None:
    """`limit` articles in feed order: those published at `at` after the first
    `skip`, then older ones from `since` on (`at` None: the newest); the page
    after them, or None at the end; and the publish time that page starts with.
    None when fewer than `skip` share `at`."""
    keys: list[ArticleKey] = []
    if at is not None:
        same = await keys_of(skip + limit + 1, at + 1, at)
        if len(same) < skip:
            return None
        keys = same[skip:]
    if len(keys) <= limit:
        keys += await keys_of(limit + 1 - len(keys), at, since)
    page, rest = keys[:limit], keys[limit:]
    if not rest or not page:
        return page, None, 0
    last = page[-1].published_at
    shown = sum(1 for k in page if k.published_at == last) + (skip if last == at else 0)
    return page, Page(PAGED, last, shown), rest[0].published_at


async def listing(
    keys_of: KeyQuery,
    calendar: Calendar,
    history: HistoryState,
    limit: int,
    prefix: str,
    page: Page | None,
) -> Listing:
    """What the subscription document (`page` None) or a history page of one scope
    lists, and its links; raises NoSuchPage for a page the scope does not have now."""
    run = await _run(keys_of, limit, None, 0, None)
    assert run is not None
    newest, following, starts = run
    if not newest:
        if page is None:
            return Listing(newest, Links(complete=True), 0)
        raise NoSuchPage("the feed has no articles")
    boundary_month = min(history.current_month, month_of(calendar, newest[-1].published_at))
    first = history.first_month if history.first_month is not None else boundary_month
    if boundary_month - first == 1:
        boundary_month = first  # one month alone would be an archive linking nowhere: keep paging it
    boundary = calendar.month_range(month_date(boundary_month))[0]
    newest_archive = boundary_month - 1 if first < boundary_month else None
    prev_archive = None
    if newest_archive is not None and await keys_of(1, boundary, None):
        prev_archive = prefix + Page(ARCHIVE, newest_archive).path

    def paged(keys: list[ArticleKey], following: Page | None, starts: int, current: str | None) -> Listing:
        if starts < boundary:
            following = None  # the rest is archived
        after = prefix + following.path if following is not None else None
        links = Links(next=after, prev_archive=prev_archive, current=current, json_next=after or prev_archive)
        return Listing(keys, links, _newest_change(keys))

    if page is None:
        subscription = paged(newest, following, starts, None)
        if subscription.links.next is None and subscription.links.prev_archive is None:
            return replace(subscription, links=Links(complete=True))
        return subscription
    if page.kind == PAGED:
        if not boundary <= page.value <= newest[-1].published_at or page.skip < 1:
            raise NoSuchPage("no page of the feed starts there")
        run = await _run(keys_of, limit, page.value, page.skip, boundary)
        if run is None or not run[0]:
            raise NoSuchPage("no page of the feed starts there")
        return paged(*run, prefix)
    if newest_archive is None or not first <= page.value <= newest_archive:
        raise NoSuchPage("the feed has no archive of that month")
    start, stop = calendar.month_range(month_date(page.value))
    keys = await keys_of(-1, stop, start)
    older = prefix + Page(ARCHIVE, page.value - 1).path if page.value > first else None
    links = Links(
        prev_archive=older,
        next_archive=prefix + Page(ARCHIVE, page.value + 1).path if page.value == first else None,
        current=prefix,
        archive=True,
        json_next=older,
    )
    return Listing(keys, links, _newest_change(keys) or stop - 1)
