"""Surrogate keys: the names of what a document depends on.

- `site`: the site-wide documents (the site's feeds, the front page, the sitemap
  index, the sections sitemaps, the news sitemap). Any article or section change
  touches it.
- `section/<slug>`: the feeds of that section path. A change in section
  `berita/tiongkok` touches `section/berita/tiongkok` and `section/berita`: each
  section on its chain, as a parent's feed lists its subsections' articles.
- `tag/<slug>`, `author/<slug>`: the feeds and the page of one tag or author.
- `sitemap/<name>`: one article sitemap file, e.g. `sitemap/articles-2025-06`.
- `robots`: robots.txt (settings only; never touched by a write).
- `all`: on every document, for an operator's "purge everything" (a deploy).

Documents say which keys they carry (`surrogate_keys(state)` in documents.py and
sitemaps.py); `affected_keys` says which keys a change between two states
touched. A new kind of feed adds its key to its document and its comparison here.
"""

from __future__ import annotations

from feedserver.state import SiteState

SITE = "site"
ROBOTS = "robots"
ALL = "all"


def section_key(slug: str) -> str:
    return f"section/{slug}"


def section_chain(slug: str) -> list[str]:
    """The keys of a section path and every parent path above it."""
    parts = slug.split("/")
    return [section_key("/".join(parts[:n])) for n in range(len(parts), 0, -1)]


def sitemap_key(name: str) -> str:
    return f"sitemap/{name}"


def affected_keys(old: SiteState, new: SiteState) -> list[str]:
    """The keys whose documents may differ between `old` and `new`, in a stable order."""
    keys: dict[str, None] = {}
    for slug in sorted(old.sections.keys() | new.sections.keys()):
        if old.sections.get(slug) != new.sections.get(slug):
            keys.update(dict.fromkeys(section_chain(slug)))
    for kind in ("tag", "author"):
        old_terms, new_terms = old.terms(kind), new.terms(kind)
        if old_terms is new_terms:
            continue  # no write touched one (update_site_state keeps the object)
        for slug in sorted(old_terms.by_slug.keys() | new_terms.by_slug.keys()):
            if old_terms.by_slug.get(slug) != new_terms.by_slug.get(slug):
                keys[f"{kind}/{slug}"] = None
                keys[SITE] = None  # the site's page, the indexes and the OPML name them
    old_archive, new_archive = old.archive, new.archive
    if old_archive is not None and new_archive is not None:
        for name in sorted(old_archive.files.keys() | new_archive.files.keys()):
            before, after = old_archive.files.get(name), new_archive.files.get(name)
            if before is None or after is None or before.signature != after.signature:
                keys[sitemap_key(name)] = None
        old_news, new_news = old_archive.news, new_archive.news
        if (old_news.keys, old_news.version) != (new_news.keys, new_news.version):
            keys[SITE] = None
        if old_archive.files.keys() != new_archive.files.keys():
            keys[SITE] = None
    if any(k.startswith("section/") or k.startswith("sitemap/") for k in keys):
        keys[SITE] = None
    return [SITE, *(k for k in keys if k != SITE)] if SITE in keys else list(keys)
