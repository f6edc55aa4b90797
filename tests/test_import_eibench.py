"""EIBench import and export through the management commands: byte-identical round trips, images, and every
kind of bad input refused with file, line and problem, leaving the database as it was."""
import json
import os
import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

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
    # every sample's history starts with where it came from
    ev = Event.objects.get(sample=s, action="sample.imported")
    assert ev.after["file"].endswith("user.jsonl") and ev.after["line"] >= 1
    assert Event.objects.filter(action="project.imported").count() == 1
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


def test_a_failure_in_the_write_phase_rolls_everything_back(tmp_path, monkeypatch):
    from annotator.actions import imports

    calls = {"n": 0}
    real = imports.insert_rows

    def failing(model, columns, rows):
        calls["n"] += 1
        if model is Trigger:
            raise RuntimeError("disk full")
        return real(model, columns, rows)

    monkeypatch.setattr(imports, "insert_rows", failing)
    with pytest.raises(RuntimeError):
        import_sample()
    assert calls["n"] >= 2
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
