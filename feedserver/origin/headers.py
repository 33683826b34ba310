"""Caching headers for readers and for shared caches, built once per version.

Readers (browsers, feed readers) obey `max-age`; shared caches take `s-maxage`
instead (RFC 9111 5.2.2.10), and CDNs that support it take CDN-Cache-Control
over both (RFC 9213). `stale-while-revalidate` and `stale-if-error` (RFC 5861)
let a cache answer at once while it refetches, and keep answering while the
origin is down.
"""

from __future__ import annotations

from collections.abc import Iterable

from feedserver.config import Settings
from feedserver.origin.keys import ALL


def _stale(settings: Settings) -> str:
    return (
        f"stale-while-revalidate={settings['cache.stale_while_revalidate_seconds']}, "
        f"stale-if-error={settings['cache.stale_if_error_seconds']}"
    )


def cache_control(settings: Settings) -> str:
    """Cache-Control of every cached document: readers' lifetime, then shared caches'."""
    return (
        f"public, max-age={settings['cache.max_age_seconds']}, "
        f"s-maxage={settings['cache.s_maxage_seconds']}, {_stale(settings)}"
    )


def cdn_cache_control(settings: Settings, max_age: int | None = None) -> str:
    """CDN-Cache-Control (RFC 9213 2): the same syntax, for CDNs only. `max_age`: a
    document's own, longer lifetime (a feed archive), for every cache alike."""
    seconds = settings["cache.cdn_max_age_seconds"] if max_age is None else max_age
    return f"max-age={seconds}, {_stale(settings)}"


def origin_headers(
    settings: Settings, keys: Iterable[str], max_age: int | None = None
) -> tuple[tuple[bytes, bytes], ...]:
    """CDN-Cache-Control plus the surrogate keys: Surrogate-Key is a space-separated
    list (Fastly, Varnish xkey), Cache-Tag the same list comma-separated (Cloudflare,
    Akamai). Sent on 200 and on 304, so a revalidated copy keeps them."""
    names = list(dict.fromkeys([*keys, ALL]))
    return (
        (b"cdn-cache-control", cdn_cache_control(settings, max_age).encode()),
        (b"surrogate-key", " ".join(names).encode()),
        (b"cache-tag", ",".join(names).encode()),
    )
