"""Pages and the REST API: roles, project and sample pages, imports with progress and per-line errors,
streamed exports identical to the command's, schema and Swagger UI."""
import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from rest_framework.authtoken.models import Token

from annotator.models import ImportJob, Project, Sample
from tests.conftest import SAMPLE, join, make_image

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(lead, annotator, reviewer):
    call_command("import_eibench", "--project", "bench", "--basic-questions", str(SAMPLE / "user.jsonl"),
                 "--basic-ground-truth", str(SAMPLE / "basic_ground_truth.json"),
                 "--complex", str(SAMPLE / "ec_complex.jsonl"), verbosity=0)
    return join(Project.objects.get(name="bench"), lead, annotator, reviewer)


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


# ------------------------------------------------------------------------------------------------ pages
def test_anonymous_is_sent_to_login(client, project):
    for url in ["/", f"/projects/{project.pk}/", f"/projects/{project.pk}/export/eibench.zip"]:
        r = client.get(url)
        assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")


def test_login_page_and_sign_in(client, annotator):
    assert client.get("/accounts/login/").status_code == 200
    r = client.post("/accounts/login/", {"username": "ann1", "password": "pw-ann1"})
    assert r.status_code == 302 and r["Location"] == reverse("project-list")
    client.logout()
    r = client.post("/accounts/login/", {"username": "ann1", "password": "wrong"})
    assert b"didn't match" in r.content


def test_user_without_a_role_is_refused(client, no_role, project):
    client.force_login(no_role)
    assert client.get("/").status_code == 403
    assert client.get(f"/projects/{project.pk}/").status_code == 403


def test_project_list_and_page_show_counts(client, annotator, project, django_assert_max_num_queries):
    client.force_login(annotator)
    r = client.get("/")
    assert b"bench" in r.content and b">24<" in r.content
    with django_assert_max_num_queries(14):
        r = client.get(f"/projects/{project.pk}/")
    html = r.content.decode()
    assert "24 in all" in html and "19 missing" in html
    assert "final 24" in html
    assert "Only a lead can import" in html
    assert "CAER-S/train/Angry/0354.png" in html


def test_sample_list_filters(client, annotator, project):
    client.force_login(annotator)
    r = client.get(f"/projects/{project.pk}/?emotion=sad", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="samples")
    html = r.content.decode()
    assert "<html" not in html  # an htmx partial
    assert "sadness_02719" in html and "Angry/0354" not in html


def test_sample_page_shows_triggers_and_history(client, annotator, project):
    client.force_login(annotator)
    s = Sample.objects.get(image__dataset_key="EmoSet-118k/image/sadness/sadness_02719.jpg")
    html = client.get(f"/samples/{s.pk}/").content.decode()
    assert "The woman&#x27;s gaze outside the window ." in html
    line = s.imported_from["line"]
    assert "sample.imported" in html and f"user.jsonl, line {line}" in html
    assert "Image file not attached" in html


def test_image_is_served_to_roles_only(client, annotator, no_role, tmp_path):
    root = tmp_path / "imgs"
    make_image(root / "CAER-S/train/Angry/0354.png")
    call_command("import_eibench", "--project", "p", "--basic-questions", str(SAMPLE / "user.jsonl"),
                 "--images-root", str(root), verbosity=0)
    s = Sample.objects.get(image__dataset_key="CAER-S/train/Angry/0354.png")
    join(s.project, annotator)
    client.force_login(annotator)
    r = client.get(f"/images/{s.image_id}/")
    assert r.status_code == 200 and body(r).startswith(b"\x89PNG")
    missing = Sample.objects.exclude(pk=s.pk).first()
    assert client.get(f"/images/{missing.image_id}/").status_code == 404
    client.force_login(no_role)
    assert client.get(f"/images/{s.image_id}/").status_code == 403


def test_export_downloads_match_the_benchmark_files(client, reviewer, project):
    client.force_login(reviewer)
    r = client.get(f"/projects/{project.pk}/export/eibench.zip")
    assert r.status_code == 200 and r["Content-Type"] == "application/zip" and r.streaming
    archive = zipfile.ZipFile(io.BytesIO(body(r)))
    assert archive.read("EI_Basic/user.jsonl") == (SAMPLE / "user.jsonl").read_bytes()
    assert archive.read("EI_Basic/basic_ground_truth.json") == (SAMPLE / "basic_ground_truth.json").read_bytes()
    assert archive.read("EI_Complex/ec_complex.jsonl") == (SAMPLE / "ec_complex.jsonl").read_bytes()
    r = client.get(f"/projects/{project.pk}/export/EI_Basic/basic_ground_truth.json")
    assert body(r) == (SAMPLE / "basic_ground_truth.json").read_bytes()
    lines = body(client.get(f"/projects/{project.pk}/export/provenance.jsonl")).decode().splitlines()
    first = json.loads(lines[0])
    assert len(lines) == 24 and first["triggers"][0]["origin"] == "imported"
    assert first["events"][0]["action"] == "sample.imported"
    assert client.get(f"/projects/{project.pk}/export/nope.txt").status_code == 404


# ------------------------------------------------------------------------------------------------ imports
def upload(name, content):
    return SimpleUploadedFile(name, content.encode() if isinstance(content, str) else content)


def test_lead_imports_through_the_page_with_progress(client, lead, project, eager_celery,
                                                     django_capture_on_commit_callbacks):
    client.force_login(lead)
    page = client.get(f"/projects/{project.pk}/").content.decode()
    assert f'hx-post="/projects/{project.pk}/import/"' in page
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(f"/projects/{project.pk}/import/", {
            "format": "eibench", "questions": upload("more.jsonl", '{"new/a.png": "Why so happy?"}\n')})
    assert r.status_code == 200
    job = ImportJob.objects.get()
    assert job.status == "done" and job.summary["samples"] == 1
    html = client.get(f"/projects/{project.pk}/import/{job.pk}/").content.decode()
    assert "Imported 1 samples" in html and "every 1s" not in html
    assert Sample.objects.filter(project=project, image__dataset_key="new/a.png").exists()


def test_refused_web_import_lists_every_bad_line_and_writes_nothing(client, lead, project, eager_celery,
                                                                   django_capture_on_commit_callbacks):
    client.force_login(lead)
    before = Sample.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/projects/{project.pk}/import/", {
            "format": "eibench",
            "questions": upload("q.jsonl", '{"x.png": "ok?"}\n{oops\n{"x.png": "dup"}\n')})
    job = ImportJob.objects.get()
    assert job.status == "failed"
    assert [(e["file"], e["line"]) for e in job.errors] == [("q.jsonl", 2), ("q.jsonl", 3)]
    html = client.get(f"/projects/{project.pk}/import/{job.pk}/").content.decode()
    assert "nothing was imported" in html and "malformed JSON" in html and "duplicate image path" in html
    assert Sample.objects.count() == before


def test_import_form_errors(client, lead, project, tmp_path):
    client.force_login(lead)
    r = client.post(f"/projects/{project.pk}/import/", {"format": "eibench"})
    assert r.status_code == 422 and b"choose at least one file" in r.content
    r = client.post(f"/projects/{project.pk}/import/", {
        "format": "manifest", "manifest": upload("m.csv", "path,emotion\n"), "images_root": "/etc"})
    assert r.status_code == 422 and b"not an import folder" in r.content
    assert ImportJob.objects.count() == 0


def test_manifest_import_from_an_allowed_folder(client, lead, project, eager_celery, settings,
                                                django_capture_on_commit_callbacks):
    from pathlib import Path

    root = Path(settings.EISTUDIO_IMPORT_ROOTS[0]) / "batch1"
    make_image(root / "x.png")
    client.force_login(lead)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(f"/projects/{project.pk}/import/", {
            "format": "manifest", "manifest": upload("m.csv", "path,emotion\nx.png,happy\n"),
            "images_root": str(root)})
    assert r.status_code == 200
    assert ImportJob.objects.get().status == "done"
    assert Sample.objects.get(image__dataset_key="x.png").image.width == 32


def test_only_leads_import(client, annotator, reviewer, project):
    for user in (annotator, reviewer):
        client.force_login(user)
        r = client.post(f"/projects/{project.pk}/import/", {"format": "eibench",
                                                           "questions": upload("q.jsonl", '{"a.png": "q"}\n')})
        assert r.status_code == 403
    assert ImportJob.objects.count() == 0


# ------------------------------------------------------------------------------------------------ API
def test_api_needs_authentication_and_a_role(client, no_role, project):
    assert client.get("/api/projects/").status_code in (401, 403)
    client.force_login(no_role)
    assert client.get("/api/projects/").status_code == 403


def test_api_reads_projects_samples_triggers_with_token(client, annotator, project):
    token = Token.objects.create(user=annotator)
    auth = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    projects = client.get("/api/projects/", **auth).json()["results"]
    assert projects[0]["name"] == "bench" and projects[0]["samples"] == 24 and projects[0]["final_samples"] == 24
    overview = client.get(f"/api/projects/{project.pk}/overview/", **auth).json()
    assert overview["by_state"] == {"final": 24} and overview["images_missing"] == 19
    samples = client.get(f"/api/samples/?project={project.pk}&kind=complex", **auth).json()["results"]
    assert len(samples) == 8 and {s["kind"] for s in samples} == {"complex"}
    detail = client.get(f"/api/samples/{samples[0]['id']}/", **auth).json()
    assert [t["position"] for t in detail["triggers"]] == list(range(1, len(detail["triggers"]) + 1))
    triggers = client.get(f"/api/triggers/?sample={samples[0]['id']}", **auth).json()["results"]
    assert [t["text"] for t in triggers] == [t["text"] for t in detail["triggers"]]
    history = client.get(f"/api/samples/{samples[0]['id']}/history/", **auth).json()
    assert history[0]["action"] == "sample.imported"
    assert client.get("/api/samples/?project=abc", **auth).status_code == 400
    assert client.post("/api/samples/", {}, **auth).status_code in (403, 405)  # read-only


def test_api_export_streams_the_same_bytes(client, reviewer, project):
    client.force_login(reviewer)
    r = client.get(f"/api/projects/{project.pk}/export/?file=EI_Complex/ec_complex.jsonl")
    assert r.status_code == 200 and body(r) == (SAMPLE / "ec_complex.jsonl").read_bytes()
    r = client.get(f"/api/projects/{project.pk}/export/")
    assert zipfile.ZipFile(io.BytesIO(body(r))).read("EI_Basic/user.jsonl") == (SAMPLE / "user.jsonl").read_bytes()
    assert client.get(f"/api/projects/{project.pk}/export/?file=../../etc/passwd").status_code == 400


def test_api_import_queues_a_job_for_leads_only(client, lead, annotator, project, eager_celery,
                                                django_capture_on_commit_callbacks):
    client.force_login(annotator)
    r = client.post(f"/api/projects/{project.pk}/imports/", {"format": "eibench",
                                                             "questions": upload("q.jsonl", '{"z.png": "q"}\n')})
    assert r.status_code == 403
    client.force_login(lead)
    r = client.post(f"/api/projects/{project.pk}/imports/", {"format": "eibench"})
    assert r.status_code == 400 and "choose at least one file" in json.dumps(r.json())
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(f"/api/projects/{project.pk}/imports/", {
            "format": "eibench", "questions": upload("q.jsonl", '{"z.png": "q"}\n')})
    assert r.status_code == 202
    job = client.get(f"/api/imports/{r.json()['id']}/").json()
    assert job["status"] == "done" and job["percent"] == 100 and job["summary"]["samples"] == 1


def test_schema_and_swagger_ui_work_offline(client, annotator):
    client.force_login(annotator)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = json.loads(schema.content)["paths"]
    assert "/api/projects/{id}/export/" in paths and "/api/samples/" in paths
    ui = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in ui and "cdn" not in ui.lower()
