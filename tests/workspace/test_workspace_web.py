"""Pass screens and the workspace API over HTTP: htmx partials, 409 on a stale save (page and API) with what
changed and a way to reapply, submit → next sample, fixed query counts."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from annotator import actions
from annotator.models import Sample, Trigger
from tests.workspace.conftest import labelled_project

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def started(annotator, lead):
    project = labelled_project("Web", n=3, members=(lead, annotator))
    actions.do_assign_project(project.pk, [annotator.pk], actor=lead)
    assignment = actions.do_take_next(project.pk, 1, actor=annotator)
    sample = Sample.objects.get(pk=assignment.sample_id)
    return project, sample, list(Trigger.objects.filter(sample=sample).order_by("position"))


def test_pass_screen_shows_image_question_triggers_tags_and_side_panels(client, annotator, started):
    _project, sample, triggers = started
    client.force_login(annotator)
    html = client.get(f"/work/samples/{sample.pk}/").content.decode()
    assert "Pass 1: remove hallucinations" in html and sample.question in html
    assert all(t.text in html for t in triggers)
    assert "Facial Expressions" in html and "explicit" in html and "physical cue" in html
    assert f'hx-get="/samples/{sample.pk}/pipeline/"' in html  # the CFSA transcript panel, loaded lazily
    assert "keyboard shortcuts" in html.lower() and "<kbd>x</kbd>" in html
    partial = client.get(f"/work/samples/{sample.pk}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="work")
    assert partial.content.decode().lstrip().startswith('<div id="work"')


def test_the_screen_after_a_change_carries_the_new_version_and_last_event_so_the_next_change_goes_through(
        client, annotator, started):
    import re

    from annotator.models import Event

    _project, sample, triggers = started
    client.force_login(annotator)
    url = f"/work/samples/{sample.pk}/"
    version = sample.version
    for n, trigger in enumerate(triggers[:3], start=1):
        r = client.post(url + "edit/", {"trigger": trigger.pk, "version": version, "text": f"Edit {n}."}, **HX)
        assert r.status_code == 200, r.content[:300]
        html = r.content.decode()
        version = int(re.search(r'name="version" value="(\d+)"', html).group(1))
        seen = int(re.search(r'name="seen" value="(\d+)"', html).group(1))
        assert version == Sample.objects.get(pk=sample.pk).version == sample.version + n
        assert seen == Event.objects.filter(sample=sample).latest("id").pk
        assert f"Edit {n}." in html and sample.question in html
    assert [t.text for t in Trigger.objects.filter(pk__in=[t.pk for t in triggers[:3]]).order_by("position")] == \
        ["Edit 1.", "Edit 2.", "Edit 3."]


def test_stale_save_gets_409_with_what_changed_and_reapply(client, annotator, lead, started):
    _project, sample, triggers = started
    client.force_login(annotator)
    url = f"/work/samples/{sample.pk}/"
    seen_version = sample.version
    # a lead changes the sample meanwhile
    actions.do_update_trigger(triggers[0].pk, text="Changed by the lead.", actor=lead, pass_number=1)
    r = client.post(url + "edit/", {"trigger": triggers[2].pk, "version": seen_version, "text": "Mine."}, **HX)
    assert r.status_code == 409
    assert r["HX-Retarget"] == "#conflict"
    body = r.content.decode()
    assert "nothing was saved" in body.lower() and "Changed by the lead." in body and "lead1" in body
    assert 'id="reapply"' in body and 'name="text" value="Mine."' in body
    assert Trigger.objects.get(pk=triggers[2].pk).text == triggers[2].text  # not overwritten
    # reapply on the current version
    current = Sample.objects.get(pk=sample.pk).version
    r = client.post(url + "edit/", {"trigger": triggers[2].pk, "version": current, "text": "Mine."}, **HX)
    assert r.status_code == 200 and "Mine." in r.content.decode()
    # without htmx it is a 409 too
    r = client.post(url + "keep/", {"trigger": triggers[2].pk, "version": seen_version})
    assert r.status_code == 409


def test_stale_save_gets_409_in_the_api(annotator, lead, started):
    _project, sample, triggers = started
    api = APIClient()
    api.force_authenticate(annotator)
    state = api.get(f"/api/work/samples/{sample.pk}/").json()
    assert state["pass_number"] == 1 and len(state["triggers"]) == 4
    r = api.post(f"/api/work/triggers/{triggers[1].pk}/remove/",
                 {"version": state["version"], "fate": "hallucination", "reason": "not there", "seen": state["seen"]},
                 format="json")
    assert r.status_code == 200 and r.json()["version"] == state["version"] + 1
    r = api.patch(f"/api/work/triggers/{triggers[0].pk}/", {"version": state["version"], "text": "x",
                                                           "seen": state["seen"]}, format="json")
    assert r.status_code == 409
    data = r.json()
    assert data["current_version"] == state["version"] + 1
    assert [c["action"] for c in data["changes"]] == ["trigger.removed"]
    assert Trigger.objects.get(pk=triggers[0].pk).text == triggers[0].text


def test_api_flow_next_add_move_submit(annotator, lead, started):
    project, sample, _ = started
    api = APIClient()
    api.force_authenticate(annotator)
    r = api.post("/api/assignments/next/", {"project": project.pk, "pass_number": 1}, format="json")
    assert r.status_code == 200 and r.json()["sample"]["id"] == sample.pk  # resumes the held lease
    r = api.post(f"/api/work/samples/{sample.pk}/submit/", {"version": r.json()["version"]}, format="json")
    assert r.status_code == 200 and r.json()["sample"]["state"] == "pass2"
    r = api.post("/api/assignments/next/", {"project": project.pk, "pass_number": 2}, format="json")
    assert r.json()["sample"]["id"] == sample.pk and r.json()["pass_number"] == 2
    r = api.post(f"/api/work/samples/{sample.pk}/triggers/", {"version": r.json()["version"], "text": "Context.",
                                                              "category": "Atmosphere", "explicit": "implicit"},
                 format="json")
    assert r.status_code == 201
    new = r.json()["trigger"]
    assert new["explicit"] is False and new["category"] == "Atmosphere" and new["origin"] == "annotator"
    r = api.post(f"/api/work/samples/{sample.pk}/undo/", {"version": r.json()["version"]}, format="json")
    assert r.status_code == 200
    assert Trigger.objects.get(pk=new["id"]).fate == "withdrawn"


def test_submit_goes_to_the_next_sample_then_home(client, annotator, started):
    project, sample, _ = started
    client.force_login(annotator)
    seen = set()
    current = sample
    for _ in range(3):
        seen.add(current.pk)
        r = client.post(f"/work/samples/{current.pk}/submit/", {"version": current.version}, **HX)
        target = r["HX-Redirect"]
        if "/work/samples/" not in target:
            break
        current = Sample.objects.get(pk=int(target.rstrip("/").rsplit("/", 1)[1]))
    assert target == "/work/?empty=1" and len(seen) == 3
    assert set(Sample.objects.filter(project=project).values_list("state", flat=True)) == {"pass2"}
    home = client.get("/work/").content.decode()
    assert 'class="done-today">3<' in home


def test_skip_with_reason_from_the_page(client, annotator, started):
    _project, sample, _ = started
    client.force_login(annotator)
    r = client.post(f"/work/samples/{sample.pk}/skip/", {"reason": "too dark"}, **HX)
    assert r.status_code == 200 and "/work/samples/" in r["HX-Redirect"]
    assert str(sample.pk) not in r["HX-Redirect"].split("/")


def _queries(client, method, url, data=None, status=200):
    with CaptureQueriesContext(connection) as ctx:
        response = getattr(client, method)(url, data or {}, **({} if status == 302 else HX))
    assert response.status_code == status
    return len(ctx)


def test_query_counts_do_not_grow_with_the_project(client, annotator, lead):
    counts = []
    for n in (2, 40):
        project = labelled_project(f"Q{n}", n=n, members=(lead, annotator))
        actions.do_assign_project(project.pk, [annotator.pk], actor=lead)
        a = actions.do_take_next(project.pk, 1, actor=annotator)
        sample = Sample.objects.get(pk=a.sample_id)
        trigger = Trigger.objects.filter(sample=sample).first()
        client.force_login(annotator)
        counts.append((
            _queries(client, "get", f"/work/samples/{sample.pk}/"),
            _queries(client, "post", f"/work/projects/{project.pk}/next/1/", {"after": sample.pk}, status=302),
            _queries(client, "post", f"/work/samples/{sample.pk}/edit/",
                     {"trigger": trigger.pk, "version": sample.version, "text": "new"}),
        ))
    assert counts[0] == counts[1], counts
    # the pass screen: session, user, site roles with memberships (one UNION), sample, assignments, triggers
    assert counts[0][0] <= 6, counts
