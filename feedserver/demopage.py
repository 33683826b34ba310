"""A plain page for each demo article, at the path of its URL.

`serve --demo` puts the demo's base URL on the local server, so every item link
in a reader points here: a newcomer who clicks one lands on the story, not a
404. Only the demo app routes here (feedserver.app.create_demo_app); a real
site's articles live on the CMS's own pages. The page shows every field the
feeds carry, from the same feed item.
"""

from __future__ import annotations

from html import escape
from urllib.parse import urlsplit

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from feedserver.config import Settings
from feedserver.db import DatabaseUnavailable
from feedserver.demo import article_id_for_path
from feedserver.feeds import build_item
from feedserver.model import FeedItem
from feedserver.queries import article_pk, articles_by_pk
from feedserver.routes import unavailable
from feedserver.service import FeedService


def render_article_page(item: FeedItem, settings: Settings) -> str:
    """The story as a simple HTML page (its content is already absolute and XML-safe)."""
    site = escape(settings["site.title"])
    byline = ", ".join(escape(a.name) for a in item.authors)
    facts = [f'<time datetime="{item.published.isoformat()}">{item.published:%Y-%m-%d %H:%M %z}</time>']
    if item.section is not None:
        facts.append(f'<a href="{escape(item.section.url)}">{escape(item.section.title)}</a>')
    facts.append(f"{item.reading_time_minutes} min")
    if item.source:
        facts.append(f"Sumber: {escape(item.source)}")
    figure = ""
    if item.image is not None:
        caption = " ".join(p for p in (escape(item.image.caption), escape(item.image.credit)) if p)
        figure = (
            f'<figure><img src="{escape(item.image.url)}" alt="{escape(item.image.caption)}" style="max-width:100%">'
            + (f"<figcaption>{caption}</figcaption>" if caption else "")
            + "</figure>"
        )
    body = item.content_html or f"<p>{escape(item.summary)}</p>"
    return f"""<!doctype html>
<html lang="{escape(item.language)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(item.title)} — {site}</title>
<link rel="canonical" href="{escape(item.url)}">
</head>
<body>
<header><a href="{escape(settings.home_url)}">{site}</a> (demo)</header>
<main>
<article>
<h1>{escape(item.title)}</h1>
<p>{byline} · {" · ".join(facts)}</p>
{figure}
{body}
</article>
</main>
</body>
</html>
"""


async def demo_article(request: Request) -> Response:
    """GET /<section>/<slug>-<n>: the live demo article whose URL this is, else 404."""
    service: FeedService = request.app.state.service
    path = request.url.path
    article_id = article_id_for_path(path)
    try:
        pk = await article_pk(service.pool, article_id) if article_id else None
        rows = await articles_by_pk(service.pool, [pk], service.now(), with_content=True) if pk is not None else {}
    except DatabaseUnavailable:
        return unavailable()
    row = rows.get(pk) if pk is not None else None
    # Only the article's own URL, on this server's base URL (the visibility rule:
    # drafts, deleted and scheduled articles are not found).
    if row is None or row.url != service.settings.base_url + path or urlsplit(row.url).query:
        raise HTTPException(404, "No such article in the demo.")
    item = build_item(row, service.settings, service.state.sections)
    return HTMLResponse(render_article_page(item, service.settings), headers={"Cache-Control": "no-cache"})


DEMO_ROUTES = [Route("/{path:path}", demo_article, methods=["GET", "HEAD"])]
