"""REST API of the pipeline: runs (start, progress, cancel, retry failed), prompt versions, and traces."""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from annotator.models import Project
from annotator.permissions import HasAnyRole, IsProjectMember, projects_for, require_project_role
from annotator.roles import LEAD

from . import actions
from .backends import BACKENDS
from .models import PipelineRun, PromptVersion, StageTrace
from .queries import progress


def register(router) -> None:
    """Add this app's viewsets to the site's API router (called by config/urls.py)."""
    router.register("runs", RunViewSet, basename="api-run")
    router.register("prompt-versions", PromptVersionViewSet, basename="api-prompt-version")
    router.register("traces", TraceViewSet, basename="api-trace")


class LeadWrites(IsProjectMember):
    """The project's members read; only its leads write (checked on the object, and on the project a new
    object is for)."""

    def has_permission(self, request, view):
        return HasAnyRole().has_permission(request, view)


def _filter(queryset, request, *names):
    for name in names:
        value = request.query_params.get(name)
        if value is not None:
            if not value.isdigit():
                raise serializers.ValidationError({name: "must be an integer id"})
            queryset = queryset.filter(**{f"{name}_id": int(value)})
    return queryset


class RunSerializer(serializers.ModelSerializer):
    prompt_version = serializers.IntegerField(source="prompt_version.number", read_only=True)
    progress = serializers.SerializerMethodField()

    class Meta:
        model = PipelineRun
        fields = ["id", "project", "status", "selection", "prompt_version", "placeholder", "config",
                  "general_questions", "general_counts", "error", "created_at", "started_at", "finished_at",
                  "progress"]
        read_only_fields = fields

    def get_progress(self, run) -> dict:
        return progress(run).as_dict()


@extend_schema_field(OpenApiTypes.INT)
class ProjectField(serializers.PrimaryKeyRelatedField):
    """A project the requesting user is a member of (others do not exist, for them)."""

    def get_queryset(self):
        request = self.context.get("request")
        return projects_for(request.user) if request else Project.objects.none()


class StartRunSerializer(serializers.Serializer):
    project = ProjectField()
    selection = serializers.ChoiceField(choices=["all", "failed", "selected"], default="all")
    samples = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False,
                                    help_text="sample ids, with selection=selected")
    limit = serializers.IntegerField(min_value=1, required=False)
    backend = serializers.ChoiceField(choices=list(BACKENDS), required=False,
                                      help_text="backend of both roles for this and later runs (a new prompt version)")
    vlm_model = serializers.CharField(required=False)
    llm_model = serializers.CharField(required=False)
    base_url = serializers.CharField(required=False)

    def validate(self, attrs):
        if attrs["selection"] == "selected" and not attrs.get("samples"):
            raise serializers.ValidationError({"samples": "give the sample ids to label"})
        return attrs

    def overrides(self) -> dict:
        d = self.validated_data
        out: dict = {}
        for role in ("vlm", "llm"):
            r = {}
            if d.get("backend"):
                r["backend"] = d["backend"]
            if d.get(f"{role}_model"):
                r["model"] = d[f"{role}_model"]
            if d.get("base_url"):
                r["base_url"] = d["base_url"]
            if r:
                out[role] = r
        return out


class RunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """CFSA runs with live progress. ``POST`` starts one (lead); ``cancel`` and ``retry_failed`` act on one."""

    serializer_class = RunSerializer
    permission_classes = [IsAuthenticated & LeadWrites]

    def get_queryset(self):
        return _filter(PipelineRun.objects.select_related("prompt_version").order_by("-id")
                       .filter(project__in=projects_for(self.request.user)), self.request, "project")

    @extend_schema(parameters=[OpenApiParameter("project", int, description="only this project's runs")])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=StartRunSerializer, responses={201: RunSerializer})
    def create(self, request):
        form = StartRunSerializer(data=request.data, context={"request": request})
        form.is_valid(raise_exception=True)
        d = form.validated_data
        require_project_role(request.user, d["project"], LEAD)
        try:
            run = actions.start_run(d["project"], actor=request.user, selection=d["selection"],
                                    sample_ids=d.get("samples"), limit=d.get("limit"), overrides=form.overrides())
        except (actions.NothingToLabel, actions.ConfigInvalid) as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT
                            if isinstance(exc, actions.NothingToLabel) else status.HTTP_400_BAD_REQUEST)
        return Response(RunSerializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: RunSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        run = self.get_object()
        actions.cancel_run(run, actor=request.user)
        run.refresh_from_db()
        return Response(RunSerializer(run).data)

    @extend_schema(request=None, responses={201: RunSerializer})
    @action(detail=True, methods=["post"])
    def retry_failed(self, request, pk=None):
        try:
            run = actions.retry_failed(self.get_object(), actor=request.user)
        except actions.NothingToLabel as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(RunSerializer(run).data, status=status.HTTP_201_CREATED)


class PromptVersionSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", default=None, read_only=True)
    project = ProjectField()

    class Meta:
        model = PromptVersion
        fields = ["id", "project", "number", "config", "note", "created_by", "created_at"]
        read_only_fields = ["id", "number", "created_by", "created_at"]

    def create(self, validated_data):
        require_project_role(self.context["request"].user, validated_data["project"], LEAD)
        try:
            return actions.save_config(validated_data["project"], validated_data["config"],
                                       actor=self.context["request"].user, note=validated_data.get("note", ""))
        except actions.ConfigInvalid as exc:
            raise serializers.ValidationError({"config": exc.problems}) from exc


class PromptVersionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                           viewsets.GenericViewSet):
    """A project's pipeline configs. ``POST`` saves the next version (lead); versions are never edited."""

    serializer_class = PromptVersionSerializer
    permission_classes = [IsAuthenticated & LeadWrites]

    @extend_schema(parameters=[OpenApiParameter("project", int)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def get_queryset(self):
        return _filter(PromptVersion.objects.select_related("created_by").order_by("-id")
                       .filter(project__in=projects_for(self.request.user)), self.request, "project")


class TraceSerializer(serializers.ModelSerializer):
    class Meta:
        model = StageTrace
        fields = ["id", "run", "sample", "stage", "step", "role", "model", "system", "prompt", "with_image", "reply",
                  "latency_ms", "batch_size", "prompt_tokens", "completion_tokens", "created_at"]


class TraceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Every prompt and reply of every stage. Filter with ``?sample=`` or ``?run=``."""

    serializer_class = TraceSerializer
    permission_classes = [IsAuthenticated & HasAnyRole]

    @extend_schema(parameters=[OpenApiParameter("sample", int), OpenApiParameter("run", int)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def get_queryset(self):
        return _filter(StageTrace.objects.order_by("id").filter(run__project__in=projects_for(self.request.user)),
                       self.request, "sample", "run")
