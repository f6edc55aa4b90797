"""Imports started from the web run on a real Celery worker process, over the configured broker: Redis when
REDIS_URL is set (CI), else kombu's filesystem transport (the embedded default of `make demo`)."""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from annotator.actions import get_or_create_project, start_import_job
from annotator.models import ImportJob, Sample
from tests.conftest import SAMPLE

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def worker(tmp_path):
    env = {**os.environ, "DATABASE_URL": database_url(), "MEDIA_ROOT": settings.MEDIA_ROOT,
           "DJANGO_SETTINGS_MODULE": "config.settings"}
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "--loglevel", "INFO",
         "-Q", "celery", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def wait_for(job: ImportJob, timeout=90) -> ImportJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED):
            return job
        time.sleep(0.2)
    raise AssertionError(f"import job still {job.status} after {timeout}s")


def upload(path: Path, name: str):
    return SimpleUploadedFile(name, path.read_bytes())


def test_imports_run_on_a_worker_with_progress_and_errors(worker, lead, tmp_path):
    project = get_or_create_project("worker-test", actor=lead)
    job = start_import_job(project=project, actor=lead, format=ImportJob.Format.EIBENCH, files={
        "questions": upload(SAMPLE / "user.jsonl", "user.jsonl"),
        "ground_truth": upload(SAMPLE / "basic_ground_truth.json", "basic_ground_truth.json"),
        "complex": upload(SAMPLE / "ec_complex.jsonl", "ec_complex.jsonl"),
    })
    job = wait_for(job)
    log = (tmp_path / "worker.log").read_text()
    assert job.status == ImportJob.Status.DONE, (job.errors, log[-3000:])
    assert (job.done, job.total, job.percent) == (24, 24, 100)
    assert Sample.objects.filter(project=project, state="final").count() == 24
    assert not any(Path(f["path"]).exists() for f in job.files.values())  # uploads cleaned up

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"x.png": "q"}\n{"x.png": "q again"}\n')
    job = wait_for(start_import_job(project=project, actor=lead, format=ImportJob.Format.EIBENCH,
                                    files={"questions": upload(bad, "bad.jsonl")}))
    assert job.status == ImportJob.Status.FAILED
    assert job.errors == [{"file": "bad.jsonl", "line": 2,
                           "message": "duplicate image path 'x.png' (first on line 1)"}]
    assert Sample.objects.filter(project=project).count() == 24
