"""A corpus of hostile import files, made in code (no binary blobs in the repository).

Each :class:`Case` is a set of files for one import path (``eibench``, ``manifest`` or ``ratings``), optional image
files under the images root, and what the refusal must say: ``(file, line, words)`` — the message names the file,
the line (``None``: the file as a whole) and the problem.
"""
from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass, field

from PIL import Image as PILImage

GOOD = '{"Happy/0000.png": "What might have caused the man to look happy?"}'
GOOD2 = '{"Happy/0001.png": "What might have caused the woman to look happy?"}'


def png(size=(16, 12), mode="RGB") -> bytes:
    buf = io.BytesIO()
    PILImage.new(mode, size, 90 if mode in ("L", "1") else (10, 120, 200)).save(buf, "PNG")
    return buf.getvalue()


def jpeg(size=(16, 12)) -> bytes:
    buf = io.BytesIO()
    PILImage.new("RGB", size, (200, 40, 40)).save(buf, "JPEG")
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_header_bomb(width=100_000, height=100_000) -> bytes:
    """A tiny PNG whose header claims width x height pixels (10^10): a decompression bomb."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + _chunk(b"IEND", b""))


def gif_header_bomb() -> bytes:
    """A GIF whose logical screen and image are 65535 x 65535 pixels."""
    return (b"GIF89a" + struct.pack("<HHBBB", 65535, 65535, 0, 0, 0)
            + b"," + struct.pack("<HHHHB", 0, 0, 65535, 65535, 0) + b"\x02\x02\x4c\x01\x00;")


def png_bad_crc() -> bytes:
    data = bytearray(png())
    data[29] ^= 0xFF  # inside the IHDR CRC
    return bytes(data)


IMAGES = {
    "truncated PNG": (lambda: png((64, 64))[:-40], "corrupt or truncated image"),
    "truncated JPEG": (lambda: jpeg((64, 64))[: len(jpeg((64, 64))) // 2], "corrupt or truncated image"),
    "PNG with a bad checksum": (png_bad_crc, "image"),
    "random bytes behind .png": (lambda: bytes((i * 37 + 11) % 256 for i in range(2048)), "not an image file"),
    "text behind .jpg": (lambda: b"hello, I am not a picture\n", "not an image file"),
    "SVG behind .png": (lambda: b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "not an image file"),
    "PDF behind .jpg": (lambda: b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "not an image file"),
    "HTML behind .png": (lambda: b"<html><script>alert(1)</script></html>", "not an image file"),
    "empty file": (lambda: b"", "not an image file"),
    "PNG decompression bomb": (png_header_bomb, "decompression bomb"),
    "GIF decompression bomb": (gif_header_bomb, "decompression bomb"),
}


@dataclass
class Case:
    name: str
    kind: str  # "eibench" | "manifest" | "ratings"
    files: dict  # role -> (file name, bytes)
    expect: list  # [(file name, line or None, words)]
    images: dict = field(default_factory=dict)  # path under the images root -> bytes, or "symlink:TARGET" / "dir"
    settings: dict = field(default_factory=dict)


def _lines(*lines: str, end="\n") -> bytes:
    return (end.join(lines) + end).encode()


def eibench_cases() -> list[Case]:
    q = "user.jsonl"
    cases = []

    def questions(name, data: bytes, line, words, **kw):
        cases.append(Case(name, "eibench", {"questions": (q, data)}, [(q, line, words)], **kw))

    questions("malformed JSON", _lines(GOOD, '{"Happy/0001.png": "Why?"', GOOD2), 2, "malformed JSON")
    questions("truncated file", (GOOD + "\n" + GOOD2[:30]).encode(), 2, "malformed JSON")
    questions("not UTF-8", _lines(GOOD, '{"Happy/0001.png": "Caf\xe9?"}').replace("é".encode(), b"\xe9"), 2,
              "not UTF-8: byte 0xe9")
    questions("UTF-16 file", ("\ufeff" + GOOD + "\n").encode("utf-16-le"), 1, "not UTF-8")
    questions("raw NUL byte", _lines(GOOD, '{"Happy/0001.png": "Why\x00?"}'), 2, "NUL")
    questions("NUL through a JSON escape", _lines(GOOD, '{"Happy/0001.png": "Why\\u0000?"}'), 2, "NUL")
    questions("lone surrogate through a JSON escape", _lines(GOOD, '{"Happy/0001.png": "Why\\ud800?"}'), 2,
              "surrogate")
    questions("oversized line", _lines(GOOD, '{"Happy/0001.png": "' + "x" * 1_100_000 + '"}', GOOD2), 2,
              "longer than")
    questions("deeply nested JSON", _lines(GOOD, "[" * 100_000 + "]" * 100_000), 2, "nested too deeply")
    questions("an array, not an object", _lines(GOOD, '["Happy/0001.png", "Why?"]'), 2, "expected a JSON object")
    questions("two pairs on a line", _lines('{"Happy/0001.png": "Why?", "Happy/0002.png": "And?"}'), 1,
              "expected one")
    questions("duplicate key on a line", _lines('{"Happy/0001.png": "Why?", "Happy/0001.png": "Why not?"}'), 1,
              "expected one")
    questions("duplicate image path", _lines(GOOD, GOOD2, GOOD), 3, "duplicate image path")
    questions("path traversal", _lines(GOOD, '{"../../etc/passwd": "Why?"}'), 2, "escapes the images root")
    questions("path traversal inside", _lines('{"Happy/../../secret.png": "Why?"}'), 1, "escapes the images root")
    questions("absolute path", _lines(GOOD, '{"/etc/passwd": "Why?"}'), 2, "absolute")
    questions("Windows drive path", _lines('{"C:/Windows/win.ini": "Why?"}'), 1, "absolute")
    questions("backslash path", _lines('{"Happy\\\\..\\\\x.png": "Why?"}'), 1, "backslash")
    questions("control character in a path", _lines('{"Happy/a\\u0007.png": "Why?"}'), 1, "control character")
    questions("RTL override in a path", _lines('{"Happy/\\u202egnp.exe": "Why?"}'), 1, "direction control")
    questions("zero-width space in a path", _lines('{"Happy/00\\u200b00.png": "Why?"}'), 1, "invisible character")
    questions("direction mark in a path", _lines('{"Happy/\\u200fa.png": "Why?"}'), 1, "invisible or direction")
    questions("RTL override in a question", _lines('{"Happy/0001.png": "Why \\u202eyppah?"}'), 1,
              "direction control")
    questions("empty question", _lines('{"Happy/0001.png": "   "}'), 1, "non-empty string")
    questions("number as question", _lines('{"Happy/0001.png": 42}'), 1, "non-empty string")
    questions("NaN as question", _lines('{"Happy/0001.png": NaN}'), 1, "non-empty string")
    questions("empty path", _lines('{"": "Why?"}'), 1, "empty image path")
    questions("empty line", _lines(GOOD, "", GOOD2), 2, "empty line")

    gt = "basic_ground_truth.json"
    good_gt = '{\n    "Happy/0000.png": "1. Smile."\n}'

    def truth(name, data: str, line, words):
        cases.append(Case(name, "eibench", {"questions": (q, _lines(GOOD)), "ground_truth": (gt, data.encode())},
                          [(gt, line, words)]))

    truth("ground truth cut short", good_gt[:-2], 2, "closing '}'")
    truth("text after the closing brace", good_gt + "\n{}", 4, "after the closing")
    truth("triggers not a string", '{\n    "Happy/0000.png": ["1. Smile."]\n}', 2, "must be a string")
    truth("ground truth without its question", '{\n    "Happy/0000.png": "1. Smile.",\n    "Happy/0009.png": "1. x"\n}',
          3, "no question")
    truth("NUL in a trigger list", '{\n    "Happy/0000.png": "1. Smi\\u0000le."\n}', 2, "NUL")
    truth("empty ground truth file", "", None, "empty")

    cx = "ec_complex.jsonl"

    def complex_(name, data: bytes, line, words):
        cases.append(Case(name, "eibench", {"complex": (cx, data)}, [(cx, line, words)]))

    complex_("two questions for one image", _lines('{"Sad/1.png": {"Why sad?": "1. a", "Why upset?": "1. b"}}'), 1,
             "exactly one question")
    complex_("question object not an object", _lines('{"Sad/1.png": "1. a"}'), 1, "exactly one question")
    complex_("lone surrogate in a complex trigger", _lines('{"Sad/1.png": {"Why sad?": "1. \\udfff"}}'), 1,
             "surrogate")

    for label, (make, words) in IMAGES.items():
        ext = ".jpg" if "jpg" in label.lower() or "JPEG" in label else ".png"
        if "GIF" in label:
            ext = ".gif"
        path = f"Happy/bad{ext}"
        cases.append(Case(f"image: {label}", "eibench", {"questions": (q, _lines(GOOD, f'{{"{path}": "Why?"}}'))},
                          [(q, 2, words)], images={"Happy/0000.png": png(), path: make()}))
    cases.append(Case("image: huge (over EISTUDIO_MAX_IMAGE_PIXELS)", "eibench",
                      {"questions": (q, _lines(GOOD, '{"Happy/huge.png": "Why?"}'))},
                      [(q, 2, "decompression bomb")], images={"Happy/0000.png": png(),
                                                              "Happy/huge.png": png((2000, 1500), "1")},
                      settings={"EISTUDIO_MAX_IMAGE_PIXELS": 1_000_000}))
    cases.append(Case("image: symlink out of the images root", "eibench",
                      {"questions": (q, _lines(GOOD, '{"Happy/link.png": "Why?"}'))},
                      [(q, 2, "escapes the images root")],
                      images={"Happy/0000.png": png(), "Happy/link.png": "symlink:/etc/hostname"}))
    for case in cases:  # new images: the project already has Happy/0000.png and Happy/0001.png
        case.files = {r: (n, d.replace(b"Happy/000", b"Happy/100")) for r, (n, d) in case.files.items()}
        case.images = {k.replace("Happy/000", "Happy/100"): v for k, v in case.images.items()}
    return cases


def manifest_cases() -> list[Case]:
    cases = []
    header = "path,emotion,question"

    def csv(name, text: str, line, words, fname="wave.csv", **kw):
        cases.append(Case(name, "manifest", {"manifest": (fname, text.encode() if isinstance(text, str) else text)},
                          [(fname, line, words)], images={"a.png": png(), "b.png": png()}, **kw))

    csv("unknown column", "path,emotion,colour\na.png,happy,red\n", 1, "unknown field 'colour'")
    csv("missing column", "path\na.png\n", 1, "missing column 'emotion'")
    csv("duplicate column", "path,emotion,emotion\na.png,happy,sad\n", 1, "appears twice")
    csv("wrong number of columns", f"{header}\na.png,happy\n", 2, "expected 3 columns")
    csv("unknown emotion", f"{header}\na.png,ecstatic,Why?\n", 2, "unknown emotion")
    csv("path traversal", f"{header}\n../../etc/passwd,happy,Why?\n", 2, "escapes the images root")
    csv("absolute path", f"{header}\n/etc/passwd,happy,Why?\n", 2, "absolute")
    csv("not UTF-8", f"{header}\na.png,happy,Caf".encode() + b"\xe9?\n", 2, "not UTF-8")
    csv("NUL byte", f"{header}\na.png,happy,Why\x00?\n", 2, "NUL")
    csv("field over the CSV limit", f"{header}\na.png,happy,\"{'x' * 200_000}\"\n", 2, "malformed CSV")
    csv("oversized line", f"{header}\na.png,happy," + "x," * 600_000 + "\n", 2, "longer than")
    csv("RTL override in a path", f"{header}\nb\u202egnp.png,happy,Why?\n", 2, "direction control")
    csv("zero-width space in a question", f"{header}\na.png,happy,Why\u200b?\n", 2, "invisible")
    csv("missing image file", f"{header}\nmissing.png,happy,Why?\n", 2, "no image file")
    csv("duplicate row", f"{header}\na.png,happy,Why?\na.png,happy,Why?\n", 3, "duplicate of line 2")
    csv("empty file", "", None, "empty")
    csv("wrong extension", "a.png\n", None, "must be a .csv or .jsonl", fname="wave.txt")

    def jsonl(name, text: str, line, words):
        cases.append(Case(name, "manifest", {"manifest": ("wave.jsonl", text.encode())}, [("wave.jsonl", line, words)],
                          images={"a.png": png(), "b.png": png()}))

    jsonl("duplicate key", '{"path": "a.png", "emotion": "happy", "path": "b.png"}\n', 1, "duplicate key 'path'")
    jsonl("malformed JSON", '{"path": "a.png", "emotion": "happy"}\n{"path": "b.png", \n', 2, "malformed JSON")
    jsonl("unknown field", '{"path": "a.png", "emotion": "happy", "score": 3}\n', 1, "unknown field 'score'")
    jsonl("NUL through a JSON escape", '{"path": "a.png", "emotion": "happy", "question": "Why\\u0000?"}\n', 1, "NUL")
    jsonl("lone surrogate", '{"path": "a\\udc80.png", "emotion": "happy"}\n', 1, "surrogate")
    jsonl("deeply nested", "[" * 50_000 + "]" * 50_000 + "\n", 1, "nested too deeply")
    jsonl("question not a string", '{"path": "a.png", "emotion": "happy", "question": ["Why?"]}\n', 1,
          "must be a string")
    for label, (make, words) in list(IMAGES.items())[:6]:
        cases.append(Case(f"image: {label}", "manifest",
                          {"manifest": ("wave.jsonl", b'{"path": "bad.png", "emotion": "happy"}\n')},
                          [("wave.jsonl", 1, words)], images={"bad.png": make()}))
    return cases


def ratings_cases() -> list[Case]:
    cases = []
    good = '{"Happy/0000.png": "4"}'

    def rater(name, data: bytes, line, words):
        cases.append(Case(name, "ratings", {"ratings": ("rater1.jsonl", data)}, [("rater1.jsonl", line, words)]))

    rater("malformed JSON", _lines(good, '{"Happy/0001.png": 4'), 2, "malformed JSON")
    rater("score out of range", _lines('{"Happy/0000.png": "7"}'), 1, "not a whole number from 0 to 5")
    rater("score not a number", _lines('{"Happy/0000.png": "four"}'), 1, "not a whole number from 0 to 5")
    rater("score a boolean", _lines('{"Happy/0000.png": true}'), 1, "not a whole number from 0 to 5")
    rater("not UTF-8", _lines(good) + b'{"Happy/caf\xe9.png": "3"}\n', 2, "not UTF-8")
    rater("duplicate image", _lines(good, good), 2, "duplicate image path")
    rater("unknown image", _lines('{"Happy/9999.png": "3"}'), 1, "not in project")
    rater("path traversal", _lines('{"../../etc/passwd": "3"}'), 1, "not in project")
    rater("two pairs on a line", _lines('{"Happy/0000.png": "3", "Happy/0001.png": "2"}'), 1, "one")
    rater("empty file", b"", None, "empty")
    rater("empty line", _lines(good, "", '{"Happy/0001.png": "2"}'), 2, "empty line")
    rater("deeply nested JSON", _lines("[" * 100_000 + "]" * 100_000), 1, "nested too deeply")
    rater("NUL through a JSON escape", _lines('{"Happy/00\\u000000.png": "3"}'), 1, "NUL")
    rater("lone surrogate", _lines('{"Happy/\\ud800.png": "3"}'), 1, "surrogate")
    return cases
