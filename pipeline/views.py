"""Pipeline pages and htmx partials: the runs panel (live progress, start, cancel, retry failed), the lead's config
page with its versions, and the sample's CFSA transcript. Thin: reads via ``queries``, writes via ``actions``."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotator.models import Project, Sample
from annotator.permissions import (
    ANY_ROLE,
    has_project_role,
    project_for,
    projects_for,
    require_project_role,
    role_required,
)
from annotator.roles import LEAD

from . import actions
from .forms import ConfigForm, StartRunForm
from .models import PipelineRun, PromptVersion
from .queries import progress, transcript

RUNS_SHOWN = 5


def _runs(request):
    return PipelineRun.objects.select_related("prompt_version").filter(project__in=projects_for(request.user))


def _samples(request):
    return Sample.objects.filter(project__in=projects_for(request.user))


def _panel(request, project: Project, *, status=200, error: str = ""):
    runs = list(PipelineRun.objects.filter(project=project).select_related("prompt_version")[:RUNS_SHOWN])
    version = actions.latest_version(project)
    config = actions.current_config(project)
    return render(request, "pipeline/partials/project_panel.html", {
        "project": project, "runs": [(r, progress(r)) for r in runs], "version": version,
        "config": config, "placeholder": "tiny" in (config["vlm"]["backend"], config["llm"]["backend"]),
        "can_run": has_project_role(request.user, project, LEAD), "form": StartRunForm(), "error": error,
    }, status=status)


@login_required
@role_required(*ANY_ROLE)
@require_GET
def project_panel(request, pk):
    return _panel(request, project_for(request.user, pk))


@login_required
@role_required(*ANY_ROLE)
@require_GET
def run_row(request, run_id):
    run = get_object_or_404(_runs(request), pk=run_id)
    return render(request, "pipeline/partials/run_row.html", {
        "run": run, "p": progress(run), "can_run": has_project_role(request.user, run.project_id, LEAD)})


@login_required
@role_required(*ANY_ROLE)
@require_POST
def run_start(request, pk):
    project = project_for(request.user, pk, LEAD)
    form = StartRunForm(request.POST)
    if not form.is_valid():
        return _panel(request, project, status=422, error="; ".join(e for errs in form.errors.values() for e in errs))
    try:
        actions.start_run(project, actor=request.user, selection=form.cleaned_data["selection"],
                          limit=form.cleaned_data["limit"])
    except actions.NothingToLabel as exc:
        return _panel(request, project, status=422, error=str(exc))
    except actions.ConfigInvalid as exc:
        return _panel(request, project, status=422, error=f"fix the pipeline config first: {exc}")
    return _panel(request, project)


@login_required
@role_required(*ANY_ROLE)
@require_POST
def run_cancel(request, run_id):
    run = get_object_or_404(_runs(request), pk=run_id)
    require_project_role(request.user, run.project_id, LEAD)
    actions.cancel_run(run, actor=request.user)
    return _panel(request, run.project)


@login_required
@role_required(*ANY_ROLE)
@require_POST
def run_retry(request, run_id):
    run = get_object_or_404(_runs(request), pk=run_id)
    require_project_role(request.user, run.project_id, LEAD)
    try:
        actions.retry_failed(run, actor=request.user)
    except actions.NothingToLabel as exc:
        return _panel(request, run.project, status=422, error=str(exc))
    return _panel(request, run.project)


@login_required
@role_required(*ANY_ROLE)
@require_http_methods(["GET", "POST"])
def config_page(request, pk):
    project = project_for(request.user, pk)
    config = actions.current_config(project)
    can_edit = has_project_role(request.user, project, LEAD)
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied("Only a lead may change the pipeline config.")
        form = ConfigForm(request.POST)
        if form.is_valid():
            version = actions.save_config(project, form.config(config), actor=request.user,
                                          note=form.cleaned_data["note"])
            messages.success(request, f"Saved as prompt version {version.number}.")
            return redirect("pipeline-config", pk=pk)
        status = 422
    else:
        form, status = ConfigForm(initial=ConfigForm.initial_from(config)), 200
    versions = PromptVersion.objects.filter(project=project).select_related("created_by")[:20]
    return render(request, "pipeline/config.html", {"project": project, "form": form, "versions": versions,
                                                    "can_edit": can_edit}, status=status)


@login_required
@role_required(*ANY_ROLE)
@require_GET
def sample_panel(request, pk):
    sample = get_object_or_404(_samples(request).select_related("project"), pk=pk)
    return render(request, "pipeline/partials/sample_panel.html", {
        "sample": sample, "runs": transcript(sample), "can_run": has_project_role(request.user, sample.project_id,
                                                                                   LEAD)})


@login_required
@role_required(*ANY_ROLE)
@require_POST
def sample_relabel(request, pk):
    sample = get_object_or_404(_samples(request), pk=pk)
    require_project_role(request.user, sample.project_id, LEAD)
    try:
        actions.start_run(sample.project, actor=request.user, selection=PipelineRun.Selection.SELECTED,
                          sample_ids=[sample.pk])
    except actions.NothingToLabel as exc:
        return render(request, "pipeline/partials/sample_panel.html", {
            "sample": sample, "runs": transcript(sample), "can_run": True, "error": str(exc)}, status=422)
    sample.refresh_from_db()
    return render(request, "pipeline/partials/sample_panel.html", {
        "sample": sample, "runs": transcript(sample), "can_run": True, "queued": True})
