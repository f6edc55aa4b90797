"""Property-based tests (hypothesis): the trigger list codec and the EIBench file codecs give back what they were
given (parse ∘ render = identity), the readers never crash on any text, and the pipeline's tolerant parser of model
replies never crashes and reads a well-formed numbered list back item for item."""
import json
import tempfile
from pathlib import Path

from hypothesis import assume, example, given
from hypothesis import strategies as st

from annotator.formats import eibench
from annotator.formats.eibench import ImportProblem
from annotator.formats.text import check_key_text, check_text
from pipeline.parsing import UnparsableReply, parse_questions, parse_triggers

# -------------------------------------------------------------------------------------- trigger lists
any_text = st.text(st.characters(codec="utf-8"), max_size=200)
line_text = st.text(st.characters(codec="utf-8", exclude_characters="\n"), max_size=80)


@given(any_text)
@example("")
@example("\n")
@example(" 4. Happy and satisfied.")
@example("1. a\n2. b\n 3. c\n4.d\n5) e\nno number")
def test_render_of_parse_is_the_identity(value):
    """Any imported trigger list (quirks and all) is written back byte for byte."""
    assert eibench.render_trigger_list(eibench.parse_trigger_list(value)) == value


@given(st.lists(line_text, max_size=30))
def test_parse_of_render_is_the_identity_for_canonical_lists(texts):
    items = [(None, t) for t in texts]
    assume(texts != [""])  # "" renders as "1. " ... and a single empty list is the empty string
    rendered = eibench.render_trigger_list(items)
    assert eibench.parse_trigger_list(rendered) == (items if texts else [])


@given(st.lists(st.tuples(st.one_of(st.none(), st.sampled_from(["", " 4. ", "3.", "2) ", "10. "])), line_text),
                max_size=20))
def test_labels_survive_a_round_trip_when_they_parse_back_the_same(items):
    rendered = eibench.render_trigger_list(items)
    assert eibench.render_trigger_list(eibench.parse_trigger_list(rendered)) == rendered


# ------------------------------------------------------------------------------------------ EIBench files
INVISIBLE = "\u200b\u2060\ufeff\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_key_char = st.characters(codec="utf-8", exclude_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"),
                          exclude_characters="/\\")
segment = st.text(_key_char, min_size=1, max_size=12).filter(lambda s: s not in (".", "..") and not s.isspace())
dataset_key = st.lists(segment, min_size=1, max_size=4).map("/".join).filter(
    lambda k: eibench.check_dataset_key(k) is None)
_text_char = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"), exclude_characters=INVISIBLE)
question = st.text(_text_char, min_size=1, max_size=120).filter(lambda q: q.strip())
trigger_list = st.lists(st.text(_text_char, max_size=80), min_size=1, max_size=6).map(
    lambda ts: eibench.render_trigger_list((None, t) for t in ts))


def _file(chunks) -> Path:
    with tempfile.NamedTemporaryFile("wb", suffix=".jsonl", delete=False) as handle:
        handle.write("".join(chunks).encode("utf-8"))
    return Path(handle.name)


def _read(reader, chunks):
    path = _file(chunks)
    try:
        return list(reader(path))
    finally:
        path.unlink()


@given(st.dictionaries(dataset_key, question, max_size=15))
def test_questions_file_round_trip(rows):
    got = _read(eibench.read_questions, eibench.write_questions(rows.items()))
    assert [(k, q) for _line, k, q in got] == list(rows.items())
    assert [line for line, _k, _q in got] == list(range(1, len(rows) + 1))


@given(st.dictionaries(dataset_key, trigger_list, max_size=15))
def test_ground_truth_file_round_trip(rows):
    chunks = list(eibench.write_ground_truth(rows.items()))
    assert "".join(chunks) == json.dumps(rows, indent=4)  # the benchmark's own layout, byte for byte
    got = _read(eibench.read_ground_truth, chunks)
    assert [(k, v) for _line, k, v in got] == list(rows.items())


@given(st.lists(st.tuples(dataset_key, question, trigger_list), max_size=15))
def test_complex_file_round_trip(rows):
    got = _read(eibench.read_complex, eibench.write_complex(rows))
    assert [(k, q, v) for _line, k, q, v in got] == rows


@given(st.lists(any_text, max_size=8))
def test_readers_never_crash_on_any_text(lines):
    """Any file at all: records or problems with a line number, never an exception."""
    chunks = ["\n".join(lines)]
    for reader in (eibench.read_questions, eibench.read_complex, eibench.read_ground_truth):
        for item in _read(reader, chunks):
            assert isinstance(item, (tuple, ImportProblem))
            if isinstance(item, tuple):  # whatever was accepted is clean
                assert eibench.check_dataset_key(item[1]) is None
                assert all(check_text(v) is None for v in item[2:])


@given(st.text(st.characters(codec="utf-8"), max_size=40))
def test_a_key_that_is_accepted_is_a_safe_relative_path(key):
    if eibench.check_dataset_key(key) is None:
        assert not key.startswith("/") and ".." not in key.split("/") and "\\" not in key
        assert check_key_text(key) is None and "\x00" not in key


# -------------------------------------------------------------------------------- model replies (pipeline)
@given(st.text(max_size=400))
@example("```json\n```")
@example("1. \n2. **")
@example("Sure:\n\n1) a [Objects; explicit]\n 2. b")
def test_the_reply_parser_never_crashes(reply):
    try:
        items = parse_triggers(reply)
    except UnparsableReply:
        return
    assert items and all(i.text.strip() for i in items)
    parse_questions(reply, limit=4)


words = st.sampled_from(["smile", "crowd", "trophy", "Trigger-happy", "Answer", "question", "raised", "arms", "his",
                         "team", "won", "a", "the", "Question-and-answer", "session", "cheering", "friends", "tears",
                         "sunny", "beach", "hugging", "wedding", "dress", "birthday", "cake", "candles"])
item_text = st.lists(words, min_size=1, max_size=8).map(" ".join).map(lambda t: t[0].upper() + t[1:] + ".")


@given(st.lists(item_text, min_size=1, max_size=10), st.sampled_from([". ", ") "]),
       st.sampled_from(["", "Here are the triggers:\n", "Sure! Here are the emotional triggers:\n\n"]))
@example(["Trigger-happy soldiers cheering."], ". ", "")
def test_a_well_formed_numbered_list_parses_back(texts, marker, preamble):
    reply = preamble + "\n".join(f"{i}{marker}{t}" for i, t in enumerate(texts, start=1))
    assert [i.text for i in parse_triggers(reply)] == texts
