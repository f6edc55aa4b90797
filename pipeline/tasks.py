"""Celery tasks of the CFSA pipeline. Model work runs on the ``gpu`` queue, the rest on the default queue.

Every task is safe to run twice (``acks_late``: a task whose worker died is delivered again): stage results are
unique by run + sample + stage + step and kept as they were first written, and a sample's triggers are written
only while the sample is still pending in the run (:func:`actions.record_outcomes`).
"""
from __future__ import annotations

import logging
import random

from celery import chain, shared_task
from django.conf import settings
from django.db import OperationalError, transaction

from annotator.models import Sample

from . import actions, stages
from .backends import PermanentBackendError, TransientBackendError, get_backend
from .models import PipelineRun, RunSample, StageTrace

log = logging.getLogger(__name__)
MAX_RETRIES = 6
TRANSIENT = (TransientBackendError, OperationalError)


def start(run_id: int) -> None:
    """Dataset-level stage 2a first, then the micro-batches (called when the run's transaction commits)."""
    chain(general_self_ask.si(run_id), dispatch_run.si(run_id)).apply_async()


def _backoff(retries: int) -> float:
    return min(300.0, 2.0 * 2 ** retries) * (1 + 0.2 * random.random())


class TraceStore:
    """The stages' :class:`stages.Store` over StageTrace rows of one run (first write wins)."""

    def __init__(self, run: PipelineRun, keys: list[int | None]):
        self.run = run
        self.keys = keys
        self.replies: dict[tuple, str] = {}
        self._load(keys)

    def _load(self, keys):
        rows = StageTrace.objects.filter(run=self.run)
        real = [k for k in keys if k is not None]
        if None in keys:
            rows = rows.filter(sample__isnull=True) if not real else rows.filter(sample__isnull=True) | rows.filter(
                sample_id__in=real)
        else:
            rows = rows.filter(sample_id__in=real)
        for sample_id, stage, step, reply in rows.values_list("sample_id", "stage", "step", "reply"):
            self.replies[(sample_id, stage, step)] = reply

    def get(self, key, stage, step):
        return self.replies.get((key, stage, step))

    def save(self, exchanges):
        StageTrace.objects.bulk_create([
            StageTrace(run=self.run, sample_id=ex.key, stage=ex.stage, step=ex.step, role=ex.role, model=ex.model,
                       system=ex.request.system, prompt=ex.request.text, with_image=bool(ex.request.image),
                       reply=ex.reply.text, latency_ms=ex.reply.latency_ms, batch_size=ex.reply.batch_size,
                       prompt_tokens=ex.reply.prompt_tokens, completion_tokens=ex.reply.completion_tokens)
            for ex in exchanges], ignore_conflicts=True)
        self._load(sorted({ex.key for ex in exchanges}, key=lambda k: -1 if k is None else k))


def _backends(config: dict):
    return get_backend(config["vlm"]), get_backend(config["llm"])


def _inputs(sample_ids) -> list[stages.SampleInput]:
    rows = Sample.objects.filter(pk__in=sample_ids).select_related("image").order_by("pk")
    return [stages.SampleInput(s.pk, s.question, s.emotion, s.image.file.path if s.image.file else None)
            for s in rows]


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES)
def general_self_ask(self, run_id: int) -> str:
    """Stage 2a, once per run: the 4 most frequent general questions over a seeded sample of the run."""
    run = PipelineRun.objects.select_related("prompt_version").get(pk=run_id)
    if not run.active or run.general_questions:
        return "nothing to do"
    actions.mark_running(run_id)
    config = run.config
    ids = list(RunSample.objects.filter(run=run).order_by("sample_id").values_list("sample_id", flat=True))
    chosen = random.Random(run_id).sample(ids, min(len(ids), int(config.get("general_sample_size", 8))))
    dataset = list(Sample.objects.filter(pk__in=chosen).order_by("pk"))
    try:
        _, llm = _backends(config)
        questions, counts = stages.general_self_ask(
            llm, config, [stages.SampleInput(s.pk, s.question, s.emotion, None) for s in dataset],
            TraceStore(run, [None]), seed=run_id)
    except PermanentBackendError as exc:
        actions.fail_pending(run, f"stage 2a (general self-ask): {exc}")
        return "failed"
    except TRANSIENT as exc:
        if self.request.retries >= self.max_retries:
            actions.fail_pending(run, f"stage 2a (general self-ask): gave up after {self.request.retries + 1} "
                                      f"tries: {exc}")
            return "failed"
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
    PipelineRun.objects.filter(pk=run_id).update(general_questions=questions, general_counts=counts)
    return "ok"


@shared_task(acks_late=True)
def dispatch_run(run_id: int) -> int:
    """Send the run's pending samples to the gpu queue in micro-batches (one query for the ids, however many)."""
    run = PipelineRun.objects.get(pk=run_id)
    if not run.active:
        return 0
    size = max(1, int(run.config.get("micro_batch", 8)))
    ids = list(RunSample.objects.filter(run=run, status=RunSample.Status.PENDING).order_by("sample_id")
               .values_list("sample_id", flat=True))
    for start in range(0, len(ids), size):
        label_batch.delay(run_id, ids[start:start + size])
    return len(ids)


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES)
def label_batch(self, run_id: int, sample_ids: list[int]) -> str:
    """Stages 1a → 4 for a micro-batch, resumed from the traces already stored; then the triggers, once."""
    run = PipelineRun.objects.select_related("prompt_version").get(pk=run_id)
    if not run.active:
        return "run not active"
    pending = list(RunSample.objects.filter(run=run, sample_id__in=sample_ids, status=RunSample.Status.PENDING)
                   .values_list("sample_id", flat=True))
    if not pending:
        return "nothing to do"
    actions.mark_running(run_id)
    if not run.general_questions:  # stage 2a is done first; a retried batch of an old run may find it missing
        run.general_questions = list(run.config.get("general_questions") or [])
    items = _inputs(pending)
    try:
        vlm, llm = _backends(run.config)
        outcomes = stages.label(vlm, llm, run.config, items, run.general_questions, TraceStore(run, pending))
    except PermanentBackendError as exc:
        outcomes = [stages.Outcome(i.key, error=str(exc)) for i in items]
    except TRANSIENT as exc:
        if self.request.retries >= self.max_retries:
            outcomes = [stages.Outcome(i.key, error=f"gave up after {self.request.retries + 1} tries: {exc}")
                        for i in items]
        else:
            log.warning("run %s batch %s: %s; retrying", run_id, sample_ids[:3], exc)
            raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
    with transaction.atomic():
        done, failed = actions.record_outcomes(run, outcomes)
    return f"{done} labelled, {failed} failed"


@shared_task
def resume_stalled_runs() -> list[int]:
    """Resend the pending samples of runs that made no progress for EISTUDIO_RUN_STALL_SECONDS (run by Celery
    beat). Safe when the old messages still exist: a sample is labelled once whoever gets there first."""
    resumed = actions.stalled_runs(settings.EISTUDIO_RUN_STALL_SECONDS)
    for run_id in resumed:
        log.warning("run %s made no progress for %ss: resending its pending samples", run_id,
                    settings.EISTUDIO_RUN_STALL_SECONDS)
        actions.mark_resumed(run_id)
        start(run_id)
    return resumed
