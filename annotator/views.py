"""Pages (server-rendered, htmx partials). Thin: reads via ``queries``/``exporting``, writes via ``actions``."""
from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from .actions import start_import_job
from .exporting import EIBENCH_FILES, eibench_file, eibench_zip, provenance_lines
from .forms import ImportForm
from .models import Event, Image, ImportJob, Project, Sample, Trigger
from .permissions import ANY_ROLE, has_project_role, project_for, projects_for, role_required
from .queries import project_overview, projects_with_counts
from .roles import LEAD

SAMPLES_PER_PAGE = 50


def _project(request, pk, *roles) -> Project:
    """The project when the user is a member (404 otherwise), holding one of ``roles`` there (403 otherwise)."""
    return project_for(request.user, pk, *roles)


def _panels(names: list[str], pk: int) -> list[str]:
    """URLs of the panels other apps add to a page (settings.EISTUDIO_*_PANELS), loaded by htmx."""
    return [reverse(name, args=[pk]) for name in names]


@login_required
@role_required(*ANY_ROLE)
@require_GET
def project_list(request):
    projects = projects_with_counts(projects_for(request.user))
    return render(request, "annotator/project_list.html", {"projects": projects})


@login_required
@role_required(*ANY_ROLE)
@require_GET
def project_detail(request, pk):
    project = _project(request, pk)
    samples = Sample.objects.filter(project=project).select_related("image").order_by("kind", "ordinal")
    state, emotion = request.GET.get("state", ""), request.GET.get("emotion", "")
    if state:
        samples = samples.filter(state=state)
    if emotion:
        samples = samples.filter(emotion=emotion)
    page = Paginator(samples, SAMPLES_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "project": project,
        "overview": project_overview(project),
        "page": page,
        "filters": {"state": state, "emotion": emotion},
        "jobs": ImportJob.objects.filter(project=project)[:5],
        "form": ImportForm(),
        "can_import": has_project_role(request.user, project, LEAD),
        "eibench_files": EIBENCH_FILES,
        "panels": _panels(settings.EISTUDIO_PROJECT_PANELS, project.pk),
    }
    if request.htmx and request.htmx.target == "samples":
        return render(request, "annotator/partials/sample_table.html", context)
    return render(request, "annotator/project_detail.html", context)


@login_required
@role_required(*ANY_ROLE)
@require_GET
def sample_detail(request, pk):
    sample = get_object_or_404(Sample.objects.select_related("image", "project")
                               .filter(project__in=projects_for(request.user)), pk=pk)
    triggers = Trigger.objects.filter(sample=sample).order_by("position", "id")
    events = Event.objects.filter(sample=sample).select_related("actor", "trigger").order_by("id")
    siblings = Sample.objects.filter(project=sample.project_id, kind=sample.kind)
    previous = siblings.filter(ordinal__lt=sample.ordinal).order_by("-ordinal").values_list("pk", flat=True).first()
    following = siblings.filter(ordinal__gt=sample.ordinal).order_by("ordinal").values_list("pk", flat=True).first()
    return render(request, "annotator/sample_detail.html", {
        "sample": sample, "project": sample.project, "triggers": triggers, "events": events,
        "previous": previous, "next": following,
        "panels": _panels(settings.EISTUDIO_SAMPLE_PANELS, sample.pk),
    })


@login_required
@role_required(*ANY_ROLE)
@require_GET
def image_file(request, pk):
    image = get_object_or_404(Image.objects.filter(project__in=projects_for(request.user)), pk=pk)
    if not image.file:
        raise Http404("this image is missing")
    response = FileResponse(image.file.open("rb"))
    response["Cache-Control"] = "private, max-age=86400, immutable"
    return response


@login_required
@role_required(*ANY_ROLE)
@require_POST
def import_start(request, pk):
    project = _project(request, pk, LEAD)
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, "annotator/partials/import_form.html", {"project": project, "form": form}, status=422)
    job = start_import_job(project=project, actor=request.user, format=form.cleaned_data["format"],
                           files=form.cleaned_data["files"], images_root=form.cleaned_data["images_root"])
    return render(request, "annotator/partials/import_job.html", {"project": project, "job": job,
                                                                  "form": ImportForm(), "fresh": True})


@login_required
@role_required(*ANY_ROLE)
@require_GET
def import_job(request, pk, job_id):
    job = get_object_or_404(ImportJob, pk=job_id, project=_project(request, pk))
    return render(request, "annotator/partials/import_job.html", {"project": job.project, "job": job})


def _streaming(chunks, content_type: str, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def export_response(project: Project, what: str) -> StreamingHttpResponse:
    """The streamed download of ``what``: ``eibench.zip``, ``provenance.jsonl`` or one EIBench file path."""
    slug = "".join(c if c.isalnum() else "-" for c in project.name).strip("-") or "project"
    if what == "eibench.zip":
        return _streaming(eibench_zip(project), "application/zip", f"{slug}-eibench.zip")
    if what == "provenance.jsonl":
        return _streaming((s.encode() for s in provenance_lines(project)), "application/x-ndjson",
                          f"{slug}-provenance.jsonl")
    if what in EIBENCH_FILES:
        content_type = "application/json" if what.endswith(".json") else "application/x-ndjson"
        return _streaming((s.encode() for s in eibench_file(project, what)), content_type, what.rsplit("/", 1)[-1])
    raise Http404(f"unknown export {what!r}")


@login_required
@role_required(*ANY_ROLE)
@require_GET
def export(request, pk, what):
    return export_response(_project(request, pk), what)
