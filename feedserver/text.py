"""Text clean-up shared by every format: XML-safe characters and absolute URLs."""

from __future__ import annotations

import re
from urllib.parse import quote, urljoin

# XML 1.0 section 2.2 Char: everything else (C0 controls but tab/LF/CR,
# surrogates, U+FFFE, U+FFFF) makes a document ill-formed.
_NOT_XML_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# href/src/poster attribute values in HTML, quoted either way or bare.
_URL_ATTRIBUTE = re.compile(
    r"""(?P<lead>\s(?:href|src|poster)\s*=\s*)(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s"'=<>`]+))""",
    re.IGNORECASE,
)
_SRCSET_ATTRIBUTE = re.compile(
    r"""(?P<lead>\ssrcset\s*=\s*)(?P<q>["'])(?P<value>.*?)(?P=q)""", re.IGNORECASE | re.DOTALL
)


def xml_safe(text: str) -> str:
    """Drop the characters XML 1.0 forbids; all other text survives exactly."""
    return _NOT_XML_CHAR.sub("", text)


def absolutize_html(html: str, base_url: str) -> str:
    """Make relative href/src/poster/srcset URLs absolute against the article's URL.

    Feed readers show content away from the site, where a relative link is
    broken (and the W3C validator warns about it).
    """
    if "=" not in html:
        return html

    def fix_url(match: re.Match[str]) -> str:
        for group, mark in (("dq", '"'), ("sq", "'"), ("bare", '"')):
            value = match.group(group)
            if value is not None:
                return f"{match.group('lead')}{mark}{_join(base_url, value)}{mark}"
        return match.group(0)

    def fix_srcset(match: re.Match[str]) -> str:
        candidates = []
        for candidate in match.group("value").split(","):
            parts = candidate.strip().split(None, 1)
            if parts:
                parts[0] = _join(base_url, parts[0])
            candidates.append(" ".join(parts))
        quote = match.group("q")
        return f"{match.group('lead')}{quote}{', '.join(candidates)}{quote}"

    return _SRCSET_ATTRIBUTE.sub(fix_srcset, _URL_ATTRIBUTE.sub(fix_url, html))


def absolute_url(value: str, base_url: str) -> str:
    """One URL made absolute against `base_url`, as a URI (see uri)."""
    return uri(_join(base_url, value))


# Characters a URI may hold as they are (RFC 3986 reserved and unreserved, and
# '%' so existing escapes stay); everything else is percent-encoded as UTF-8.
_URI_SAFE = "!#$%&'()*+,-./:;=?@[]_~"


def uri(url: str) -> str:
    """An IRI or sloppy URL as a valid URI: non-ASCII, spaces and quotes
    percent-encoded (the W3C validator rejects them: UriNotIri, InvalidUriChar)."""
    if url.isascii() and not any(ch in url for ch in ' "<>\\^`{|}') and url.isprintable():
        return url
    return quote(xml_safe(url).strip(), safe=_URI_SAFE)


def _join(base_url: str, value: str) -> str:
    stripped = value.strip()
    if not stripped:
        return value
    try:
        return urljoin(base_url, stripped)
    except ValueError:  # e.g. an unbalanced IPv6 bracket: leave it as written
        return value
