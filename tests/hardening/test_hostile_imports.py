"""Hostile input: every case of the corpus through every import path it has — EIBench files (CLI, web form, API),
manifests (CLI, web form), a rater's ratings file (CLI) — is refused with file, line and problem, and leaves every
table of the database as it was (the web and API paths add only their import job and its ``import.queued`` event)."""
import os
from pathlib import Path

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from annotator.models import Event, ImportJob, Project
from tests.conftest import join
from tests.hardening import corpus

pytestmark = pytest.mark.django_db

EIBENCH, MANIFEST, RATINGS = corpus.eibench_cases(), corpus.manifest_cases(), corpus.ratings_cases()

# Bugs of review/actions.py parse_rater_file (reported; not ours to edit): strict, so each mark must go once fixed.
# (The three reported were fixed in review: nested JSON, NUL through an escape, lone surrogates.)
REVIEW_BUGS: dict[str, str] = {}


def _params(cases):
    return [pytest.param(c, id=f"{c.kind}: {c.name}",
                         marks=[pytest.mark.xfail(strict=True, reason=REVIEW_BUGS[c.name])]
                         if c.kind == "ratings" and c.name in REVIEW_BUGS else [])
            for c in cases]


def table_counts() -> dict[str, int]:
    return {m._meta.label: m._default_manager.count() for m in apps.get_models()
            if m._meta.app_label not in ("sessions", "authtoken")}


@pytest.fixture
def project(lead, tmp_path):
    """A project that already holds two samples (with their images), so an import into it has something to spoil."""
    root = tmp_path / "base"
    for name in ("Happy/0000.png", "Happy/0001.png"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(corpus.png())
    questions = tmp_path / "base.jsonl"
    questions.write_text(corpus.GOOD + "\n" + corpus.GOOD2 + "\n")
    call_command("import_eibench", "--project", "P", "--basic-questions", str(questions), "--images-root", str(root),
                 verbosity=0)
    return join(Project.objects.get(name="P"), lead)


def lay_out(case, folder: Path) -> tuple[dict[str, Path], Path | None]:
    """The case's files in ``folder`` and its images under ``folder/images`` (None when it has none)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for role, (name, data) in case.files.items():
        files[role] = folder / name
        files[role].write_bytes(data)
    if not case.images and case.kind != "manifest":
        return files, None
    root = folder / "images"
    root.mkdir()
    for rel, data in case.images.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if data == "dir":
            target.mkdir()
        elif isinstance(data, str) and data.startswith("symlink:"):
            os.symlink(data.removeprefix("symlink:"), target)
        else:
            target.write_bytes(data)
    return files, root


def assert_reports(message: str, case):
    lines = message.splitlines()
    for name, line, words in case.expect:
        where = f"{name}, line {line}:" if line else f"{name}:"
        hits = [x for x in lines if where in x]
        assert hits, f"no problem reported for {where!r} in:\n{message[:2000]}"
        assert any(words.lower() in x.lower() for x in hits), f"{words!r} not said about {where}:\n{hits[:5]}"
        assert all(len(x) < 2000 for x in hits), "a problem line should not echo a whole oversized line"


def _settings(settings, case):
    for key, value in case.settings.items():
        setattr(settings, key, value)


def _cli(case, files, root):
    if case.kind == "eibench":
        args = [f"--{opt}={files[role]}" for role, opt in (("questions", "basic-questions"),
                                                           ("ground_truth", "basic-ground-truth"),
                                                           ("complex", "complex")) if role in files]
        if root:
            args.append(f"--images-root={root}")
        call_command("import_eibench", "--project", "P", *args, verbosity=0)
    elif case.kind == "manifest":
        call_command("import_images", "--project", "P", f"--images-root={root}", f"--manifest={files['manifest']}",
                     verbosity=0)
    else:
        call_command("import_ratings", "--project", "P", "--rater", "r1", str(files["ratings"]), verbosity=0)


@pytest.mark.parametrize("case", _params(EIBENCH + MANIFEST + RATINGS))
def test_command_line(case, project, tmp_path, settings):
    _settings(settings, case)
    files, root = lay_out(case, tmp_path / "case")
    before = table_counts()
    with pytest.raises(CommandError) as refused:
        _cli(case, files, root)
    assert "nothing was imported" in str(refused.value) or case.kind == "ratings"
    assert_reports(str(refused.value), case)
    assert table_counts() == before


def _web_upload(case, files):
    role_field = {"questions": "questions", "ground_truth": "ground_truth", "complex": "complex",
                  "manifest": "manifest"}
    return {role_field[role]: SimpleUploadedFile(case.files[role][0], path.read_bytes())
            for role, path in files.items()}


@pytest.mark.parametrize("via", ["web", "api"])
@pytest.mark.parametrize("case", _params(EIBENCH + MANIFEST))
def test_web_form_and_api(case, via, project, lead, tmp_path, settings, client, eager_celery,
                          django_capture_on_commit_callbacks):
    _settings(settings, case)
    files, root = lay_out(case, tmp_path / "incoming" / "case")  # under EISTUDIO_IMPORT_ROOTS
    data = {"format": case.kind, **_web_upload(case, files)}
    if root:
        data["images_root"] = str(root)
    client.force_login(lead)
    api = APIClient()
    api.force_authenticate(lead)
    before = table_counts()
    with django_capture_on_commit_callbacks(execute=True):
        if via == "web":
            response = client.post(f"/projects/{project.pk}/import/", data)
        else:
            response = api.post(f"/api/projects/{project.pk}/imports/", data, format="multipart")
    assert response.status_code in (200, 202, 400, 422), response.content[:500]
    after = table_counts()
    if response.status_code in (400, 422):  # refused by the form itself (e.g. the file type): no job at all
        assert after == before
        assert case.expect[0][2].split()[0].lower() in response.content.decode().lower()
        return
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.FAILED
    report = "\n".join(f"{e['file']}, line {e['line']}: {e['message']}" if e["line"] else f"{e['file']}: {e['message']}"
                       for e in job.errors)
    assert_reports(report, case)
    assert "internal error" not in report
    before[ImportJob._meta.label] += 1
    before[Event._meta.label] += 1  # import.queued
    assert after == before
    assert Event.objects.filter(action="import.queued").count() == 1
