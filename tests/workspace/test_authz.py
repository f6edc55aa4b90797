"""Authorisation: every workspace URL and API endpoint x (anonymous, annotator on the sample, other annotator,
reviewer, lead). "Allowed" means the request was not refused (not 401/403/404 and no server error); "denied"
means 403 (404 where the object is outside the caller's queryset), and the login page for anonymous pages."""
import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from annotator import actions
from annotator.models import Assignment, Sample, Trigger
from tests.workspace.conftest import labelled_project

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "on_sample", "other_annotator", "reviewer", "lead")
READERS = {"on_sample", "reviewer", "lead"}
WORKERS = {"on_sample", "lead"}
EVERYONE = {"on_sample", "other_annotator", "reviewer", "lead"}
TAKERS = {"on_sample", "other_annotator", "lead"}


@pytest.fixture
def world(annotator, other_annotator, reviewer, lead):
    project = labelled_project("Authz", n=2, members=(annotator, other_annotator, reviewer, lead))
    actions.do_assign_project(project.pk, [annotator.pk], actor=lead)
    assignment = actions.do_take_next(project.pk, 1, actor=annotator)
    sample = Sample.objects.get(pk=assignment.sample_id)
    triggers = list(Trigger.objects.filter(sample=sample).order_by("position"))
    actions.do_set_trigger_fate(triggers[1].pk, "hallucination", actor=annotator, pass_number=1)
    sample.refresh_from_db()
    users = {"anonymous": None, "on_sample": annotator, "other_annotator": other_annotator, "reviewer": reviewer,
             "lead": lead}
    return {"project": project, "sample": sample, "assignment": assignment, "trigger": triggers[0],
            "removed": triggers[1], "users": users, "other": other_annotator}


def _v(w):
    return Sample.objects.get(pk=w["sample"].pk).version


# (name, method, url(w), data(w), allowed roles)
PAGES = [
    ("home", "get", lambda w: reverse("work-home"), None, EVERYONE),
    ("next", "post", lambda w: reverse("work-next", args=[w["project"].pk, 1]), None, TAKERS),
    ("project panel", "get", lambda w: reverse("work-project-panel", args=[w["project"].pk]), None, EVERYONE),
    ("assign", "post", lambda w: reverse("work-assign", args=[w["project"].pk]),
     lambda w: {"annotators": [w["users"]["on_sample"].pk], "overlap_percent": "10"}, {"lead"}),
    ("release", "post", lambda w: reverse("work-release", args=[w["assignment"].pk]), None, WORKERS),
    ("reassign", "post", lambda w: reverse("work-reassign", args=[w["assignment"].pk]),
     lambda w: {"annotator": w["other"].pk}, {"lead"}),
    ("pass screen", "get", lambda w: reverse("work-sample", args=[w["sample"].pk]), None, READERS),
    ("sample export", "get", lambda w: reverse("work-sample-export", args=[w["sample"].pk]), None, READERS),
    ("sample panel", "get", lambda w: reverse("work-sample-panel", args=[w["sample"].pk]), None, READERS),
    ("trigger history", "get", lambda w: reverse("work-trigger-history", args=[w["trigger"].pk]), None, READERS),
] + [
    (f"change {op}", "post", lambda w, op=op: reverse("work-change", args=[w["sample"].pk, op]), data,
     allowed)
    for op, data, allowed in [
        ("keep", lambda w: {"trigger": w["trigger"].pk, "version": _v(w)}, WORKERS),
        ("remove", lambda w: {"trigger": w["trigger"].pk, "version": _v(w), "fate": "hallucination",
                              "reason": "not there"}, WORKERS),
        ("restore", lambda w: {"trigger": w["removed"].pk, "version": _v(w)}, WORKERS),
        ("edit", lambda w: {"trigger": w["trigger"].pk, "version": _v(w), "text": "Edited."}, WORKERS),
        ("add", lambda w: {"version": _v(w), "text": "Added.", "category": "Other", "explicit": "implicit"},
         WORKERS),
        ("move", lambda w: {"trigger": w["trigger"].pk, "version": _v(w), "direction": "down"}, WORKERS),
        ("undo", lambda w: {"version": _v(w)}, WORKERS),
        ("submit", lambda w: {"version": _v(w)}, WORKERS),
        ("skip", lambda w: {"reason": "blurry"}, {"on_sample"}),  # a lead releases or reassigns instead
        ("renew", lambda w: {}, WORKERS),
        ("next", lambda w: {}, WORKERS),
    ]
]

API = [
    ("assignments list", "get", lambda w: "/api/assignments/", None, EVERYONE),
    ("assignment detail", "get", lambda w: f"/api/assignments/{w['assignment'].pk}/", None, READERS),
    ("next", "post", lambda w: "/api/assignments/next/", lambda w: {"project": w["project"].pk, "pass_number": 1},
     TAKERS),
    ("assign", "post", lambda w: "/api/assignments/assign/",
     lambda w: {"project": w["project"].pk, "annotators": [w["other"].pk]}, {"lead"}),
    ("renew", "post", lambda w: f"/api/assignments/{w['assignment'].pk}/renew/", None, {"on_sample"}),
    ("release", "post", lambda w: f"/api/assignments/{w['assignment'].pk}/release/", None, WORKERS),
    ("reassign", "post", lambda w: f"/api/assignments/{w['assignment'].pk}/reassign/",
     lambda w: {"annotator": w["other"].pk}, {"lead"}),
    ("work sample", "get", lambda w: f"/api/work/samples/{w['sample'].pk}/", None, READERS),
    ("add trigger", "post", lambda w: f"/api/work/samples/{w['sample'].pk}/triggers/",
     lambda w: {"version": _v(w), "text": "Added.", "category": "Other", "explicit": "implicit"}, WORKERS),
    ("undo", "post", lambda w: f"/api/work/samples/{w['sample'].pk}/undo/", lambda w: {"version": _v(w)},
     WORKERS),
    ("submit", "post", lambda w: f"/api/work/samples/{w['sample'].pk}/submit/", lambda w: {"version": _v(w)},
     WORKERS),
    ("skip", "post", lambda w: f"/api/work/samples/{w['sample'].pk}/skip/", lambda w: {"reason": "blurry"},
     {"on_sample"}),
    ("trigger", "get", lambda w: f"/api/work/triggers/{w['trigger'].pk}/", None, READERS),
    ("edit trigger", "patch", lambda w: f"/api/work/triggers/{w['trigger'].pk}/",
     lambda w: {"version": _v(w), "text": "Edited."}, WORKERS),
    ("remove trigger", "post", lambda w: f"/api/work/triggers/{w['trigger'].pk}/remove/",
     lambda w: {"version": _v(w), "fate": "hallucination"}, WORKERS),
    ("restore trigger", "post", lambda w: f"/api/work/triggers/{w['removed'].pk}/restore/",
     lambda w: {"version": _v(w)}, WORKERS),
    ("keep trigger", "post", lambda w: f"/api/work/triggers/{w['trigger'].pk}/keep/", lambda w: {"version": _v(w)},
     WORKERS),
    ("move trigger", "post", lambda w: f"/api/work/triggers/{w['trigger'].pk}/move/",
     lambda w: {"version": _v(w), "to_index": 1}, WORKERS),
    ("trigger history", "get", lambda w: f"/api/work/triggers/{w['trigger'].pk}/history/", None, READERS),
]


def _check(response, role, allowed, *, api):
    code = response.status_code
    assert code < 500, response.content[:500]
    if role in allowed:
        assert code not in (401, 403, 404), (role, code, response.content[:300])
    elif role == "anonymous" and not api:
        assert code == 302 and "/accounts/login/" in response["Location"]
    else:
        assert code in (401, 403, 404), (role, code, response.content[:300])


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name,method,url,data,allowed", PAGES, ids=[p[0] for p in PAGES])
def test_workspace_pages(client, world, role, name, method, url, data, allowed):
    if world["users"][role]:
        client.force_login(world["users"][role])
    response = getattr(client, method)(url(world), data(world) if data else {}, HTTP_HX_REQUEST="true")
    _check(response, role, allowed, api=False)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name,method,url,data,allowed", API, ids=[a[0] for a in API])
def test_workspace_api(world, role, name, method, url, data, allowed):
    client = APIClient()
    if world["users"][role]:
        client.force_authenticate(world["users"][role])
    response = getattr(client, method)(url(world), data(world) if data else {}, format="json")
    _check(response, role, allowed, api=True)


def test_annotators_list_only_their_own_assignments(world):
    client = APIClient()
    client.force_authenticate(world["other"])
    assert client.get("/api/assignments/").json()["results"] == []
    client.force_authenticate(world["users"]["on_sample"])
    rows = client.get("/api/assignments/").json()["results"]
    assert rows and {r["annotator"] for r in rows} == {"ann1"}
    assert Assignment.objects.exclude(annotator=world["users"]["on_sample"]).count() == 0
