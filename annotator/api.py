"""REST API (DRF): projects, samples, triggers (read), imports and streamed exports."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from . import actions
from .actions import StaleVersion, start_import_job
from .exporting import EIBENCH_FILES
from .forms import ImportForm
from .models import Assignment, Event, ImportJob, Project, ProjectMember, Sample, Trigger
from .permissions import (
    CanWorkOnSample,
    HasAnyRole,
    IsLead,
    ReadOnly,
    project_for,
    projects_for,
    sample_access,
)
from .queries import project_overview, projects_with_counts
from .roles import ANNOTATOR, LEAD, REVIEWER
from .views import export_response
from .workspace_views import apply_change, pass_context

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


class ProjectCreateSerializer(serializers.ModelSerializer):
    emotions = serializers.ListField(child=serializers.CharField(max_length=50), min_length=1, max_length=50,
                                     required=False)
    default_questions = serializers.DictField(child=serializers.CharField(max_length=2000), required=False)
    annotators_per_pass = serializers.IntegerField(min_value=1, max_value=50, required=False)
    overlap_fraction = serializers.FloatField(min_value=0, max_value=1, required=False)
    sample_size_per_emotion = serializers.IntegerField(min_value=1, max_value=100_000, required=False)
    reviewers_per_item = serializers.IntegerField(min_value=1, max_value=50, required=False)
    rework_threshold = serializers.FloatField(min_value=0, max_value=5, required=False)

    class Meta:
        model = Project
        fields = ["name", "description", "emotions", "default_questions", "annotators_per_pass", "overlap_fraction",
                  "sample_size_per_emotion", "reviewers_per_item", "rework_threshold"]


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    added_by = serializers.CharField(source="added_by.username", default=None, read_only=True)

    class Meta:
        model = ProjectMember
        fields = ["user", "username", "role", "added_by", "added_at"]
        read_only_fields = ["added_at"]


class AddMemberRequest(serializers.Serializer):
    user = serializers.IntegerField(required=False, help_text="user id (or give username)")
    username = serializers.CharField(required=False, max_length=150)
    role = serializers.ChoiceField(choices=ProjectMember.Role.choices, required=False,
                                   help_text="default: the person's site role")

    def validate(self, attrs):
        if not attrs.get("user") and not attrs.get("username"):
            raise serializers.ValidationError("give the user's id or username")
        return attrs


class ProjectViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Projects you are a member of, with sample counts. ``POST`` creates one (site role lead; you become its
    lead). ``overview``: counts by state and emotion. ``export``: streamed files. ``members``: who belongs to the
    project (its leads add and remove them)."""

    serializer_class = ProjectSerializer
    permission_classes = [IsAuthenticated & HasAnyRole]

    def get_queryset(self):
        return projects_with_counts(projects_for(self.request.user))

    def get_permissions(self):
        if self.action == "create":
            return [IsAuthenticated(), IsLead()]
        return super().get_permissions()

    @extend_schema(request=ProjectCreateSerializer, responses={201: ProjectSerializer})
    def create(self, request, *args, **kwargs):
        form = ProjectCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        name = data.pop("name").strip()
        if not name:
            raise serializers.ValidationError({"name": ["a project needs a name"]})
        if Project.objects.filter(name=name).exists():
            return Response({"name": ["a project with this name exists"]}, status=status.HTTP_400_BAD_REQUEST)
        project = actions.get_or_create_project(name, actor=request.user, **data)
        return Response(ProjectSerializer(self.get_queryset().get(pk=project.pk)).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], responses=MemberSerializer(many=True))
    @extend_schema(methods=["POST"], request=AddMemberRequest, responses={201: MemberSerializer})
    @action(detail=True, methods=["get", "post"])
    def members(self, request, pk=None):
        """The project's members; ``POST`` adds one or changes their role (the project's leads)."""
        project = self.get_object()
        if request.method == "GET":
            rows = ProjectMember.objects.filter(project=project).select_related("user", "added_by")
            return Response(MemberSerializer(rows, many=True).data)
        project_for(request.user, project.pk, LEAD)
        body = AddMemberRequest(data=request.data)
        body.is_valid(raise_exception=True)
        d = body.validated_data
        User = get_user_model()
        user = (User.objects.filter(pk=d["user"]) if d.get("user") else
                User.objects.filter(username=d["username"])).first()
        if user is None:
            return Response({"user": ["no such user"]}, status=status.HTTP_400_BAD_REQUEST)
        try:
            member = actions.do_add_member(project, user, d.get("role"), actor=request.user)
        except actions.MemberError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(MemberSerializer(member).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["delete"], url_path=r"members/(?P<user_id>\d+)", url_name="member")
    def remove_member(self, request, pk=None, user_id=None):
        """Take a person out of the project (the project's leads; their past work stays)."""
        project = self.get_object()
        project_for(request.user, project.pk, LEAD)
        user = get_object_or_404(get_user_model(), pk=user_id)
        try:
            removed = actions.do_remove_member(project, user, actor=request.user)
        except actions.MemberError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        if not removed:
            return Response({"detail": "not a member of this project"}, status=status.HTTP_404_NOT_FOUND)
        return Response(status=status.HTTP_204_NO_CONTENT)

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
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def imports(self, request, pk=None):
        """Queue an import (the project's leads). Poll ``/api/imports/{id}/`` for progress and per-line errors."""
        project = project_for(request.user, self.get_object().pk, LEAD)
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
        qs = Sample.objects.select_related("image").filter(project__in=projects_for(self.request.user))
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
        sample = self.get_object()
        events = Event.objects.filter(sample=sample).select_related("actor").order_by("id")
        history = EventSerializer(events, many=True).data
        origin = sample.imported_from  # an EIBench import's samples share its one project.imported Event
        if origin:
            entry = EventSerializer(origin["event"]).data
            entry.update(action="sample.imported", after={"file": origin["file"], "line": origin["line"]})
            history.insert(0, entry)
        return Response(history)


class TriggerViewSet(viewsets.ReadOnlyModelViewSet):
    """Triggers (never deleted: see ``fate``); filter with ``?sample=``."""

    serializer_class = TriggerSerializer
    permission_classes = [IsAuthenticated & HasAnyRole & ReadOnly]

    @extend_schema(parameters=[OpenApiParameter("sample", int)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def get_queryset(self):
        qs = Trigger.objects.filter(sample__project__in=projects_for(self.request.user))
        if self.request.query_params.get("sample"):
            qs = qs.filter(sample=_int_param(self.request.query_params, "sample"))
        return qs


class ImportJobViewSet(mixins.RetrieveModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Import jobs with progress (``done``/``total``) and, when refused, errors with file and line."""

    serializer_class = ImportJobSerializer
    permission_classes = [IsAuthenticated & HasAnyRole & ReadOnly]

    def get_queryset(self):
        return ImportJob.objects.filter(project__in=projects_for(self.request.user))


# --------------------------------------------------------------------------------------- the workspace
class AssignmentSerializer(serializers.ModelSerializer):
    annotator = serializers.CharField(source="annotator.username", read_only=True)
    annotator_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = Assignment
        fields = ["id", "project", "sample", "pass_number", "annotator", "annotator_id", "status", "overlap",
                  "leased_until", "started_at", "finished_at", "work_seconds", "skip_reason", "notes", "created_at"]


class NextRequest(serializers.Serializer):
    project = serializers.IntegerField()
    pass_number = serializers.ChoiceField(choices=[1, 2, 3])
    after = serializers.IntegerField(required=False, help_text="put this sample back and take another")


class AssignRequest(serializers.Serializer):
    project = serializers.IntegerField()
    annotators = serializers.ListField(child=serializers.IntegerField(), min_length=1)
    overlap_fraction = serializers.FloatField(required=False, min_value=0, max_value=1)
    distinct_per_pass = serializers.BooleanField(default=False)


class ChangeRequest(serializers.Serializer):
    version = serializers.IntegerField(help_text="the sample version the change was made against (409 if stale)")
    seen = serializers.IntegerField(required=False, help_text="last event id the client saw (the 409 lists newer)")


def work_state(sample: Sample, user) -> dict:
    """The pass screen as data."""
    ctx = pass_context(sample, user, access=sample_access(user, sample))
    return {
        "sample": SampleSerializer(sample).data, "pass_number": ctx["pass_number"], "pass_name": ctx["pass_name"],
        "version": sample.version, "seen": ctx["seen"], "can_work": ctx["can_work"],
        "assignment": AssignmentSerializer(ctx["assignment"]).data if ctx["assignment"] else None,
        "notes": ctx["notes"], "triggers": TriggerSerializer(ctx["triggers"], many=True).data,
        "export": ctx["preview"],
    }


def body_of(request) -> dict:
    """The request's fields: a JSON object or a form (anything else is refused with 400, never a crash)."""
    data = request.data
    if not hasattr(data, "get") or not hasattr(data, "keys"):
        raise serializers.ValidationError({"detail": "the request body must be an object of fields"})
    return data


def _stale(exc: StaleVersion, data) -> Response:
    seen = data.get("seen") or 0
    try:
        seen = int(seen)
    except (TypeError, ValueError):
        seen = 0
    since = Event.objects.filter(sample_id=exc.sample.pk, id__gt=seen).select_related("actor").order_by("id")[:50]
    return Response({"detail": "stale version: the sample changed since you read it; nothing was saved",
                     "expected_version": exc.expected, "current_version": exc.sample.version,
                     "changes": EventSerializer(since, many=True).data}, status=status.HTTP_409_CONFLICT)


def run_change(request, sample: Sample, op: str, *, created=False, data=None):
    """Check the lease, run one workspace change, map the outcome to HTTP (409 stale / lease held)."""
    data = body_of(request) if data is None else data
    try:
        result = actions.do_leased_change(sample, lambda: apply_change(op, sample, data, actor=request.user),
                                          actor=request.user)
    except StaleVersion as exc:
        return _stale(exc, data)
    except actions.LeaseHeld as exc:
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    except actions.NotAssigned as exc:
        return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
    except actions.NothingToUndo as exc:
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    except (ValueError, KeyError, TypeError) as exc:
        return Response({"detail": str(exc) or "missing field"}, status=status.HTTP_400_BAD_REQUEST)
    sample = Sample.objects.select_related("image", "project").get(pk=sample.pk)
    body = work_state(sample, request.user)
    if isinstance(result, Trigger):
        body["trigger"] = TriggerSerializer(result).data
    return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class AssignmentViewSet(viewsets.ReadOnlyModelViewSet):
    """Assignments (sample, annotator, pass) with leases; annotators see their own. ``next``: take the next
    sample of a pass with a lease. ``assign`` (lead): pick annotators, balance the work. ``renew`` / ``release``
    (holder or lead), ``reassign`` (lead)."""

    serializer_class = AssignmentSerializer
    permission_classes = [IsAuthenticated & HasAnyRole]

    def get_queryset(self):
        user = self.request.user
        if getattr(self, "swagger_fake_view", False) or not user.is_authenticated:  # schema generation
            return Assignment.objects.none()
        # Everyone's in the projects the user leads or reviews; their own in the projects they annotate.
        qs = Assignment.objects.select_related("annotator").order_by("id").filter(
            Q(project__in=projects_for(user, REVIEWER)) | Q(annotator=user, project__in=projects_for(user)))
        params = self.request.query_params
        for name in ("project", "pass_number", "sample"):
            if params.get(name):
                qs = qs.filter(**{name: _int_param(params, name)})
        if params.get("status"):
            qs = qs.filter(status=params["status"])
        return qs

    @extend_schema(parameters=[OpenApiParameter(n, str) for n in ("project", "pass_number", "sample", "status")])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=NextRequest, responses={200: OpenApiTypes.OBJECT, 204: None})
    @action(detail=False, methods=["post"])
    def next(self, request):
        """The caller's next sample in a pass, leased to them (204 when the queue is empty)."""
        body = NextRequest(data=request.data)
        body.is_valid(raise_exception=True)
        project_for(request.user, body.validated_data["project"], ANNOTATOR)
        assignment = actions.do_take_next(body.validated_data["project"], int(body.validated_data["pass_number"]),
                                          actor=request.user, after_sample=body.validated_data.get("after"))
        if assignment is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        sample = Sample.objects.select_related("image", "project").get(pk=assignment.sample_id)
        return Response({**work_state(sample, request.user), "assignment": AssignmentSerializer(assignment).data})

    @extend_schema(request=AssignRequest, responses={201: OpenApiTypes.OBJECT})
    @action(detail=False, methods=["post"])
    def assign(self, request):
        body = AssignRequest(data=request.data)
        body.is_valid(raise_exception=True)
        d = body.validated_data
        project_for(request.user, d["project"], LEAD)
        try:
            created = actions.do_assign_project(d["project"], d["annotators"], actor=request.user,
                                                overlap_fraction=d.get("overlap_fraction"),
                                                distinct_per_pass=d["distinct_per_pass"])
        except ValueError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response({"created": created}, status=status.HTTP_201_CREATED)

    def _holder_action(self, request, fn):
        assignment = self.get_object()
        try:
            result = fn(assignment.pk, actor=request.user)
        except actions.NotAssigned as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
        except actions.LeaseHeld as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(AssignmentSerializer(result).data)

    @extend_schema(request=None, responses=AssignmentSerializer)
    @action(detail=True, methods=["post"])
    def renew(self, request, pk=None):
        return self._holder_action(request, actions.do_renew_lease)

    @extend_schema(request=None, responses=AssignmentSerializer)
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        return self._holder_action(request, actions.do_release_lease)

    @extend_schema(request=inline_serializer("Reassign", {"annotator": serializers.IntegerField()}),
                   responses=AssignmentSerializer)
    @action(detail=True, methods=["post"])
    def reassign(self, request, pk=None):
        assignment = self.get_object()
        project_for(request.user, assignment.project_id, LEAD)
        try:
            result = actions.do_reassign(assignment.pk, int(body_of(request).get("annotator")), actor=request.user)
        except (ValueError, TypeError) as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(AssignmentSerializer(result).data)


class WorkSampleViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A sample in its refinement pass: read it as the pass screen shows it; add a trigger, undo, submit, skip.
    Every change carries the ``version`` it was made against: a stale one gets 409 with what changed."""

    permission_classes = [IsAuthenticated & HasAnyRole & CanWorkOnSample]
    serializer_class = SampleSerializer

    def get_queryset(self):
        return Sample.objects.select_related("image", "project").filter(project__in=projects_for(self.request.user))

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def retrieve(self, request, *args, **kwargs):
        return Response(work_state(self.get_object(), request.user))

    @extend_schema(request=inline_serializer("AddTrigger", {
        "version": serializers.IntegerField(), "text": serializers.CharField(),
        "category": serializers.ChoiceField(choices=Trigger.Category.choices, required=False),
        "explicit": serializers.ChoiceField(choices=["explicit", "implicit"], required=False),
        "kind": serializers.ChoiceField(choices=Trigger.Kind.choices, required=False)}),
        responses={201: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def triggers(self, request, pk=None):
        """Add a trigger (pass 2: commonsense context)."""
        return run_change(request, self.get_object(), "add", created=True)

    @extend_schema(request=ChangeRequest, responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def undo(self, request, pk=None):
        """Take back my last change in this pass."""
        return run_change(request, self.get_object(), "undo")

    @extend_schema(request=ChangeRequest, responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        """Finish my pass: the sample moves on to the next pass (or ``refined``) when everyone of it is done."""
        return run_change(request, self.get_object(), "submit")

    @extend_schema(request=inline_serializer("Skip", {"reason": serializers.CharField()}),
                   responses=AssignmentSerializer)
    @action(detail=True, methods=["post"])
    def skip(self, request, pk=None):
        sample = self.get_object()
        try:
            reason = body_of(request).get("reason", "")
            if not isinstance(reason, str):
                raise ValueError("the reason is a text")
            assignment = actions.do_skip(sample.pk, reason, actor=request.user)
        except actions.NotAssigned as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
        except ValueError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(AssignmentSerializer(assignment).data)


class WorkTriggerViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Trigger changes in the workspace: ``PATCH`` edits wording/tags; ``remove`` (hallucination / irrelevant,
    with a reason), ``keep``, ``restore``, ``move`` (pass 3 order); ``history`` is its lineage."""

    permission_classes = [IsAuthenticated & HasAnyRole & CanWorkOnSample]
    serializer_class = TriggerSerializer

    def get_queryset(self):
        return Trigger.objects.select_related("sample__image", "sample__project").filter(
            sample__project__in=projects_for(self.request.user))
    http_method_names = ["get", "post", "patch", "head", "options"]

    def _change(self, request, op):
        trigger = self.get_object()
        body = body_of(request)
        data = {k: body.get(k) for k in body}
        data["trigger"] = trigger.pk
        return run_change(request, trigger.sample, op, data=data)

    @extend_schema(request=inline_serializer("EditTrigger", {
        "version": serializers.IntegerField(), "text": serializers.CharField(required=False),
        "category": serializers.CharField(required=False), "explicit": serializers.CharField(required=False),
        "kind": serializers.CharField(required=False)}), responses={200: OpenApiTypes.OBJECT})
    def partial_update(self, request, *args, **kwargs):
        return self._change(request, "edit")

    @extend_schema(request=inline_serializer("RemoveTrigger", {
        "version": serializers.IntegerField(),
        "fate": serializers.ChoiceField(choices=["hallucination", "irrelevant"], required=False),
        "reason": serializers.CharField(required=False)}), responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def remove(self, request, pk=None):
        return self._change(request, "remove")

    @extend_schema(request=ChangeRequest, responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def restore(self, request, pk=None):
        return self._change(request, "restore")

    @extend_schema(request=ChangeRequest, responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def keep(self, request, pk=None):
        return self._change(request, "keep")

    @extend_schema(request=inline_serializer("MoveTrigger", {
        "version": serializers.IntegerField(), "to_index": serializers.IntegerField(required=False),
        "direction": serializers.ChoiceField(choices=["up", "down"], required=False)}),
        responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        return self._change(request, "move")

    @extend_schema(responses=EventSerializer(many=True))
    @action(detail=True)
    def history(self, request, pk=None):
        """Every change of this trigger and of the triggers it came from (back to the model's proposal)."""
        trigger = self.get_object()
        chain, node = [trigger.pk], trigger
        while node.parent_id and len(chain) < 50:
            chain.append(node.parent_id)
            node = Trigger.objects.get(pk=node.parent_id)
        events = Event.objects.filter(trigger_id__in=chain).select_related("actor").order_by("id")
        return Response(EventSerializer(events, many=True).data)
