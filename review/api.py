"""REST API of the review app: draws, quality samples (ratings shown by the blindness rule), review assignments
(rate), rework and finalise (leads), the dashboard figures, and frozen benchmark versions with their files."""
from __future__ import annotations

from django.db.models import F, Prefetch, Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from annotator.models import Assignment, Project
from annotator.permissions import HasAnyRole, IsLead, project_for, projects_for
from annotator.roles import LEAD, REVIEWER

from . import actions, dashboard, versions
from .models import BenchmarkVersion, Draw, QualitySample, Rating, ReviewAssignment
from .permissions import IsReviewer, LeadWrites, can_read_sample, can_see_round, my_assignments


def register(router) -> None:
    """Add this app's viewsets to the site's API router (called by config/urls.py)."""
    router.register("review/draws", DrawViewSet, basename="api-review-draw")
    router.register("review/quality-samples", QualitySampleViewSet, basename="api-review-quality-sample")
    router.register("review/assignments", ReviewAssignmentViewSet, basename="api-review-assignment")
    router.register("review/projects", ReviewProjectViewSet, basename="api-review-project")
    router.register("benchmark-versions", BenchmarkVersionViewSet, basename="api-benchmark-version")


def _int_param(request, name):
    value = request.query_params.get(name)
    if value is None:
        return None
    if not value.isdigit():
        raise serializers.ValidationError({name: "must be an integer id"})
    return int(value)


def _error(exc) -> Response:
    if isinstance(exc, actions.NotAllowed):
        return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, actions.Conflict):
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)


# ------------------------------------------------------------------------------------------------ draws
class DrawSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", default=None, read_only=True)

    class Meta:
        model = Draw
        fields = ["id", "project", "source", "seed", "per_emotion", "reviewers_per_item", "emotions", "reviewers",
                  "finalised", "created_by", "created_at"]
        read_only_fields = fields


class DrawRequest(serializers.Serializer):
    project = serializers.PrimaryKeyRelatedField(queryset=Project.objects.all())
    per_emotion = serializers.IntegerField(min_value=1, required=False,
                                           help_text="samples per emotion category (default: the project's, 50)")
    reviewers_per_item = serializers.IntegerField(min_value=1, required=False,
                                                  help_text="reviewers per sample (default: the project's, 3)")
    reviewers = serializers.ListField(child=serializers.IntegerField(), required=False,
                                      help_text="user ids of the reviewers (default: every reviewer)")
    emotions = serializers.ListField(child=serializers.CharField(), required=False)
    seed = serializers.IntegerField(required=False)


class FinaliseRequest(serializers.Serializer):
    emotion = serializers.CharField()


class ReworkRequest(serializers.Serializer):
    pass_number = serializers.ChoiceField(choices=[1, 2, 3], help_text="the pass the sample goes back to")


class FreezeRequest(serializers.Serializer):
    project = serializers.IntegerField()
    note = serializers.CharField(required=False, allow_blank=True, default="")


class DrawViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Draws of quality samples. ``POST`` (lead) draws a seeded random sample per emotion category and assigns
    reviewers; ``finalise`` (lead) makes a category's rated and not-drawn refined samples final."""

    serializer_class = DrawSerializer
    permission_classes = [IsAuthenticated & LeadWrites]

    def get_queryset(self):
        qs = Draw.objects.select_related("created_by").filter(project__in=projects_for(self.request.user,
                                                                                      LEAD)).order_by("-id")
        project = _int_param(self.request, "project")
        return qs.filter(project_id=project) if project else qs

    @extend_schema(parameters=[OpenApiParameter("project", int)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=DrawRequest, responses={201: DrawSerializer})
    def create(self, request):
        body = DrawRequest(data=request.data)
        body.is_valid(raise_exception=True)
        d = body.validated_data
        project_for(request.user, d["project"].pk, LEAD)
        try:
            draw = actions.do_draw_quality_sample(
                d["project"].pk, actor=request.user, per_emotion=d.get("per_emotion"),
                reviewers_per_item=d.get("reviewers_per_item"), reviewers=d.get("reviewers"),
                emotions=d.get("emotions"), seed=d.get("seed"))
        except (ValueError, actions.NotAllowed) as exc:
            return _error(exc)
        return Response(DrawSerializer(draw).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=FinaliseRequest,
                   responses={200: inline_serializer("Finalised", {"final": serializers.IntegerField()})})
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated & IsLead])
    def finalise(self, request, pk=None):
        draw = self.get_object()
        body = FinaliseRequest(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            n = actions.do_finalise_category(draw.pk, body.validated_data["emotion"], actor=request.user)
        except (ValueError, actions.Conflict, actions.NotAllowed) as exc:
            return _error(exc)
        return Response({"final": n})


# -------------------------------------------------------------------------------------- quality samples
class RatingSerializer(serializers.ModelSerializer):
    class Meta:
        model = Rating
        fields = ["id", "rater", "round", "score", "note", "source", "created_at"]


class QualitySampleSerializer(serializers.ModelSerializer):
    dataset_key = serializers.CharField(source="sample.image.dataset_key", read_only=True)
    ratings = serializers.SerializerMethodField(help_text="ratings of the rounds the caller may see (blind until "
                                                          "they rated it, or the round is complete)")
    hidden_rounds = serializers.SerializerMethodField()

    class Meta:
        model = QualitySample
        fields = ["id", "draw", "project", "sample", "dataset_key", "emotion", "round", "status", "mean",
                  "rework_pass", "ratings", "hidden_rounds", "created_at", "updated_at"]

    def _visible(self, obj) -> list[int]:
        user = self.context["request"].user
        mine = self.context.get("mine")
        return [r for r in range(1, obj.round + 1) if can_see_round(user, obj, r, mine)]

    def get_ratings(self, obj) -> list[dict]:
        visible = set(self._visible(obj))
        return RatingSerializer([r for r in obj.ratings.all() if r.round in visible], many=True).data

    def get_hidden_rounds(self, obj) -> list[int]:
        visible = set(self._visible(obj))
        return [r for r in range(1, obj.round + 1) if r not in visible]


class QualitySampleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Quality samples (``?project=&draw=&sample=&status=``), with the ratings the caller may see. ``rework``
    (lead): send one rated below the threshold back to a pass, the reviewers' notes shown to the annotator."""

    serializer_class = QualitySampleSerializer
    permission_classes = [IsAuthenticated & HasAnyRole]

    def get_queryset(self):
        qs = (QualitySample.objects.select_related("sample__image", "sample__project")
              .prefetch_related(Prefetch("ratings", queryset=Rating.objects.order_by("round", "id")))
              .order_by("id"))
        user = self.request.user
        # leads and reviewers of a project read its quality samples; its annotators those of samples they had
        assigned = Assignment.objects.filter(annotator_id=user.pk).values("sample_id")
        qs = qs.filter(Q(project__in=projects_for(user, REVIEWER)) | Q(project__in=projects_for(user),
                                                                         sample__in=assigned))
        for name in ("project", "draw", "sample"):
            value = _int_param(self.request, name)
            if value:
                qs = qs.filter(**{f"{name}_id": value})
        if self.request.query_params.get("status"):
            qs = qs.filter(status=self.request.query_params["status"])
        return qs

    def _with_mine(self, objs):
        return {"request": self.request, "mine": my_assignments(self.request.user, [o.pk for o in objs])}

    @extend_schema(parameters=[OpenApiParameter(n, str) for n in ("project", "draw", "sample", "status")])
    def list(self, request, *args, **kwargs):
        user = request.user
        page = self.paginate_queryset(self.get_queryset())
        reviewing = set(projects_for(user, REVIEWER).values_list("pk", flat=True))
        if any(q.project_id not in reviewing for q in page):  # an annotator's rows: the sample-level check
            loaded: dict[int, list] = {}
            for a in Assignment.objects.filter(sample__in=[q.sample_id for q in page]).exclude(
                    status=Assignment.Status.CANCELLED):
                loaded.setdefault(a.sample_id, []).append(a)
            for q in page:
                q.sample._ws_assignments = loaded.get(q.sample_id, [])
            page = [q for q in page if can_read_sample(user, q.sample)]  # the composed sample-level check
        data = QualitySampleSerializer(page, many=True, context=self._with_mine(page)).data
        return self.get_paginated_response(data)

    def retrieve(self, request, *args, **kwargs):
        obj = self.get_object()
        if not can_read_sample(request.user, obj.sample):
            return Response({"detail": "This sample is not assigned to you."}, status=status.HTTP_403_FORBIDDEN)
        return Response(QualitySampleSerializer(obj, context=self._with_mine([obj])).data)

    @extend_schema(request=ReworkRequest, responses={200: QualitySampleSerializer})
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated & IsLead])
    def rework(self, request, pk=None):
        obj = self.get_object()
        body = ReworkRequest(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            actions.do_send_to_rework(obj.pk, int(body.validated_data["pass_number"]), actor=request.user)
        except (ValueError, actions.Conflict, actions.NotAllowed) as exc:
            return _error(exc)
        obj = self.get_queryset().get(pk=obj.pk)
        return Response(QualitySampleSerializer(obj, context=self._with_mine([obj])).data)


# ----------------------------------------------------------------------------------- review assignments
class ReviewAssignmentSerializer(serializers.ModelSerializer):
    reviewer = serializers.CharField(source="reviewer.username", read_only=True)
    sample = serializers.IntegerField(source="quality_sample.sample_id", read_only=True)
    emotion = serializers.CharField(source="quality_sample.emotion", read_only=True)

    class Meta:
        model = ReviewAssignment
        fields = ["id", "project", "quality_sample", "sample", "emotion", "reviewer", "round", "status",
                  "created_at", "finished_at"]


class RateRequest(serializers.Serializer):
    score = serializers.IntegerField(min_value=0, max_value=5)
    note = serializers.CharField(required=False, allow_blank=True,
                                 help_text="what is wrong or missing (required below 3)")


class ReviewAssignmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Reviews to do: a reviewer sees their own (``?status=open`` for the queue), a lead everyone's.
    ``rate``: the assigned reviewer rates the sample 0-5 with a note."""

    serializer_class = ReviewAssignmentSerializer
    permission_classes = [IsAuthenticated & IsReviewer]
    queryset = ReviewAssignment.objects.none()  # for the schema; get_queryset scopes to the caller

    def get_queryset(self):
        user = self.request.user
        qs = (ReviewAssignment.objects.select_related("reviewer", "quality_sample").order_by("id")
              .filter(Q(project__in=projects_for(user, LEAD)) | Q(reviewer_id=user.pk, project__in=projects_for(user))))
        project = _int_param(self.request, "project")
        if project:
            qs = qs.filter(project_id=project)
        wanted = self.request.query_params.get("status")
        if wanted == "open":
            qs = qs.filter(status="open", round=F("quality_sample__round"), quality_sample__status="pending")
        elif wanted:
            qs = qs.filter(status=wanted)
        return qs

    @extend_schema(parameters=[OpenApiParameter("project", int), OpenApiParameter("status", str)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=RateRequest, responses={201: RatingSerializer})
    @action(detail=True, methods=["post"])
    def rate(self, request, pk=None):
        assignment = self.get_object()
        body = RateRequest(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            rating = actions.do_rate(assignment.pk, body.validated_data["score"],
                                     body.validated_data.get("note", ""), actor=request.user)
        except (ValueError, actions.Conflict, actions.NotAllowed) as exc:
            return _error(exc)
        return Response(RatingSerializer(rating).data, status=status.HTTP_201_CREATED)


# ------------------------------------------------------------------------------------- dashboard figures
class ReviewProjectViewSet(viewsets.GenericViewSet):
    """The lead's dashboard figures of a project as JSON (``figures``) — what ``agreement_report --json``
    prints — and one of its tables as CSV (``csv``)."""

    permission_classes = [IsAuthenticated & IsLead]
    queryset = Project.objects.all()
    serializer_class = serializers.Serializer

    def get_queryset(self):
        return projects_for(self.request.user, LEAD)

    @extend_schema(parameters=[OpenApiParameter("draw", int), OpenApiParameter("source", str,
                                                                               enum=["review", "imported"])],
                   responses=OpenApiTypes.OBJECT)
    @action(detail=True)
    def figures(self, request, pk=None):
        source = request.query_params.get("source")
        if source not in (None, "review", "imported"):
            return Response({"source": ["review or imported"]}, status=status.HTTP_400_BAD_REQUEST)
        data = dashboard.figures(self.get_object(), draw=_int_param(request, "draw"), source=source)
        return Response(dashboard.report(data))


# --------------------------------------------------------------------------------------------- versions
class BenchmarkVersionSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", default=None, read_only=True)
    previous = serializers.IntegerField(source="previous.number", default=None, read_only=True)

    class Meta:
        model = BenchmarkVersion
        fields = ["id", "project", "number", "note", "checksum", "files", "samples", "changelog", "previous",
                  "created_by", "created_at"]
        read_only_fields = ["id", "number", "checksum", "files", "samples", "changelog", "previous", "created_by",
                            "created_at"]


VERSION_FILES = (versions.ZIP_NAME, "EI_Basic/user.jsonl", "EI_Basic/basic_ground_truth.json",
                 "EI_Complex/ec_complex.jsonl")


class BenchmarkVersionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Frozen benchmark versions (``?project=``). ``POST`` (lead) freezes the project's final samples as the next
    version; ``export`` streams a version's zip or one file, byte-for-byte as frozen (``X-Checksum-SHA256``)."""

    serializer_class = BenchmarkVersionSerializer
    permission_classes = [IsAuthenticated & LeadWrites]

    def get_queryset(self):
        qs = (BenchmarkVersion.objects.select_related("created_by", "previous")
              .filter(project__in=projects_for(self.request.user)).order_by("project_id", "-number"))
        project = _int_param(self.request, "project")
        return qs.filter(project_id=project) if project else qs

    @extend_schema(parameters=[OpenApiParameter("project", int)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=FreezeRequest, responses={201: BenchmarkVersionSerializer})
    def create(self, request):
        body = FreezeRequest(data=request.data)
        body.is_valid(raise_exception=True)
        project = project_for(request.user, body.validated_data["project"], LEAD)
        try:
            version = actions.do_freeze_version(project.pk, actor=request.user, note=body.validated_data["note"])
        except (ValueError, actions.NotAllowed, versions.VersionCorrupt) as exc:
            return _error(exc)
        return Response(BenchmarkVersionSerializer(version).data, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[OpenApiParameter("file", str, enum=[*VERSION_FILES], default=versions.ZIP_NAME)],
                   responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @action(detail=True)
    def export(self, request, pk=None):
        from .views import version_response

        what = request.query_params.get("file", versions.ZIP_NAME)
        if what not in VERSION_FILES:
            return Response({"file": [f"one of {', '.join(VERSION_FILES)}"]}, status=status.HTTP_400_BAD_REQUEST)
        version = self.get_object()
        if what != versions.ZIP_NAME and what not in version.files:
            return Response({"file": [f"version {version.number} has no {what}"]}, status=status.HTTP_404_NOT_FOUND)
        return version_response(version, what)
