"""Labels and dates in the site's language (site.language), English when it has none.

Only the primary subtag counts (`id-ID` is `id`). A language is a dict of every
label, and its month names: tests/test_pages.py checks each language has the same
keys as English, so a new label cannot be forgotten in one of them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

ENGLISH: Final[dict[str, str]] = {
    "time_separator": ":",
    "skip": "Skip to the articles",
    "home": "Home",
    "navigation": "Site",
    "subscribe": "Subscribe",
    "what_is_a_feed": (
        "A feed lists the newest articles of this page in a form that feed readers understand. "
        "Paste its address into a reader (such as Feeder, NetNewsWire, Thunderbird or newsboat) "
        "and new articles come to you, with no account, no e-mail and no tracking."
    ),
    "feed_address": "Feed address (RSS), to copy into your reader",
    "formats": "The same feed as",
    "all_feeds": "All feeds in one file (OPML), for importing into a reader",
    "latest": "Latest articles",
    "no_articles": "No articles yet.",
    "sections": "Sections",
    "subsections": "Subsections",
    "tags": "Tags",
    "authors": "Authors",
    "by": "By",
    "section": "Section",
    "source": "Source",
    "reading_time": "{minutes} min read",
    "photo": "Photo",
    "breadcrumb": "You are here",
    "sitemap": "Sitemap",
    "feed_of": "Feed of {title}",
    "site_feeds": "Feeds of the whole site",
    "xsl_note": (
        "This is a feed: the page your browser shows is made from it for people. Feed readers read the same address."
    ),
    "xsl_sitemap_note": "This is a sitemap: a list of the site's pages for search engines.",
    "xsl_page": "Open the page of this feed",
    "xsl_sitemaps": "Sitemaps",
    "xsl_urls": "Pages",
    "xsl_updated": "Last changed",
}

INDONESIAN: Final[dict[str, str]] = {
    "time_separator": ".",
    "skip": "Langsung ke daftar artikel",
    "home": "Beranda",
    "navigation": "Situs",
    "subscribe": "Berlangganan",
    "what_is_a_feed": (
        "Umpan (feed) memuat artikel terbaru halaman ini dalam bentuk yang dipahami aplikasi pembaca umpan. "
        "Tempelkan alamatnya di aplikasi pembaca (misalnya Feeder, NetNewsWire, Thunderbird atau newsboat) "
        "dan artikel baru datang sendiri, tanpa akun, tanpa surel dan tanpa pelacakan."
    ),
    "feed_address": "Alamat umpan (RSS), untuk disalin ke aplikasi pembaca",
    "formats": "Umpan yang sama dalam format",
    "all_feeds": "Semua umpan dalam satu berkas (OPML), untuk diimpor ke aplikasi pembaca",
    "latest": "Artikel terbaru",
    "no_articles": "Belum ada artikel.",
    "sections": "Rubrik",
    "subsections": "Subrubrik",
    "tags": "Topik",
    "authors": "Penulis",
    "by": "Oleh",
    "section": "Rubrik",
    "source": "Sumber",
    "reading_time": "{minutes} menit baca",
    "photo": "Foto",
    "breadcrumb": "Anda di sini",
    "sitemap": "Peta situs",
    "feed_of": "Umpan {title}",
    "site_feeds": "Umpan seluruh situs",
    "xsl_note": (
        "Ini adalah umpan (feed): halaman yang ditampilkan peramban Anda dibuat darinya untuk dibaca orang. "
        "Aplikasi pembaca umpan membaca alamat yang sama."
    ),
    "xsl_sitemap_note": "Ini adalah peta situs: daftar halaman situs untuk mesin pencari.",
    "xsl_page": "Buka halaman umpan ini",
    "xsl_sitemaps": "Peta situs",
    "xsl_urls": "Halaman",
    "xsl_updated": "Terakhir diubah",
}

LANGUAGES: Final = {"en": ENGLISH, "id": INDONESIAN}
MONTHS: Final = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "id": (
        "Januari",
        "Februari",
        "Maret",
        "April",
        "Mei",
        "Juni",
        "Juli",
        "Agustus",
        "September",
        "Oktober",
        "November",
        "Desember",
    ),
}
# OpenGraph's og:locale wants language_TERRITORY.
LOCALES: Final = {"en": "en_US", "id": "id_ID"}


def primary(language: str) -> str:
    return language.replace("_", "-").split("-")[0].lower()


class Labels:
    """The labels of one language, and its date format."""

    def __init__(self, language: str) -> None:
        code = primary(language)
        self.code = code if code in LANGUAGES else "en"
        self.texts = LANGUAGES[self.code]
        self.locale = LOCALES[self.code]

    def __getitem__(self, key: str) -> str:
        return self.texts[key]

    def reading_time(self, minutes: int) -> str:
        return self["reading_time"].format(minutes=minutes)

    def date(self, moment: datetime) -> str:
        """`30 November 2026, 11.53 WIB` (Indonesian), `30 November 2026, 11:53 WIB` (English):
        day, month name, year, then the time and the zone's abbreviation."""
        months = MONTHS[self.code]
        zone = moment.tzname() or ""
        clock = f"{moment.hour:02d}{self['time_separator']}{moment.minute:02d}"
        return f"{moment.day} {months[moment.month - 1]} {moment.year}, {clock} {zone}".rstrip()

    def feed_of(self, title: str) -> str:
        return self["feed_of"].format(title=title)
