"""The annotation workspace pages (htmx partials): annotator home, "next", the three pass screens, conflicts,
lead assignment panel, who-did-which-pass panel, trigger lineage. Thin: reads here, writes via ``actions``."""
from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, Subquery
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from . import actions
from .actions.workspace import PASS_NAMES, READY, current_pass
from .formats import eibench
from .models import Assignment, Event, ProjectAnnotator, ProjectMember, Sample, Trigger
from .permissions import (
    ANY_ROLE,
    WORK,
    has_project_role,
    project_for,
    projects_for,
    require_project_role,
    role_required,
    sample_access,
)
from .queries import queue_rows
from .roles import ANNOTATOR, LEAD

OPEN, DONE, SKIPPED = Assignment.Status.OPEN, Assignment.Status.DONE, Assignment.Status.SKIPPED
CHANGES = ("keep", "remove", "restore", "edit", "add", "move", "undo", "submit", "skip", "renew", "next")


def _redirect(request, url):
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _int(value, name="value") -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Http404(f"bad {name}") from None


# ------------------------------------------------------------------------------------------------- reads
def export_text(triggers) -> str:
    """A sample's trigger list as the EIBench export writes it: kept triggers in position order."""
    kept = sorted((t for t in triggers if t.fate == Trigger.Fate.KEPT), key=lambda t: (t.position, t.pk))
    return eibench.render_trigger_list((t.label, t.text) for t in kept)


def load_sample(pk, *, again: Sample | None = None) -> Sample:
    """The sample with its image and project, the id of its last event (``seen``: a 409 lists what came after)
    and, cached on it, its assignments (access checks, the lease and the pass screen share them): two queries.

    ``again``: the same sample, loaded earlier in this request (the screen after a change): its own row and
    ``seen`` are read again (one query); its image and project (which no workspace change touches) and the
    assignments the change saw are reused."""
    last_event = Event.objects.filter(sample=OuterRef("pk")).order_by("-id").values("id")[:1]
    rows = Sample.objects.annotate(seen=Subquery(last_event))
    if again is not None:
        sample = get_object_or_404(rows, pk=pk)
        sample.image, sample.project = again.image, again.project
        sample._ws_assignments = again._ws_assignments
    else:
        sample = get_object_or_404(rows.select_related("image", "project"), pk=pk)
        _assignments(sample)
    return sample


def _assignments(sample: Sample) -> list[Assignment]:
    if "_ws_assignments" not in sample.__dict__:
        sample._ws_assignments = list(Assignment.objects.filter(sample=sample)
                                      .exclude(status=Assignment.Status.CANCELLED).select_related("annotator"))
    return sample._ws_assignments


def pass_context(sample: Sample, user, *, access: str | None = None, error: str = "", note: str = "") -> dict:
    """Everything a pass screen shows; a fixed number of queries whatever the project's size (one, for the
    triggers, on a sample from :func:`load_sample`)."""
    pass_number = current_pass(sample)
    triggers = list(Trigger.objects.filter(sample=sample).order_by("position", "id"))
    kept = [t for t in triggers if t.fate == Trigger.Fate.KEPT]
    removed = [t for t in triggers if t.fate != Trigger.Fate.KEPT]
    here = [a for a in _assignments(sample) if a.pass_number == pass_number and a.status == OPEN]
    mine = next((a for a in here if a.annotator_id == user.pk), None)
    now = timezone.now()
    holder = next((a for a in here if a.leased_until and a.leased_until > now and a.annotator_id != user.pk), None)
    seen = sample.__dict__.get("seen")
    if seen is None:
        seen = Event.objects.filter(sample=sample).order_by("-id").values_list("id", flat=True).first() or 0
    return {
        "sample": sample, "project": sample.project, "pass_number": pass_number,
        "pass_name": PASS_NAMES.get(pass_number, ""), "triggers": triggers, "kept": kept, "removed": removed,
        "assignment": mine, "holder": holder, "can_work": access == WORK and pass_number is not None,
        "seen": seen, "preview": export_text(triggers), "categories": Trigger.Category.choices,
        "kinds": Trigger.Kind.choices, "error": error, "note": note,
        "notes": mine.notes if mine else [n for a in here for n in a.notes],
        "work_url": reverse("work-sample", args=[sample.pk]),
    }


def _sample_or_404(pk) -> Sample:
    return load_sample(pk)


def _readable(request, sample) -> str:
    require_project_role(request.user, sample.project_id)  # 404 outside the user's projects
    access = sample_access(request.user, sample)
    if access is None:
        raise PermissionDenied("This sample is not assigned to you.")
    return access


@login_required
@role_required(*ANY_ROLE)
@require_GET
def pass_screen(request, pk):
    sample = _sample_or_404(pk)
    access = _readable(request, sample)
    context = pass_context(sample, request.user, access=access)
    context["side_panels"] = [reverse(name, args=[sample.pk]) for name in settings.EISTUDIO_SAMPLE_PANELS
                              if not name.startswith("work-")]
    if request.htmx and request.htmx.target == "work":
        return render(request, "annotator/work/partials/work.html", context)
    return render(request, "annotator/work/pass.html", context)


@login_required
@role_required(*ANY_ROLE)
@require_GET
def sample_export(request, pk):
    """The sample's trigger list exactly as the EIBench export would write it (text/plain)."""
    sample = _sample_or_404(pk)
    _readable(request, sample)
    return HttpResponse(export_text(Trigger.objects.filter(sample=sample)), content_type="text/plain; charset=utf-8")


@login_required
@role_required(*ANY_ROLE)
@require_GET
def sample_panel(request, pk):
    """Who did which pass (the sample page loads it lazily: settings.EISTUDIO_SAMPLE_PANELS)."""
    sample = _sample_or_404(pk)
    access = _readable(request, sample)
    assignments = Assignment.objects.filter(sample=sample).select_related("annotator").order_by("pass_number", "id")
    triggers = Trigger.objects.filter(sample=sample).order_by("position", "id")
    return render(request, "annotator/work/partials/sample_panel.html", {
        "sample": sample, "assignments": assignments, "triggers": triggers, "can_work": access == WORK,
        "pass_number": current_pass(sample)})


@login_required
@role_required(*ANY_ROLE)
@require_GET
def trigger_history(request, pk):
    """A trigger's lineage back to the model's proposal: its parents and every change of each."""
    trigger = get_object_or_404(Trigger.objects.select_related("sample__image", "sample__project")
                                .filter(sample__project__in=projects_for(request.user)), pk=pk)
    _readable(request, trigger.sample)
    chain, node = [], trigger
    while node is not None and len(chain) < 50:
        chain.append(node)
        node = Trigger.objects.filter(pk=node.parent_id).first() if node.parent_id else None
    events = Event.objects.filter(trigger__in=chain).select_related("actor").order_by("id")
    by_trigger: dict[int, list[Event]] = {}
    for e in events:
        by_trigger.setdefault(e.trigger_id, []).append(e)
    lineage = [(t, by_trigger.get(t.pk, [])) for t in reversed(chain)]
    return render(request, "annotator/work/trigger_history.html", {
        "trigger": trigger, "sample": trigger.sample, "project": trigger.sample.project, "lineage": lineage})


# ------------------------------------------------------------------------------------------------- home
def _summaries(rows) -> list[dict]:
    people: dict[int, dict] = {}
    for r in rows:
        p = people.setdefault(r["annotator_id"], {"username": r["annotator__username"], "ready": 0, "done_today": 0,
                                                  "done": 0, "seconds": 0, "timed": 0, "skipped": 0,
                                                  "passes": {1: 0, 2: 0, 3: 0}})
        for k in ("ready", "done_today", "done", "timed", "skipped"):
            p[k] += r[k]
        p["seconds"] += r["seconds"] or 0
        p["passes"][r["pass_number"]] += r["ready"]
    for p in people.values():
        p["avg_seconds"] = round(p["seconds"] / p["timed"]) if p["timed"] else None
        p["pass_list"] = [p["passes"][n] for n in (1, 2, 3)]
    return sorted(people.values(), key=lambda p: p["username"])


def _by_project(rows) -> list[dict]:
    projects: dict[int, dict] = {}
    for r in rows:
        p = projects.setdefault(r["project_id"], {"pk": r["project_id"], "name": r["project__name"],
                                                  "passes": {n: {"ready": 0, "waiting": 0} for n in (1, 2, 3)}})
        p["passes"][r["pass_number"]]["ready"] += r["ready"]
        p["passes"][r["pass_number"]]["waiting"] += r["waiting"]
    for p in projects.values():
        p["pass_list"] = [(n, PASS_NAMES[n], p["passes"][n]) for n in (1, 2, 3)]
    return list(projects.values())


@login_required
@role_required(*ANY_ROLE)
@require_GET
def home(request):
    """My queue per pass, done today, my average time per sample; leads see everyone's."""
    mine = queue_rows(request.user, projects_for(request.user, ANNOTATOR))
    led = projects_for(request.user, LEAD)
    context = {"projects": _by_project(mine), "me": (_summaries(mine) or [None])[0],
               "empty": request.GET.get("empty"), "is_lead": led.exists()}
    if context["is_lead"]:
        context["everyone"] = _summaries(queue_rows(projects=led))
    return render(request, "annotator/work/home.html", context)


@login_required
@role_required(*ANY_ROLE)
@require_POST
def take_next(request, pk, pass_number):
    require_project_role(request.user, pk, ANNOTATOR)  # 404 / 403 from the memberships: no Project row needed
    after = request.POST.get("after")
    assignment = actions.do_take_next(pk, pass_number, actor=request.user,
                                      after_sample=_int(after, "sample") if after else None)
    if assignment is None:
        return _redirect(request, reverse("work-home") + f"?empty={pass_number}")
    return _redirect(request, reverse("work-sample", args=[assignment.sample_id]))


# ---------------------------------------------------------------------------------------------- changes
def _conflict(request, sample_id: int, op: str, message: str):
    sample = _sample_or_404(sample_id)
    seen = _int(request.POST.get("seen") or 0, "seen")
    since = Event.objects.filter(sample=sample, id__gt=seen).select_related("actor", "trigger").order_by("id")[:50]
    data = [(k, v) for k, v in request.POST.items() if k not in ("csrfmiddlewaretoken", "version", "seen")]
    context = {"sample": sample, "op": op, "message": message, "since": since, "data": data,
               "seen": Event.objects.filter(sample=sample).order_by("-id").values_list("id", flat=True).first() or 0,
               "can_reapply": op not in ("submit", "undo")}
    response = render(request, "annotator/work/partials/conflict.html", context, status=409)
    response["HX-Retarget"] = "#conflict"
    response["HX-Reswap"] = "innerHTML"
    return response


def _trigger(request, sample) -> Trigger:
    return get_object_or_404(Trigger, pk=_int(request.POST.get("trigger"), "trigger"), sample=sample)


def _explicit(value):
    if value is None or isinstance(value, bool):
        return value
    if not isinstance(value, str):
        raise ValueError("explicit is 'explicit' or 'implicit'")
    return {"explicit": True, "implicit": False, "true": True, "false": False}.get(value.lower())


def _text(data, name: str, default=""):
    """A text field of a change (form or JSON): a string, or ``default`` when absent; anything else is refused."""
    value = data.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a text")
    return value


def apply_change(op: str, sample: Sample, data, *, actor):
    """Run one workspace change (shared by the pages and the API). Returns what the action returned."""
    version = data.get("version")
    kw = {"actor": actor, "expected_version": int(version) if version not in (None, "") else None,
          "pass_number": current_pass(sample)}
    if op in ("keep", "remove", "restore"):
        trigger_id = int(data["trigger"])
        fate = {"keep": Trigger.Fate.KEPT, "restore": Trigger.Fate.KEPT}.get(op) or _text(data, "fate") or (
            Trigger.Fate.HALLUCINATION if kw["pass_number"] == 1 else Trigger.Fate.IRRELEVANT)
        if op == "remove" and fate not in (Trigger.Fate.HALLUCINATION, Trigger.Fate.IRRELEVANT):
            raise ValueError("remove as hallucination or irrelevant")
        return actions.do_set_trigger_fate(trigger_id, fate, reason=_text(data, "reason"), **kw)
    if op == "edit":
        fields = {"text": _text(data, "text", None)}
        if "category" in data:
            fields["category"] = _text(data, "category")
        if "explicit" in data:
            fields["explicit"] = _explicit(data.get("explicit"))
        if "kind" in data:
            fields["kind"] = _text(data, "kind")
        return actions.do_update_trigger(int(data["trigger"]), **fields, **kw)
    if op == "add":
        category = _text(data, "category")
        if category and category not in Trigger.Category.values:
            raise ValueError(f"unknown category {category!r}")
        return actions.do_add_trigger(sample.pk, _text(data, "text"), category=category,
                                      explicit=_explicit(data.get("explicit")), kind=_text(data, "kind"), **kw)
    if op == "move":
        trigger_id = int(data["trigger"])
        if data.get("to_index") not in (None, ""):
            index = int(data["to_index"])
        else:
            kept = list(Trigger.objects.filter(sample=sample, fate=Trigger.Fate.KEPT).order_by("position", "id")
                        .values_list("id", flat=True))
            if trigger_id not in kept:
                raise ValueError("only a kept trigger can be moved")
            index = kept.index(trigger_id) + (-1 if data.get("direction") == "up" else 1)
        return actions.do_move_trigger(trigger_id, index, **kw)
    if op == "undo":
        return actions.do_undo_last(sample.pk, actor=actor, expected_version=kw["expected_version"])
    if op == "submit":
        return actions.do_submit_pass(sample.pk, actor=actor, expected_version=kw["expected_version"])
    raise ValueError(f"unknown change {op!r}")


@login_required
@role_required(*ANY_ROLE)
@require_POST
def work_change(request, pk, op):
    if op not in CHANGES:
        raise Http404("no such change")
    sample = _sample_or_404(pk)
    require_project_role(request.user, sample.project_id)
    if sample_access(request.user, sample) != WORK:
        raise PermissionDenied("You may not change this sample in its current pass.")
    pass_number = current_pass(sample)
    if op == "next":
        return take_next(request, sample.project_id, pass_number)
    try:
        if op == "skip":
            actions.do_skip(sample.pk, request.POST.get("reason", ""), actor=request.user)
            nxt = actions.do_take_next(sample.project_id, pass_number, actor=request.user)
            return _redirect(request, reverse("work-sample", args=[nxt.sample_id]) if nxt
                             else reverse("work-home") + f"?empty={pass_number}")
        if op == "renew":
            actions.do_touch_lease(sample, actor=request.user, assignments=sample._ws_assignments)
            return HttpResponse(status=204)
        result = actions.do_leased_change(sample, lambda: apply_change(op, sample, request.POST, actor=request.user),
                                          actor=request.user, assignments=sample._ws_assignments)
    except actions.StaleVersion as exc:
        return _conflict(request, pk, op, f"This sample changed since you opened it (version {exc.expected} → "
                                          f"{exc.sample.version}). Nothing was overwritten.")
    except actions.LeaseHeld as exc:
        return _conflict(request, pk, op, str(exc))
    except actions.NotAssigned as exc:
        raise PermissionDenied(str(exc)) from None
    except actions.NothingToUndo as exc:
        return _work(request, sample.pk, note=str(exc))
    except (ValueError, KeyError) as exc:
        return _work(request, sample.pk, error=str(exc) or "missing field", status=422)
    if op == "submit":
        if Assignment.objects.filter(project_id=sample.project_id, annotator=request.user,
                                     pass_number=pass_number).exists():
            nxt = actions.do_take_next(sample.project_id, pass_number, actor=request.user)
            if nxt is not None:
                return _redirect(request, reverse("work-sample", args=[nxt.sample_id]))
            return _redirect(request, reverse("work-home") + f"?empty={pass_number}")
        return _redirect(request, reverse("sample-detail", args=[sample.pk]))
    note = ""
    if op == "undo":
        note = f"Undid {result.after.get('undid', 'the last change').replace('trigger.', '')}."
    return _work(request, sample.pk, note=note, again=sample)


def _work(request, pk, *, error="", note="", status=200, again=None):
    """The pass screen's #work partial after a change (``again``: the sample the change saw, see
    :func:`load_sample`)."""
    sample = load_sample(pk, again=again)
    context = pass_context(sample, request.user, access=sample_access(request.user, sample), error=error, note=note)
    if not request.htmx:
        if error:
            context["side_panels"] = []
            return render(request, "annotator/work/pass.html", context, status=status)
        return redirect("work-sample", pk=pk)
    return render(request, "annotator/work/partials/work.html", context, status=status)


# ---------------------------------------------------------------------------------------- lead: assignment
def _annotator_choices(project):
    """The project's members who may annotate (its annotators and leads)."""
    return get_user_model().objects.filter(
        project_memberships__project=project,
        project_memberships__role__in=[ProjectMember.Role.ANNOTATOR, ProjectMember.Role.LEAD],
    ).order_by("username").distinct()


def _project_panel_context(request, project, *, error="", created=None):
    is_lead = has_project_role(request.user, project, LEAD)
    counts = {(r["pass_number"], r["status"]): r["n"] for r in Assignment.objects.filter(project=project)
              .values("pass_number", "status").annotate(n=Count("id")).order_by()}
    ready = dict(Assignment.objects.filter(READY, project=project).values_list("pass_number")
                 .annotate(n=Count("id")).values_list("pass_number", "n"))
    states = dict(Sample.objects.filter(project=project, state__in=["labelled", "pass1", "pass2", "pass3", "refined"])
                  .values_list("state").annotate(n=Count("id")).values_list("state", "n"))
    passes = [{"n": n, "name": PASS_NAMES[n], "samples": states.get(f"pass{n}", 0), "ready": ready.get(n, 0),
               "open": counts.get((n, OPEN), 0), "done": counts.get((n, DONE), 0),
               "skipped": counts.get((n, SKIPPED), 0)} for n in (1, 2, 3)]
    context = {"project": project, "passes": passes, "labelled": states.get("labelled", 0),
               "refined": states.get("refined", 0), "is_lead": is_lead, "error": error, "created": created}
    if is_lead:
        members = set(ProjectAnnotator.objects.filter(project=project).values_list("user_id", flat=True))
        choices = list(_annotator_choices(project))
        if not members:
            members = {u.pk for u in choices[:project.annotators_per_pass]}
        now = timezone.now()
        context.update({
            "choices": [(u, u.pk in members) for u in choices],
            "leases": Assignment.objects.filter(project=project, status=OPEN, leased_until__gt=now)
            .select_related("annotator", "sample__image").order_by("leased_until")[:50],
            "skipped": Assignment.objects.filter(project=project, status=SKIPPED, sample__state__in=[
                "pass1", "pass2", "pass3"]).select_related("annotator", "sample__image").order_by("-id")[:50],
        })
    return context


@login_required
@role_required(*ANY_ROLE)
@require_GET
def project_panel(request, pk):
    project = project_for(request.user, pk)
    return render(request, "annotator/work/partials/project_panel.html", _project_panel_context(request, project))


@login_required
@role_required(*ANY_ROLE)
@require_POST
def assign(request, pk):
    project = project_for(request.user, pk, LEAD)
    try:
        overlap = float(request.POST.get("overlap_percent", project.overlap_fraction * 100)) / 100
        created = actions.do_assign_project(project.pk, request.POST.getlist("annotators"), actor=request.user,
                                            overlap_fraction=overlap,
                                            distinct_per_pass=bool(request.POST.get("distinct_per_pass")))
    except ValueError as exc:
        return render(request, "annotator/work/partials/project_panel.html",
                      _project_panel_context(request, project, error=str(exc)), status=422)
    if not request.htmx:
        return redirect("project-detail", pk=pk)
    return render(request, "annotator/work/partials/project_panel.html",
                  _project_panel_context(request, project, created=created))


@login_required
@role_required(*ANY_ROLE)
@require_POST
def release(request, pk):
    assignment = get_object_or_404(Assignment.objects.filter(project__in=projects_for(request.user)), pk=pk)
    try:
        actions.do_release_lease(assignment.pk, actor=request.user)
    except actions.NotAssigned as exc:
        raise PermissionDenied(str(exc)) from None
    if request.htmx:
        return render(request, "annotator/work/partials/project_panel.html",
                      _project_panel_context(request, assignment.project))
    return redirect("project-detail", pk=assignment.project_id)


@login_required
@role_required(*ANY_ROLE)
@require_POST
def reassign(request, pk):
    assignment = get_object_or_404(Assignment.objects.filter(project__in=projects_for(request.user)), pk=pk)
    require_project_role(request.user, assignment.project_id, LEAD)
    error = ""
    try:
        actions.do_reassign(assignment.pk, _int(request.POST.get("annotator"), "annotator"), actor=request.user)
    except ValueError as exc:
        error = str(exc)
    if request.htmx:
        return render(request, "annotator/work/partials/project_panel.html",
                      _project_panel_context(request, assignment.project, error=error), status=422 if error else 200)
    return redirect("project-detail", pk=assignment.project_id)
