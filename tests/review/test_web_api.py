"""Review pages and API: who may do what (anonymous, annotator, reviewer assigned / not assigned, lead, a lead of
another project), blindness before rating, reviewers cannot change triggers, annotators cannot rate, the lead's
draw / rework / finalise / freeze from the pages, CSV downloads, query counts and the schema."""
import csv
import io
import json

import pytest
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from annotator.models import Event, Sample, Trigger
from review import actions
from review.models import BenchmarkVersion, QualitySample, Rating, ReviewAssignment
from tests.conftest import _user, join
from tests.review.conftest import open_review, rate_all, refined_project

pytestmark = pytest.mark.django_db
SECRET = "SECRET-NOTE-the-unicorn-is-made-up"


@pytest.fixture
def world(project, lead, reviewers, annotator, django_user_model):
    """One happy sample drawn for rev1 and rev2 (2 reviewers); rev2 has rated it 1 with a secret note; rev3 is a
    reviewer of the project not assigned to it."""
    draw = actions.do_draw_quality_sample(project.pk, actor=lead, per_emotion=1, seed=5, emotions=["happy"],
                                          reviewers=[reviewers[0].pk, reviewers[1].pk], reviewers_per_item=2)
    qs = QualitySample.objects.get(draw=draw)
    actions.do_rate(open_review(qs, reviewers[1]).pk, 1, SECRET, actor=reviewers[1])
    outsider = _user(django_user_model, "lead-elsewhere", "lead")
    return {"project": project, "draw": draw, "qs": qs, "mine": open_review(qs, reviewers[0]),
            "users": {"anonymous": None, "annotator": annotator, "assigned": reviewers[0], "rated": reviewers[1],
                      "unassigned": reviewers[2], "lead": lead, "outsider": outsider}}


def _client(user):
    from django.test import Client

    c = Client()
    if user is not None:
        c.force_login(user)
    return c


def _api(user):
    c = APIClient()
    if user is not None:
        c.force_authenticate(user)
    return c


WHO = ("anonymous", "annotator", "assigned", "unassigned", "lead", "outsider")
PAGES = [
    ("my reviews", lambda w: reverse("review-home"), {"assigned", "unassigned", "lead", "outsider"}),
    ("rate screen", lambda w: reverse("review-rate", args=[w["mine"].pk]), {"assigned", "lead"}),
    ("lead page", lambda w: reverse("review-project", args=[w["project"].pk]), {"lead"}),
    ("dashboard", lambda w: reverse("review-dashboard", args=[w["project"].pk]), {"lead"}),
    ("dashboard csv", lambda w: reverse("review-dashboard-csv", args=[w["project"].pk, "categories"]), {"lead"}),
    ("project panel", lambda w: reverse("review-project-panel", args=[w["project"].pk]),
     {"annotator", "assigned", "unassigned", "lead"}),
    ("sample panel", lambda w: reverse("review-sample-panel", args=[w["qs"].sample_id]),
     {"assigned", "unassigned", "lead"}),
    ("versions", lambda w: reverse("review-versions", args=[w["project"].pk]),
     {"annotator", "assigned", "unassigned", "lead"}),
]


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("name, url, allowed", PAGES, ids=[p[0] for p in PAGES])
def test_page_access(world, who, name, url, allowed):
    response = _client(world["users"][who]).get(url(world))
    if who == "anonymous":
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    elif who in allowed:
        assert response.status_code == 200, response.content[:300]
    else:
        assert response.status_code in (403, 404), (who, name, response.status_code)


@pytest.mark.parametrize("who", WHO)
def test_only_the_assigned_reviewer_rates(world, who):
    response = _client(world["users"][who]).post(reverse("review-rate-submit", args=[world["mine"].pk]),
                                                 {"score": "4", "note": ""})
    if who == "anonymous":
        assert response.status_code == 302
    elif who == "assigned":
        assert response.status_code == 302 and Rating.objects.filter(assignment=world["mine"]).exists()
    else:
        assert response.status_code in (403, 404) and not Rating.objects.filter(assignment=world["mine"]).exists()


@pytest.mark.parametrize("who", WHO)
def test_api_rate_is_for_the_assigned_reviewer_only(world, who):
    response = _api(world["users"][who]).post(f"/api/review/assignments/{world['mine'].pk}/rate/",
                                              {"score": 4}, format="json")
    expected = {"anonymous": (401, 403), "assigned": (201,)}.get(who, (403, 404))
    assert response.status_code in expected, (who, response.status_code, response.content)


def test_blind_until_rated(world, client):
    rev1 = world["users"]["assigned"]
    client.force_login(rev1)
    sample_id = world["qs"].sample_id
    places = [reverse("review-rate", args=[world["mine"].pk]), reverse("review-sample-panel", args=[sample_id]),
              reverse("sample-detail", args=[sample_id]),
              reverse("export", args=[world["project"].pk, "provenance.jsonl"]),
              f"/api/review/quality-samples/{world['qs'].pk}/", f"/api/review/quality-samples/?sample={sample_id}",
              f"/api/samples/{sample_id}/history/"]

    def seen(url):
        r = client.get(url)
        assert r.status_code == 200, (url, r.status_code)
        body = b"".join(r.streaming_content) if r.streaming else r.content
        return body.decode()

    for url in places:
        text = seen(url)
        assert SECRET not in text, url
        assert "1/5" not in text or url.endswith("history/"), url
    api = json.loads(seen(f"/api/review/quality-samples/{world['qs'].pk}/"))
    assert api["ratings"] == [] and api["hidden_rounds"] == [1]

    r = client.post(reverse("review-rate-submit", args=[world["mine"].pk]), {"score": "4", "note": "fine"},
                    HTTP_HX_REQUEST="true", HTTP_HX_TARGET="review")
    assert r.status_code == 200 and SECRET in r.content.decode()  # once rated: the others' ratings
    api = json.loads(seen(f"/api/review/quality-samples/{world['qs'].pk}/"))
    assert sorted(x["score"] for x in api["ratings"]) == [1, 4]
    assert SECRET in seen(reverse("review-sample-panel", args=[sample_id]))
    # the round is complete: everyone who reads the sample sees it now
    rev3 = world["users"]["unassigned"]
    client.force_login(rev3)
    assert SECRET in seen(reverse("review-sample-panel", args=[sample_id]))


def test_unassigned_reviewer_does_not_see_an_open_round(world, client):
    client.force_login(world["users"]["unassigned"])
    html = client.get(reverse("review-sample-panel", args=[world["qs"].sample_id])).content.decode()
    assert SECRET not in html and "hidden until the round is complete" in html


def test_reviewers_cannot_change_triggers(world):
    sample = Sample.objects.get(pk=world["qs"].sample_id)
    trigger = Trigger.objects.filter(sample=sample).first()
    for who in ("assigned", "unassigned"):
        user = world["users"][who]
        web = _client(user).post(reverse("work-change", args=[sample.pk, "edit"]),
                                 {"trigger": trigger.pk, "text": "changed", "version": sample.version})
        api = _api(user).patch(f"/api/work/triggers/{trigger.pk}/", {"text": "changed", "version": sample.version},
                               format="json")
        assert web.status_code == 403 and api.status_code == 403
    assert Trigger.objects.get(pk=trigger.pk).text == trigger.text


def test_rate_screen_shows_what_the_reviewer_needs_and_the_keys(world, client):
    client.force_login(world["users"]["assigned"])
    html = client.get(reverse("review-rate", args=[world["mine"].pk])).content.decode()
    sample = Sample.objects.get(pk=world["qs"].sample_id)
    assert sample.question in html
    for t in Trigger.objects.filter(sample=sample, fate="kept"):
        assert t.text in html
    assert "4–5 if the triggers make sense" in html and "below 3 only" in html
    assert 'name="score" value="5"' in html and "js/review.js" in html
    assert "<kbd>0</kbd> … <kbd>5</kbd>" in html and "submit the rating" in html  # the ? overlay


def test_web_rating_errors_are_shown(world, client):
    client.force_login(world["users"]["assigned"])
    url = reverse("review-rate-submit", args=[world["mine"].pk])
    r = client.post(url, {"score": "2", "note": ""}, HTTP_HX_REQUEST="true")
    assert r.status_code == 422 and "needs a note" in r.content.decode()
    r = client.post(url, {"score": "9"}, HTTP_HX_REQUEST="true")
    assert r.status_code == 422
    assert not Rating.objects.filter(assignment=world["mine"]).exists()


def test_my_reviews_and_next(world, client):
    client.force_login(world["users"]["assigned"])
    html = client.get(reverse("review-home")).content.decode()
    assert world["project"].name in html and "Rate ›" in html
    r = client.post(reverse("review-next", args=[world["project"].pk]))
    assert r.status_code == 302 and r["Location"] == reverse("review-rate", args=[world["mine"].pk])
    nav = client.get(reverse("project-list")).content.decode()
    assert 'href="/review/"' in nav and "My reviews" in nav


def test_lead_pages_draw_rework_finalise(project, lead, reviewers, annotator, client):
    client.force_login(lead)
    r = client.post(reverse("review-draw", args=[project.pk]), {"per_emotion": "1", "seed": "9",
                                                                "reviewers_per_item": "3"}, HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and "Drew 4 samples (seed 9)" in r.content.decode()
    happy = QualitySample.objects.get(emotion="happy")
    rate_all(happy, reviewers, [1, 2, 5], notes={0: "wrong", 1: "missing the crowd"})
    html = client.get(reverse("review-project", args=[project.pk])).content.decode()
    assert "Send to rework" in html and "missing the crowd" in html
    r = client.post(reverse("review-rework", args=[happy.pk]), {"pass_number": "2"}, HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and "back to pass 2" in r.content.decode()
    assert Sample.objects.get(pk=happy.sample_id).state == "pass2"
    sad = QualitySample.objects.get(emotion="sad")
    rate_all(sad, reviewers, [4, 4, 5])
    r = client.post(reverse("review-finalise", args=[sad.draw_id]), {"emotion": "sad"}, HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and "Finalised sad: 5 samples are final." in r.content.decode()
    r = client.post(reverse("review-finalise", args=[sad.draw_id]), {"emotion": "happy"}, HTTP_HX_REQUEST="true")
    assert r.status_code == 409 and "cannot be finalised yet" in r.content.decode()


def test_annotator_sees_reviewer_notes_on_the_pass_screen(lead, reviewers, annotator, client):
    from annotator import actions as work

    project = join(refined_project("Notes", per_emotion=1, emotions=["happy"], state="labelled"), lead, *reviewers,
                   annotator)
    work.do_assign_project(project.pk, [annotator.pk], actor=lead, overlap_fraction=0)
    sample = Sample.objects.get(project=project)
    for p in (1, 2, 3):
        work.do_take_next(project.pk, p, actor=annotator)
        work.do_submit_pass(sample.pk, actor=annotator)
    draw = actions.do_draw_quality_sample(project.pk, actor=lead, per_emotion=1, seed=1)
    qs = rate_all(QualitySample.objects.get(draw=draw), reviewers, [1, 2, 4],
                  notes={0: "the trophy is made up", 1: "no word on the crowd"})
    actions.do_send_to_rework(qs.pk, 1, actor=lead)
    client.force_login(annotator)
    html = client.get(reverse("work-sample", args=[sample.pk])).content.decode()
    assert "Rework:" in html and "rev1 rated 1/5: the trophy is made up" in html
    assert "no word on the crowd" in html


def test_csv_downloads(world, client):
    rate_all(world["qs"], [world["users"]["assigned"]], [4])
    client.force_login(world["users"]["lead"])
    for section in ("categories", "reviewers", "agreement", "annotators", "pipeline", "added", "throughput"):
        r = client.get(reverse("review-dashboard-csv", args=[world["project"].pk, section]))
        assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(r.content.decode())))
        assert rows[0], section
    cats = list(csv.DictReader(io.StringIO(client.get(reverse("review-dashboard-csv", args=[
        world["project"].pk, "categories"])).content.decode())))
    happy = next(r for r in cats if r["emotion"] == "happy")
    assert (happy["ratings"], happy["mean"], happy["min"], happy["max"], happy["share_below_3"]) == (
        "2", "2.500000", "1", "4", "0.500000")
    assert client.get(reverse("review-dashboard-csv", args=[world["project"].pk, "nope"])).status_code == 404


def test_dashboard_updates_after_a_rating(world, client):
    client.force_login(world["users"]["lead"])
    url = reverse("review-dashboard", args=[world["project"].pk])
    before = client.get(url).content.decode()
    assert 'data-emotion="happy"><td>happy</td><td class="num">1</td>' in before
    rate_all(world["qs"], [world["users"]["assigned"]], [5])
    after = client.get(url).content.decode()
    assert 'data-emotion="happy"><td>happy</td><td class="num">2</td>' in after and "3.00" in after


def test_dashboard_cache_recomputes_only_what_changed(world):
    from django.db import connection

    from review import dashboard

    project = world["project"]
    dashboard.figures(project)

    def sql():
        with CaptureQueriesContext(connection) as ctx:
            dashboard.figures(project)
        return " ".join(q["sql"] for q in ctx.captured_queries)

    cached = sql()
    assert '"review_rating"."score"' not in cached and '"annotator_trigger"' not in cached
    rate_all(world["qs"], [world["users"]["assigned"]], [5])
    after_rating = sql()
    assert '"review_rating"."score"' in after_rating  # the rating figures again
    assert '"annotator_assignment"."overlap"' not in after_rating  # not the annotator agreement


def _bulk_rated(project, lead, reviewers, per_emotion):
    """Draw ``per_emotion`` per category and rate every sample by the three reviewers (through the action)."""
    draw = actions.do_draw_quality_sample(project.pk, actor=lead, per_emotion=per_emotion, seed=2)
    for i, qs in enumerate(QualitySample.objects.filter(draw=draw).order_by("id")):
        for j, a in enumerate(ReviewAssignment.objects.filter(quality_sample=qs).select_related("reviewer")):
            actions.do_rate(a.pk, (i + j) % 3 + 3, actor=a.reviewer)
    return draw


@pytest.mark.parametrize("url", ["review-dashboard", "review-project", "review-project-panel"])
def test_lead_pages_query_counts_do_not_grow(lead, reviewers, url, client):
    client.force_login(lead)
    counts = []
    for n, per in (("Small", 1), ("Larger", 6)):
        project = join(refined_project(n, per_emotion=per), lead, *reviewers)
        _bulk_rated(project, lead, reviewers, per)
        with CaptureQueriesContext(__import__("django.db", fromlist=["connection"]).connection) as ctx:
            assert client.get(reverse(url, args=[project.pk])).status_code == 200
        counts.append(len(ctx))
    assert counts[0] == counts[1], counts


def test_reviewer_pages_query_counts_do_not_grow(lead, reviewers, client):
    from django.db import connection

    counts = []
    for n, per in (("Small", 1), ("Larger", 6)):
        project = join(refined_project(n, per_emotion=per), lead, *reviewers)
        draw = actions.do_draw_quality_sample(project.pk, actor=lead, per_emotion=per, seed=2)
        client.force_login(reviewers[0])
        first = ReviewAssignment.objects.filter(quality_sample__draw=draw, reviewer=reviewers[0]).first()
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("review-home")).status_code == 200
            assert client.get(reverse("review-rate", args=[first.pk])).status_code == 200
            assert client.get(reverse("review-sample-panel", args=[first.quality_sample.sample_id])).status_code == 200
        counts.append(len(ctx))
    assert counts[0] == counts[1], counts


def test_api_draw_quality_samples_figures_and_versions(project, lead, reviewers, annotator):
    api = _api(lead)
    r = api.post("/api/review/draws/", {"project": project.pk, "per_emotion": 2, "seed": 4}, format="json")
    assert r.status_code == 201 and r.json()["seed"] == 4
    assert _api(reviewers[0]).post("/api/review/draws/", {"project": project.pk}, format="json").status_code == 403
    assert _api(annotator).post("/api/review/draws/", {"project": project.pk}, format="json").status_code == 403
    items = api.get(f"/api/review/quality-samples/?project={project.pk}").json()["results"]
    assert len(items) == 8
    queue = _api(reviewers[0]).get("/api/review/assignments/?status=open").json()["results"]
    assert len(queue) == 8 and {a["reviewer"] for a in queue} == {"rev1"}
    assert _api(annotator).get("/api/review/assignments/").status_code == 403
    for user in reviewers:
        for a in _api(user).get("/api/review/assignments/?status=open").json()["results"]:
            score = 1 if a["emotion"] == "happy" and user != reviewers[2] else 4
            r = _api(user).post(f"/api/review/assignments/{a['id']}/rate/", {"score": score, "note": "x"},
                                format="json")
            assert r.status_code == 201, r.content
    below = api.get(f"/api/review/quality-samples/?project={project.pk}&status=below").json()["results"]
    assert len(below) == 2 and all(q["mean"] == pytest.approx(2.0) for q in below)
    r = api.post(f"/api/review/quality-samples/{below[0]['id']}/rework/", {"pass_number": 3}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "rework"
    assert _api(reviewers[0]).post(f"/api/review/quality-samples/{below[1]['id']}/rework/", {"pass_number": 3},
                                   format="json").status_code == 403
    figures = api.get(f"/api/review/projects/{project.pk}/figures/").json()
    assert {"categories", "agreement", "annotators", "pipeline", "added", "throughput"} <= set(figures)
    assert figures["agreement"]["alpha_interval"]["items"] == 8
    assert _api(reviewers[0]).get(f"/api/review/projects/{project.pk}/figures/").status_code == 403
    r = api.post(f"/api/review/draws/{items[0]['draw']}/finalise/", {"emotion": "sad"}, format="json")
    assert r.status_code == 200 and r.json()["final"] == 5

    r = api.post("/api/benchmark-versions/", {"project": project.pk, "note": "sad only"}, format="json")
    assert r.status_code == 201 and r.json()["number"] == 1 and r.json()["samples"] == 5
    v = r.json()
    assert _api(reviewers[0]).post("/api/benchmark-versions/", {"project": project.pk},
                                   format="json").status_code == 403
    z1 = _api(annotator).get(f"/api/benchmark-versions/{v['id']}/export/")
    z2 = api.get(f"/api/benchmark-versions/{v['id']}/export/?file=eibench.zip")
    assert z1.status_code == 200 and z1.content == z2.content and z1["X-Checksum-SHA256"] == v["checksum"]
    gt = api.get(f"/api/benchmark-versions/{v['id']}/export/?file=EI_Basic/basic_ground_truth.json")
    assert gt.status_code == 200 and gt.content.startswith(b"{\n    ")
    assert api.get(f"/api/benchmark-versions/{v['id']}/export/?file=EI_Complex/ec_complex.jsonl").status_code == 404
    assert api.get(f"/api/benchmark-versions/{v['id']}/export/?file=../x").status_code == 400


def test_outsiders_see_nothing_through_the_api(world):
    outsider = world["users"]["outsider"]
    api = _api(outsider)
    assert api.get("/api/review/quality-samples/").json()["results"] == []
    assert api.get("/api/review/draws/").json()["results"] == []
    assert api.get(f"/api/review/projects/{world['project'].pk}/figures/").status_code == 404
    assert api.post("/api/review/draws/", {"project": world["project"].pk}, format="json").status_code == 404


def test_annotator_sees_only_quality_samples_of_their_samples(world):
    assert _api(world["users"]["annotator"]).get("/api/review/quality-samples/").json()["results"] == []


def test_schema_lists_review_endpoints(client, annotator):
    client.force_login(annotator)
    paths = json.loads(client.get("/api/schema/", HTTP_ACCEPT="application/json").content)["paths"]
    for p in ("/api/review/draws/", "/api/review/assignments/{id}/rate/", "/api/review/quality-samples/{id}/rework/",
              "/api/review/projects/{id}/figures/", "/api/benchmark-versions/{id}/export/"):
        assert p in paths, p


def test_versions_page_freeze_and_download(project, lead, client):
    Sample.objects.filter(project=project, emotion="angry").update(state="final")
    client.force_login(lead)
    r = client.post(reverse("review-freeze", args=[project.pk]), {"note": "angry first"})
    v = BenchmarkVersion.objects.get(project=project)
    assert r.status_code == 302 and r["Location"] == reverse("review-version", args=[v.pk])
    html = client.get(r["Location"]).content.decode()
    assert v.checksum in html and "EI_Basic/basic_ground_truth.json" in html and "The first version" in html
    first = client.get(reverse("review-version-file", args=[v.pk, "eibench.zip"])).content
    Trigger.objects.filter(sample__project=project).update(text="edited later")
    Sample.objects.filter(project=project).update(state="final")
    again = client.get(reverse("review-version-file", args=[v.pk, "eibench.zip"])).content
    assert first == again
    assert Event.objects.filter(action="benchmark.frozen").count() == 1


def test_dashboard_of_200_samples_by_3_reviewers_loads_well_under_a_second(client, django_user_model):
    """The benchmark's size (50 per category x 4, 3 reviewers) with every section's data (bench/review.py's
    builder): the lead's dashboard, cold (nothing cached), in well under a second."""
    import random
    import time

    from django.core.cache import cache

    from bench.review import build

    people = {"lead": _user(django_user_model, "bench-lead", "lead"),
              "reviewers": [_user(django_user_model, f"bench-rev{i}", "reviewer") for i in range(5)],
              "annotators": [_user(django_user_model, f"bench-ann{i}", "annotator") for i in range(4)]}
    project = build(200, people, random.Random(1), 3)
    client.force_login(people["lead"])
    url = reverse("review-dashboard", args=[project.pk])
    client.get(url)  # templates, session
    best = None
    for _ in range(3):
        cache.clear()
        t0 = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - t0
        best = elapsed if best is None else min(best, elapsed)
    assert response.status_code == 200 and response.context["d"]["agreement"]["ratings"] == 600
    assert response.context["d"]["annotators"]["units"] == 60
    assert best < 0.5, f"{best:.3f} s"


def test_api_writes_refuse_bodies_that_are_not_objects(world):
    api = _api(world["users"]["lead"])
    for url in ("/api/benchmark-versions/", f"/api/review/draws/{world['draw'].pk}/finalise/",
                f"/api/review/quality-samples/{world['qs'].pk}/rework/", "/api/review/draws/",
                f"/api/review/assignments/{world['mine'].pk}/rate/"):
        for body in ([1, 2], "text", {"pass_number": "nine", "emotion": ["x"], "project": "p", "score": "x"}):
            response = api.post(url, body, format="json")
            assert response.status_code in (400, 403, 409), (url, body, response.status_code)
