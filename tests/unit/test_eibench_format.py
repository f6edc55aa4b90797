"""The EIBench codecs, without a database: lossless trigger lists, exact writers, readers that name lines."""
import json

import pytest

from annotator.formats import eibench
from annotator.formats.eibench import ImportProblem
from tests.conftest import SAMPLE


@pytest.mark.parametrize("value", [
    "1. Contemplation or melancholy.\n2. Discontent.\n3. The woman's gaze outside the window .",
    "1. a\n2. b\n 4. Happy and satisfied with the possible reply or result.",  # misnumbered, leading space
    "1. The girl is not obedient\n2. The girl can't do handiwork",  # missing periods
    "1. Hesitation.\n2. 2.uncertain.\n3. Introspection",  # a number inside the text
    "no number at all",
    "1.no space\n2)  paren and two spaces\n\n3. after an empty line",
    "1. trailing newline\n",
    "",
])
def test_trigger_list_round_trips(value):
    assert eibench.render_trigger_list(eibench.parse_trigger_list(value)) == value


def test_trigger_list_keeps_text_exactly_and_labels_only_quirks():
    items = eibench.parse_trigger_list("1. Kite.\n2.  Smiling\n 4. Freedom")
    assert items == [(None, "Kite."), (None, " Smiling"), (" 4. ", "Freedom")]


def test_canonical_numbering_when_label_dropped():
    assert eibench.render_trigger_list([(None, "a"), (None, "b")]) == "1. a\n2. b"


def test_writers_match_the_published_files_exactly():
    questions = [(k, q) for _l, k, q in eibench.read_questions(SAMPLE / "user.jsonl")]
    truth = [(k, v) for _l, k, v in eibench.read_ground_truth(SAMPLE / "basic_ground_truth.json")]
    complex_ = [(k, q, v) for _l, k, q, v in eibench.read_complex(SAMPLE / "ec_complex.jsonl")]
    assert "".join(eibench.write_questions(questions)) == (SAMPLE / "user.jsonl").read_text()
    assert "".join(eibench.write_ground_truth(truth)) == (SAMPLE / "basic_ground_truth.json").read_text()
    assert "".join(eibench.write_complex(complex_)) == (SAMPLE / "ec_complex.jsonl").read_text()
    # and they are what json.dumps writes
    obj = dict(truth)
    assert "".join(eibench.write_ground_truth(obj.items())) == json.dumps(obj, indent=4)


def test_empty_ground_truth_is_an_empty_object():
    assert "".join(eibench.write_ground_truth([])) == json.dumps({}, indent=4)


def _problems(records):
    return [r for r in records if isinstance(r, ImportProblem)]


def test_reader_names_file_line_and_problem(tmp_path):
    f = tmp_path / "user.jsonl"
    f.write_text('{"a.png": "Why?"}\n{"b.png": "Why?"\n{"c.png": 3}\n{"d.png": "q", "e.png": "q"}\n\n')
    problems = _problems(eibench.read_questions(f, "user.jsonl"))
    assert [p.line for p in problems] == [2, 3, 4, 5]
    assert "malformed JSON" in problems[0].message
    assert "non-empty string" in problems[1].message
    assert "found 2" in problems[2].message
    assert "empty line" in problems[3].message
    assert str(problems[0]).startswith("user.jsonl, line 2: ")


def test_reader_refuses_non_utf8_with_its_line(tmp_path):
    f = tmp_path / "user.jsonl"
    f.write_bytes(b'{"a.png": "ok"}\n' + '{"b.png": "caf\xe9"}\n'.encode("latin-1"))
    [problem] = _problems(eibench.read_questions(f))
    assert problem.line == 2 and "not UTF-8: byte 0xe9" in problem.message


@pytest.mark.parametrize("key, why", [
    ("../secret.png", "escapes the images root"),
    ("a/../../b.png", "escapes the images root"),
    ("/etc/passwd", "absolute"),
    ("C:/x.png", "absolute"),
    ("a\\b.png", "backslash"),
    ("a\x00.png", "control character"),
    ("", "empty image path"),
])
def test_unsafe_image_paths(key, why):
    assert why in eibench.check_dataset_key(key)


def test_ground_truth_streams_and_detects_truncation(tmp_path):
    f = tmp_path / "gt.json"
    full = (SAMPLE / "basic_ground_truth.json").read_text()
    f.write_text(full[: len(full) // 2].rsplit("\n", 1)[0])
    problems = _problems(eibench.read_ground_truth(f, "gt.json"))
    assert problems[-1].message.startswith("the file ends before the closing")


def test_ground_truth_on_one_line_is_accepted(tmp_path):
    f = tmp_path / "gt.json"
    f.write_text(json.dumps({"a.png": "1. x", "b.png": "1. y\n2. z"}))
    assert [(k, v) for _l, k, v in eibench.read_ground_truth(f)] == [("a.png", "1. x"), ("b.png", "1. y\n2. z")]


def test_complex_needs_exactly_one_question_per_line(tmp_path):
    f = tmp_path / "c.jsonl"
    f.write_text('{"a.png": {"q1": "1. x", "q2": "1. y"}}\n{"a.png": "1. x"}')
    assert [p.line for p in _problems(eibench.read_complex(f))] == [1, 2]


@pytest.mark.parametrize("key, emotion", [
    ("CAER-S/train/Angry/0354.png", "angry"),
    ("EmoSet-118k/image/sadness/sadness_02719.jpg", "sad"),
    ("EmoSet-118k/image/excitement/excitement_03515.jpg", "excited"),
    ("CAER-S/train/Happy/0143.png", "happy"),
    ("EmoSet-118k/image/contentment/x.jpg", "happy"),
    ("EmoSet-118k/image/fear/x.jpg", "fear"),
    ("top.png", ""),
])
def test_emotion_from_path(key, emotion):
    assert eibench.emotion_from_path(key) == emotion


@pytest.mark.parametrize("question, emotion", [
    ("What might have caused the man to be happy?", "happy"),
    ("Why does the woman in the image seem unhappy?", "sad"),
    ("What led to the angry of the man in the image?", "angry"),
    ("What factors might be contributing to the kid in the image being excited?", "excited"),
    ("Why is this woman very scared?", "fallback"),
])
def test_emotion_from_question(question, emotion):
    assert eibench.emotion_from_question(question, "fallback") == emotion


@pytest.mark.parametrize("text", ["plain", 'quote " and \\ backslash', "tab\tnew\nline", "café ☕ 𝄞", "\x01ctl"])
def test_writers_escape_exactly_like_json_dumps(text):
    assert "".join(eibench.write_questions([(text, text)])) == json.dumps({text: text}) + "\n"
    assert "".join(eibench.write_complex([(text, text, text)])) == json.dumps({text: {text: text}})
    assert "".join(eibench.write_ground_truth([(text, text)])) == json.dumps({text: text}, indent=4)
