"""Every page, partial and API operation, with who may use it. The permission, CSRF and XSS walks read this; a
URL pattern or API operation missing here fails ``test_every_endpoint_is_in_the_matrix``.

``allowed``: the roles (see ``world.ROLES``) that must get through; every other role must be refused (a page:
the login redirect for anonymous, else 403/404; the API: 401/403/404). ``REVIEW`` marks the review app's
endpoints, whose member roles its own tests define: here its lead must get through and anonymous, people without
a role and another project's lead must be refused.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse

from annotator.models import Sample

ANY = {"other_lead", "off_sample", "reviewer", "on_sample", "lead"}  # signed in with a role
MEMBERS = {"off_sample", "reviewer", "on_sample", "lead"}
READERS = {"reviewer", "on_sample", "lead"}  # of the sample on_sample holds
WORKERS = {"on_sample", "lead"}
TAKERS = {"off_sample", "on_sample", "lead"}  # A's annotators (a lead holds every role)
LEAD = {"lead"}
SITE_LEADS = {"lead", "other_lead"}  # the site role lead (create a project)
REVIEW = "review"


@dataclass(frozen=True)
class Op:
    name: str
    method: str
    url: Callable
    allowed: set | str
    data: Callable | None = None
    api: bool = False

    def path(self, w) -> str:
        return self.url(w)


def _v(w):
    return Sample.objects.get(pk=w.sample.pk).version


def _r(name, *args):
    return lambda w: reverse(name, args=[a(w) for a in args])


A = lambda w: w.a.pk  # noqa: E731
S = lambda w: w.sample.pk  # noqa: E731
T = lambda w: w.trigger.pk  # noqa: E731
ASG = lambda w: w.assignment.pk  # noqa: E731
RUN = lambda w: w.extra["run"].pk  # noqa: E731

PAGES = [
    Op("project-list", "get", _r("project-list"), ANY),
    Op("project-detail", "get", _r("project-detail", A), MEMBERS),
    Op("import-start", "post", _r("import-start", A), LEAD,
       data=lambda w: {"format": "eibench", "questions": _upload()}),
    Op("import-job", "get", lambda w: reverse("import-job", args=[w.a.pk, w.job.pk]), MEMBERS),
    Op("export", "get", lambda w: reverse("export", args=[w.a.pk, "provenance.jsonl"]), MEMBERS),
    Op("sample-detail", "get", _r("sample-detail", S), MEMBERS),
    Op("image-file", "get", lambda w: reverse("image-file", args=[w.sample.image_id]), MEMBERS),
    Op("work-home", "get", _r("work-home"), ANY),
    Op("work-next", "post", lambda w: reverse("work-next", args=[w.a.pk, 1]), TAKERS),
    Op("work-project-panel", "get", _r("work-project-panel", A), MEMBERS),
    Op("work-assign", "post", _r("work-assign", A), LEAD,
       data=lambda w: {"annotators": [w.users["on_sample"].pk], "overlap_percent": "10"}),
    Op("work-release", "post", _r("work-release", ASG), WORKERS),
    Op("work-reassign", "post", _r("work-reassign", ASG), LEAD, data=lambda w: {"annotator": w.users["off_sample"].pk}),
    Op("work-sample", "get", _r("work-sample", S), READERS),
    Op("work-sample-export", "get", _r("work-sample-export", S), READERS),
    Op("work-sample-panel", "get", _r("work-sample-panel", S), READERS),
    Op("work-change", "post", lambda w: reverse("work-change", args=[w.sample.pk, "keep"]), WORKERS,
       data=lambda w: {"trigger": w.trigger.pk, "version": _v(w)}),
    Op("work-trigger-history", "get", _r("work-trigger-history", T), READERS),
    Op("pipeline-config", "get", _r("pipeline-config", A), MEMBERS),
    Op("pipeline-config", "post", _r("pipeline-config", A), LEAD, data=lambda w: {"note": "x"}),
    Op("pipeline-project-panel", "get", _r("pipeline-project-panel", A), MEMBERS),
    Op("pipeline-run-start", "post", _r("pipeline-run-start", A), LEAD, data=lambda w: {"selection": "all"}),
    Op("pipeline-run-row", "get", _r("pipeline-run-row", RUN), MEMBERS),
    Op("pipeline-run-cancel", "post", _r("pipeline-run-cancel", RUN), LEAD),
    Op("pipeline-run-retry", "post", _r("pipeline-run-retry", RUN), LEAD),
    Op("pipeline-sample-panel", "get", _r("pipeline-sample-panel", S), MEMBERS),
    Op("pipeline-sample-relabel", "post", _r("pipeline-sample-relabel", S), LEAD),
    # the review app
    Op("review-home", "get", _r("review-home"), {"other_lead", "reviewer", "lead"}),  # site roles reviewer, lead
    Op("review-next", "post", _r("review-next", A), REVIEW),
    Op("review-rate", "get", lambda w: reverse("review-rate", args=[w.extra["review_assignment"].pk]), REVIEW),
    Op("review-rate-submit", "post", lambda w: reverse("review-rate-submit", args=[w.extra["review_assignment"].pk]),
       {"reviewer"}, data=lambda w: {"score": "4", "note": "fine"}),
    Op("review-rework", "post", lambda w: reverse("review-rework", args=[w.extra["rated_quality_sample"].pk]),
       REVIEW, data=lambda w: {"pass_number": "3"}),
    Op("review-finalise", "post", lambda w: reverse("review-finalise", args=[w.extra["draw"].pk]), REVIEW,
       data=lambda w: {"emotion": "happy"}),
    Op("review-project", "get", _r("review-project", A), REVIEW),
    Op("review-draw", "post", _r("review-draw", A), REVIEW, data=lambda w: {"per_emotion": "1"}),
    Op("review-project-panel", "get", _r("review-project-panel", A), REVIEW),
    Op("review-dashboard", "get", _r("review-dashboard", A), REVIEW),
    Op("review-dashboard-csv", "get", lambda w: reverse("review-dashboard-csv", args=[w.a.pk, "agreement"]), REVIEW),
    Op("review-versions", "get", _r("review-versions", A), REVIEW),
    Op("review-freeze", "post", _r("review-freeze", A), REVIEW, data=lambda w: {"note": "again"}),
    Op("review-version", "get", lambda w: reverse("review-version", args=[w.extra["benchmark_version"].pk]), REVIEW),
    Op("review-version-file", "get",
       lambda w: reverse("review-version-file", args=[w.extra["benchmark_version"].pk, "eibench.zip"]), REVIEW),
    Op("review-sample-panel", "get", _r("review-sample-panel", S), REVIEW),
]
# Not object pages: sign-in/out, the schema and its UI (any signed-in user), the admin (staff; Django's own checks).
PAGE_EXEMPT = {"login", "logout", "schema", "swagger-ui"}


def _upload():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("user.jsonl", b'{"Happy/new.png": "Why?"}\n')


def _a(path):
    return lambda w: "/api/" + path.format(a=w.a.pk, s=w.sample.pk, t=w.trigger.pk, r=w.removed.pk,
                                           asg=w.assignment.pk, job=w.job.pk, run=w.extra["run"].pk,
                                           pv=w.extra["version"].pk, trace=w.extra["trace"].pk,
                                           user=w.users["off_sample"].pk,
                                           draw=w.extra.get("draw") and w.extra["draw"].pk,
                                           qs=w.extra.get("quality_sample") and w.extra["quality_sample"].pk,
                                           ra=w.extra.get("review_assignment") and w.extra["review_assignment"].pk,
                                           bv=w.extra.get("benchmark_version") and w.extra["benchmark_version"].pk)


def _api(method, template, path, allowed, data=None):
    return (method, template), Op(f"{method.upper()} {template}", method, _a(path), allowed, data=data, api=True)


API = dict([
    _api("get", "/api/projects/", "projects/", ANY),
    _api("post", "/api/projects/", "projects/", SITE_LEADS, lambda w: {"name": "created here"}),
    _api("get", "/api/projects/{id}/", "projects/{a}/", MEMBERS),
    _api("get", "/api/projects/{id}/overview/", "projects/{a}/overview/", MEMBERS),
    _api("get", "/api/projects/{id}/export/", "projects/{a}/export/?file=provenance.jsonl", MEMBERS),
    _api("post", "/api/projects/{id}/imports/", "projects/{a}/imports/", LEAD,
         lambda w: {"format": "eibench", "questions": _upload()}),
    _api("get", "/api/projects/{id}/members/", "projects/{a}/members/", MEMBERS),
    _api("post", "/api/projects/{id}/members/", "projects/{a}/members/", LEAD,
         lambda w: {"username": "lead_b", "role": "reviewer"}),
    _api("delete", "/api/projects/{id}/members/{user_id}/", "projects/{a}/members/{user}/", LEAD),
    _api("get", "/api/samples/", "samples/", ANY),
    _api("get", "/api/samples/{id}/", "samples/{s}/", MEMBERS),
    _api("get", "/api/samples/{id}/history/", "samples/{s}/history/", MEMBERS),
    _api("get", "/api/triggers/", "triggers/", ANY),
    _api("get", "/api/triggers/{id}/", "triggers/{t}/", MEMBERS),
    _api("get", "/api/imports/", "imports/", ANY),
    _api("get", "/api/imports/{id}/", "imports/{job}/", MEMBERS),
    _api("get", "/api/assignments/", "assignments/", ANY),
    _api("get", "/api/assignments/{id}/", "assignments/{asg}/", {"reviewer", "on_sample", "lead"}),
    _api("post", "/api/assignments/next/", "assignments/next/", TAKERS,
         lambda w: {"project": w.a.pk, "pass_number": 1}),
    _api("post", "/api/assignments/assign/", "assignments/assign/", LEAD,
         lambda w: {"project": w.a.pk, "annotators": [w.users["off_sample"].pk]}),
    _api("post", "/api/assignments/{id}/renew/", "assignments/{asg}/renew/", {"on_sample"}),
    _api("post", "/api/assignments/{id}/release/", "assignments/{asg}/release/", WORKERS),
    _api("post", "/api/assignments/{id}/reassign/", "assignments/{asg}/reassign/", LEAD,
         lambda w: {"annotator": w.users["off_sample"].pk}),
    _api("get", "/api/work/samples/{id}/", "work/samples/{s}/", READERS),
    _api("post", "/api/work/samples/{id}/triggers/", "work/samples/{s}/triggers/", WORKERS,
         lambda w: {"version": _v(w), "text": "Added.", "category": "Other"}),
    _api("post", "/api/work/samples/{id}/undo/", "work/samples/{s}/undo/", WORKERS, lambda w: {"version": _v(w)}),
    _api("post", "/api/work/samples/{id}/submit/", "work/samples/{s}/submit/", WORKERS, lambda w: {"version": _v(w)}),
    _api("post", "/api/work/samples/{id}/skip/", "work/samples/{s}/skip/", {"on_sample"}, lambda w: {"reason": "blur"}),
    _api("get", "/api/work/triggers/{id}/", "work/triggers/{t}/", READERS),
    _api("patch", "/api/work/triggers/{id}/", "work/triggers/{t}/", WORKERS,
         lambda w: {"version": _v(w), "text": "Edited."}),
    _api("post", "/api/work/triggers/{id}/remove/", "work/triggers/{t}/remove/", WORKERS,
         lambda w: {"version": _v(w), "fate": "hallucination"}),
    _api("post", "/api/work/triggers/{id}/restore/", "work/triggers/{r}/restore/", WORKERS,
         lambda w: {"version": _v(w)}),
    _api("post", "/api/work/triggers/{id}/keep/", "work/triggers/{t}/keep/", WORKERS, lambda w: {"version": _v(w)}),
    _api("post", "/api/work/triggers/{id}/move/", "work/triggers/{t}/move/", WORKERS,
         lambda w: {"version": _v(w), "to_index": 1}),
    _api("get", "/api/work/triggers/{id}/history/", "work/triggers/{t}/history/", READERS),
    _api("get", "/api/runs/", "runs/", ANY),
    _api("post", "/api/runs/", "runs/", LEAD, lambda w: {"project": w.a.pk}),
    _api("get", "/api/runs/{id}/", "runs/{run}/", MEMBERS),
    _api("post", "/api/runs/{id}/cancel/", "runs/{run}/cancel/", LEAD),
    _api("post", "/api/runs/{id}/retry_failed/", "runs/{run}/retry_failed/", LEAD),
    _api("get", "/api/prompt-versions/", "prompt-versions/", ANY),
    _api("post", "/api/prompt-versions/", "prompt-versions/", LEAD,
         lambda w: {"project": w.a.pk, "config": {}, "note": "v2"}),
    _api("get", "/api/prompt-versions/{id}/", "prompt-versions/{pv}/", MEMBERS),
    _api("get", "/api/traces/", "traces/", ANY),
    _api("get", "/api/traces/{id}/", "traces/{trace}/", MEMBERS),
    # the review app
    _api("get", "/api/review/draws/", "review/draws/", ANY),
    _api("post", "/api/review/draws/", "review/draws/", REVIEW, lambda w: {"project": w.a.pk, "per_emotion": 1}),
    _api("get", "/api/review/draws/{id}/", "review/draws/{draw}/", REVIEW),
    _api("post", "/api/review/draws/{id}/finalise/", "review/draws/{draw}/finalise/", REVIEW,
         lambda w: {"emotion": "happy"}),
    _api("get", "/api/review/quality-samples/", "review/quality-samples/", ANY),
    _api("get", "/api/review/quality-samples/{id}/", "review/quality-samples/{qs}/", REVIEW),
    _api("post", "/api/review/quality-samples/{id}/rework/", "review/quality-samples/{qs}/rework/", REVIEW,
         lambda w: {"pass_number": 3}),
    _api("get", "/api/review/assignments/", "review/assignments/", {"other_lead", "reviewer", "lead"}),
    _api("get", "/api/review/assignments/{id}/", "review/assignments/{ra}/", REVIEW),
    _api("post", "/api/review/assignments/{id}/rate/", "review/assignments/{ra}/rate/", {"reviewer"},
         lambda w: {"score": 4, "note": "ok"}),
    _api("get", "/api/benchmark-versions/", "benchmark-versions/", ANY),
    _api("post", "/api/benchmark-versions/", "benchmark-versions/", REVIEW, lambda w: {"project": w.a.pk}),
    _api("get", "/api/benchmark-versions/{id}/", "benchmark-versions/{bv}/", REVIEW),
    _api("get", "/api/benchmark-versions/{id}/export/", "benchmark-versions/{bv}/export/?file=eibench.zip",
         REVIEW),
    _api("get", "/api/review/projects/{id}/figures/", "review/projects/{a}/figures/", REVIEW),
])


def _ratings_upload():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("rater1.jsonl", b'{"Happy/0000.png": "4"}\n')
