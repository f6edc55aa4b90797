"""REST API (DRF): projects, samples, triggers (read), imports and streamed exports."""
from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from .actions import start_import_job
from .exporting import EIBENCH_FILES
from .forms import ImportForm
from .models import Event, ImportJob, Project, Sample, Trigger
from .permissions import HasAnyRole, IsLead, ReadOnly
from .queries import project_overview, projects_with_counts
from .views import export_response

EXPORT_CHOICES = ("eibench.zip", "provenance.jsonl", *EIBENCH_FILES)


def _int_param(params, name: str) -> int:
    try:
        return int(params[name])
    except ValueError:
        raise serializers.ValidationError({name: "must be an integer id"}) from None


class ProjectSerializer(serializers.ModelSerializer):
    samples = serializers.IntegerField(source="n_samples", read_only=True)
    final_samples = serializers.IntegerField(source="n_final", read_only=True)

    class Meta:
        model = Project
        fields = ["id", "name", "description", "emotions", "default_questions", "annotators_per_pass",
                  "overlap_fraction", "sample_size_per_emotion", "reviewers_per_item", "rework_threshold",
                  "is_demo", "created_at", "samples", "final_samples"]


class TriggerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Trigger
        fields = ["id", "sample", "position", "text", "label", "kind", "category", "explicit", "origin", "fate",
                  "parent", "created_at"]


class SampleSerializer(serializers.ModelSerializer):
    dataset_key = serializers.CharField(source="image.dataset_key", read_only=True)
    image_missing = serializers.BooleanField(source="image.missing", read_only=True)

    class Meta:
        model = Sample
        fields = ["id", "project", "dataset_key", "image", "image_missing", "kind", "question", "emotion", "state",
                  "ordinal", "truth_ordinal", "version", "error", "created_at", "updated_at"]


class EventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", default=None, read_only=True)

    class Meta:
        model = Event
        fields = ["id", "action", "pass_number", "actor", "trigger", "before", "after", "created_at"]


class SampleDetailSerializer(SampleSerializer):
    triggers = TriggerSerializer(many=True, read_only=True)

    class Meta(SampleSerializer.Meta):
        fields = [*SampleSerializer.Meta.fields, "triggers"]


class ImportJobSerializer(serializers.ModelSerializer):
    percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = ImportJob
        fields = ["id", "project", "format", "status", "total", "done", "percent", "errors", "summary",
                  "created_at", "finished_at"]


class ProjectViewSet(viewsets.ReadOnlyModelViewSet):
    """Projects, with sample counts. ``overview``: counts by state and emotion. ``export``: streamed files."""

    serializer_class = ProjectSerializer
    permission_classes = [IsAuthenticated & HasAnyRole]

    def get_queryset(self):
        return projects_with_counts()

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=True)
    def overview(self, request, pk=None):
        data = project_overview(self.get_object())
        return Response({k: v for k, v in data.items() if k in ("total", "by_state", "by_emotion", "images",
                                                                "images_missing")})

    @extend_schema(
        parameters=[OpenApiParameter("file", str, enum=list(EXPORT_CHOICES), default="eibench.zip",
                                     description="what to download")],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    @action(detail=True)
    def export(self, request, pk=None):
        """Stream an export: the EIBench zip, one EIBench file, or the provenance JSONL."""
        what = request.query_params.get("file", "eibench.zip")
        if what not in EXPORT_CHOICES:
            return Response({"file": [f"one of {', '.join(EXPORT_CHOICES)}"]}, status=status.HTTP_400_BAD_REQUEST)
        return export_response(self.get_object(), what)

    @extend_schema(
        request={"multipart/form-data": inline_serializer("ImportUpload", {
            "format": serializers.ChoiceField(choices=ImportJob.Format.choices),
            "questions": serializers.FileField(required=False),
            "ground_truth": serializers.FileField(required=False),
            "complex": serializers.FileField(required=False),
            "manifest": serializers.FileField(required=False),
            "images_root": serializers.CharField(required=False),
        })},
        responses={202: ImportJobSerializer},
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser],
            permission_classes=[IsAuthenticated & IsLead])
    def imports(self, request, pk=None):
        """Queue an import (lead only). Poll ``/api/imports/{id}/`` for progress and per-line errors."""
        project = self.get_object()
        form = ImportForm(request.data, request.FILES)
        if not form.is_valid():
            return Response(form.errors.get_json_data(), status=status.HTTP_400_BAD_REQUEST)
        job = start_import_job(project=project, actor=request.user, format=form.cleaned_data["format"],
                               files=form.cleaned_data["files"], images_root=form.cleaned_data["images_root"])
        return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class SampleViewSet(viewsets.ReadOnlyModelViewSet):
    """Samples; filter with ``?project=&state=&emotion=&kind=``. The detail includes every trigger."""

    permission_classes = [IsAuthenticated & HasAnyRole & ReadOnly]

    def get_serializer_class(self):
        return SampleDetailSerializer if self.action == "retrieve" else SampleSerializer

    @extend_schema(parameters=[OpenApiParameter(n, str) for n in ("project", "state", "emotion", "kind")])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def get_queryset(self):
        qs = Sample.objects.select_related("image")
        if self.action == "retrieve":
            return qs.prefetch_related("triggers")
        params = self.request.query_params
        filters = {k: params[k] for k in ("state", "emotion", "kind") if params.get(k)}
        if params.get("project"):
            filters["project"] = _int_param(params, "project")
        return qs.filter(**filters)

    @extend_schema(responses=EventSerializer(many=True))
    @action(detail=True)
    def history(self, request, pk=None):
        sample = get_object_or_404(Sample, pk=pk)
        events = Event.objects.filter(sample=sample).select_related("actor").order_by("id")
        return Response(EventSerializer(events, many=True).data)


class TriggerViewSet(viewsets.ReadOnlyModelViewSet):
    """Triggers (never deleted: see ``fate``); filter with ``?sample=``."""

    serializer_class = TriggerSerializer
    permission_classes = [IsAuthenticated & HasAnyRole & ReadOnly]

    @extend_schema(parameters=[OpenApiParameter("sample", int)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def get_queryset(self):
        qs = Trigger.objects.all()
        if self.request.query_params.get("sample"):
            qs = qs.filter(sample=_int_param(self.request.query_params, "sample"))
        return qs


class ImportJobViewSet(mixins.RetrieveModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Import jobs with progress (``done``/``total``) and, when refused, errors with file and line."""

    serializer_class = ImportJobSerializer
    permission_classes = [IsAuthenticated & HasAnyRole & ReadOnly]
    queryset = ImportJob.objects.all()
