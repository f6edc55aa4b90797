"""Manifests for new data: CSV or JSONL rows of ``path``, ``emotion``, ``question`` (question optional).

One row per sample; an image may have several rows. Rows stream with their line numbers.
"""
from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .eibench import MAX_LINE_BYTES, ImportProblem, _object, _records, check_dataset_key
from .text import check_text

FIELDS = ("path", "emotion", "question")
REQUIRED = ("path", "emotion")


@dataclass(frozen=True)
class ManifestRow:
    line: int
    path: str
    emotion: str
    question: str  # "" when the row has none: the project's default question applies


def read_manifest(path: Path, name: str | None = None) -> Iterator[ManifestRow | ImportProblem]:
    """The rows of a manifest; a problem (file, line, message) is yielded in place of a bad row."""
    name = name or Path(path).name
    suffix = Path(name).suffix.lower()
    if suffix == ".csv":
        try:
            yield from _read_csv(Path(path), name)
        except ImportProblem as problem:  # a problem the CSV reader cannot read past
            yield problem
    elif suffix in (".jsonl", ".ndjson"):
        yield from _read_jsonl(Path(path), name)
    else:
        yield ImportProblem(name, None, "a manifest must be a .csv or .jsonl file")


def _row(name: str, line: int, fields: dict) -> ManifestRow:
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise ImportProblem(name, line, f"unknown field {unknown[0]!r} (expected {', '.join(FIELDS)})")
    for field in REQUIRED:
        value = fields.get(field)
        if not isinstance(value, str) or not value.strip():
            raise ImportProblem(name, line, f"missing {field!r}")
    question = fields.get("question") or ""
    if not isinstance(question, str):
        raise ImportProblem(name, line, "'question' must be a string")
    for field in FIELDS:
        why = check_text(fields.get(field) or "", f"'{field}'")
        if why:
            raise ImportProblem(name, line, why)
    why = check_dataset_key(fields["path"])
    if why:
        raise ImportProblem(name, line, why)
    return ManifestRow(line, fields["path"], fields["emotion"].strip().lower(), question.strip())


def _read_jsonl(path: Path, name: str) -> Iterator[ManifestRow | ImportProblem]:
    def parse(line, text):
        if not text.strip():
            return None
        pairs = _object(name, line, text)
        keys = [k for k, _ in pairs]
        dup = next((k for i, k in enumerate(keys) if k in keys[:i]), None)
        if dup is not None:
            raise ImportProblem(name, line, f"duplicate key {dup!r}")
        return _row(name, line, dict(pairs))

    return (item for item in _records(path, name, parse) if item is not None)


def _read_csv(path: Path, name: str) -> Iterator[ManifestRow]:
    # Decode strictly, line by line, so a bad byte is reported with its line.
    with open(path, "rb") as raw:
        decoder = codecs.getincrementaldecoder("utf-8-sig")("strict")
        lineno = 0

        def text_lines():
            nonlocal lineno
            while chunk := raw.readline(MAX_LINE_BYTES + 1):  # one bounded line in memory
                lineno += 1
                if len(chunk) > MAX_LINE_BYTES and not chunk.endswith(b"\n"):
                    raise ImportProblem(name, lineno, f"line is longer than {MAX_LINE_BYTES:,} bytes")
                try:
                    text = decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    raise ImportProblem(
                        name, lineno, f"not UTF-8: byte 0x{chunk[exc.start]:02x} at column {exc.start + 1}"
                    ) from None
                if "\x00" in text:
                    raise ImportProblem(name, lineno, "contains a NUL character")
                yield text

        reader = csv.reader(text_lines())
        try:
            header = next(reader)
        except StopIteration:
            raise ImportProblem(name, None, "the file is empty") from None
        header = [h.strip().lower() for h in header]
        for h in header:
            if h not in FIELDS:
                raise ImportProblem(name, 1, f"unknown field {h!r} (expected {', '.join(FIELDS)})")
        if len(set(header)) != len(header):
            raise ImportProblem(name, 1, "a column appears twice in the header")
        for field in REQUIRED:
            if field not in header:
                raise ImportProblem(name, 1, f"missing column {field!r}")
        try:
            for values in reader:
                if not any(v.strip() for v in values):
                    continue
                if len(values) != len(header):
                    yield ImportProblem(name, reader.line_num, f"expected {len(header)} columns, found {len(values)}")
                    continue
                try:
                    yield _row(name, reader.line_num, dict(zip(header, values, strict=True)))
                except ImportProblem as problem:
                    yield problem
        except csv.Error as exc:
            raise ImportProblem(name, reader.line_num, f"malformed CSV: {exc}") from None
