"""Commands: import_ratings (good and bad files), agreement_report --json (the dashboard's figures),
benchmark_version freeze / list / export (identical twice and after later edits)."""
import json

import pytest
from django.core.management import CommandError, call_command

from annotator.models import Sample, Trigger
from review import dashboard
from review.models import BenchmarkVersion, Rating
from tests.review.conftest import rate_all

pytestmark = pytest.mark.django_db

RATERS = {
    "rater_1.jsonl": ['{"Happy/0015.png": "4"}', '{"Happy/0016.png": "5"}', '{"Sad/0005.png": "2"}',
                      '{"Angry/0000.png": "4"}'],
    "rater_2.jsonl": ['{"Happy/0015.png": "5"}', '{"Happy/0016.png": "5"}', '{"Sad/0005.png": "1"}',
                      '{"Angry/0000.png": "3"}'],
    "rater_3.jsonl": ['{"Happy/0015.png": "4"}', '{"Happy/0016.png": "4"}', '{"Sad/0005.png": "3"}'],
}


def _files(tmp_path):
    paths = {}
    for name, lines in RATERS.items():
        paths[name] = tmp_path / name
        paths[name].write_text("\n".join(lines) + "\n", encoding="utf-8")
    return paths


def test_import_ratings_then_report_json(project, tmp_path, capsys):
    for name, path in _files(tmp_path).items():
        call_command("import_ratings", "--project", project.name, "--rater", name.split(".")[0], str(path))
        assert f"imported {len(RATERS[name])} ratings" in capsys.readouterr().out
    assert Rating.objects.count() == 11
    call_command("agreement_report", "--project", project.name, "--json")
    report = json.loads(capsys.readouterr().out)
    cats = {r["emotion"]: r for r in report["categories"]}
    assert cats["happy"]["n"] == 6 and cats["happy"]["mean"] == pytest.approx(27 / 6)
    assert cats["sad"]["min"] == 1 and cats["sad"]["max"] == 3 and cats["sad"]["share_below"] == pytest.approx(2 / 3)
    assert cats["all"]["n"] == 11
    a = report["agreement"]
    assert a["alpha_ordinal"]["items"] == 4 and a["fleiss_kappa"]["items"] == 3  # 3 images rated by all three
    assert a["icc"]["design"] == "two-way" and a["icc"]["items"] == 3
    import krippendorff
    import numpy as np

    matrix = np.array([[4, 5, 2, 4], [5, 5, 1, 3], [4, 4, 3, np.nan]], dtype=float)
    assert a["alpha_interval"]["value"] == pytest.approx(
        krippendorff.alpha(reliability_data=matrix, level_of_measurement="interval"), abs=1e-6)
    assert a["alpha_ordinal"]["value"] == pytest.approx(
        krippendorff.alpha(reliability_data=matrix, level_of_measurement="ordinal"), abs=1e-6)
    # the same figures as the dashboard
    assert report == json.loads(json.dumps(dashboard.report(dashboard.figures(project))))
    call_command("agreement_report", "--project", project.name)
    text = capsys.readouterr().out
    assert "Krippendorff's alpha ordinal" in text and "happy" in text


@pytest.mark.parametrize("content, message", [
    (b'{"Happy/0015.png": "4"}\n{"Happy/0016.png": "seven"}\n', "rater_x.jsonl, line 2: rating 'seven' is not a whole"),
    (b'{"Happy/0015.png": "4"}\n{"Happy/0015.png": "4"}\n', "rater_x.jsonl, line 2: duplicate image path"),
    (b'{"Happy/0015.png": "4"\n', "rater_x.jsonl, line 1: malformed JSON"),
    (b'{"Happy/0015.png": "4"}\n{"Elsewhere/1.png": "4"}\n', "rater_x.jsonl, line 2: image 'Elsewhere/1.png' is not"),
    (b'{"Happy/0015.png": "\xe9"}\n', "rater_x.jsonl, line 1: not UTF-8: byte 0xe9"),
])
def test_import_ratings_bad_lines(project, tmp_path, content, message):
    path = tmp_path / "rater_x.jsonl"
    path.write_bytes(content)
    with pytest.raises(CommandError) as exc:
        call_command("import_ratings", "--project", project.name, "--rater", "x", str(path))
    assert str(exc.value).startswith("ratings refused, nothing was imported:\n")
    assert message in str(exc.value)
    assert not Rating.objects.exists()


def test_import_ratings_bad_arguments(project, tmp_path):
    with pytest.raises(CommandError, match="no project named 'Nope'"):
        call_command("import_ratings", "--project", "Nope", "--rater", "x", str(tmp_path / "f"))
    with pytest.raises(CommandError, match="cannot read"):
        call_command("import_ratings", "--project", project.name, "--rater", "x", str(tmp_path / "missing.jsonl"))
    with pytest.raises(CommandError, match="no project named"):
        call_command("agreement_report", "--project", "Nope", "--json")


def test_report_of_reviews_made_here(project, lead, reviewers, capsys):
    from review import actions
    from review.models import QualitySample

    draw = actions.do_draw_quality_sample(project.pk, actor=lead, per_emotion=2, seed=3)
    for i, qs in enumerate(QualitySample.objects.filter(draw=draw).order_by("id")):
        rate_all(qs, reviewers, [3 + i % 3, 4, 5 - i % 2])
    call_command("agreement_report", "--project", project.name, "--json", "--source", "review")
    report = json.loads(capsys.readouterr().out)
    assert report["scope"]["source"] == "review" and report["agreement"]["ratings"] == 24
    assert report["agreement"]["icc"]["items"] == 8


def test_benchmark_version_freeze_list_export(project, lead, tmp_path, capsys):
    with pytest.raises(CommandError, match="no final samples"):
        call_command("benchmark_version", "freeze", "--project", project.name)
    Sample.objects.filter(project=project, emotion__in=["happy", "sad"]).update(state="final")
    call_command("benchmark_version", "freeze", "--project", project.name, "--note", "first", "--by", "lead1")
    out = capsys.readouterr().out
    v = BenchmarkVersion.objects.get(project=project)
    assert f"froze {project.name} v1: 10 samples, sha256 {v.checksum}" in out and v.created_by == lead
    call_command("benchmark_version", "export", "--project", project.name, "--version", "1", "--out",
                 str(tmp_path / "a"), "--zip", str(tmp_path / "a.zip"))
    first = {p.relative_to(tmp_path / "a"): p.read_bytes() for p in (tmp_path / "a").rglob("*") if p.is_file()}
    assert set(map(str, first)) == {"EI_Basic/user.jsonl", "EI_Basic/basic_ground_truth.json"}

    # later edits to the project change nothing in version 1
    Trigger.objects.filter(sample__project=project).update(text="rewritten")
    Sample.objects.filter(project=project).update(state="final")
    call_command("benchmark_version", "export", "--project", project.name, "--version", "1", "--out",
                 str(tmp_path / "b"), "--zip", str(tmp_path / "b.zip"))
    second = {p.relative_to(tmp_path / "b"): p.read_bytes() for p in (tmp_path / "b").rglob("*") if p.is_file()}
    assert first == second and (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    import hashlib

    for name, data in first.items():
        assert hashlib.sha256(data).hexdigest() == v.files[str(name)]["sha256"]

    call_command("benchmark_version", "freeze", "--project", project.name)
    capsys.readouterr()
    call_command("benchmark_version", "list", "--project", project.name)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["v1", "v2"]
    v2 = BenchmarkVersion.objects.get(project=project, number=2)
    assert (v2.changelog["added"], v2.changelog["changed"], v2.changelog["unchanged"]) == (10, 10, 0)
    with pytest.raises(CommandError, match="has no version 9"):
        call_command("benchmark_version", "export", "--project", project.name, "--version", "9", "--out", "x")
    with pytest.raises(CommandError, match="give --out"):
        call_command("benchmark_version", "export", "--project", project.name, "--version", "1")
    with pytest.raises(CommandError, match="no user named"):
        call_command("benchmark_version", "freeze", "--project", project.name, "--by", "ghost")


def test_a_tampered_version_is_refused(project, tmp_path):
    from review.models import VersionEntry

    Sample.objects.filter(project=project, emotion="happy").update(state="final")
    call_command("benchmark_version", "freeze", "--project", project.name)
    # entries are never edited by the app; if the database were, the export says so instead of serving it
    VersionEntry.objects.filter(version__project=project).update(triggers="tampered")
    with pytest.raises(CommandError, match="does not match its frozen sha256"):
        call_command("benchmark_version", "export", "--project", project.name, "--version", "1", "--out",
                     str(tmp_path / "x"))
