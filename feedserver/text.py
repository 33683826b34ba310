"""Text clean-up shared by every format: XML-safe characters and absolute URLs."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from urllib.parse import quote, urljoin, urlsplit

# XML 1.0 section 2.2 Char: everything else (C0 controls but tab/LF/CR,
# surrogates, U+FFFE, U+FFFF) makes a document ill-formed.
_NOT_XML_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# href/src/poster attribute values in HTML, quoted either way or bare (names
# of 6, 4 and 3 characters: see _sub_attributes). A bare
# value runs to white space or '>' and may hold '=' (href=?page=2), as in the
# HTML tokenizer's unquoted attribute value state.
_URL_ATTRIBUTE = re.compile(
    r"""(?P<lead>\s(?:href|src|poster)\s*=\s*)(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s"'=<>`][^\s"'<>`]*))""",
    re.IGNORECASE,
)
_SRCSET_ATTRIBUTE = re.compile(  # a name of 6 characters
    r"""(?P<lead>\ssrcset\s*=\s*)(?P<q>["'])(?P<value>.*?)(?P=q)""", re.IGNORECASE | re.DOTALL
)


def xml_safe(text: str) -> str:
    """Drop the characters XML 1.0 forbids; all other text survives exactly."""
    if text.isprintable():  # every forbidden character is unprintable (Cc, Cs, Cn): nothing to drop
        return text
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

    return _sub_attributes(
        _SRCSET_ATTRIBUTE, (6,), fix_srcset, _sub_attributes(_URL_ATTRIBUTE, (6, 4, 3), fix_url, html)
    )


def _sub_attributes(
    pattern: re.Pattern[str], name_lengths: tuple[int, ...], function: Callable[[re.Match[str]], str], html: str
) -> str:
    """`pattern.sub(function, html)` for a pattern `\\s NAME \\s* = ...` whose names
    have the given lengths (longest first), found from the '=' signs.

    Trying the pattern at every white space character of a 5 KB article costs
    more than the rest of building its feed item (profiled); an
    attribute has an '=' and few other characters do. A match's first '=' is
    the first '=' after its start, and its start is one white space character,
    the name and the white space before that '=': so trying those few starts at
    each '=', left to right, finds exactly the matches `sub` finds.
    """
    parts: list[str] = []
    done = 0
    equals = html.find("=")
    while equals != -1:
        name_end = equals
        while name_end > done and html[name_end - 1].isspace():
            name_end -= 1
        for length in name_lengths:
            start = name_end - length - 1
            if start >= done:
                match = pattern.match(html, start)
                if match is not None:
                    parts += (html[done:start], function(match))
                    done = match.end()
                    break
        equals = html.find("=", max(equals + 1, done))
    if not parts:
        return html
    parts.append(html[done:])
    return "".join(parts)


def absolute_url(value: str, base_url: str) -> str:
    """One URL made absolute against `base_url`, as a URI (see uri)."""
    return uri(_join(base_url, value))


# Characters a URI may hold as they are (RFC 3986 reserved and unreserved, and
# '%' so existing escapes stay); everything else is percent-encoded as UTF-8.
_URI_SAFE = "!#$%&'()*+,-./:;=?@[]_~"


def uri(url: str) -> str:
    """An IRI or sloppy URL as a valid URI: non-ASCII, spaces and quotes
    percent-encoded (the W3C validator rejects them: UriNotIri, InvalidUriChar)."""
    if not (url.isascii() and not any(ch in url for ch in ' "<>\\^`{|}') and url.isprintable()):
        url = quote(xml_safe(url).strip(), safe=_URI_SAFE)
    if "[" in url or "]" in url:
        # Brackets may only enclose an IP-literal host (RFC 3986 3.2.2); in a
        # path or query they are InvalidUriChar to the W3C validator.
        try:
            netloc = urlsplit(url).netloc
        except ValueError:
            netloc = ""
        cut = url.find("//") + 2 + len(netloc) if netloc else 0
        url = url[:cut] + url[cut:].replace("[", "%5B").replace("]", "%5D")
    return url


# A path from the site root with nothing urljoin would resolve or re-encode
# (no query, fragment, params, dot segment, white space): joined, it is the
# base's origin followed by the path, as urljoin would make it, for a fraction
# of the cost (most links in articles are like this; profiled).
_ROOTED_PATH = re.compile(r"/[A-Za-z0-9_.~%/-]*")


@functools.lru_cache(maxsize=1024)
def _origin(base_url: str) -> str | None:
    """`scheme://host` of an http(s) base URL, as urljoin writes it; None for other bases."""
    root = urljoin(base_url, "/")
    return root[:-1] if root.endswith("/") and base_url.startswith(("https://", "http://")) else None


def _join(base_url: str, value: str) -> str:
    stripped = value.strip()
    if not stripped:
        return value
    try:
        if _ROOTED_PATH.fullmatch(stripped) and "/." not in stripped and not stripped.startswith("//"):
            origin = _origin(base_url)
            if origin is not None:
                return origin + stripped
        return urljoin(base_url, stripped)
    except ValueError:  # e.g. an unbalanced IPv6 bracket: leave it as written
        return value
