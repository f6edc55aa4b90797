"""Named actions of the pipeline: every write goes through one of these, which owns its transaction and writes
the annotator Event. Views, the API, the CLI and the Celery tasks all call them."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connection, transaction
from django.db.models import Case, F, Max, Q, TextField, Value, When
from django.utils import timezone

from annotator.models import Event, Project, Sample, Trigger

from .models import ModelProposal, PipelineRun, PromptVersion, RunSample, StageTrace
from .prompts import check_config, merged
from .stages import Outcome

ELIGIBLE = (Sample.State.IMPORTED, Sample.State.FAILED)  # never human work: passes and final samples stay as they are


class ConfigInvalid(ValueError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


class NothingToLabel(ValueError):
    """No sample of the selection is waiting for auto-labelling."""


def latest_version(project: Project) -> PromptVersion | None:
    return PromptVersion.objects.filter(project=project).order_by("-number").first()


def current_config(project: Project) -> dict:
    version = latest_version(project)
    return merged(version.config if version else None)


def save_config(project: Project, config: dict, *, actor, note: str = "") -> PromptVersion:
    """Save ``config`` as the project's next prompt version (refused with the problems when it is unusable)."""
    config = merged(config)
    problems = check_config(config)
    if problems:
        raise ConfigInvalid(problems)
    with transaction.atomic():
        Project.objects.select_for_update().filter(pk=project.pk).first()  # one numbering at a time
        last = PromptVersion.objects.filter(project=project).aggregate(n=Max("number"))["n"] or 0
        version = PromptVersion.objects.create(project=project, number=last + 1, config=config, note=note[:200],
                                               created_by=actor)
        Event.objects.create(project=project, actor=actor, action="pipeline.config_saved",
                             after={"prompt_version": version.number, "note": note[:200]})
    return version


def _version_for(project: Project, overrides: dict | None, actor) -> PromptVersion:
    version = latest_version(project)
    base = merged(version.config if version else None)
    overrides = {k: dict(v) if isinstance(v, dict) else v for k, v in (overrides or {}).items()}
    for role in ("vlm", "llm"):
        r = overrides.get(role) or {}
        if r.get("backend") and r["backend"] != base[role]["backend"] and "model" not in r:
            r["model"] = "tiny-llava" if r["backend"] == "tiny" else ""  # another backend's model means nothing
    wanted = merged({**base, **{k: ({**base.get(k, {}), **v} if isinstance(v, dict) else v)
                                for k, v in overrides.items()}})
    if version is None or wanted != base:
        version = save_config(project, wanted, actor=actor, note="set when a run was started" if version else "")
    return version


def start_run(project: Project, *, actor, selection: str = PipelineRun.Selection.ALL,
              sample_ids: Iterable[int] | None = None, limit: int | None = None,
              overrides: dict | None = None) -> PipelineRun:
    """Queue a CFSA run over the project's unlabelled samples (or its failed ones, or ``sample_ids``).

    A constant number of queries whatever the size: the run's samples are written by one INSERT … SELECT and
    marked queued by one UPDATE. The Celery work starts when the transaction commits."""
    from . import tasks

    version = _version_for(project, overrides, actor)
    states = (Sample.State.FAILED,) if selection == PipelineRun.Selection.FAILED else ELIGIBLE
    samples = Sample.objects.filter(project=project, state__in=states)
    if sample_ids is not None:
        sample_ids = list(sample_ids)
        if not sample_ids:
            raise NothingToLabel("no sample was given")
        samples = samples.filter(pk__in=sample_ids)
    samples = samples.order_by("kind", "ordinal")
    if limit:
        samples = samples[:limit]
    with transaction.atomic():
        run = PipelineRun.objects.create(
            project=project, prompt_version=version, config=version.config, selection=selection,
            placeholder="tiny" in (version.config["vlm"]["backend"], version.config["llm"]["backend"]),
            created_by=actor)
        sql, params = samples.values("id").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                f'INSERT INTO "{RunSample._meta.db_table}" ("run_id", "sample_id", "status", "error") '
                f"SELECT %s, sub.id, %s, '' FROM ({sql}) sub", [run.pk, RunSample.Status.PENDING, *params])
            total = cursor.rowcount
        if not total:
            transaction.set_rollback(True)
            raise NothingToLabel("no sample is waiting for auto-labelling in this selection "
                                 "(only imported or failed samples are labelled; human work is never overwritten)")
        Sample.objects.filter(pk__in=RunSample.objects.filter(run=run).values("sample_id")).update(
            state=Sample.State.QUEUED, error="")
        PipelineRun.objects.filter(pk=run.pk).update(total=total)
        run.total = total
        Event.objects.create(project=project, actor=actor, action="pipeline.run_queued",
                             after={"run": run.pk, "samples": total, "selection": selection,
                                    "prompt_version": version.number, "models": run.models_used()})
        transaction.on_commit(lambda: tasks.start(run.pk))
    return run


def cancel_run(run: PipelineRun, *, actor) -> int:
    """Stop a run: its pending samples go back to "imported". Returns how many were cancelled."""
    with transaction.atomic():
        run = PipelineRun.objects.select_for_update().get(pk=run.pk)
        if not run.active:
            return 0
        pending = RunSample.objects.filter(run=run, status=RunSample.Status.PENDING)
        Sample.objects.filter(pk__in=pending.values("sample_id"), state=Sample.State.QUEUED).update(
            state=Sample.State.IMPORTED)
        n = pending.update(status=RunSample.Status.CANCELLED)
        PipelineRun.objects.filter(pk=run.pk).update(status=PipelineRun.Status.CANCELLED, cancelled=F("cancelled") + n,
                                                     finished_at=timezone.now())
        Event.objects.create(project_id=run.project_id, actor=actor, action="pipeline.run_cancelled",
                             after={"run": run.pk, "cancelled": n})
    return n


def retry_failed(run: PipelineRun, *, actor) -> PipelineRun:
    """A new run (with the project's current config) over the samples that failed in ``run``."""
    failed = list(RunSample.objects.filter(run=run, status=RunSample.Status.FAILED).values_list("sample_id", flat=True))
    if not failed:
        raise NothingToLabel(f"no sample failed in run #{run.pk}")
    return start_run(run.project, actor=actor, selection=PipelineRun.Selection.SELECTED, sample_ids=failed)


def mark_running(run_id: int) -> None:
    now = timezone.now()
    PipelineRun.objects.filter(pk=run_id, status=PipelineRun.Status.QUEUED).update(
        status=PipelineRun.Status.RUNNING, started_at=now, last_progress_at=now)


def stalled_runs(stall_seconds: float) -> list[int]:
    """Active runs with pending samples and no finished batch for ``stall_seconds`` (their messages may have
    been lost, e.g. with a broker restarted without persistence)."""
    cutoff = timezone.now() - timezone.timedelta(seconds=stall_seconds)
    quiet = Q(last_progress_at__lt=cutoff) | Q(last_progress_at__isnull=True, created_at__lt=cutoff)
    return list(PipelineRun.objects.filter(quiet, status__in=[PipelineRun.Status.QUEUED, PipelineRun.Status.RUNNING])
                .filter(items__status=RunSample.Status.PENDING).distinct().values_list("pk", flat=True))


def mark_resumed(run_id: int) -> None:
    PipelineRun.objects.filter(pk=run_id).update(resumed=F("resumed") + 1, last_progress_at=timezone.now())


def record_outcomes(run: PipelineRun, outcomes: Sequence[Outcome]) -> tuple[int, int]:
    """Write a micro-batch's results exactly once: model triggers (with their provenance) for the samples that
    succeeded, the error for those that failed, an Event for each, and the run's counters.

    Only samples still pending in the run are written (locked first), so a redelivered task, or a run cancelled
    meanwhile, never adds triggers twice. Returns (done, failed) as written by this call."""
    by_key = {o.key: o for o in outcomes}
    now = timezone.now()
    with transaction.atomic():
        pending = set(RunSample.objects.select_for_update().filter(
            run=run, sample_id__in=list(by_key), status=RunSample.Status.PENDING).values_list("sample_id", flat=True))
        ok = [by_key[k] for k in by_key if k in pending and by_key[k].triggers]
        bad = [by_key[k] for k in by_key if k in pending and not by_key[k].triggers]
        if ok:
            traces = dict(StageTrace.objects.filter(run=run, sample_id__in=[o.key for o in ok], stage="summarise",
                                                    step=0).values_list("sample_id", "id"))
            last = dict(Trigger.objects.filter(sample_id__in=[o.key for o in ok]).values("sample_id")
                        .annotate(n=Max("position")).values_list("sample_id", "n"))
            triggers = [Trigger(sample_id=o.key, text=item.text, position=last.get(o.key, 0) + i, kind=item.kind,
                                category=item.category, explicit=item.explicit, origin=Trigger.Origin.MODEL)
                        for o in ok for i, item in enumerate(o.triggers, start=1)]
            Trigger.objects.bulk_create(triggers)
            ModelProposal.objects.bulk_create(
                [ModelProposal(trigger=t, run=run, trace_id=traces[t.sample_id]) for t in triggers])
            Sample.objects.filter(pk__in=[o.key for o in ok]).update(
                state=Sample.State.LABELLED, error="", version=F("version") + 1, updated_at=now)
            RunSample.objects.filter(run=run, sample_id__in=[o.key for o in ok]).update(status=RunSample.Status.DONE)
        if bad:
            errors = Case(*[When(pk=o.key, then=Value(o.error)) for o in bad], output_field=TextField())
            Sample.objects.filter(pk__in=[o.key for o in bad]).update(
                state=Sample.State.FAILED, error=errors, version=F("version") + 1, updated_at=now)
            run_errors = Case(*[When(sample_id=o.key, then=Value(o.error)) for o in bad], output_field=TextField())
            RunSample.objects.filter(run=run, sample_id__in=[o.key for o in bad]).update(
                status=RunSample.Status.FAILED, error=run_errors)
        model = f"{run.config['llm']['backend']}:{run.config['llm']['model']}"
        Event.objects.bulk_create(
            [Event(project_id=run.project_id, sample_id=o.key, action="sample.labelled",
                   after={"run": run.pk, "triggers": len(o.triggers), "model": model,
                          "prompt_version": run.prompt_version.number, "placeholder": run.placeholder})
             for o in ok]
            + [Event(project_id=run.project_id, sample_id=o.key, action="sample.label_failed",
                     after={"run": run.pk, "error": o.error}) for o in bad])
        if ok or bad:
            PipelineRun.objects.filter(pk=run.pk).update(done=F("done") + len(ok), failed=F("failed") + len(bad),
                                                         last_progress_at=now)
            PipelineRun.objects.filter(Q(pk=run.pk), Q(status__in=[PipelineRun.Status.QUEUED,
                                                                   PipelineRun.Status.RUNNING]),
                                       total__lte=F("done") + F("failed") + F("cancelled")).update(
                status=PipelineRun.Status.DONE, finished_at=now)
    return len(ok), len(bad)


def fail_pending(run: PipelineRun, error: str) -> None:
    """A run-level failure (a model that cannot load): every pending sample fails with ``error``."""
    PipelineRun.objects.filter(pk=run.pk).update(error=error)
    keys = list(RunSample.objects.filter(run=run, status=RunSample.Status.PENDING).values_list("sample_id", flat=True))
    for start in range(0, len(keys), 1000):
        record_outcomes(run, [Outcome(k, error=error) for k in keys[start:start + 1000]])
