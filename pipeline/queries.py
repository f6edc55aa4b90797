"""Reads for pages and the API: run progress (done / failed / remaining, rate, ETA) and a sample's transcript."""
from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from .models import ModelProposal, PipelineRun, StageTrace
from .prompts import STAGES


@dataclass
class Progress:
    total: int
    done: int
    failed: int
    cancelled: int
    remaining: int
    percent_done: float
    percent_failed: float
    per_minute: float | None
    eta_seconds: int | None

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def progress(run: PipelineRun) -> Progress:
    finished = run.done + run.failed
    per_minute = eta = None
    if run.started_at and finished:
        elapsed = ((run.finished_at or timezone.now()) - run.started_at).total_seconds()
        if elapsed > 0:
            per_minute = round(finished / elapsed * 60, 1)
            if run.active and run.remaining:
                eta = int(run.remaining / (finished / elapsed))
    total = run.total or 1
    return Progress(run.total, run.done, run.failed, run.cancelled, run.remaining,
                    round(100 * run.done / total, 1), round(100 * run.failed / total, 1), per_minute, eta)


@dataclass
class TranscriptRun:
    run: PipelineRun
    stages: list[tuple[str, list[StageTrace]]]  # (stage label, its traces in step order)
    triggers: int


def transcript(sample) -> list[TranscriptRun]:
    """Every run that worked on ``sample``, newest first, with its traces grouped by stage (3 queries)."""
    traces = list(StageTrace.objects.filter(sample=sample).order_by("run_id", "id"))
    runs = {r.pk: r for r in PipelineRun.objects.filter(pk__in={t.run_id for t in traces}).select_related(
        "prompt_version")}
    proposed: dict[int, int] = {}
    for run_id in ModelProposal.objects.filter(trigger__sample=sample).values_list("run_id", flat=True):
        proposed[run_id] = proposed.get(run_id, 0) + 1
    order = list(STAGES)
    out = []
    for run_id in sorted(runs, reverse=True):
        by_stage: dict[str, list[StageTrace]] = {}
        for t in traces:
            if t.run_id == run_id:
                by_stage.setdefault(t.stage, []).append(t)
        stages = [(by_stage[s][0].stage_label, sorted(by_stage[s], key=lambda t: t.step))
                  for s in order if s in by_stage]
        out.append(TranscriptRun(runs[run_id], stages, proposed.get(run_id, 0)))
    return out
