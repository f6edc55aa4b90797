"""The pipeline in the browser (htmx partials) and through the API: start, progress, cancel, retry, config
versions, the sample transcript; who may do what."""
import subprocess
import sys

import pytest
from django.urls import reverse

from annotator.models import Image, Sample
from pipeline import actions
from pipeline.models import PipelineRun, PromptVersion, StageTrace
from tests.conftest import join
from tests.pipeline.factories import make_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(tmp_path, lead, annotator, reviewer):
    return join(make_project(tmp_path, lead, n=4, name="web"), annotator, reviewer)


def labelled_run(project, lead, capture):
    with capture(execute=True):
        return actions.start_run(project, actor=lead)


def test_panel_for_annotators_reads_and_for_leads_starts_a_run(client, project, annotator, lead, eager_celery,
                                                                 django_capture_on_commit_callbacks):
    url = reverse("pipeline-project-panel", args=[project.pk])
    client.force_login(annotator)
    page = client.get(url).content.decode()
    assert "No run yet" in page and "Start auto-labelling" not in page
    assert "Placeholder model: outputs are random" in page
    assert client.post(reverse("pipeline-run-start", args=[project.pk]), {"selection": "all"}).status_code == 403

    client.force_login(lead)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("pipeline-run-start", args=[project.pk]), {"selection": "all"},
                               HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    run = PipelineRun.objects.get(project=project)
    assert (run.status, run.done) == ("done", 4)
    row = client.get(reverse("pipeline-run-row", args=[run.pk])).content.decode()
    assert "4 done" in row and "every 2s" not in row  # a finished run stops polling
    again = client.post(reverse("pipeline-run-start", args=[project.pk]), {"selection": "all"})
    assert again.status_code == 422 and "no sample is waiting for auto-labelling" in again.content.decode()
    bad = client.post(reverse("pipeline-run-start", args=[project.pk]), {"selection": "all", "limit": "0"})
    assert bad.status_code == 422


def test_a_queued_run_polls_and_can_be_cancelled(client, project, lead, annotator):
    run = actions.start_run(project, actor=lead)  # no worker: it stays queued
    client.force_login(annotator)
    row = client.get(reverse("pipeline-run-row", args=[run.pk])).content.decode()
    assert 'hx-trigger="every 2s"' in row and "4 remaining" in row and "Cancel" not in row
    assert client.post(reverse("pipeline-run-cancel", args=[run.pk])).status_code == 403
    client.force_login(lead)
    assert client.post(reverse("pipeline-run-cancel", args=[run.pk])).status_code == 200
    run.refresh_from_db()
    assert (run.status, run.cancelled, run.remaining) == ("cancelled", 4, 0)
    assert set(Sample.objects.filter(project=project).values_list("state", flat=True)) == {"imported"}


def test_failed_samples_show_the_error_and_are_retried(client, project, lead, eager_celery,
                                                         django_capture_on_commit_callbacks):
    missing = Sample.objects.filter(project=project).order_by("ordinal").first()
    Image.objects.filter(pk=missing.image_id).update(file="")
    run = labelled_run(project, lead, django_capture_on_commit_callbacks)
    run.refresh_from_db()
    assert (run.done, run.failed) == (3, 1)
    missing.refresh_from_db()
    assert missing.state == "failed" and "image file is missing" in missing.error
    client.force_login(lead)
    panel = client.get(reverse("pipeline-sample-panel", args=[missing.pk])).content.decode()
    assert "Auto-labelling failed" in panel and "Retry" in panel
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("pipeline-run-retry", args=[run.pk]))
    assert response.status_code == 200
    retry = PipelineRun.objects.latest("id")
    assert (retry.selection, retry.total, retry.failed) == ("selected", 1, 1)  # still no image: fails again


def test_sample_transcript_shows_every_stage_and_the_placeholder_warning(client, project, lead, reviewer,
                                                                         eager_celery,
                                                                         django_capture_on_commit_callbacks):
    run = labelled_run(project, lead, django_capture_on_commit_callbacks)
    sample = Sample.objects.filter(project=project).first()
    client.force_login(reviewer)
    page = client.get(reverse("pipeline-sample-panel", args=[sample.pk])).content.decode()
    for label in ("1a · question preprocessing", "1b · prompt reconstruction", "2b · general answers",
                  "3a · scenario self-ask: questions", "3b · scenario self-ask: answers", "4 · emotion summarisation"):
        assert label in page
    assert "Placeholder model: outputs are random" in page and f"Run #{run.pk}" in page
    assert "tiny-llava (random weights)" in page
    detail = client.get(reverse("sample-detail", args=[sample.pk])).content.decode()
    assert reverse("pipeline-sample-panel", args=[sample.pk]) in detail  # loaded lazily by htmx


def test_config_page_saves_versions_and_refuses_unknown_placeholders(client, project, lead, annotator):
    url = reverse("pipeline-config", args=[project.pk])
    client.force_login(annotator)
    assert client.get(url).status_code == 200
    assert client.post(url, {}).status_code == 403
    client.force_login(lead)
    form = client.get(url).context["form"]
    data = dict(form.initial)
    data["persona"] = "You are a careful psychologist."
    data["note"] = "new persona"
    response = client.post(url, data)
    assert response.status_code == 302
    version = PromptVersion.objects.get(project=project)
    assert version.number == 1 and version.config["persona"] == "You are a careful psychologist."
    data["prompt_summarise"] = "List triggers for {emotoin}"
    response = client.post(url, data)
    assert response.status_code == 422
    assert "summarise: unknown placeholder(s) {emotoin}" in response.content.decode()
    assert PromptVersion.objects.filter(project=project).count() == 1
    run = actions.start_run(project, actor=lead)
    assert run.prompt_version == version and run.config["persona"] == "You are a careful psychologist."


def test_api_runs_progress_cancel_retry_traces_and_versions(client, project, lead, annotator, eager_celery,
                                                            django_capture_on_commit_callbacks):
    client.force_login(annotator)
    assert client.post("/api/runs/", {"project": project.pk}, content_type="application/json").status_code == 403
    client.force_login(lead)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/runs/", {"project": project.pk, "limit": 2, "backend": "tiny"},
                               content_type="application/json")
    assert response.status_code == 201, response.content
    run_id = response.json()["id"]
    body = client.get(f"/api/runs/{run_id}/").json()
    assert body["status"] == "done" and body["progress"]["done"] == 2 and body["progress"]["remaining"] == 0
    assert body["placeholder"] is True and body["config"]["vlm"]["backend"] == "tiny"
    assert [r["id"] for r in client.get(f"/api/runs/?project={project.pk}").json()["results"]] == [run_id]
    assert client.post(f"/api/runs/{run_id}/retry_failed/").status_code == 409  # nothing failed
    queued = client.post("/api/runs/", {"project": project.pk}, content_type="application/json").json()
    assert queued["progress"]["total"] == 2
    cancelled = client.post(f"/api/runs/{queued['id']}/cancel/").json()
    assert cancelled["status"] == "cancelled" and cancelled["progress"]["cancelled"] == 2
    sample = StageTrace.objects.filter(run_id=run_id).exclude(sample=None).first().sample_id
    traces = client.get(f"/api/traces/?sample={sample}").json()["results"]
    assert {t["stage"] for t in traces} >= {"preprocess", "summarise"} and traces[0]["model"]
    assert client.get("/api/traces/?sample=abc").status_code == 400
    bad = client.post("/api/prompt-versions/", {"project": project.pk, "config": {"prompts": {"x": "y"}}},
                      content_type="application/json")
    assert bad.status_code == 400 and "unknown stage 'x'" in str(bad.json())
    assert client.post("/api/runs/", {"project": project.pk, "selection": "selected"},
                       content_type="application/json").status_code == 400
    client.logout()
    assert client.get("/api/runs/").status_code in (401, 403)


def test_cfsa_run_command_errors(project, lead):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="no project named 'nope'"):
        call_command("cfsa_run", "--project", "nope")
    with pytest.raises(CommandError, match="--limit must be at least 1"):
        call_command("cfsa_run", "--project", "web", "--limit", "0")
    with pytest.raises(CommandError, match="the transformers backend needs a model"):
        call_command("cfsa_run", "--project", "web", "--backend", "transformers")
    with pytest.raises(CommandError, match="no sample is waiting"):
        call_command("cfsa_run", "--project", "web", "--only-failed")
    call_command("cfsa_run", "--project", "web", "--only-failed", "--skip-if-none")  # the demo's second start


def test_the_web_process_never_imports_torch():
    code = ("import sys, django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings'); "
            "django.setup(); import config.wsgi, config.urls, pipeline.views, pipeline.api, pipeline.tasks, "
            "pipeline.backends; heavy = [m for m in ('torch', 'transformers') if m in sys.modules]; "
            "print(heavy); sys.exit(1 if heavy else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
