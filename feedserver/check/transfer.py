"""HTTP as readers meet it: status, a challenge page instead of the document,
size, validators and conditional GET, gzip, and what other User-Agents get."""

from __future__ import annotations

import gzip
import zlib

from feedserver.check.fetch import BROWSER, Fetched, Unreachable, fetch
from feedserver.check.report import Report

IDENTITY = {"Accept-Encoding": "identity"}
BOGUS_ETAG = '"feedserver-check-never-sent"'


def looks_like_html(response: Fetched) -> bool:
    head = response.body[:512].lstrip().lower()
    return response.media_type in ("text/html", "application/xhtml+xml") or head.startswith(
        (b"<!doctype html", b"<html")
    )


def reader_name(user_agent: str) -> str:
    return user_agent.split("/")[0].split("(")[0].strip() or user_agent[:30]


def first_fetch(url: str, report: Report, expected: str) -> Fetched | None:
    """The document as a browser gets it, uncompressed; None when there is nothing to check."""
    try:
        response = fetch(url, BROWSER, IDENTITY)
    except Unreachable as exc:
        report.error(url, f"no answer: {exc}")
        return None
    report.checked.append(url)
    if response.status != 200:
        report.error(url, f"HTTP {response.status} instead of 200")
        return None
    if response.header("Content-Encoding").lower() not in ("", "identity"):
        report.error(
            url, f"Content-Encoding {response.header('Content-Encoding')} sent to a client that asked for none"
        )
        return None
    if looks_like_html(response):
        report.error(url, f"HTML where {expected} was expected (a challenge or error page?)")
        return None
    return response


def check_transfer(url: str, response: Fetched, report: Report, max_bytes: int | None) -> None:
    if max_bytes is not None and len(response.body) > max_bytes:
        report.warning(url, f"{len(response.body):,} bytes: larger than {max_bytes:,}")
    etag, last_modified = response.header("ETag"), response.header("Last-Modified")
    if not etag and not last_modified:
        report.warning(url, "no ETag or Last-Modified: readers cannot poll with conditional requests")
    else:
        validators = {"If-None-Match": etag} if etag else {"If-Modified-Since": last_modified}
        again = _get(url, {**IDENTITY, **validators}, report)
        if again is not None and again.status != 304:
            report.warning(url, f"sending its own validator back gives {again.status}, never 304")
        if etag:
            stale = _get(url, {**IDENTITY, "If-None-Match": BOGUS_ETAG}, report)
            if stale is not None and stale.status == 304:
                report.error(url, "answers 304 to a validator it never sent: readers would never see a change")
    compressed = _get(url, {"Accept-Encoding": "gzip"}, report)
    if compressed is None or compressed.status != 200:
        return
    if compressed.header("Content-Encoding").lower() != "gzip":
        if len(response.body) > 1024:
            report.warning(url, "not gzip-compressed for clients that accept gzip")
        return
    try:
        unpacked = gzip.decompress(compressed.body)
    except (OSError, EOFError, zlib.error) as exc:
        report.error(url, f"gzip broken: {exc}")
        return
    if unpacked != response.body:
        report.warning(url, "the gzip copy differs from the uncompressed one")


def check_readers(url: str, readers: tuple[str, ...], report: Report) -> None:
    """The same document as each reader gets it: a bot challenge shows up here."""
    for user_agent in readers:
        try:
            response = fetch(url, user_agent)
        except Unreachable as exc:
            report.error(url, f"no answer to {reader_name(user_agent)}: {exc}")
            continue
        if response.status != 200:
            page = ", an HTML page: a bot challenge?" if looks_like_html(response) else ""
            report.error(url, f"HTTP {response.status} for {reader_name(user_agent)} (the browser got 200{page})")
        elif looks_like_html(response):
            report.error(url, f"HTML for {reader_name(user_agent)} (a challenge page?); the browser got the document")


def _get(url: str, headers: dict[str, str], report: Report) -> Fetched | None:
    try:
        return fetch(url, BROWSER, headers)
    except Unreachable as exc:
        report.error(url, f"no answer: {exc}")
        return None
