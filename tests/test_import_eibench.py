"""EIBench import and export through the management commands: byte-identical round trips, images, and every
kind of bad input refused with file, line and problem, leaving the database as it was."""
import json
import os
import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection

from annotator.models import Event, Image, Project, Sample, Trigger
from tests.conftest import SAMPLE, make_image

pytestmark = pytest.mark.django_db


def counts():
    return {m.__name__: m.objects.count() for m in (Project, Image, Sample, Trigger, Event)}


EMPTY = {"Project": 0, "Image": 0, "Sample": 0, "Trigger": 0, "Event": 0}


def run_import(*args):
    call_command("import_eibench", *args, verbosity=0)


def import_sample(project="bench", **extra):
    args = ["--project", project, "--basic-questions", str(SAMPLE / "user.jsonl"),
            "--basic-ground-truth", str(SAMPLE / "basic_ground_truth.json"), "--complex", str(SAMPLE / "ec_complex.jsonl")]
    for k, v in extra.items():
        args += [f"--{k.replace('_', '-')}", str(v)]
    run_import(*args)


def test_round_trip_is_byte_identical(tmp_path):
    import_sample()
    out = tmp_path / "out"
    call_command("export_eibench", "--project", "bench", "--out", str(out), verbosity=0)
    for exported, original in [("EI_Basic/user.jsonl", "user.jsonl"),
                               ("EI_Basic/basic_ground_truth.json", "basic_ground_truth.json"),
                               ("EI_Complex/ec_complex.jsonl", "ec_complex.jsonl")]:
        assert (out / exported).read_bytes() == (SAMPLE / original).read_bytes(), exported


def test_import_creates_final_samples_with_imported_triggers():
    import_sample()
    project = Project.objects.get(name="bench")
    assert Sample.objects.filter(project=project, kind="basic").count() == 16
    assert Sample.objects.filter(project=project, kind="complex").count() == 8
    assert set(Sample.objects.values_list("state", flat=True)) == {"final"}
    assert set(Trigger.objects.values_list("origin", flat=True)) == {"imported"}
    s = Sample.objects.get(image__dataset_key="EmoSet-118k/image/sadness/sadness_02719.jpg")
    assert s.emotion == "sad"
    assert list(s.triggers.values_list("text", flat=True)) == [
        "Contemplation or melancholy.", "Discontent.", "The woman's gaze outside the window ."]
    # every sample knows where it came from: file and line, from the one project.imported Event
    origin = s.imported_from
    assert origin["file"].endswith("user.jsonl") and origin["event"].action == "project.imported"
    assert json.loads((SAMPLE / "user.jsonl").read_text().splitlines()[origin["line"] - 1]) == {
        "EmoSet-118k/image/sadness/sadness_02719.jpg": s.question}
    c = Sample.objects.filter(kind="complex").order_by("ordinal")[3]
    assert c.imported_from["file"].endswith("ec_complex.jsonl") and c.imported_from["line"] == 4
    assert Event.objects.filter(action="project.imported").count() == 1
    assert not Event.objects.filter(sample__isnull=False).exists()  # no Event per sample
    # images without --images-root are kept as missing, not dropped
    assert Image.objects.filter(file="").count() == Image.objects.count() == 19


def test_questions_only_are_imported_waiting_for_labels(tmp_path):
    run_import("--project", "p", "--basic-questions", str(SAMPLE / "user.jsonl"))
    assert set(Sample.objects.values_list("state", flat=True)) == {"imported"}
    assert Trigger.objects.count() == 0


def test_images_are_attached_validated_and_deduplicated(tmp_path):
    root = tmp_path / "images"
    make_image(root / "CAER-S/train/Angry/0354.png", size=(40, 30))
    make_image(root / "CAER-S/train/Angry/0933.png", size=(40, 30))  # same bytes: stored once
    import_sample(images_root=root)
    img = Image.objects.get(dataset_key="CAER-S/train/Angry/0354.png")
    assert (img.width, img.height) == (40, 30) and len(img.sha256) == 64
    assert Path(img.file.path).is_file()
    assert Image.objects.exclude(file="").count() == 2
    assert len({i.file.name for i in Image.objects.exclude(file="")}) == 1
    assert Image.objects.filter(file="").count() == 17


def test_second_import_adds_to_the_project_and_refuses_repeats(tmp_path):
    run_import("--project", "p", "--complex", str(SAMPLE / "ec_complex.jsonl"))
    import_first = counts()
    with pytest.raises(CommandError, match="already in project 'p'"):
        run_import("--project", "p", "--complex", str(SAMPLE / "ec_complex.jsonl"))
    assert counts() == import_first


def test_each_sample_knows_its_file_and_line_across_imports(tmp_path):
    first = tmp_path / "first.jsonl"
    first.write_text('{"a/Sad/1.png": "Why?"}\n{"a/Sad/2.png": "Why?"}\n')
    second = tmp_path / "second.jsonl"
    second.write_text('{"a/Sad/3.png": "Why?"}\n{"a/Sad/4.png": "Why?"}\n{"a/Sad/5.png": "Why?"}\n')
    run_import("--project", "p", "--basic-questions", str(first))
    run_import("--project", "p", "--basic-questions", str(second))
    where = {s.image.dataset_key: (s.imported_from["file"], s.imported_from["line"]) for s in Sample.objects.all()}
    assert where == {"a/Sad/1.png": (str(first), 1), "a/Sad/2.png": (str(first), 2), "a/Sad/3.png": (str(second), 1),
                     "a/Sad/4.png": (str(second), 2), "a/Sad/5.png": (str(second), 3)}


# ---------------------------------------------------------------- bad input: error text, and nothing imported
def write(tmp_path, name, content, mode="w"):
    path = tmp_path / name
    path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    return path


def refused(args, *expected):
    before = counts()
    with pytest.raises(CommandError) as info:
        run_import(*args)
    message = str(info.value)
    assert message.startswith("import refused, nothing was imported")
    for text in expected:
        assert text in message, message
    assert counts() == before == EMPTY
    return message


def test_malformed_line(tmp_path):
    f = write(tmp_path, "user.jsonl", '{"a.png": "Why?"}\n{"b.png": "Why?\n')
    refused(["--project", "p", "--basic-questions", str(f)], f"{f}, line 2: malformed JSON")


def test_all_bad_lines_are_reported_at_once(tmp_path):
    f = write(tmp_path, "user.jsonl", '{"a.png": "Why?"}\nnope\n{"c.png": "ok"}\n[1]\n')
    msg = refused(["--project", "p", "--basic-questions", str(f)], "line 2: malformed JSON", "line 4: expected a JSON object")
    assert "line 3" not in msg


def test_duplicate_key_across_lines(tmp_path):
    f = write(tmp_path, "user.jsonl", '{"a.png": "Why?"}\n{"b.png": "Why?"}\n{"a.png": "Again?"}\n')
    refused(["--project", "p", "--basic-questions", str(f)], "line 3: duplicate image path 'a.png' (first on line 1)")


def test_duplicate_key_in_ground_truth(tmp_path):
    q = write(tmp_path, "user.jsonl", '{"a.png": "Why?"}\n')
    gt = write(tmp_path, "gt.json", '{\n    "a.png": "1. x",\n    "a.png": "1. y"\n}')
    refused(["--project", "p", "--basic-questions", str(q), "--basic-ground-truth", str(gt)],
            f"{gt}, line 3: duplicate image path 'a.png' (first on line 2)")


def test_duplicate_question_in_complex(tmp_path):
    c = write(tmp_path, "c.jsonl", '{"a.png": {"Why?": "1. x"}}\n{"a.png": {"Why?": "1. y"}}')
    refused(["--project", "p", "--complex", str(c)], "line 2: duplicate question for 'a.png' (first on line 1)")


def test_ground_truth_without_question(tmp_path):
    q = write(tmp_path, "user.jsonl", '{"a.png": "Why?"}\n')
    gt = write(tmp_path, "gt.json", '{\n    "a.png": "1. x",\n    "zzz.png": "1. y"\n}')
    refused(["--project", "p", "--basic-questions", str(q), "--basic-ground-truth", str(gt)],
            "line 3: 'zzz.png' has ground truth but no question")


def test_ground_truth_needs_questions(tmp_path):
    refused(["--project", "p", "--basic-ground-truth", str(SAMPLE / "basic_ground_truth.json")],
            "ground truth needs its questions")


def test_truncated_ground_truth(tmp_path):
    q = write(tmp_path, "user.jsonl", '{"a.png": "Why?"}\n{"b.png": "Why?"}\n')
    gt = write(tmp_path, "gt.json", '{\n    "a.png": "1. x",\n    "b.png": "1. y')
    refused(["--project", "p", "--basic-questions", str(q), "--basic-ground-truth", str(gt)], "line 3: malformed JSON")


@pytest.mark.parametrize("key, why", [
    ("../outside.png", "escapes the images root"),
    ("/etc/hostname", "is absolute"),
])
def test_path_escaping_the_images_root(tmp_path, key, why):
    f = write(tmp_path, "user.jsonl", '{"ok.png": "Why?"}\n' + json.dumps({key: "Why?"}) + "\n")
    refused(["--project", "p", "--basic-questions", str(f), "--images-root", str(tmp_path)], f"line 2: image path '{key}' {why}")


def test_symlink_escaping_the_images_root(tmp_path):
    root = tmp_path / "images"
    root.mkdir()
    make_image(tmp_path / "secret.png")
    os.symlink(tmp_path / "secret.png", root / "link.png")
    f = write(tmp_path, "user.jsonl", '{"link.png": "Why?"}\n')
    refused(["--project", "p", "--basic-questions", str(f), "--images-root", str(root)],
            "line 1: link.png: image path 'link.png' escapes the images root")


def test_file_that_is_not_an_image(tmp_path):
    root = tmp_path / "images"
    write(root.mkdir() or root, "fake.png", "this is text, not a PNG")
    f = write(tmp_path, "user.jsonl", '{"fake.png": "Why?"}\n')
    refused(["--project", "p", "--basic-questions", str(f), "--images-root", str(root)],
            "line 1: fake.png: not an image file")


def test_truncated_image(tmp_path):
    root = tmp_path / "images"
    good = make_image(root / "full.jpg", size=(64, 64), fmt="JPEG").read_bytes()
    write(root, "cut.jpg", good[: len(good) // 2])
    f = write(tmp_path, "user.jsonl", '{"cut.jpg": "Why?"}\n')
    refused(["--project", "p", "--basic-questions", str(f), "--images-root", str(root)],
            "line 1: cut.jpg: corrupt or truncated image")


def test_decompression_bomb(tmp_path, settings):
    settings.EISTUDIO_MAX_IMAGE_PIXELS = 1000
    root = tmp_path / "images"
    make_image(root / "big.png", size=(100, 100))
    f = write(tmp_path, "user.jsonl", '{"big.png": "Why?"}\n')
    refused(["--project", "p", "--basic-questions", str(f), "--images-root", str(root)],
            "line 1: big.png: refused as a possible decompression bomb (over the limit of 1,000 pixels)")


def test_wrong_encoding(tmp_path):
    f = write(tmp_path, "user.jsonl", '{"a.png": "Pourquoi a-t-il l\'air fâché ?"}\n'.encode("latin-1"))
    refused(["--project", "p", "--basic-questions", str(f)], "line 1: not UTF-8: byte 0xe2")


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="--basic-questions: no such file"):
        run_import("--project", "p", "--basic-questions", str(tmp_path / "nope.jsonl"))
    assert counts() == EMPTY


def test_a_failure_while_writing_rolls_everything_back(tmp_path, monkeypatch):
    from annotator.actions import imports

    sent = []

    class FailingWriter(imports.BulkWriter):
        def send(self):  # where a batch of rows goes to the database
            if sent and self.tables[Trigger][1]:
                raise RuntimeError("disk full")
            sent.append(self.pending)
            super().send()

    monkeypatch.setattr(imports, "BulkWriter", lambda: FailingWriter(batch_rows=10))
    with pytest.raises(RuntimeError, match="disk full"):
        import_sample()
    assert sent  # rows were written before the failure
    assert counts() == EMPTY


def test_rows_go_to_the_database_while_the_files_are_read(monkeypatch):
    """Batches of about the batch size all along each file, ground truth included, and the streamed table's
    rows (see BulkWriter.streaming) a few at a time: never the whole import at the end (memory would grow with
    the files, and the server would wait for Python, then Python for it)."""
    from annotator import bulk
    from annotator.actions import imports

    batches, streamed = [], []

    class CountingWriter(imports.BulkWriter):
        def send(self):
            batches.append(self.pending)
            super().send()

        def _write_stream(self, rows):
            if rows:
                streamed.append(len(rows))
            super()._write_stream(rows)

    monkeypatch.setattr(imports, "BulkWriter", lambda: CountingWriter(batch_rows=10))
    monkeypatch.setattr(bulk, "STREAM_ROWS", 4)
    import_sample()
    rows = Image.objects.count() + Sample.objects.count() + Trigger.objects.count()
    assert sum(batches) + sum(streamed) == rows and len(batches) + len(streamed) >= rows // 20
    assert max(batches) < 10 + 10  # a batch ends after the sample (or trigger list) that fills it
    if connection.vendor == "postgresql":
        assert streamed and max(streamed) < 4 + 10  # written after the sample or trigger list that reaches 4


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                    reason="SQLite checks foreign keys at COMMIT, which a test's transaction never reaches")
def test_rows_the_database_refuses_roll_everything_back(monkeypatch):
    """A row the database refuses (here a trigger of a sample that does not exist) stops the import with the
    database's error, whichever way the foreign keys are checked, and nothing is kept."""
    from annotator.actions import imports

    real = imports._Writer.trigger_list

    def broken(self, sample_id, value):
        real(self, sample_id and sample_id + 10**9, value)

    monkeypatch.setattr(imports._Writer, "trigger_list", broken)
    with pytest.raises(IntegrityError, match="sample_id"):
        import_sample()
    assert counts() == EMPTY


def test_export_only_what_the_project_has(tmp_path):
    run_import("--project", "p", "--complex", str(SAMPLE / "ec_complex.jsonl"))
    out = tmp_path / "out"
    call_command("export_eibench", "--project", "p", "--out", str(out), verbosity=0)
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == ["EI_Complex/ec_complex.jsonl"]


def test_export_unknown_project():
    with pytest.raises(CommandError, match="no project named 'nope'"):
        call_command("export_eibench", "--project", "nope", "--out", "/tmp/x")


def test_full_layout_directory_round_trip(tmp_path):
    """Import from an EI_Basic/EI_Complex tree and export to another: the trees are identical."""
    src = tmp_path / "src"
    (src / "EI_Basic").mkdir(parents=True)
    (src / "EI_Complex").mkdir()
    for name in ("user.jsonl", "basic_ground_truth.json"):
        shutil.copy(SAMPLE / name, src / "EI_Basic" / name)
    shutil.copy(SAMPLE / "ec_complex.jsonl", src / "EI_Complex" / "ec_complex.jsonl")
    run_import("--project", "p", "--basic-questions", str(src / "EI_Basic/user.jsonl"),
               "--basic-ground-truth", str(src / "EI_Basic/basic_ground_truth.json"),
               "--complex", str(src / "EI_Complex/ec_complex.jsonl"))
    out = tmp_path / "out"
    call_command("export_eibench", "--project", "p", "--out", str(out), verbosity=0)
    for f in src.rglob("*.json*"):
        assert (out / f.relative_to(src)).read_bytes() == f.read_bytes()
