"""`feedserver check`: what a strict validator and the main readers see on a
running server, for every document it publishes.

It talks HTTP to the server like any client (it imports nothing of the
server): discovery (`discover`), transfer rules (`transfer`), feed rules
(`feeds`), sitemap rules (`sitemaps`), validated against the schemas shipped
in feedserver/schemas (`schemas`), with the ids of the last run in a small
state file (`state`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

from feedserver.check.discover import Found, from_home, from_opml, from_robots, same_origin
from feedserver.check.feeds import ParsedFeed, check_items, parse_feed
from feedserver.check.fetch import BROWSER, READERS, Unreachable, fetch
from feedserver.check.report import Problem, Report
from feedserver.check.sitemaps import check_sitemap
from feedserver.check.state import Ids, load_ids, save_ids
from feedserver.check.transfer import check_readers, check_transfer, first_fetch

__all__ = ["READERS", "CannotRun", "CheckOptions", "Problem", "Report", "run_check"]


class CannotRun(Exception):
    """The check could not run at all (exit status 2)."""


@dataclass(frozen=True)
class CheckOptions:
    base_url: str
    readers: tuple[str, ...] = READERS
    max_bytes: int = 1024 * 1024
    state_path: Path | None = None
    max_sitemaps: int = 10_000


def discover(options: CheckOptions, report: Report) -> Found:
    base = options.base_url.rstrip("/") + "/"
    found = Found()
    try:
        home = fetch(base, BROWSER)
    except Unreachable as exc:
        raise CannotRun(f"cannot reach {base}: {exc}") from None
    report.checked.append(base)
    if home.status != 200:
        report.error(base, f"HTTP {home.status} instead of 200")
    else:
        from_home(home.body, home.url, base, found)
    robots = fetch(urljoin(base, "/robots.txt"), BROWSER)
    report.checked.append(robots.url)
    if robots.status == 200:
        from_robots(robots.body.decode("utf-8", errors="replace"), base, found)
    else:
        report.warning(robots.url, f"HTTP {robots.status}: crawlers find no sitemap")
    opml = fetch(urljoin(base, "/feeds.opml"), BROWSER)
    if opml.status == 200:
        report.checked.append(opml.url)
        problem = from_opml(opml.body, opml.url, base, found)
        if problem:
            report.error(opml.url, problem)
    if not found.feeds:
        report.error(base, "no feed found (no autodiscovery link or feed link on the front page, no /feeds.opml)")
    return found


def check_feed(url: str, options: CheckOptions, report: Report, now: float, previous: Ids, ids: Ids) -> None:
    response = first_fetch(url, report, "a feed")
    if response is None:
        return
    check_transfer(url, response, report, options.max_bytes)
    check_readers(url, options.readers, report)
    feed: ParsedFeed | None = parse_feed(response.body, url, report)
    if feed is None:
        return
    check_items(feed, url, now, report)
    current = {item.link: item.id for item in feed.items if item.link and item.id}
    before = previous.get(url, {})
    changed = [(link, before[link], new) for link, new in current.items() if link in before and before[link] != new]
    if changed:
        link, old, new = changed[0]
        report.error(url, f"{len(changed)} item id(s) changed since the last run, e.g. {link}: {old} -> {new}")
    ids[url] = current


def check_sitemaps(roots: list[str], options: CheckOptions, report: Report, now: float) -> None:
    queue, seen = list(roots), set[str]()
    while queue and len(seen) < options.max_sitemaps:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        response = first_fetch(url, report, "a sitemap")
        if response is None:
            continue
        check_transfer(url, response, report, None)
        for child in check_sitemap(response.body, url, now, report):
            if same_origin(child, options.base_url):
                queue.append(child)
            else:
                report.error(url, f"lists a sitemap on another site: {child}")


def run_check(options: CheckOptions, now: float | None = None) -> Report:
    """Check everything the server at `options.base_url` publishes. Raises CannotRun."""
    now = time.time() if now is None else now
    report = Report()
    found = discover(options, report)
    previous = load_ids(options.state_path) if options.state_path else {}
    ids: Ids = dict(previous)
    for url in found.feeds:
        check_feed(url, options, report, now, previous, ids)
    check_sitemaps(found.sitemaps, options, report, now)
    if options.state_path is not None:
        try:
            save_ids(options.state_path, ids)
        except OSError as exc:
            raise CannotRun(f"cannot write the state file {options.state_path}: {exc}") from None
    return report
