"""Settings: one typed, frozen object, read from TOML and the environment.

Precedence is environment over file over default. Every key is declared once in
`SETTINGS` with its type, default and help text; the README's settings table is
checked against that list by the tests, so a key cannot go undocumented.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

CONFIG_ENV = "FEEDSERVER_CONFIG"
BUILTIN_HUB_PATH = "/websub/hub"  # the built-in WebSub hub, on site.base_url's origin
DEFAULT_CONFIG_PATH = Path("config/feedserver.toml")


class ConfigError(Exception):
    """A setting is missing or invalid; the message names the key and the value."""


class _Required:
    """The default of a key the publisher must set: the site's identity never
    comes from code, so a real database is never served as the demo by accident."""

    def __repr__(self) -> str:
        return "(required)"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class Setting:
    """One configuration key: `section.name`, its parser, default and help."""

    key: str
    default: Any
    help: str
    parse: Callable[[Any], Any]

    @property
    def env_name(self) -> str:
        return "FEEDSERVER_" + self.key.replace(".", "_").upper()


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    return value


def _nonempty(value: Any) -> str:
    text = _str(value).strip()
    if not text:
        raise ValueError("must not be empty")
    return text


def _int_between(low: int, high: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError("expected a whole number")
        if isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                raise ValueError("expected a whole number") from None
        if not isinstance(value, int):
            raise ValueError("expected a whole number")
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return parse


def _float_between(low: float, high: float) -> Callable[[Any], float]:
    def parse(value: Any) -> float:
        if isinstance(value, bool):
            raise ValueError("expected a number")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError("expected a number") from None
        if not low <= number <= high:
            raise ValueError(f"must be between {low:g} and {high:g}")
        return number

    return parse


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if isinstance(value, str) and value.strip().lower() in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true or false")


def _base_url(value: Any) -> str:
    text = _nonempty(value)
    parts = urlsplit(text)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError("must be an absolute http(s) URL such as https://example.id")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise ValueError("has an invalid port")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry a user name or password")
    if parts.query or parts.fragment or text.endswith(("?", "#")):
        raise ValueError("must not have a query or fragment")
    if parts.path not in ("", "/"):
        # robots.txt and the sitemap index must sit at the root of the host, and a
        # sitemap may list only URLs below its own folder (sitemaps.org, "Sitemap
        # file location"): feedserver serves its URLs at the root of the origin.
        raise ValueError(
            "must be an origin (scheme, host and optional port) with no path: feedserver serves /robots.txt, "
            "/sitemap.xml and its feeds at the root of the host; mount it there"
        )
    return f"{parts.scheme}://{parts.netloc}"


def _authority(value: Any) -> str:
    text = _str(value).strip().lower()
    # RFC 4151 section 2.1: authorityName = DNSname / emailAddress.
    if text and not re.fullmatch(r"(?:[a-z0-9._%+-]+@)?[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?", text):
        raise ValueError("expected a domain name (or an e-mail address) such as example.id (RFC 4151)")
    return text


_PLACEHOLDER = re.compile(r"{([^{}]*)}")


def _url_template(*required: str) -> Callable[[Any], str]:
    """A page URL template; `{base_url}` and `{slug}` are filled in (site.section_url)."""

    def parse(value: Any) -> str:
        text = _nonempty(value)
        names = set(_PLACEHOLDER.findall(text))
        unknown = sorted(names - {"base_url", *required})
        if unknown:
            raise ValueError(
                f"unknown placeholder {{{unknown[0]}}}: use {{base_url}}"
                + "".join(f" and {{{name}}}" for name in required)
            )
        for name in ("base_url", *required):
            if name not in names:
                raise ValueError(f"must contain {{{name}}}")
        return text

    return parse


def _optional_url(value: Any) -> str:
    text = _str(value).strip()
    if text and urlsplit(text).scheme not in {"http", "https"}:
        raise ValueError("must be an absolute http(s) URL or empty")
    return text


def _timezone(value: Any) -> str:
    name = _nonempty(value)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("unknown IANA time zone (e.g. Asia/Jakarta)") from None
    return name


def _language(value: Any) -> str:
    text = _nonempty(value)
    if not all(part.isalnum() and len(part) <= 8 for part in text.split("-")):
        raise ValueError("expected a language tag such as id or zh-CN")
    return text


def _tag_date(value: Any) -> str:
    text = _nonempty(value)
    if not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", text):
        raise ValueError("expected a date as YYYY, YYYY-MM or YYYY-MM-DD (RFC 4151)")
    return text


def _lines(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [line for line in value.split("\n") if line.strip()]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ValueError("expected a list of strings")
    if any("\n" in v or "\r" in v for v in value):
        raise ValueError("each entry must be a single line")
    return tuple(value)


def _url_list(value: Any) -> tuple[str, ...]:
    """A list of absolute http(s) URLs; from the environment, comma-separated."""
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ValueError("expected a list of URLs")
    for url in value:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname or any(c in url for c in ' <>,"\n'):
            raise ValueError(f"{url!r} is not an absolute http(s) URL")
    return tuple(value)


def _endpoint(value: Any) -> str:
    """An absolute http(s) URL with any path (an API endpoint)."""
    text = _nonempty(value)
    parts = urlsplit(text)
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.fragment:
        raise ValueError("must be an absolute http(s) URL such as https://api.indexnow.org/indexnow")
    return text


def _indexnow_key(value: Any) -> str:
    text = _str(value).strip()
    if text and not re.fullmatch(r"[A-Za-z0-9-]{8,128}", text):
        raise ValueError("expected 8 to 128 characters a-z, A-Z, 0-9 or '-' (IndexNow), or empty")
    return text


def _token(value: Any) -> str:
    text = _str(value).strip()
    if not re.fullmatch(r"[\x21-\x7e]*", text):
        raise ValueError("must be printable ASCII with no spaces (it travels in an HTTP header)")
    return text


def _networks(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [part for part in re.split(r"[\s,]+", value) if part]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ValueError("expected a list of IP addresses or networks")
    for entry in value:
        try:
            ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or network (e.g. 10.0.0.0/8)") from None
    return tuple(entry.strip() for entry in value)


def _url_templates(value: Any) -> tuple[str, ...]:
    templates = _lines(value)
    for template in templates:
        if "{key}" not in template and "{path}" not in template:
            raise ValueError("each template needs {key} or {path}")
        if urlsplit(template).scheme not in {"http", "https"}:
            raise ValueError("each template must be an absolute http(s) URL")
    return templates


def _method(value: Any) -> str:
    text = _nonempty(value).upper()
    if not re.fullmatch(r"[A-Z]{1,20}", text):
        raise ValueError("expected an HTTP method such as PURGE, POST or GET")
    return text


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "site.title", REQUIRED, "Site name, used as every feed's title prefix. Required outside --demo.", _nonempty
    ),
    Setting(
        "site.description",
        "Berita dan cerita tentang Tiongkok, dalam bahasa Indonesia.",
        "Site description for feeds and the front page.",
        _str,
    ),
    Setting(
        "site.base_url",
        REQUIRED,
        "Public origin of the site (scheme, host, optional port; no path): where feedserver is mounted, at the "
        "root. Every absolute URL starts with it. Required outside --demo.",
        _base_url,
    ),
    Setting("site.language", "id", "Default language of articles (BCP 47 tag).", _language),
    Setting("site.timezone", "Asia/Jakarta", "IANA time zone feeds show times in.", _timezone),
    Setting(
        "site.icon", "", "Absolute URL of a square icon (Atom icon, JSON Feed favicon); empty for none.", _optional_url
    ),
    Setting(
        "site.logo", "", "Absolute URL of a logo (Atom logo, RSS image, JSON Feed icon); empty for none.", _optional_url
    ),
    Setting(
        "site.publication_name",
        REQUIRED,
        "Publication name for the Google News sitemap. Required outside --demo.",
        _nonempty,
    ),
    Setting(
        "site.id_date",
        "2025",
        "Date in item ids (tag:AUTHORITY,DATE:ID, RFC 4151). Never change it: readers would see every item again.",
        _tag_date,
    ),
    Setting(
        "site.id_authority",
        "",
        "Authority in item ids (tag:AUTHORITY,DATE:ID, RFC 4151): set it once, to the host of base_url at first "
        "setup, and never change it, even when the site moves. Empty: the host of base_url.",
        _authority,
    ),
    Setting(
        "site.home_url",
        "{base_url}/",
        "URL of the site's front page (a template: {base_url}); the site feeds' link and JSON home_page_url.",
        _url_template(),
    ),
    Setting(
        "site.section_url",
        "{base_url}/{slug}",
        "URL of a section's page (a template: {base_url}, {slug} the section path); its feeds' link, JSON "
        "home_page_url and the sections sitemap.",
        _url_template("slug"),
    ),
    Setting("feeds.items", 50, "How many articles each feed lists.", _int_between(1, 500)),
    Setting(
        "pages.items",
        20,
        "How many articles a page (/, /section/.../) lists: its feed's newest (at most feeds.items).",
        _int_between(1, 500),
    ),
    Setting("feeds.full_content", True, "Include full article HTML (true) or the summary only (false).", _bool),
    Setting("feeds.ttl_minutes", 15, "RSS ttl: how long readers may cache a feed.", _int_between(1, 1440)),
    Setting(
        "cache.refresh_seconds",
        2.0,
        "How often the background check looks for database changes; a write is visible within this delay.",
        _float_between(0.05, 300),
    ),
    Setting(
        "cache.max_age_seconds",
        900,
        "Cache-Control max-age: how long readers and browsers may keep a document (15 minutes, as the RSS ttl).",
        _int_between(0, 86400),
    ),
    Setting(
        "cache.s_maxage_seconds",
        60,
        "Cache-Control s-maxage: how long shared caches (nginx, a CDN) may serve a copy without asking; "
        "without a purge hook a write shows through them within this plus cache.refresh_seconds.",
        _int_between(0, 31_536_000),
    ),
    Setting(
        "cache.cdn_max_age_seconds",
        60,
        "CDN-Cache-Control max-age (RFC 9213), for CDNs that read it before s-maxage; can be long with a purge hook.",
        _int_between(0, 31_536_000),
    ),
    Setting(
        "cache.archive_max_age_seconds",
        86400,
        "Cache-Control max-age of feed archives (a month that is over: changes only when one of its articles does).",
        _int_between(86400, 31_536_000),
    ),
    Setting(
        "cache.stale_while_revalidate_seconds", 300, "Cache-Control stale-while-revalidate.", _int_between(0, 86400)
    ),
    Setting("cache.stale_if_error_seconds", 86400, "Cache-Control stale-if-error.", _int_between(0, 604800)),
    Setting(
        "cache.check_before_not_modified",
        True,
        "Before answering 304, look for a database change the check has not applied yet (a stat and PRAGMA "
        "data_version); if there is one the 304 is fresh for cache.refresh_seconds + 1 s only, not another s-maxage.",
        _bool,
    ),
    Setting(
        "cache.purge_url",
        (),
        "Purge hook: URL templates called once per affected surrogate key ({key}) or document path ({path}) "
        "after a change; empty for none. The token in FEEDSERVER_PURGE_TOKEN is sent as a Bearer token.",
        _url_templates,
    ),
    Setting("cache.purge_method", "PURGE", "HTTP method of the purge requests.", _method),
    Setting(
        "cache.purge_delay_seconds",
        5.0,
        "Wait before purging, so every worker and replica has the new version when the cache refetches; "
        "more than cache.refresh_seconds plus the replicas' lag.",
        _float_between(0, 600),
    ),
    Setting("cache.purge_retries", 5, "Attempts per purge request (backoff doubles from 0.5 s).", _int_between(1, 20)),
    Setting(
        "cache.purge_lock_path",
        "feedserver-purge.lock",
        "File whose flock elects the one process per host that sends purges (relative to the working directory).",
        _nonempty,
    ),
    Setting(
        "cache.max_entries",
        100_000,
        "Most documents the in-memory cache keeps, however small; cache.max_bytes is the bound to size.",
        _int_between(10, 1_000_000),
    ),
    Setting("cache.gzip_level", 6, "gzip level for the compressed copy made once per version.", _int_between(1, 9)),
    Setting(
        "cache.max_bytes",
        64 * 1024 * 1024,
        "Memory budget for every cached document together; past it the least recently used are dropped, large "
        "ones (sitemap children) first. A feed costs about its gzip size (README, Caching and HTTP).",
        _int_between(1024 * 1024, 1 << 40),
    ),
    Setting(
        "cache.identity_max_bytes",
        0,
        "Documents up to this size also keep an uncompressed copy (0: none do); the others keep only their gzip "
        "copy, decompressed for a request without gzip.",
        _int_between(0, 1 << 40),
    ),
    Setting(
        "database.path",
        "feedserver.sqlite",
        "SQLite database the CMS writes (relative paths are relative to the working directory).",
        _nonempty,
    ),
    Setting("database.readers", 2, "Read-only connections in the pool.", _int_between(1, 32)),
    Setting(
        "database.hold_connections",
        True,
        "Keep the read connections open between uses. Set false on a Litestream read replica: an open "
        "connection stops `litestream restore -f` from applying anything.",
        _bool,
    ),
    Setting(
        "database.query_timeout_seconds",
        5.0,
        "Longest a single query may run before it is stopped.",
        _float_between(0.1, 600),
    ),
    Setting(
        "database.busy_timeout_seconds",
        3.0,
        "How long a read waits on a CMS lock before giving up.",
        _float_between(0, 600),
    ),
    Setting("server.host", "127.0.0.1", "Address uvicorn listens on.", _nonempty),
    Setting("server.port", 8000, "Port uvicorn listens on.", _int_between(1, 65535)),
    Setting("server.workers", 1, "uvicorn worker processes.", _int_between(1, 64)),
    Setting("server.keep_alive_seconds", 5, "Idle keep-alive connections are closed after this.", _int_between(1, 300)),
    Setting(
        "server.limit_concurrency",
        1000,
        "Connections served at once before new ones get 503 (protects against slow clients).",
        _int_between(10, 100_000),
    ),
    Setting(
        "server.graceful_shutdown_seconds",
        10,
        "How long requests in flight may finish on SIGTERM.",
        _int_between(0, 600),
    ),
    Setting(
        "server.access_log",
        False,
        "Log every request (uvicorn's access log); off by default: the reverse proxy logs them, and it costs.",
        _bool,
    ),
    Setting(
        "sitemaps.page_size",
        50000,
        "Most URLs in one article sitemap (the protocol's limit is 50,000): a bigger month is split by day.",
        _int_between(1, 50000),
    ),
    Setting(
        "sitemaps.news_page_size",
        1000,
        "Most articles in one Google News sitemap (Google's limit is 1,000); beyond it the news sitemap is an index.",
        _int_between(1, 1000),
    ),
    Setting("robots.extra_lines", (), "Extra lines appended to robots.txt.", _lines),
    Setting(
        "feeds.delta_versions",
        5,
        "Recent versions of each feed remembered for RFC 3229 delta requests (A-IM: feed); 0 turns deltas off.",
        _int_between(0, 50),
    ),
    Setting(
        "websub.hubs",
        (),
        "WebSub hubs every feed advertises and that are pinged when a feed changes (comma-separated in the "
        "environment); empty: none.",
        _url_list,
    ),
    Setting(
        "websub.builtin_hub",
        False,
        f"Be a WebSub hub too, at {BUILTIN_HUB_PATH} on site.base_url, advertised beside websub.hubs.",
        _bool,
    ),
    Setting(
        "websub.lease_seconds",
        864000,
        "Lease the built-in hub grants when the subscriber asks for none.",
        _int_between(60, 31_536_000),
    ),
    Setting("websub.min_lease_seconds", 3600, "Shortest lease the built-in hub grants.", _int_between(1, 31_536_000)),
    Setting(
        "websub.max_lease_seconds", 2592000, "Longest lease the built-in hub grants.", _int_between(60, 31_536_000)
    ),
    Setting(
        "websub.max_subscriptions_per_topic",
        1000,
        "Most subscriptions the built-in hub keeps for one feed.",
        _int_between(1, 1_000_000),
    ),
    Setting(
        "websub.max_subscriptions",
        100000,
        "Most subscriptions the built-in hub keeps in all.",
        _int_between(1, 10_000_000),
    ),
    Setting(
        "websub.callback_timeout_seconds",
        10.0,
        "Timeout of each request to a subscriber's callback, a hub or an IndexNow endpoint.",
        _float_between(0.1, 120),
    ),
    Setting(
        "websub.allow_private_callbacks",
        False,
        "Let subscribers' callbacks be on private or loopback addresses, and hub.secret arrive for plain http "
        "callbacks (tests, intranets).",
        _bool,
    ),
    Setting(
        "push.state_path",
        "feedserver-push.sqlite",
        "The server's own SQLite file: outbox of pings and deliveries, hub subscriptions, IndexNow state "
        "(relative paths are relative to the working directory; never the CMS database).",
        _nonempty,
    ),
    Setting(
        "push.retry_seconds",
        10.0,
        "Delay before the first retry of a failed ping or delivery; it doubles with each attempt.",
        _float_between(0.01, 3600),
    ),
    Setting(
        "push.retry_max_seconds",
        3600.0,
        "Longest delay between two retries.",
        _float_between(0.01, 86400),
    ),
    Setting(
        "push.max_attempts",
        30,
        "Attempts before a ping or delivery is given up (about a day of retries with the default delays).",
        _int_between(1, 1000),
    ),
    Setting(
        "indexnow.key",
        "",
        "IndexNow key (8-128 characters a-z, A-Z, 0-9, '-'), served at /{key}.txt; empty: IndexNow off.",
        _indexnow_key,
    ),
    Setting(
        "indexnow.endpoint",
        "https://api.indexnow.org/indexnow",
        "Where IndexNow submissions are POSTed (the shared endpoint passes them to every engine).",
        _endpoint,
    ),
    Setting(
        "server.trusted_proxies",
        (),
        "Addresses or networks of reverse proxies whose X-Forwarded-For is believed (for subscriber counts "
        "and the polling limit); comma-separated in the environment. Empty: the peer address is the client.",
        _networks,
    ),
    Setting(
        "stats.path",
        "feedserver-stats.sqlite",
        "The server's own SQLite file for subscriber counts (never the CMS database; relative paths are relative "
        "to the working directory); empty turns counting off.",
        _str,
    ),
    Setting(
        "stats.window_days",
        7,
        "Readers count once per address and User-Agent over this many days.",
        _int_between(1, 90),
    ),
    Setting(
        "stats.flush_seconds",
        10.0,
        "How often each worker writes its batch of observations to stats.path (and once more on shutdown).",
        _float_between(0.05, 3600),
    ),
    Setting(
        "metrics.token",
        "",
        "Bearer token /metrics asks for (Authorization: Bearer ...); empty: /metrics is a 404.",
        _token,
    ),
    Setting(
        "metrics.top_feeds",
        20,
        "Feeds with their own subscriber gauge in /metrics; the rest add up in one.",
        _int_between(1, 1000),
    ),
    Setting(
        "polling.max_unconditional_per_hour",
        0,
        "Full (non-304) fetches of one feed per client per hour before 429 + Retry-After; 0 turns the limit off.",
        _int_between(0, 1_000_000_000),
    ),
    Setting(
        "check.max_bytes",
        1024 * 1024,
        "feedserver check: documents larger than this are reported as oversized.",
        _int_between(1024, 1 << 34),
    ),
    Setting(
        "check.state_path",
        "feedserver-check.json",
        "feedserver check: where the item ids of the last run are kept, to see ids that changed.",
        _nonempty,
    ),
)

SETTINGS_BY_KEY = {setting.key: setting for setting in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """All settings, parsed. `values` maps each key in `SETTINGS` to its value."""

    values: Mapping[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    # Typed accessors for the settings the code reads most.
    @property
    def base_url(self) -> str:
        return str(self.values["site.base_url"])

    @property
    def host(self) -> str:
        """Host name of the base URL (the default site.id_authority)."""
        return urlsplit(self.base_url).hostname or ""

    @property
    def id_authority(self) -> str:
        """The tag: URI authority of item and feed ids: site.id_authority, else the base URL's host."""
        return str(self.values["site.id_authority"]) or self.host

    @property
    def home_url(self) -> str:
        """The site's front page (site.home_url)."""
        return str(self.values["site.home_url"]).replace("{base_url}", self.base_url)

    def section_url(self, slug: str) -> str:
        """A section's page (site.section_url); the slug is a URL path already (the slug rules)."""
        return str(self.values["site.section_url"]).replace("{base_url}", self.base_url).replace("{slug}", slug)

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.values["site.timezone"])

    @property
    def database_path(self) -> Path:
        return Path(self.values["database.path"])

    @property
    def push_state_path(self) -> Path:
        """The server's own state file (relative like database.path)."""
        return Path(self.values["push.state_path"])

    @property
    def hubs(self) -> tuple[str, ...]:
        """Every WebSub hub a feed advertises: the configured ones, then the built-in one."""
        builtin = (self.base_url + BUILTIN_HUB_PATH,) if self.values.get("websub.builtin_hub") else ()
        return tuple(self.values.get("websub.hubs", ())) + builtin


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in data.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            flat.update(_flatten(value, key + "."))
        else:
            flat[key] = value
    return flat


def load_settings(
    path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    fallbacks: Mapping[str, Any] | None = None,
    required: bool = True,
) -> Settings:
    """Read settings: defaults, then `fallbacks`, then the TOML file, then FEEDSERVER_*
    variables, then `overrides`.

    With no `path`, FEEDSERVER_CONFIG names the file, else config/feedserver.toml
    is read if it exists. Raises ConfigError naming the key and the bad value, or
    naming every REQUIRED key nobody set. `fallbacks` give the demo its identity;
    `required=False` (a command that needs no identity, such as import) leaves
    such keys out instead.
    """
    env = os.environ if environ is None else environ
    if path is None and env.get(CONFIG_ENV):
        path = Path(env[CONFIG_ENV])
    elif path is None and DEFAULT_CONFIG_PATH.is_file():
        path = DEFAULT_CONFIG_PATH
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            with open(path, "rb") as handle:
                raw = _flatten(tomllib.load(handle))
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
        unknown = sorted(set(raw) - set(SETTINGS_BY_KEY))
        if unknown:
            raise ConfigError(f"config file {path}: unknown key {unknown[0]!r}")
    values: dict[str, Any] = {}
    missing: list[str] = []
    for setting in SETTINGS:
        source, value = "default", setting.default
        if fallbacks and setting.key in fallbacks:
            source, value = "the demo", fallbacks[setting.key]
        if setting.key in raw:
            source, value = f"config file {path}", raw[setting.key]
        if setting.env_name in env:
            source, value = f"environment variable {setting.env_name}", env[setting.env_name]
        if overrides and setting.key in overrides:
            source, value = "command line", overrides[setting.key]
        if value is REQUIRED:
            missing.append(setting.key)
            continue
        try:
            values[setting.key] = setting.parse(value)
        except ValueError as exc:
            raise ConfigError(f"invalid {setting.key} = {value!r} (from {source}): {exc}") from None
    if missing and required:
        names = ", ".join(missing)
        variables = ", ".join(SETTINGS_BY_KEY[key].env_name for key in missing)
        where = f"config file {path}" if path is not None else "no config file"
        raise ConfigError(
            f"{names} not set ({where}): the site's identity comes from its publisher; set "
            f"{'it' if len(missing) == 1 else 'them'} in the config file (copy config/feedserver.toml) or in "
            f"{variables}, or run `feedserver serve --demo`"
        )
    if "site.base_url" in values:
        _check_page_urls(values)
    return Settings(values)


def _check_page_urls(values: Mapping[str, Any]) -> None:
    """The site's page URLs must lie on its own origin: the sections sitemap lists
    them, and a sitemap may list only URLs on its own origin (sitemaps.org)."""
    settings = Settings(values)
    for key, url in (("site.home_url", settings.home_url), ("site.section_url", settings.section_url("a/b"))):
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or f"{parts.scheme}://{parts.netloc}" != settings.base_url:
            raise ConfigError(f"invalid {key} = {values[key]!r}: must give a URL on site.base_url ({url!r} is not)")
