"""Review pages and htmx partials: the reviewer's queue ("My reviews") and rating screen, the lead's review page
(draw, rework, finalise), the dashboards (charts, tables, CSV), benchmark versions, and the panels on the project
and sample pages (settings.EISTUDIO_*_PANELS). Thin: reads here and in ``dashboard``, writes via ``actions``."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, F, Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from annotator.actions.workspace import PASS_NAMES
from annotator.models import Project, Sample, Trigger
from annotator.permissions import ANY_ROLE, project_for, projects_for, role_required
from annotator.roles import LEAD, REVIEWER

from . import actions, charts, dashboard, versions
from .models import BenchmarkVersion, Draw, QualitySample, Rating, ReviewAssignment
from .permissions import can_rate, can_read_sample, can_see_round, is_lead_of, my_assignments

OPEN, DONE = ReviewAssignment.Status.OPEN, ReviewAssignment.Status.DONE
PER_PAGE = 50


def _redirect(request, url):
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _int(value, name="value"):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Http404(f"bad {name}") from None


# --------------------------------------------------------------------------------------------- reviewer
def _queue(user):
    """The user's open reviews of samples waiting for ratings in the current round, in their projects."""
    return ReviewAssignment.objects.filter(reviewer=user, status=OPEN, round=F("quality_sample__round"),
                                           quality_sample__status=QualitySample.Status.PENDING,
                                           project__in=projects_for(user, REVIEWER))


@login_required
@role_required(REVIEWER)
@require_GET
def my_reviews(request):
    """My open reviews per project, what I rated today and recently."""
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    projects = list(_queue(request.user).values("project_id", "project__name").annotate(n=Count("id"))
                    .order_by("project__name"))
    recent = (Rating.objects.filter(reviewer=request.user).select_related("quality_sample__sample__image",
                                                                           "assignment")
              .order_by("-id")[:20])
    done_today = Rating.objects.filter(reviewer=request.user, created_at__gte=today).count()
    return render(request, "review/my_reviews.html", {
        "projects": projects, "recent": recent, "done_today": done_today, "empty": request.GET.get("empty"),
        "guidance": actions.GUIDANCE})


@login_required
@role_required(REVIEWER)
@require_POST
def next_review(request, pk):
    project = project_for(request.user, pk, REVIEWER)
    a = _queue(request.user).filter(project=project).order_by("id").first()
    if a is None:
        return _redirect(request, reverse("review-home") + "?empty=1")
    return _redirect(request, reverse("review-rate", args=[a.pk]))


def _rate_context(request, a: ReviewAssignment, *, error: str = "") -> dict:
    qs = a.quality_sample
    sample = qs.sample
    triggers = list(Trigger.objects.filter(sample=sample, fate=Trigger.Fate.KEPT).order_by("position", "id"))
    visible = can_see_round(request.user, qs, a.round)  # blind until rated (leads see everything)
    others = list(Rating.objects.filter(quality_sample=qs, round=a.round).order_by("id")) if visible else []
    nxt = (_queue(request.user).filter(project_id=a.project_id).exclude(pk=a.pk).order_by("id")
           .values_list("pk", flat=True).first())
    return {"a": a, "qs": qs, "sample": sample, "project": sample.project, "triggers": triggers,
            "can_rate": a.status == OPEN and can_rate(request.user, a) and qs.status == QualitySample.Status.PENDING
            and qs.round == a.round, "ratings": others, "visible": visible, "guidance": actions.GUIDANCE,
            "error": error, "next": nxt, "scores": range(6),
            "previous_rounds": a.round > 1}


def _assignment(request, pk) -> ReviewAssignment:
    a = get_object_or_404(ReviewAssignment.objects.select_related(
        "quality_sample__sample__image", "quality_sample__sample__project", "reviewer")
        .filter(project__in=projects_for(request.user)), pk=pk)
    if a.reviewer_id != request.user.pk and not is_lead_of(request.user, a.project_id):
        raise PermissionDenied("This review is assigned to someone else.")
    return a


@login_required
@role_required(REVIEWER)
@require_GET
def rate_screen(request, pk):
    a = _assignment(request, pk)
    context = _rate_context(request, a)
    if request.htmx and request.htmx.target == "review":
        return render(request, "review/partials/rate.html", context)
    return render(request, "review/rate.html", context)


@login_required
@role_required(REVIEWER)
@require_POST
def rate(request, pk):
    a = _assignment(request, pk)
    status = 200
    error = ""
    try:
        actions.do_rate(a.pk, request.POST.get("score"), request.POST.get("note", ""), actor=request.user)
    except actions.NotAllowed as exc:
        raise PermissionDenied(str(exc)) from None
    except actions.Conflict as exc:
        error, status = str(exc), 409
    except ValueError as exc:
        error, status = str(exc), 422
    a = _assignment(request, pk)
    if not request.htmx:
        if error:
            return render(request, "review/rate.html", _rate_context(request, a, error=error), status=status)
        return redirect("review-rate", pk=pk)
    return render(request, "review/partials/rate.html", _rate_context(request, a, error=error), status=status)


# ------------------------------------------------------------------------------------------------- lead
def _project(request, pk, *roles) -> Project:
    """The project when the user is a member (else 404), with one of ``roles`` in it (else 403)."""
    return project_for(request.user, pk, *roles)


def _review_context(request, project, *, error="", note=""):
    current = Draw.objects.filter(project=project, source=Draw.Source.DRAWN).order_by("-id").first()
    status_filter, emotion = request.GET.get("status", ""), request.GET.get("emotion", "")
    items = (QualitySample.objects.filter(project=project).select_related("sample__image", "draw")
             .prefetch_related(Prefetch("ratings", queryset=Rating.objects.order_by("round", "id")))
             .order_by("-draw_id", "emotion", "id"))
    if status_filter:
        items = items.filter(status=status_filter)
    if emotion:
        items = items.filter(emotion=emotion)
    page = Paginator(items, PER_PAGE).get_page(request.GET.get("page"))
    rows = []
    for qs in page:
        current_ratings = [r for r in qs.ratings.all() if r.round == qs.round]
        rows.append({"qs": qs, "ratings": current_ratings, "notes": [r for r in current_ratings if r.note]})
    pool = list(actions.reviewer_pool(project))
    return {
        "project": project, "draw": current, "categories": actions.category_status(current) if current else {},
        "rows": rows, "page": page, "filters": {"status": status_filter, "emotion": emotion},
        "statuses": QualitySample.Status.choices, "pool": pool, "passes": PASS_NAMES.items(),
        "refined": dict(Sample.objects.filter(project=project, state=Sample.State.REFINED)
                        .values_list("emotion").annotate(n=Count("id")).values_list("emotion", "n").order_by()),
        "error": error, "note": note, "is_lead": is_lead_of(request.user, project),
    }


@login_required
@role_required(LEAD)
@require_GET
def project_review(request, pk):
    project = _project(request, pk, LEAD)
    context = _review_context(request, project)
    if request.htmx and request.htmx.target == "quality-samples":
        return render(request, "review/partials/quality_table.html", context)
    return render(request, "review/project_review.html", context)


def _lead_result(request, project, *, error="", note="", status=200):
    if not request.htmx:
        if error:
            return render(request, "review/project_review.html",
                          _review_context(request, project, error=error), status=status)
        return redirect("review-project", pk=project.pk)
    return render(request, "review/partials/review_body.html",
                  _review_context(request, project, error=error, note=note), status=status)


@login_required
@role_required(LEAD)
@require_POST
def draw(request, pk):
    project = _project(request, pk, LEAD)
    try:
        per_emotion = int(request.POST.get("per_emotion") or project.sample_size_per_emotion)
        per_item = int(request.POST.get("reviewers_per_item") or project.reviewers_per_item)
        seed = request.POST.get("seed")
        d = actions.do_draw_quality_sample(
            project.pk, actor=request.user, per_emotion=per_emotion, reviewers_per_item=per_item,
            reviewers=[int(r) for r in request.POST.getlist("reviewers")] or None,
            emotions=request.POST.getlist("emotions") or None, seed=int(seed) if seed not in (None, "") else None)
    except ValueError as exc:
        return _lead_result(request, project, error=str(exc), status=422)
    n = QualitySample.objects.filter(draw=d).count()
    return _lead_result(request, project, note=f"Drew {n} samples (seed {d.seed}).")


@login_required
@role_required(LEAD)
@require_POST
def rework(request, pk):
    qs = get_object_or_404(QualitySample.objects.select_related("project")
                           .filter(project__in=projects_for(request.user)), pk=pk)
    try:
        actions.do_send_to_rework(qs.pk, _int(request.POST.get("pass_number"), "pass"), actor=request.user)
    except actions.NotAllowed as exc:
        raise PermissionDenied(str(exc)) from None
    except (actions.Conflict, ValueError) as exc:
        return _lead_result(request, qs.project, error=str(exc), status=409 if isinstance(exc, actions.Conflict)
                            else 422)
    return _lead_result(request, qs.project, note=f"Sent {qs.sample} back to pass {request.POST.get('pass_number')}.")


@login_required
@role_required(LEAD)
@require_POST
def finalise(request, pk):
    d = get_object_or_404(Draw.objects.select_related("project").filter(project__in=projects_for(request.user)),
                          pk=pk)
    emotion = request.POST.get("emotion", "")
    try:
        n = actions.do_finalise_category(d.pk, emotion, actor=request.user)
    except actions.NotAllowed as exc:
        raise PermissionDenied(str(exc)) from None
    except (actions.Conflict, ValueError) as exc:
        return _lead_result(request, d.project, error=str(exc), status=409)
    return _lead_result(request, d.project, note=f"Finalised {emotion}: {n} samples are final.")


# ------------------------------------------------------------------------------------------- dashboards
def _scope(request):
    draw_id = request.GET.get("draw")
    source = request.GET.get("source") or None
    if source not in (None, "review", "imported"):
        raise Http404("source is review or imported")
    return (_int(draw_id, "draw") if draw_id else None), source


@login_required
@role_required(LEAD)
@require_GET
def dashboard_page(request, pk):
    project = _project(request, pk, LEAD)
    draw_id, source = _scope(request)
    data = dashboard.figures(project, draw=draw_id, source=source)
    cats = [r for r in data["categories"] if r["emotion"] != "all"]
    query = request.GET.urlencode()
    return render(request, "review/dashboard.html", {
        "project": project, "d": data, "draws": dashboard.draws(project), "scope": {"draw": draw_id,
                                                                                     "source": source or ""},
        "query": f"?{query}" if query else "",
        "charts": {"means": charts.mean_bars(cats, threshold=project.rework_threshold),
                   "scores": charts.score_stacks(data["categories"]),
                   "pipeline": charts.share_bars(data["pipeline"]["rows"]) if data["pipeline"]["rows"] else "",
                   "throughput": charts.lines(data["throughput"]["days"][-60:], data["throughput"]["series"])
                   if data["throughput"]["days"] else ""},
        "sections": dashboard.SECTIONS,
        "trigger_categories": sorted({c for r in data["added"] for c in r["by_category"]}),
    })


@login_required
@role_required(LEAD)
@require_GET
def dashboard_csv(request, pk, section):
    if section not in dashboard.SECTIONS:
        raise Http404("no such table")
    project = _project(request, pk, LEAD)
    draw_id, source = _scope(request)
    text = dashboard.to_csv(dashboard.figures(project, draw=draw_id, source=source), section)
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    slug = "".join(c if c.isalnum() else "-" for c in project.name).strip("-") or "project"
    response["Content-Disposition"] = f'attachment; filename="{slug}-{section}.csv"'
    return response


# --------------------------------------------------------------------------------------------- versions
@login_required
@role_required(*ANY_ROLE)
@require_GET
def versions_page(request, pk):
    project = _project(request, pk)
    return render(request, "review/versions.html", {
        "project": project, "versions": BenchmarkVersion.objects.filter(project=project).select_related(
            "created_by").order_by("-number"),
        "final": Sample.objects.filter(project=project, state=Sample.State.FINAL).count(),
        "is_lead": is_lead_of(request.user, project), "error": request.GET.get("error", "")})


@login_required
@role_required(LEAD)
@require_POST
def freeze(request, pk):
    project = _project(request, pk, LEAD)
    try:
        v = actions.do_freeze_version(project.pk, actor=request.user, note=request.POST.get("note", ""))
    except (ValueError, versions.VersionCorrupt) as exc:
        versions_url = reverse("review-versions", args=[project.pk])
        return render(request, "review/versions.html", {
            "project": project, "versions": BenchmarkVersion.objects.filter(project=project).order_by("-number"),
            "final": Sample.objects.filter(project=project, state=Sample.State.FINAL).count(), "is_lead": True,
            "error": str(exc), "versions_url": versions_url}, status=422)
    return _redirect(request, reverse("review-version", args=[v.pk]))


def _version(request, pk) -> BenchmarkVersion:
    return get_object_or_404(BenchmarkVersion.objects.select_related("project", "created_by", "previous")
                             .filter(project__in=projects_for(request.user)), pk=pk)


@login_required
@role_required(*ANY_ROLE)
@require_GET
def version_page(request, pk):
    v = _version(request, pk)
    return render(request, "review/version.html", {"v": v, "project": v.project,
                                                   "files": sorted(v.files.items()), "log": v.changelog})


def version_response(v: BenchmarkVersion, what: str) -> HttpResponse:
    """A version's file (or the zip of all of them), rendered from its entries and checked against the frozen
    digests; 500 with the reason if they ever differ."""
    entries = versions.entries_of(v)
    slug = "".join(c if c.isalnum() else "-" for c in v.project.name).strip("-") or "project"
    try:
        if what == versions.ZIP_NAME:
            data, content_type, filename = versions.zip_bytes(v, entries), "application/zip", \
                f"{slug}-v{v.number}-eibench.zip"
        elif what in v.files:
            data = versions.verified_file(v, entries, what)
            content_type = "application/json" if what.endswith(".json") else "application/x-ndjson"
            filename = f"{slug}-v{v.number}-{what.rsplit('/', 1)[-1]}"
        else:
            raise Http404(f"version {v.number} has no file {what!r}")
    except versions.VersionCorrupt as exc:
        return HttpResponse(str(exc), status=500, content_type="text/plain")
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Checksum-SHA256"] = v.checksum
    return response


@login_required
@role_required(*ANY_ROLE)
@require_GET
def version_file(request, pk, what):
    return version_response(_version(request, pk), what)


# ----------------------------------------------------------------------------------------------- panels
@login_required
@role_required(*ANY_ROLE)
@require_GET
def project_panel(request, pk):
    project = _project(request, pk)
    counts = dict(QualitySample.objects.filter(project=project).exclude(status=QualitySample.Status.IMPORTED)
                  .values_list("status").annotate(n=Count("id")).values_list("status", "n").order_by())
    mine = _queue(request.user).filter(project=project).count()
    latest = BenchmarkVersion.objects.filter(project=project).order_by("-number").first()
    means = None
    is_lead = is_lead_of(request.user, project)
    if is_lead:
        means = dashboard.figures(project)["categories"]
    return render(request, "review/partials/project_panel.html", {
        "project": project, "counts": [(v, label, counts.get(v, 0)) for v, label in QualitySample.Status.choices
                                       if v != QualitySample.Status.IMPORTED],
        "total": sum(counts.values()), "mine": mine, "latest": latest, "means": means,
        "is_lead": is_lead})


@login_required
@role_required(*ANY_ROLE)
@require_GET
def sample_panel(request, pk):
    sample = get_object_or_404(Sample.objects.select_related("project", "image")
                               .filter(project__in=projects_for(request.user)), pk=pk)
    if not can_read_sample(request.user, sample):
        raise PermissionDenied("This sample is not assigned to you.")
    items = list(QualitySample.objects.filter(sample=sample).select_related("draw", "sample")
                 .prefetch_related(Prefetch("ratings", queryset=Rating.objects.order_by("round", "id")),
                                   Prefetch("assignments", queryset=ReviewAssignment.objects.select_related(
                                       "reviewer").order_by("round", "id")))
                 .order_by("id"))
    mine = my_assignments(request.user, [q.pk for q in items])
    rounds = []
    for qs in items:
        for r in range(1, qs.round + 1):
            visible = can_see_round(request.user, qs, r, mine)
            rounds.append({"qs": qs, "round": r, "visible": visible,
                           "ratings": [x for x in qs.ratings.all() if x.round == r] if visible else [],
                           "reviewers": [a for a in qs.assignments.all() if a.round == r],
                           "current": r == qs.round})
    my_open = next((a for qs in items for a in qs.assignments.all()
                    if a.reviewer_id == request.user.pk and a.status == OPEN), None)
    return render(request, "review/partials/sample_panel.html", {
        "sample": sample, "rounds": rounds, "my_open": my_open, "is_lead": is_lead_of(request.user, sample.project)})

