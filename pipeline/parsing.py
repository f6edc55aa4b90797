"""Turn what models really write into lists: numbered or bulleted lines, inline numbering, markdown, preambles
("Here are the triggers:"), trailing tags such as ``[Facial Expressions; explicit]`` or ``(Objects, implicit)``.

A reply with nothing usable raises :class:`UnparsableReply`; the stage fails with the raw text kept in its trace.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

CATEGORIES = ["Atmosphere", "Social Interactions", "Body Movements", "Facial Expressions", "Objects",
              "Performances", "Outdoor Activities", "Clothing", "Sports", "Other"]
KIND_OF_CATEGORY = {"Atmosphere": "env", "Social Interactions": "social", "Body Movements": "phys",
                    "Facial Expressions": "phys", "Objects": "obj", "Clothing": "obj", "Performances": "social",
                    "Outdoor Activities": "env", "Sports": "social", "Other": ""}
_CATEGORY_BY_KEY = {c.lower(): c for c in CATEGORIES} | {
    "atmosphere/environment": "Atmosphere", "environment": "Atmosphere", "social": "Social Interactions",
    "social interaction": "Social Interactions", "body movement": "Body Movements", "body": "Body Movements",
    "posture": "Body Movements", "gesture": "Body Movements", "facial expression": "Facial Expressions",
    "face": "Facial Expressions", "object": "Objects", "performance": "Performances",
    "outdoor activity": "Outdoor Activities", "sport": "Sports",
}

_MARKER = re.compile(r"^\s*(?:\(?\d{1,3}[.):]|[-*•‣▪–]|#{1,6}\s*\d{1,3}[.)]?)\s*")
_INLINE = re.compile(r"(?:^|\s)(\d{1,2})[.)]\s+")
_PREAMBLE = re.compile(r"^(here (are|is)|sure|certainly|of course|okay|ok\b|the following|below)", re.I)
_TAG = re.compile(r"[\[(]([^\[\]()]{2,60})[\])]\s*[.]?\s*$")
_REFUSAL = re.compile(r"^\W*(i'?m sorry|i am sorry|sorry,|i can(no|')t|i am unable|i'm unable|as an ai\b)", re.I)
# "Trigger 2: ...", "Answer - ..." (a separator then a space: "Trigger-happy ..." is text, not a label)
_LABELLED = re.compile(r"^\s*(trigger|question|answer)\s*\d*\s*[:.-]\s+", re.I)


class UnparsableReply(ValueError):
    """The reply holds no list item (the raw text stays in the stage's trace)."""


@dataclass(frozen=True)
class Item:
    text: str
    category: str = ""
    explicit: bool | None = None

    @property
    def kind(self) -> str:
        return KIND_OF_CATEGORY.get(self.category, "")


def _clean(text: str) -> str:
    text = re.sub(r"\*\*|__|`", "", text)
    text = _LABELLED.sub("", text)
    return re.sub(r"\s+", " ", text).strip(" \t-–:")


def _split_inline(line: str) -> list[str]:
    """``"1. a 2. b 3. c"`` on one line → three items (only when the numbers count up from 1)."""
    hits = list(_INLINE.finditer(line))
    numbers = [int(m.group(1)) for m in hits]
    if len(hits) < 2 or numbers != list(range(1, len(hits) + 1)) or line[:hits[0].start()].strip():
        return [line]
    ends = [m.start() for m in hits[1:]] + [len(line)]
    return [line[m.end():end] for m, end in zip(hits, ends, strict=True)]


def split_items(reply: str) -> list[str]:
    """The list items of a reply, cleaned. Continuation lines join the item above them."""
    text = re.sub(r"```[a-z]*", "", reply or "")
    lines = []
    for line in (ln for ln in text.splitlines() if ln.strip()):
        parts = _split_inline(line)
        lines.extend(f"- {p}" for p in parts) if len(parts) > 1 else lines.append(line)
    marked = [bool(_MARKER.match(ln)) for ln in lines]
    items: list[str] = []
    if any(marked):
        started = False
        for line, is_item in zip(lines, marked, strict=True):
            if is_item:
                items.append(_MARKER.sub("", line, count=1))
                started = True
            elif started:
                items[-1] += " " + line.strip()
            # lines before the first item are preamble
    else:
        items = [ln for ln in lines if not (_PREAMBLE.match(ln.strip()) and ln.rstrip().endswith(":"))]
    return [c for c in (_clean(i) for i in items) if re.search(r"\w", c)]


def _tags(text: str) -> tuple[str, str, bool | None]:
    """Strip a trailing ``[category; explicit]`` tag: (text, category, explicit)."""
    m = _TAG.search(text)
    if not m:
        return text, "", None
    category, explicit, known = "", None, False
    for part in re.split(r"[;,/|]", m.group(1)):
        key = part.strip().lower().removeprefix("category:").strip()
        if key in ("explicit", "visible"):
            explicit, known = True, True
        elif key in ("implicit", "inferred", "context"):
            explicit, known = False, True
        elif key in _CATEGORY_BY_KEY:
            category, known = _CATEGORY_BY_KEY[key], True
    if not known:
        return text, "", None
    return text[:m.start()].rstrip(" -–:"), category, explicit


def parse_triggers(reply: str) -> list[Item]:
    """Stage 4's numbered trigger list → items with their category and explicit/implicit tag when given."""
    if _REFUSAL.match(reply or ""):
        raise UnparsableReply("no trigger list found in the model's reply (it declined to answer)")
    items = []
    for raw in split_items(reply):
        text, category, explicit = _tags(raw)
        if text:
            items.append(Item(text=text, category=category, explicit=explicit))
    if not items:
        raise UnparsableReply("no trigger list found in the model's reply")
    return items


def parse_questions(reply: str, limit: int | None = None) -> list[str]:
    """A list of questions (self-ask stages); empty when the reply holds none."""
    out = split_items(reply)
    return out[:limit] if limit else out


def normalise_question(question: str) -> str:
    """The key used to count how often a general question was asked."""
    return re.sub(r"[^\w\s]", "", question.lower()).strip()
