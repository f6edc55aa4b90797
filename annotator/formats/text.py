"""What imported text may contain. JSON escapes (``\\u0000``, ``\\ud800``) get past a byte-level check, so every
decoded string is checked too:

* everywhere: no NUL (PostgreSQL refuses it), no lone surrogate (not encodable as UTF-8), no other control character
  than tab, newline and carriage return, and no bidirectional embedding / override / isolate control (they make
  text display in another order than it is stored: "Trojan Source");
* image paths, in addition: no invisible character at all (zero-width spaces and joiners, word joiner, BOM, soft
  hyphen, direction marks...), so two paths that look the same are the same.

Zero-width joiners stay allowed in text (emoji sequences and several scripts need them).
"""
from __future__ import annotations

import re
import unicodedata

# One search per string (imports run it on every line): anything that may be wrong; the message says what.
_SUSPECT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u2060\ufeff\u202a-\u202e\u2066-\u2069"
                      "\ud800-\udfff]")
_BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def _describe(ch: str) -> str:
    return f"U+{ord(ch):04X} {unicodedata.name(ch, 'control character')}"


def check_text(value: str, what: str = "text") -> str | None:
    """Why ``value`` cannot be imported as ``what``, or None."""
    m = _SUSPECT.search(value)
    if m is None:
        return None
    ch, col = m.group(), m.start() + 1
    if ch == "\x00":
        return f"the {what} contains a NUL character"
    if "\ud800" <= ch <= "\udfff":
        return f"the {what} contains a lone surrogate U+{ord(ch):04X} at column {col} (not valid Unicode)"
    if ch in _BIDI_CONTROLS:
        return (f"the {what} contains a direction control ({_describe(ch)}) at column {col}: "
                "it makes the text display in another order than it is stored")
    if ch in "\u200b\u2060\ufeff":
        return f"the {what} contains an invisible character ({_describe(ch)}) at column {col}"
    return f"the {what} contains a control character ({_describe(ch)}) at column {col}"


def check_key_text(key: str) -> str | None:
    """Why ``key`` is not acceptable as an image path (beyond its shape), or None."""
    why = check_text(key, "image path")
    if why or key.isascii():
        return why
    for i, ch in enumerate(key):
        if unicodedata.category(ch) in ("Cf", "Cc", "Co", "Cn", "Zl", "Zp"):
            return (f"image path {key!r} contains an invisible or direction character ({_describe(ch)}) at column "
                    f"{i + 1}")
    return None
