"""CFSA on real Celery workers: the gpu queue and the default queue served by separate worker processes, and a
worker killed with SIGKILL mid-run (Redis broker) without a lost or duplicated stage result."""
import time
from collections import Counter

import pytest
from django.conf import settings
from django.db.models import Count

from annotator.models import Event, Sample, Trigger
from pipeline import actions
from pipeline.models import ModelProposal, PipelineRun, RunSample, StageTrace
from pipeline.parsing import parse_triggers
from tests.pipeline.factories import make_project

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
STAGE_GROUPS = {"1": {"preprocess", "reconstruct"}, "2": {"general_answer"}, "3": {"scenario_ask", "scenario_answer"},
                "4": {"summarise"}}


def wait_until(predicate, timeout, what, logs=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} not reached in {timeout}s\n" + "\n".join(w.log()[-3000:] for w in logs))


def run_state(run):
    run.refresh_from_db()
    return run


def assert_labelled_exactly_once(run: PipelineRun, n: int):
    run = run_state(run)
    assert (run.status, run.total, run.done, run.failed) == ("done", n, n, 0), run.error
    samples = Sample.objects.filter(project=run.project)
    assert Counter(samples.values_list("state", flat=True)) == {"labelled": n}
    # one stage result per (sample, stage, step), every stage group present
    dupes = (StageTrace.objects.filter(run=run).values("sample", "stage", "step").annotate(n=Count("id"))
             .filter(n__gt=1))
    assert not dupes.exists()
    for sample in samples:
        stages = set(StageTrace.objects.filter(run=run, sample=sample).values_list("stage", flat=True))
        assert all(group <= stages for group in STAGE_GROUPS.values()), (sample.pk, stages)
        reply = StageTrace.objects.get(run=run, sample=sample, stage="summarise").reply
        triggers = list(Trigger.objects.filter(sample=sample).order_by("position"))
        assert [t.text for t in triggers] == [i.text for i in parse_triggers(reply)]  # written once
        assert {t.origin for t in triggers} == {"model"}
        assert ModelProposal.objects.filter(trigger__in=triggers, run=run).count() == len(triggers)
        assert Event.objects.filter(sample=sample, action="sample.labelled").count() == 1
    assert RunSample.objects.filter(run=run, status="done").count() == n


def test_a_project_of_24_samples_is_auto_labelled_by_gpu_and_default_queue_workers(tmp_path, lead, start_worker,
                                                                                   capsys):
    project = make_project(tmp_path, lead, n=24, name="cfsa-e2e", config={"micro_batch": 4})
    gpu = start_worker("gpu", name="gpu-worker")
    default = start_worker("celery", name="default-worker")
    from django.core.management import call_command

    call_command("cfsa_run", "--project", "cfsa-e2e", "--backend", "tiny", "--wait", "--timeout", "240")
    out = capsys.readouterr().out
    assert "24 samples queued" in out and "placeholder model: outputs are random" in out
    assert "all 24 samples auto-labelled" in out
    run = PipelineRun.objects.get(project=project)
    assert_labelled_exactly_once(run, 24)
    assert len(run.general_questions) == 4
    ran = {w: {t for t in ("label_batch", "general_self_ask", "dispatch_run") if f"Task pipeline.tasks.{t}[" in w.log()}
           for w in (gpu, default)}
    assert ran == {gpu: {"label_batch", "general_self_ask"}, default: {"dispatch_run"}}


@pytest.mark.skipif(not settings.REDIS_URL, reason="the crash-safe broker is Redis: set REDIS_URL (CI does)")
def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(tmp_path, lead, start_worker):
    fast_redelivery = {"CELERY_VISIBILITY_TIMEOUT": 4, "CELERY_UNACKED_RESTORE_INTERVAL": 1,
                       "CELERY_UNACKED_RESTORE_THROTTLE": 1}
    project = make_project(tmp_path, lead, n=20, name="cfsa-fault", config={"micro_batch": 4})
    first = start_worker("celery,gpu", name="first", **fast_redelivery)
    run = actions.start_run(project, actor=lead)

    def mid_batch():
        """Some samples are done, and a batch is half-way: it has stage results but no triggers yet."""
        pending = RunSample.objects.filter(run=run, status="pending").values("sample_id")
        return (run_state(run).done >= 4
                and StageTrace.objects.filter(run=run, sample_id__in=pending).exists())

    wait_until(mid_batch, 240, "a batch half-way", [first])
    first.kill()
    killed_at = run_state(run).done
    assert killed_at < 20, "the run finished before the worker was killed"
    half_done = set(StageTrace.objects.filter(
        run=run, sample_id__in=RunSample.objects.filter(run=run, status="pending").values("sample_id"))
        .values_list("sample_id", flat=True))
    assert half_done

    second = start_worker("celery,gpu", name="second", **fast_redelivery)
    wait_until(lambda: not run_state(run).active, 240, "the run's end", [first, second])
    assert_labelled_exactly_once(run, 20)
    assert "Task pipeline.tasks.label_batch[" in second.log()


def test_the_demo_project_is_auto_labelled_by_the_demo_worker_as_placeholder_output(start_worker, capsys):
    """What `make demo` does: demo_setup, cfsa_run --skip-if-none, one local worker on both queues."""
    from django.core.management import call_command

    from annotator.management.commands.demo_setup import DEMO_PROJECT

    call_command("demo_setup")
    call_command("cfsa_run", "--project", DEMO_PROJECT, "--backend", "tiny", "--skip-if-none")
    worker = start_worker("celery,gpu", name="demo-worker")
    run = PipelineRun.objects.get(project__name=DEMO_PROJECT)
    wait_until(lambda: not run_state(run).active, 180, "the demo run's end", [worker])
    assert run.placeholder and (run.done, run.failed) == (1, 0)
    sample = Sample.objects.get(project__name=DEMO_PROJECT, state="labelled")
    assert sample.image.dataset_key == "excitement/cameraman.png"
    assert Trigger.objects.filter(sample=sample, origin="model").exists()
    assert Event.objects.get(sample=sample, action="sample.labelled").after["placeholder"] is True
    # final samples (the example ground truth) are never touched; a second `make demo` queues nothing
    assert Sample.objects.filter(project__name=DEMO_PROJECT, state="final").count() == 2
    call_command("cfsa_run", "--project", DEMO_PROJECT, "--skip-if-none")
    assert "no sample is waiting" in capsys.readouterr().out
    assert PipelineRun.objects.filter(project__name=DEMO_PROJECT).count() == 1
