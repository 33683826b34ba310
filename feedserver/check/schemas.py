"""The validators `check` uses, from the schemas shipped in feedserver/schemas
(their origins and licences are in its README): sitemaps.org and Google XSDs,
the Atom RELAX NG schema of RFC 4287, the JSON Feed 1.1 JSON Schema."""

from __future__ import annotations

import functools
import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
from lxml import etree

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
IMAGE_NS = "http://www.google.com/schemas/sitemap-image/1.1"
# Parse what a server sends with entities and network off.
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
# sitemap.xsd's wildcards are strict: a urlset with news or image elements only
# validates with their schemas loaded too, so a small driver imports all three.
# siteindex.xsd shares sitemap.xsd's namespace and is loaded on its own.
DRIVER = f"""<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema">
  <xsd:import namespace="{SITEMAP_NS}" schemaLocation="sitemap.xsd"/>
  <xsd:import namespace="{NEWS_NS}" schemaLocation="sitemap-news.xsd"/>
  <xsd:import namespace="{IMAGE_NS}" schemaLocation="sitemap-image.xsd"/>
</xsd:schema>"""


def schema_dir() -> Path:
    return Path(str(files("feedserver") / "schemas"))


@functools.cache
def atom() -> Any:
    return etree.RelaxNG(etree.parse(str(schema_dir() / "atom.rng"), PARSER))


@functools.cache
def urlset() -> Any:
    driver = etree.fromstring(DRIVER.encode(), base_url=(schema_dir() / "driver.xsd").as_uri())
    return etree.XMLSchema(driver)


@functools.cache
def sitemapindex() -> Any:
    return etree.XMLSchema(etree.parse(str(schema_dir() / "siteindex.xsd"), PARSER))


@functools.cache
def json_feed() -> Any:
    schema = json.loads((schema_dir() / "jsonfeed-v1.1.schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def xml_errors(schema: Any, root: Any, limit: int = 3) -> list[str]:
    """The first few schema errors, as line: message."""
    if schema.validate(root):
        return []
    return [f"line {e.line}: {e.message}" for e in list(schema.error_log)[:limit]]
