"""Data safety: a backup restores into a fresh database with identical EIBench and provenance exports (SQLite
everywhere; PostgreSQL against the machine's server when DATABASE_URL names one), annotation data has no cascading
delete and no reachable ``.delete()``, and the admin deletes none of it."""
import ast
import hashlib
import os
import subprocess
import sys
import uuid
from pathlib import Path

import environ
import pytest
from django.apps import apps
from django.contrib import admin
from django.db import models
from django.test import RequestFactory

from tests.conftest import SAMPLE, make_image

ROOT = Path(__file__).resolve().parents[2]
PRODUCT_APPS = ("annotator", "pipeline", "review")
# Tables that are access control, not annotation data: their rows may be deleted (with an Event).
NOT_ANNOTATION_DATA = {"annotator.ProjectMember", "annotator.ProjectAnnotator"}


# ---------------------------------------------------------------------------------------------- backups
def _manage(env, *args, check=True):
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    if check and result.returncode:
        raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def _env(tmp: Path, database_url: str, name: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE",)}
    env.update(DATABASE_URL=database_url, MEDIA_ROOT=str(tmp / name / "media"), EISTUDIO_VAR_DIR=str(tmp / name),
               REDIS_URL="", CELERY_TASK_ALWAYS_EAGER="true")
    return env


def _exports(env, out: Path) -> dict[str, bytes]:
    for project in ("Demo: people photographs", "bench"):
        target = out / project.split(":")[0]
        _manage(env, "export_eibench", "--project", project, "--out", str(target))
        _manage(env, "export_eibench", "--project", project, "--out", str(target), "--format", "provenance")
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def _media(env) -> dict[str, str]:
    root = Path(env["MEDIA_ROOT"])
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _round_trip(tmp: Path, source_url: str, target_url: str):
    src, dst = _env(tmp, source_url, "src"), _env(tmp, target_url, "dst")
    _manage(src, "migrate", "--noinput")
    _manage(src, "demo_setup")  # users, memberships, a project with images, ground truth and events
    images = tmp / "images"
    make_image(images / "CAER-S/train/Angry/0354.png")
    _manage(src, "import_eibench", "--project", "bench", "--basic-questions", str(SAMPLE / "user.jsonl"),
            "--basic-ground-truth", str(SAMPLE / "basic_ground_truth.json"), "--complex",
            str(SAMPLE / "ec_complex.jsonl"), "--images-root", str(images))
    before = _exports(src, tmp / "exports-before")
    assert any(k.endswith("provenance.jsonl") for k in before) and any(k.endswith("user.jsonl") for k in before)
    _manage(src, "backup", str(tmp / "backup"))
    _manage(dst, "restore", str(tmp / "backup"))
    after = _exports(dst, tmp / "exports-after")
    assert after == before, "the restored database exports differently"
    assert _media(dst) == _media(src) and _media(src)
    again = _manage(dst, "restore", str(tmp / "backup"), check=False)  # never over live data
    assert again.returncode != 0 and "not empty" in again.stderr


def test_sqlite_backup_restores_into_a_fresh_database_with_identical_exports(tmp_path):
    _round_trip(tmp_path, f"sqlite:///{tmp_path / 'src.sqlite3'}", f"sqlite:///{tmp_path / 'dst.sqlite3'}")


def _postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


@pytest.mark.skipif(_postgres_url() is None, reason="needs PostgreSQL (DATABASE_URL); CI sets it")
def test_postgresql_dump_restores_into_a_fresh_database_with_identical_exports(tmp_path):
    import psycopg

    base = environ.Env.db_url_config(_postgres_url())
    suffix = uuid.uuid4().hex[:8]
    names = [f"{base['NAME']}_bk_src_{suffix}", f"{base['NAME']}_bk_dst_{suffix}"]
    conninfo = {"host": base.get("HOST"), "port": base.get("PORT"), "user": base.get("USER"),
                "password": base.get("PASSWORD"), "dbname": "postgres"}
    conninfo = {k: v for k, v in conninfo.items() if v}
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        for name in names:
            conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = _postgres_url().rsplit("/", 1)[0]
        _round_trip(tmp_path, f"{url}/{names[0]}", f"{url}/{names[1]}")
    finally:
        with psycopg.connect(**conninfo, autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ------------------------------------------------------------------------------------------ no hard deletes
def _annotation_models():
    return [m for m in apps.get_models() if m._meta.app_label in PRODUCT_APPS
            and m._meta.label not in NOT_ANNOTATION_DATA]


def test_no_annotation_data_is_deleted_by_a_cascade():
    """Every foreign key of annotation data protects what it points at: deleting a user, project, sample or
    trigger can never take annotation rows with it."""
    cascades = [f"{m._meta.label}.{f.name} -> {f.related_model._meta.label}"
                for m in _annotation_models() for f in m._meta.get_fields()
                if isinstance(f, models.ForeignKey) and f.remote_field.on_delete is models.CASCADE]
    assert cascades == []
    assert len(_annotation_models()) >= 15  # the scan sees the apps' models (annotator, pipeline, review)


# Every .delete() in the product code, by file and function, with why it is not annotation data.
ALLOWED_DELETES = {
    ("annotator/actions/members.py", "do_remove_member"): "membership (access control); the Event records it",
    ("annotator/actions/workspace.py", "do_assign_project"): "the project's annotator pool (ProjectAnnotator)",
}


def _delete_calls():
    for app in PRODUCT_APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text())
            for func in ast.walk(tree):
                if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                for node in ast.walk(func):
                    call = isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    if call and node.func.attr in ("delete", "_raw_delete", "bulk_delete"):
                        yield str(path.relative_to(ROOT)), func.name, node.lineno
                    if isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                            "DELETE FROM" in node.value.upper():
                        yield str(path.relative_to(ROOT)), func.name, node.lineno


def test_no_delete_call_outside_the_allowed_few():
    """A new ``.delete()`` (or raw DELETE) anywhere in annotator, pipeline or review fails here until it is shown
    not to touch annotation data."""
    found = {(path, func): line for path, func, line in _delete_calls()}
    unexpected = {k: v for k, v in found.items() if k not in ALLOWED_DELETES}
    assert unexpected == {}, "\n".join(f"{p}:{line} in {f}()" for (p, f), line in unexpected.items())
    assert set(ALLOWED_DELETES) - set(found) == set(), "ALLOWED_DELETES names a call that is gone: drop it"


@pytest.mark.django_db
def test_annotation_rows_refuse_deletion():
    from annotator.models import Event, Project

    project = Project.objects.create(name="x")
    event = Event.objects.create(project=project, action="t")
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        Event.objects.filter(pk=event.pk).delete()
    with pytest.raises(models.ProtectedError):
        project.delete()


@pytest.mark.django_db
def test_the_admin_deletes_no_annotation_data(django_user_model, client):
    root = django_user_model.objects.create_superuser("root", password="pw")
    request = RequestFactory().get("/admin/")
    request.user = root
    registered = {m._meta.label: a for m, a in admin.site._registry.items()}
    for label in ("annotator.Project", "annotator.Image", "annotator.Sample", "annotator.Trigger", "annotator.Event",
                  "annotator.ImportJob", "review.Rating", "review.QualitySample", "review.BenchmarkVersion",
                  "pipeline.PipelineRun", "pipeline.StageTrace"):
        model_admin = registered.get(label)
        if model_admin is None:
            continue  # not in the admin at all: nothing to delete there either
        assert not model_admin.has_delete_permission(request), label
        assert "delete_selected" not in model_admin.get_actions(request), label
    # and through the pages: the delete view of a sample is refused
    from annotator.models import Image, Project, Sample

    project = Project.objects.create(name="p")
    sample = Sample.objects.create(project=project, image=Image.objects.create(project=project, dataset_key="a.png"),
                                   kind="basic", question="q", ordinal=0)
    client.force_login(root)
    assert client.get(f"/admin/annotator/sample/{sample.pk}/delete/").status_code == 403
    assert client.post(f"/admin/annotator/sample/{sample.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Sample.objects.filter(pk=sample.pk).exists()
