"""The front page a person sees on opening the server: sections, feed links, autodiscovery."""

from __future__ import annotations

from html import escape

from feedserver.config import Settings
from feedserver.feeds import FeedScope
from feedserver.state import SiteState
from feedserver.text import xml_safe

_FORMATS = (
    ("rss", "RSS", "application/rss+xml"),
    ("atom", "Atom", "application/atom+xml"),
    ("json", "JSON Feed", "application/feed+json"),
)


def _feed_links(scope: FeedScope, base: str) -> str:
    return " · ".join(
        f'<a href="{escape(base + scope.feed_path(fmt))}" type="{mime}">{label}</a>' for fmt, label, mime in _FORMATS
    )


def render_home(settings: Settings, state: SiteState) -> bytes:
    base = settings.base_url
    title = escape(xml_safe(settings["site.title"]))
    site = FeedScope.site()
    discovery = "\n".join(
        f'<link rel="alternate" type="{mime}" title="{title} ({label})" href="{escape(base + site.feed_path(fmt))}">'
        for fmt, label, mime in _FORMATS
    )
    rows = []
    for slug in sorted(state.sections):
        section = state.sections[slug]
        depth = slug.count("/")
        rows.append(
            f'<li style="margin-left:{depth * 1.5}em"><strong>{escape(xml_safe(section.title))}</strong> '
            f"<code>{escape(slug)}</code> — {_feed_links(FeedScope.of_section(slug), base)}"
            + (f"<br><small>{escape(xml_safe(section.description))}</small>" if section.description else "")
            + "</li>"
        )
    page = f"""<!doctype html>
<html lang="{escape(settings["site.language"])}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — feeds</title>
{discovery}
</head>
<body>
<h1>{title}</h1>
<p>{escape(xml_safe(settings["site.description"]))}</p>
<h2>Whole site</h2>
<p>{_feed_links(site, base)}</p>
<h2>Sections</h2>
<ul>
{chr(10).join(rows) or "<li>No sections yet.</li>"}
</ul>
<p><a href="{escape(base)}/sitemap.xml">Sitemap</a> ·
<a href="{escape(base)}/news-sitemap.xml">Google News sitemap</a></p>
</body>
</html>
"""
    return page.encode("utf-8")
