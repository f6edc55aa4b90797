"""Celery tasks against an OpenAI-compatible server that fails: transient errors are retried (and the batch
resumes from the stage results already stored), permanent ones fail the samples with the message."""
import pytest

from annotator.models import Sample
from pipeline import actions
from pipeline.models import PipelineRun, StageTrace
from tests.pipeline.factories import make_project
from tests.pipeline.openai_server import ChatServer
from tests.pipeline.test_openai_backend import scripted

pytestmark = pytest.mark.django_db


def openai_config(url):
    role = {"backend": "openai", "model": "served-vlm", "base_url": url, "retries": 0, "timeout": 5}
    return {"vlm": role, "llm": dict(role), "micro_batch": 3}


def test_transient_errors_retry_and_resume_without_repeating_stages(tmp_path, lead, eager_celery,
                                                                    django_capture_on_commit_callbacks):
    with ChatServer(scripted) as server:
        project = make_project(tmp_path, lead, n=3, name="flaky", config=openai_config(server.url))
        calls = []

        def flaky(body):
            calls.append(body)
            if len(calls) == 20:  # mid-batch, after some stages are stored: a 503 the backend does not retry
                server.faults.append(503)
            return scripted(body)

        server.answer = flaky
        eager_celery.conf.task_eager_propagates = False  # in-process, a retry runs again only when not propagated
        with django_capture_on_commit_callbacks(execute=True):
            run = actions.start_run(project, actor=lead)
    run.refresh_from_db()
    assert (run.status, run.done, run.failed) == ("done", 3, 0)
    traces = StageTrace.objects.filter(run=run).count()
    assert traces == 3 + 3 * (1 + 1 + 4 + 1 + 2 + 1)  # 2a over 3 samples, then 10 prompts per sample
    resent = len(server.requests) - traces
    assert 1 <= resent <= 12  # only the failed stage call (at most 3 samples x 4 general answers) was sent again


def test_permanent_errors_fail_the_samples_with_the_message(tmp_path, lead, eager_celery,
                                                             django_capture_on_commit_callbacks):
    with ChatServer(scripted) as server:
        project = make_project(tmp_path, lead, n=2, name="broken", config=openai_config(server.url))
        server.faults.extend([400] * 50)
        with django_capture_on_commit_callbacks(execute=True):
            run = actions.start_run(project, actor=lead)
    run.refresh_from_db()
    assert (run.status, run.done, run.failed) == ("done", 0, 2)
    errors = set(Sample.objects.filter(project=project).values_list("error", flat=True))
    assert len(errors) == 1 and "HTTP 400" in errors.pop()
    assert PipelineRun.objects.get(pk=run.pk).items.filter(status="failed").count() == 2
