"""Text clean-up shared by every format: XML-safe characters and absolute URLs."""

from __future__ import annotations

import functools
import re
from urllib.parse import quote, urljoin, urlsplit

import lxml.html
from lxml import etree

# XML 1.0 section 2.2 Char: everything else (C0 controls but tab/LF/CR,
# surrogates, U+FFFE, U+FFFF) makes a document ill-formed.
_NOT_XML_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# What looks like a URL attribute, anywhere (in text too): when none holds a URL
# that would change, the fragment is returned without being parsed. Parsing
# costs 5x the regex scan (a 5 KB article: 190 us against 38 us).
# (Found from the '=' signs: a regex that starts at every character costs 10x.)
_ATTRIBUTE_VALUE = re.compile(r"""=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'<>`]*))""")
_URL_NAMES = ("href", "src", "poster", "srcset")
_HAS_SCHEME = re.compile(r"\s*[A-Za-z][A-Za-z0-9+.-]*:[^,]*$").match  # and no srcset list
_URL_ATTRIBUTES = ("href", "src", "poster")
_WRAPPER_START, _WRAPPER_END = "<div>", "</div>"


def xml_safe(text: str) -> str:
    """Drop the characters XML 1.0 forbids; all other text survives exactly."""
    if text.isprintable():  # every forbidden character is unprintable (Cc, Cs, Cn): nothing to drop
        return text
    return _NOT_XML_CHAR.sub("", text)


def is_blank(text: str) -> bool:
    """Nothing left to show once the characters XML forbids are dropped: such a
    title cannot head a feed item (Atom requires one; feedgen refuses an empty one)."""
    return not xml_safe(text).strip()


def absolutize_html(html: str, base_url: str) -> str:
    """Make relative href/src/poster/srcset URLs absolute against the article's URL.

    Feed readers show content away from the site, where a relative link is
    broken (and the W3C validator warns about it). Parsed as HTML (lxml.html),
    so only attributes of real elements change: `href="/x"` in the text of a
    code sample, a comment or a script is left alone. A fragment with nothing to
    change is returned exactly as written; one with a change is written back by
    lxml (the same text, with entities written lxml's way).
    """
    if not _may_change(html):
        return html
    try:
        root = lxml.html.fragment_fromstring(html, create_parent=_WRAPPER_START[1:-1])
    except (etree.ParserError, ValueError):  # nothing an HTML parser can read: nothing to resolve
        return html
    changed = False
    for element in root.iter(etree.Element):
        for name in _URL_ATTRIBUTES:
            value = element.get(name)
            if value is not None:
                joined = _join(base_url, value)
                if joined != value:
                    element.set(name, joined)
                    changed = True
        srcset = element.get("srcset")
        if srcset is not None:
            joined = _join_srcset(base_url, srcset)
            if joined != srcset:
                element.set("srcset", joined)
                changed = True
    if not changed:
        return html
    written: str = lxml.html.tostring(root, encoding="unicode")
    # The parser decoded character references (`&#x1F;`) that XML forbids as
    # characters: drop them again (found by tests/test_hostile_content.py).
    return xml_safe(written[len(_WRAPPER_START) : -len(_WRAPPER_END)])


def _may_change(html: str) -> bool:
    """Is there anything like a URL attribute (in a tag or not) that is relative?"""
    for match in _ATTRIBUTE_VALUE.finditer(html):
        start = match.start()
        if not html[max(0, start - 8) : start].rstrip().lower().endswith(_URL_NAMES):
            continue
        value = match[1] if match[1] is not None else match[2] if match[2] is not None else match[3]
        if value.strip() and not _HAS_SCHEME(value):  # absolute, or empty: unchanged
            return True
    return False


def _join_srcset(base_url: str, srcset: str) -> str:
    """Each candidate's URL of a srcset made absolute (HTML, "srcset attributes")."""
    candidates = []
    for candidate in srcset.split(","):
        parts = candidate.strip().split(None, 1)
        if parts:
            parts[0] = _join(base_url, parts[0])
        candidates.append(" ".join(parts))
    return ", ".join(candidates)


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
