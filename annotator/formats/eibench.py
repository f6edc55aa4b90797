"""EIBench file formats, read and written byte-for-byte (see DESIGN.md, "EIBench file formats").

Readers stream a file line by line and yield records with their line numbers; every problem is an
:class:`ImportProblem` naming file, line and what is wrong. Writers are generators of text chunks, so an
export of any size streams with flat memory.

* ``EI_Basic/user.jsonl`` — ``{"<image path>": "<question>"}`` per line, ``\\n`` after every line.
* ``EI_Basic/basic_ground_truth.json`` — one object written as ``json.dumps(obj, indent=4)``, no trailing newline.
* ``EI_Complex/ec_complex.jsonl`` — ``{"<image path>": {"<question>": "1. ...\\n2. ..."}}`` per line, joined by
  ``\\n``, no trailing newline.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .text import check_key_text, check_text

QUESTIONS_FILE = "EI_Basic/user.jsonl"
GROUND_TRUTH_FILE = "EI_Basic/basic_ground_truth.json"
COMPLEX_FILE = "EI_Complex/ec_complex.jsonl"

MAX_LINE_BYTES = 1_000_000  # a longer line is refused rather than read into memory whole


@dataclass(frozen=True)
class ImportProblem(Exception):
    file: str
    line: int | None
    message: str

    def __str__(self):
        where = f"{self.file}, line {self.line}" if self.line else self.file
        return f"{where}: {self.message}"

    def as_dict(self):
        return {"file": self.file, "line": self.line, "message": self.message}


# ---------------------------------------------------------------------------------------------------------
# Trigger lists: "1. t1\n2. t2" <-> [(label, text), ...]
# ---------------------------------------------------------------------------------------------------------
_NUMBER_PREFIX = re.compile(r"\s*\d+\s*[.)]\s?")


def parse_trigger_list(value: str) -> list[tuple[str | None, str]]:
    """Split a numbered trigger list into ``(label, text)`` pairs, losslessly.

    ``label`` is ``None`` when line *k* starts with the canonical ``"k. "``; otherwise it is the line's own
    prefix (``" 4. "``, ``"3."``) or ``""`` for a line without a number. ``render_trigger_list`` of the result
    gives back ``value`` exactly.
    """
    if value == "":
        return []
    items = []
    for k, line in enumerate(value.split("\n"), start=1):
        canonical = f"{k}. "
        if line.startswith(canonical):
            items.append((None, line[len(canonical):]))
            continue
        m = _NUMBER_PREFIX.match(line)
        if m:
            items.append((m.group(0), line[m.end():]))
        else:
            items.append(("", line))
    return items


def render_trigger_rows(rows: Iterable[tuple]) -> str:
    """A trigger list from rows ``(anything, label, text)`` (an export's query rows, as they come): each line is the
    imported label as it was, else the canonical ``"position. "``.

    Actions that add, remove or move triggers reset numbered labels (see ``annotator.actions``), so a stale
    imported number is never written. The rule is written once, inline: an export renders 500,000 lines for
    100,000 samples.
    """
    return "\n".join([f"{i}. {text}" if label is None else label + text
                      for i, (_, label, text) in enumerate(rows, start=1)])


def render_trigger_list(items: Iterable[tuple[str | None, str]]) -> str:
    """:func:`render_trigger_rows` of ``(label, text)`` pairs."""
    return render_trigger_rows((None, label, text) for label, text in items)


# ---------------------------------------------------------------------------------------------------------
# Dataset keys (image paths)
# ---------------------------------------------------------------------------------------------------------
_BAD_KEY_CHARS = re.compile(r"[\x00-\x1f\x7f\\]")


def check_dataset_key(key: str) -> str | None:
    """Why ``key`` is not a safe relative image path, or None when it is (plain string tests: it runs per line)."""
    if not key or key.isspace():
        return "empty image path"
    if _BAD_KEY_CHARS.search(key):
        return f"image path {key!r} contains a control character or a backslash"
    if key.startswith("/") or (len(key) > 1 and key[1] == ":" and key[0].isalpha()):
        return f"image path {key!r} is absolute; paths must be relative to the images root"
    if ".." in key and ".." in key.split("/"):
        return f"image path {key!r} escapes the images root"
    return check_key_text(key)  # NUL, surrogates, invisible and direction characters (hardening, see text.py)


# ---------------------------------------------------------------------------------------------------------
# Readers
# ---------------------------------------------------------------------------------------------------------
def _lines(path: Path, name: str) -> Iterator[tuple[int, str | ImportProblem]]:
    """Decoded lines (without their newline) with 1-based numbers, UTF-8 strictly, one line in memory.

    A line that cannot be decoded comes as an :class:`ImportProblem` in place of its text.
    """
    with open(path, "rb") as fh:
        lineno = 0
        while True:
            raw = fh.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            lineno += 1
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                yield lineno, ImportProblem(name, lineno, f"line is longer than {MAX_LINE_BYTES:,} bytes")
                fh.readline()  # skip the rest of that line
                continue
            if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield lineno, ImportProblem(
                    name, lineno,
                    f"not UTF-8: byte 0x{raw[exc.start]:02x} at column {exc.start + 1} (save the file as UTF-8)",
                )
                continue
            if "\x00" in text:
                yield lineno, ImportProblem(name, lineno, "contains a NUL character")
                continue
            yield lineno, text[:-1] if text.endswith("\n") else text


def _records(path: Path, name: str, parse_line) -> Iterator:
    """Apply ``parse_line(lineno, text)`` to every line; a problem is yielded in place of its record."""
    for lineno, text in _lines(path, name):
        if isinstance(text, ImportProblem):
            yield text
            continue
        try:
            yield parse_line(lineno, text.removesuffix("\r"))
        except ImportProblem as problem:
            yield problem


class _Members(list):
    """A JSON object's members in order, duplicates kept (``json.loads`` ``object_pairs_hook``)."""


_JSON_TYPES = {list: "array", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}


# One decoder for every line: ``json.loads(text, object_pairs_hook=...)`` builds a new JSONDecoder per call,
# which costs more than parsing a short line. ``_decode`` is what that call runs, bar its check for a BOM.
_DECODER = json.JSONDecoder(object_pairs_hook=_Members)
_decode, _scan = _DECODER.decode, _DECODER.scan_once


def _loads(text: str):
    """``_decode(text)``, quicker for the usual line (one object, nothing around it): the scanner alone, no
    whitespace matching before and after. Anything else, or an error, goes through ``_decode``, which raises
    exactly what ``json.loads`` would."""
    if text[:1] == "{":
        try:
            value, end = _scan(text, 0)
        except StopIteration:
            return _decode(text)
        if end == len(text):
            return value
    return _decode(text)


def _object(name: str, lineno: int, text: str) -> _Members:
    """The members of a JSON object on one line, in order, duplicates kept so they can be reported."""
    try:
        if text.startswith("\ufeff"):  # as json.loads says it
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        pairs = _loads(text)
    except json.JSONDecodeError as exc:
        raise ImportProblem(name, lineno, f"malformed JSON: {exc.msg} at column {exc.colno}") from None
    except RecursionError:
        raise ImportProblem(name, lineno, "malformed JSON: nested too deeply") from None
    if not isinstance(pairs, _Members):
        raise ImportProblem(name, lineno, f"expected a JSON object, found {_JSON_TYPES.get(type(pairs), 'a value')}")
    return pairs


def _check_text(name: str, lineno: int, value: str, what: str) -> None:
    why = check_text(value, what)
    if why:
        raise ImportProblem(name, lineno, why)


def _check_key(name: str, lineno: int, key: str) -> None:
    why = check_dataset_key(key)
    if why:
        raise ImportProblem(name, lineno, why)


def read_questions(path: Path, name: str = QUESTIONS_FILE) -> Iterator[tuple[int, str, str] | ImportProblem]:
    """``(line, image path, question)`` for each line of ``user.jsonl`` (or the problem with that line)."""

    def parse(lineno, text):
        if not text.strip():
            raise ImportProblem(name, lineno, "empty line")
        pairs = _object(name, lineno, text)
        if len(pairs) != 1:
            raise ImportProblem(
                name, lineno, f'expected one {{"image path": "question"}} pair, found {len(pairs)}'
            )
        key, question = pairs[0]
        _check_key(name, lineno, key)
        if not isinstance(question, str) or not question.strip():
            raise ImportProblem(name, lineno, f"the question for {key!r} must be a non-empty string")
        _check_text(name, lineno, question, "question")
        return lineno, key, question

    return _records(path, name, parse)


def read_ground_truth(path: Path, name: str = GROUND_TRUTH_FILE) -> Iterator[tuple[int, str, str] | ImportProblem]:
    """``(line, image path, trigger list)`` for each member of ``basic_ground_truth.json``.

    The file is read one member per line (the layout ``json.dumps(obj, indent=4)`` writes), so it streams and
    every problem has a line number. A file on a single line (``json.dumps(obj)``) is parsed whole.
    """
    state = {"line": 0, "opened": False, "closed": False, "abandoned": False}

    def parse(lineno, text):
        state["line"] = lineno
        stripped = text.strip()
        if state["abandoned"]:
            return None
        if not state["opened"]:
            state["opened"] = True
            if stripped == "{":
                return None
            if stripped.startswith("{") and stripped.endswith("}"):
                state["closed"] = True
                return [_truth_member(name, lineno, k, v) for k, v in _object(name, lineno, stripped)]
            state["closed"] = state["abandoned"] = True  # nothing more can be read sensibly
            raise ImportProblem(name, lineno, "expected '{' alone on the first line (the json.dumps(indent=4) layout)")
        if state["closed"]:
            if stripped:
                raise ImportProblem(name, lineno, "text after the closing '}'")
            return None
        if stripped == "}":
            state["closed"] = True
            return None
        if not stripped:
            raise ImportProblem(name, lineno, "empty line")
        member = stripped[:-1] if stripped.endswith(",") else stripped
        pairs = _object(name, lineno, "{" + member + "}")
        if len(pairs) != 1:
            raise ImportProblem(name, lineno, 'expected one "image path": "triggers" member per line')
        return [_truth_member(name, lineno, *pairs[0])]

    for item in _records(path, name, parse):
        if isinstance(item, list):
            yield from item
        elif item is not None:
            yield item
    if not state["opened"]:
        yield ImportProblem(name, None, "the file is empty")
    elif not state["closed"]:
        yield ImportProblem(name, state["line"], "the file ends before the closing '}' (truncated?)")


def _truth_member(name, lineno, key, value):
    try:
        _check_key(name, lineno, key)
        if not isinstance(value, str):
            raise ImportProblem(name, lineno, f'the triggers of {key!r} must be a string like "1. ...\\n2. ..."')
        _check_text(name, lineno, value, "trigger list")
    except ImportProblem as problem:
        return problem
    return lineno, key, value


def read_complex(path: Path, name: str = COMPLEX_FILE) -> Iterator[tuple[int, str, str, str] | ImportProblem]:
    """``(line, image path, question, trigger list)`` for each line of ``ec_complex.jsonl``."""

    def parse(lineno, text):
        if not text.strip():
            raise ImportProblem(name, lineno, "empty line")
        pairs = _object(name, lineno, text)
        if len(pairs) != 1:
            raise ImportProblem(name, lineno, f"expected one image per line, found {len(pairs)}")
        key, inner = pairs[0]
        _check_key(name, lineno, key)
        if not isinstance(inner, _Members) or len(inner) != 1:
            raise ImportProblem(
                name, lineno, f'expected {{"{key}": {{"question": "triggers"}}}} with exactly one question'
            )
        question, value = inner[0]
        if not question.strip():
            raise ImportProblem(name, lineno, "empty question")
        if not isinstance(value, str):
            raise ImportProblem(name, lineno, 'the triggers must be a string like "1. ...\\n2. ..."')
        _check_text(name, lineno, question, "question")
        _check_text(name, lineno, value, "trigger list")
        return lineno, key, question, value

    return _records(path, name, parse)


# ---------------------------------------------------------------------------------------------------------
# Writers (generators of text; join them, or stream them)
# ---------------------------------------------------------------------------------------------------------
# What json.dumps writes for a str with its defaults (ensure_ascii=True), without its per-call overhead.
_q = json.encoder.encode_basestring_ascii


def write_questions(rows: Iterable[tuple[str, str]]) -> Iterator[str]:
    for key, question in rows:
        yield "{" + _q(key) + ": " + _q(question) + "}\n"


def write_ground_truth(rows: Iterable[tuple[str, str]]) -> Iterator[str]:
    first = True
    for key, value in rows:
        yield ("{\n    " if first else ",\n    ") + _q(key) + ": " + _q(value)
        first = False
    yield "{}" if first else "\n}"


def write_complex(rows: Iterable[tuple[str, str, str]]) -> Iterator[str]:
    first = True
    for key, question, value in rows:
        yield ("" if first else "\n") + "{" + _q(key) + ": {" + _q(question) + ": " + _q(value) + "}}"
        first = False


# ---------------------------------------------------------------------------------------------------------
# Emotions from paths and questions
# ---------------------------------------------------------------------------------------------------------
_FOLDER_EMOTIONS = {
    "angry": "angry", "anger": "angry",
    "sad": "sad", "sadness": "sad",
    "happy": "happy", "contentment": "happy", "amusement": "happy",
    "excitement": "excited", "excited": "excited",
}
_QUESTION_WORDS = [
    ("sad", r"unhappy|sad|sadness|upset|worr(?:y|ies|ied)|depress\w*|cry\w*|grief|sorrow\w*"),
    ("angry", r"angry|anger|outraged?|annoy\w*|furious|agitated|rage|displeas\w*"),
    ("excited", r"excit\w*|thrill\w*|enthusias\w*"),
    ("happy", r"happy|happiness|joy\w*|smil\w*|enjoy\w*|pleas\w*|delight\w*|content\w*"),
]
_QUESTION_RES = [(emotion, re.compile(rf"\b(?:{words})\b", re.I)) for emotion, words in _QUESTION_WORDS]


def emotion_from_path(key: str) -> str:
    """The emotion an EIBench path names by its folder (``CAER-S/train/Angry/...`` → ``angry``), or ``""``."""
    parts = key.rsplit("/", 2)
    folder = parts[-2].lower() if len(parts) >= 2 else ""
    return _FOLDER_EMOTIONS.get(folder, folder if folder.isalpha() else "")


def emotion_from_question(question: str, fallback: str = "") -> str:
    """The emotion a complex question asks about (they may differ from the image's folder)."""
    for emotion, pattern in _QUESTION_RES:
        if pattern.search(question):
            return emotion
    return fallback
