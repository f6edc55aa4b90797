"""Imports started from the web run on a real Celery worker process, over the configured broker: Redis when
REDIS_URL is set (CI), else kombu's filesystem transport (the embedded default of `make demo`)."""
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotator.actions import get_or_create_project, start_import_job
from annotator.models import ImportJob, Sample
from tests.conftest import SAMPLE

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


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
