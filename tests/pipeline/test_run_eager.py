"""A whole CFSA run with the tiny model, tasks run in-process (eager): the stages, traces, triggers and counters."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotator.actions import Source, import_eibench
from annotator.models import Event, Sample, Trigger
from pipeline import actions
from pipeline.models import ModelProposal, PipelineRun, RunSample, StageTrace
from tests.pipeline.factories import make_project

pytestmark = pytest.mark.django_db


def test_tiny_run_labels_every_sample_with_a_four_stage_trace(tmp_path, lead, eager_celery,
                                                              django_capture_on_commit_callbacks):
    project = make_project(tmp_path, lead)
    with django_capture_on_commit_callbacks(execute=True):
        run = actions.start_run(project, actor=lead)
    run.refresh_from_db()
    assert (run.status, run.total, run.done, run.failed) == ("done", 6, 6, 0)
    assert run.placeholder and len(run.general_questions) == 4
    assert set(Sample.objects.filter(project=project).values_list("state", flat=True)) == {"labelled"}
    for sample in Sample.objects.filter(project=project):
        stages = set(StageTrace.objects.filter(run=run, sample=sample).values_list("stage", flat=True))
        assert {"preprocess", "reconstruct", "general_answer", "scenario_ask", "scenario_answer",
                "summarise"} <= stages
        triggers = Trigger.objects.filter(sample=sample)
        assert triggers.exists() and set(triggers.values_list("origin", flat=True)) == {"model"}
        assert ModelProposal.objects.filter(trigger__sample=sample, run=run).count() == triggers.count()
        assert Event.objects.filter(sample=sample, action="sample.labelled").count() == 1
    assert StageTrace.objects.filter(run=run, sample=None, stage="general_ask").count() == 6  # 2a over the dataset


def test_queueing_costs_the_same_queries_for_10_or_60_samples(tmp_path, lead):
    counts = []
    for n, name in ((10, "small"), (60, "large")):
        (tmp_path / name / "incoming").mkdir(parents=True)
        project = make_project(tmp_path / name, lead, n=n, name=name)
        with CaptureQueriesContext(connection) as ctx:
            run = actions.start_run(project, actor=lead)
        assert run.total == n and RunSample.objects.filter(run=run).count() == n
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


def test_nothing_to_label_and_final_samples_are_never_touched(tmp_path, lead, sample_dir):
    import_eibench(project_name="gt", questions=Source.of(sample_dir / "user.jsonl", "user.jsonl"),
                   ground_truth=Source.of(sample_dir / "basic_ground_truth.json", "basic_ground_truth.json"))
    project = Sample.objects.filter(project__name="gt").first().project
    with pytest.raises(actions.NothingToLabel):
        actions.start_run(project, actor=lead)
    assert not PipelineRun.objects.exists()


def test_provenance_export_carries_the_traces_of_each_sample(tmp_path, lead, eager_celery,
                                                             django_capture_on_commit_callbacks):
    import json

    from annotator.exporting import provenance_lines

    project = make_project(tmp_path, lead, n=3, name="prov")
    with django_capture_on_commit_callbacks(execute=True):
        run = actions.start_run(project, actor=lead)
    with CaptureQueriesContext(connection) as small:
        lines = [json.loads(line) for line in provenance_lines(project)]
    assert len(lines) == 3
    for line in lines:
        traces = line["cfsa_traces"]
        assert {t["stage"] for t in traces} >= {"preprocess", "reconstruct", "general_answer", "scenario_ask",
                                                 "scenario_answer", "summarise"}
        assert all(t["run"] == run.pk and t["placeholder"] and t["model"] == "tiny-llava (random weights)"
                   and t["prompt_version"] == 1 for t in traces)
        assert next(t for t in traces if t["stage"] == "summarise")["reply"]
        assert line["triggers"] and {t["origin"] for t in line["triggers"]} == {"model"}
    (tmp_path / "b" / "incoming").mkdir(parents=True)
    more = make_project(tmp_path / "b", lead, n=6, name="prov2")
    with django_capture_on_commit_callbacks(execute=True):
        actions.start_run(more, actor=lead)
    with CaptureQueriesContext(connection) as large:
        assert len(list(provenance_lines(more))) == 6
    assert len(large.captured_queries) == len(small.captured_queries)  # no query per sample
