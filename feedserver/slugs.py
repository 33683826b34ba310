"""Slugs of tags and authors: the `{slug}` of /tag/{slug}/ and /author/{slug}/.

The scheme (README, "Tag and author feeds"): lower-case ASCII letters, digits
and single hyphens, at most `MAX_LENGTH` characters. A CMS or the import may
store a slug; otherwise it is derived from `slug_source`, the name the row had
when it was written (a trigger keeps it, so a rename does not move the URL):
transliterated to ASCII (anyascii, pinned, so a derived slug never changes
with an upgrade: 北京 gives `beijing`), lower-cased, every other run of
characters a hyphen. A name with nothing left (only punctuation) takes the
row's number.

Collisions are settled the same way every time, from the rows alone: stored
slugs claim theirs first, then derived ones in row order (pk); a slug already
claimed gets `-{pk}` appended (北京 `beijing`, then 背景 `beijing-7`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import NamedTuple

from anyascii import anyascii

MAX_LENGTH = 80
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_SEPARATORS = re.compile(r"[^a-z0-9]+")


@functools.lru_cache(maxsize=65536)
def slugify(text: str) -> str:
    """The slug a name derives to ('' when nothing of it is left)."""
    slug = _SEPARATORS.sub("-", anyascii(text).lower()).strip("-")
    if len(slug) > MAX_LENGTH:
        cut = slug[:MAX_LENGTH]
        slug = cut.rsplit("-", 1)[0] if "-" in cut else cut
    return slug


class SlugRow(NamedTuple):
    """What a tag's or author's slug is decided from."""

    pk: int
    slug: str | None  # stored by the CMS or the import; None: derive it
    source: str  # slug_source, or the name where the CMS left it empty


def resolve(rows: Iterable[SlugRow]) -> dict[int, str]:
    """Each row's slug: unique, and the same for the same rows in any order."""
    ordered = sorted(rows)
    slugs: dict[int, str] = {}
    taken: set[str] = set()

    def claim(row: SlugRow, wanted: str) -> None:
        slug = wanted or str(row.pk)
        if slug in taken:
            slug = f"{slug}-{row.pk}"
            while slug in taken:  # only if another row chose this very form
                slug += "-x"
        taken.add(slug)
        slugs[row.pk] = slug

    for row in ordered:
        if row.slug is not None:
            # A stored slug not in the scheme (a CMS wrote "Ekonomi Bisnis") is
            # served in its canonical form.
            claim(row, row.slug if SLUG_RE.match(row.slug) else slugify(row.slug))
    for row in ordered:
        if row.slug is None:
            claim(row, slugify(row.source))
    return slugs
