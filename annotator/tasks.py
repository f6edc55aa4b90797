"""Celery tasks of the annotator app: imports started from the web or the API run here, with progress."""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from .actions.imports import ImportRefused, Source, import_eibench, import_manifest
from .models import ImportJob, Project

log = logging.getLogger(__name__)


def _progress(job_id: int):
    def report(done: int, total: int):
        ImportJob.objects.filter(pk=job_id).update(done=done, total=total)

    return report


@shared_task(acks_late=True)
def run_import_job(job_id: int) -> str:
    """Run a queued import. Safe to run again after a worker died: the import is one transaction."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED):
            return "nothing to do"
        job.status = ImportJob.Status.RUNNING
        job.save(update_fields=["status"])
    project: Project = job.project
    files = {role: Source(Path(f["path"]), f["name"]) for role, f in job.files.items()}
    images_root = Path(job.images_root) if job.images_root else None
    try:
        if job.format == ImportJob.Format.MANIFEST:
            result = import_manifest(project_name=project.name, manifest=files["manifest"],
                                     images_root=images_root, actor=job.created_by, progress=_progress(job.pk))
        else:
            result = import_eibench(project_name=project.name, questions=files.get("questions"),
                                    ground_truth=files.get("ground_truth"), complex=files.get("complex"),
                                    images_root=images_root, actor=job.created_by, progress=_progress(job.pk))
    except ImportRefused as exc:
        errors = [p.as_dict() for p in exc.problems]
        if exc.more:
            errors.append({"file": "", "line": None, "message": f"... and {exc.more} more problems"})
        _finish(job, ImportJob.Status.FAILED, errors=errors)
        return "refused"
    except Exception as exc:  # an unexpected failure is shown on the job, then re-raised for the logs
        _finish(job, ImportJob.Status.FAILED, errors=[{"file": "", "line": None, "message": f"internal error: {exc}"}])
        raise
    _finish(job, ImportJob.Status.DONE, summary=result.as_dict())
    return "done"


def _finish(job: ImportJob, status: str, *, errors=None, summary=None):
    job.status = status
    job.errors = errors or []
    job.summary = summary or {}
    job.finished_at = timezone.now()
    if status == ImportJob.Status.DONE:
        job.done = job.total = job.summary.get("samples", job.total)
    job.save(update_fields=["status", "errors", "summary", "finished_at", "done", "total"])
    folder = {Path(f["path"]).parent for f in job.files.values()}
    for path in folder:  # the uploads served their purpose; the job keeps their names
        shutil.rmtree(path, ignore_errors=True)
