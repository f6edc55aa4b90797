"""import_images: manifests (CSV or JSONL) of new images, and their bad input."""
import pytest
from django.core.management import CommandError, call_command

from annotator.models import Image, Project, Sample
from tests.conftest import make_image
from tests.test_import_eibench import EMPTY, counts

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "images"
    make_image(r / "a.png", color=(1, 2, 3))
    make_image(r / "b.jpg", color=(4, 5, 6), fmt="JPEG")
    make_image(r / "sub/c.png", color=(7, 8, 9))
    return r


def run(root, manifest, project="new"):
    call_command("import_images", "--project", project, "--images-root", str(root), "--manifest", str(manifest),
                 verbosity=0)


def test_csv_manifest(tmp_path, root):
    m = tmp_path / "m.csv"
    m.write_text("path,emotion,question\na.png,happy,Why is she smiling?\nb.jpg,sad,\n")
    run(root, m)
    project = Project.objects.get(name="new")
    a = Sample.objects.get(image__dataset_key="a.png")
    b = Sample.objects.get(image__dataset_key="b.jpg")
    assert (a.kind, a.emotion, a.question, a.state) == ("basic", "happy", "Why is she smiling?", "imported")
    assert b.question == project.default_question_for("sad")
    assert Image.objects.exclude(file="").count() == 2


def test_jsonl_manifest_with_several_rows_per_image_makes_complex_samples(tmp_path, root):
    m = tmp_path / "m.jsonl"
    m.write_text('{"path": "sub/c.png", "emotion": "happy"}\n{"path": "sub/c.png", "emotion": "angry", '
                 '"question": "Why is he angry?"}\n{"path": "a.png", "emotion": "excited"}\n')
    run(root, m)
    assert list(Sample.objects.filter(image__dataset_key="sub/c.png").values_list("kind", "emotion")
                .order_by("ordinal")) == [("complex", "happy"), ("complex", "angry")]
    assert Sample.objects.get(image__dataset_key="a.png").kind == "basic"
    assert Image.objects.count() == 2


def refused(root, tmp_path, name, content, *expected):
    m = tmp_path / name
    m.write_bytes(content) if isinstance(content, bytes) else m.write_text(content)
    with pytest.raises(CommandError) as info:
        run(root, m)
    for text in expected:
        assert text in str(info.value), str(info.value)
    assert counts() == EMPTY


def test_unknown_field_csv(tmp_path, root):
    refused(root, tmp_path, "m.csv", "path,emotion,colour\na.png,happy,red\n", "m.csv, line 1: unknown field 'colour'")


def test_unknown_field_jsonl(tmp_path, root):
    refused(root, tmp_path, "m.jsonl", '{"path": "a.png", "emotion": "happy", "mood": 1}\n',
            "m.jsonl, line 1: unknown field 'mood'")


def test_duplicate_json_key(tmp_path, root):
    refused(root, tmp_path, "m.jsonl", '{"path": "a.png", "path": "b.jpg", "emotion": "happy"}\n',
            "line 1: duplicate key 'path'")


def test_duplicate_row(tmp_path, root):
    refused(root, tmp_path, "m.csv", "path,emotion\na.png,happy\nb.jpg,sad\na.png,happy\n", "line 4: duplicate of line 2")


def test_missing_image_file(tmp_path, root):
    refused(root, tmp_path, "m.csv", "path,emotion\nnope.png,happy\n", "line 2: no image file 'nope.png'")


def test_not_an_image(tmp_path, root):
    (root / "notes.png").write_text("hello")
    refused(root, tmp_path, "m.csv", "path,emotion\nnotes.png,happy\n", "line 2: notes.png: not an image file")


def test_path_traversal(tmp_path, root):
    refused(root, tmp_path, "m.csv", "path,emotion\n../a.png,happy\n", "line 2: image path '../a.png' escapes")


def test_unknown_emotion(tmp_path, root):
    refused(root, tmp_path, "m.csv", "path,emotion\na.png,bored\n", "line 2: unknown emotion 'bored'")


def test_wrong_column_count_and_malformed_line(tmp_path, root):
    refused(root, tmp_path, "m.csv", "path,emotion\na.png,happy,extra\n", "line 2: expected 2 columns, found 3")
    refused(root, tmp_path, "m.jsonl", '{"path": "a.png", "emotion": "happy"\n', "line 1: malformed JSON")


def test_wrong_encoding_csv(tmp_path, root):
    refused(root, tmp_path, "m.csv", "path,emotion,question\na.png,happy,Pourquoi fâché?\n".encode("latin-1"),
            "m.csv, line 2: not UTF-8: byte 0xe2")


def test_wrong_manifest_type(tmp_path, root):
    refused(root, tmp_path, "m.txt", "whatever", "a manifest must be a .csv or .jsonl file")


def test_empty_manifest(tmp_path, root):
    refused(root, tmp_path, "m.csv", "path,emotion\n", "the manifest has no rows")
