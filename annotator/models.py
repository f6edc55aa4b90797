"""The core model: projects, images, samples, triggers and the append-only event log.

Writes go through :mod:`annotator.actions` (one function per change, each writing its Event in the same
transaction). Nothing here is ever hard-deleted: a removed trigger keeps its row with a ``fate``.
"""
from django.conf import settings
from django.db import models
from django.utils.functional import cached_property

DEFAULT_EMOTIONS = ["angry", "sad", "excited", "happy"]
DEFAULT_QUESTIONS = {
    "angry": "What might have caused the person in the image to look angry?",
    "sad": "What might have caused the person in the image to look sad?",
    "excited": "What might have caused the person in the image to look excited?",
    "happy": "What might have caused the person in the image to look happy?",
}


def default_emotions():
    return list(DEFAULT_EMOTIONS)


def default_questions():
    return dict(DEFAULT_QUESTIONS)


class Project(models.Model):
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    emotions = models.JSONField(default=default_emotions, help_text="Emotion categories of the project.")
    default_questions = models.JSONField(
        default=default_questions, help_text="Question used for a new image without one, per emotion."
    )
    annotators_per_pass = models.PositiveSmallIntegerField(default=4)
    overlap_fraction = models.FloatField(default=0.10)
    sample_size_per_emotion = models.PositiveIntegerField(default=50)
    reviewers_per_item = models.PositiveSmallIntegerField(default=3)
    rework_threshold = models.FloatField(default=3.0)
    is_demo = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def default_question_for(self, emotion: str) -> str:
        return self.default_questions.get(emotion) or (
            f"What might have caused the person in the image to feel {emotion}?"
        )


class Image(models.Model):
    """One picture of a project, known by its dataset key (the EIBench path, e.g. ``CAER-S/train/Angry/0006.png``).

    ``file`` is empty while the picture is missing (imported from a benchmark file without the image at hand).
    """

    # indexed by image_unique_key_per_project, which starts with it (an index fewer to fill on each import)
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="images", db_index=False)
    dataset_key = models.CharField(max_length=500)
    file = models.FileField(upload_to="images/%Y/%m/", blank=True, max_length=500)
    sha256 = models.CharField(max_length=64, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "dataset_key"], name="image_unique_key_per_project")
        ]
        indexes = [models.Index(fields=["project", "sha256"])]

    def __str__(self):
        return self.dataset_key

    @property
    def missing(self) -> bool:
        return not self.file


class Sample(models.Model):
    """One (image, question, emotion) to explain. A basic image has one; a complex image has several."""

    class Kind(models.TextChoices):
        BASIC = "basic", "basic"
        COMPLEX = "complex", "complex"

    class State(models.TextChoices):
        IMPORTED = "imported", "imported"
        QUEUED = "queued", "queued"
        LABELLED = "labelled", "auto-labelled"
        FAILED = "failed", "failed"
        PASS1 = "pass1", "pass 1 (hallucinations)"
        PASS2 = "pass2", "pass 2 (context)"
        PASS3 = "pass3", "pass 3 (pruning)"
        REFINED = "refined", "refined"
        SAMPLED = "sampled", "sampled for rating"
        RATED = "rated", "rated"
        FINAL = "final", "final"

    # indexed by sample_unique_ordinal, which starts with it (an index fewer to fill on each import)
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="samples", db_index=False)
    image = models.ForeignKey(Image, on_delete=models.PROTECT, related_name="samples")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    question = models.TextField()
    emotion = models.CharField(max_length=50, blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.IMPORTED)
    # Position in the question file (user.jsonl, or ec_complex.jsonl for complex samples): exports keep it.
    ordinal = models.PositiveIntegerField()
    # Position in basic_ground_truth.json, whose key order differs from user.jsonl's.
    truth_ordinal = models.PositiveIntegerField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    error = models.TextField(blank=True, help_text="Why the last automatic step failed, if it did.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "kind", "ordinal"], name="sample_unique_ordinal"),
        ]
        indexes = [
            models.Index(fields=["project", "state", "emotion"]),
            models.Index(fields=["project", "kind", "truth_ordinal"]),
        ]

    def __str__(self):
        return f"{self.image.dataset_key}: {self.question[:60]}"

    @cached_property
    def imported_from(self) -> dict | None:
        """Where this sample was imported from, as ``{"file", "line", "event"}`` (the ``project.imported``
        Event), or None. An EIBench import records which ordinals came from which file once, in that Event,
        instead of an Event per sample (a manifest import still writes a ``sample.imported`` Event per sample)."""
        for event in Event.objects.filter(project=self.project_id, action="project.imported").select_related(
                "actor").order_by("id"):
            where = import_source(event.after, self.kind, self.ordinal)
            if where:
                return {**where, "event": event}
        return None


def import_source(after: dict | None, kind: str, ordinal: int) -> dict | None:
    """``{"file", "line"}`` of the sample of ``kind`` with ``ordinal``, from a ``project.imported`` Event's
    ``after``: EIBench question files hold one record per line, so line = ordinal - first ordinal + 1."""
    source = ((after or {}).get("sources") or {}).get(kind)
    if source:
        first, last = source["ordinals"]
        if first <= ordinal <= last:
            return {"file": source["file"], "line": ordinal - first + 1}
    return None


class Trigger(models.Model):
    """One reason in a sample's trigger list. Never deleted: removal sets ``fate``.

    ``text`` is kept exactly as given. ``label`` keeps an imported line's own numbering when it was not the
    canonical ``"N. "`` (the benchmark has lines such as ``" 4. Happy..."``), so the export gives back the
    same bytes; ``None`` means the canonical numbering.
    """

    class Origin(models.TextChoices):
        MODEL = "model", "model"
        ANNOTATOR = "annotator", "annotator"
        IMPORTED = "imported", "imported"

    class Fate(models.TextChoices):
        KEPT = "kept", "kept"
        HALLUCINATION = "hallucination", "removed: hallucination"
        IRRELEVANT = "irrelevant", "removed: irrelevant"
        WITHDRAWN = "withdrawn", "withdrawn (addition undone)"

    class Kind(models.TextChoices):
        ENVIRONMENT = "env", "environment / atmosphere"
        SOCIAL = "social", "social interaction"
        PHYSICAL = "phys", "physical cue (face, posture, gesture)"
        OBJECT = "obj", "meaningful object"

    class Category(models.TextChoices):
        ATMOSPHERE = "Atmosphere"
        SOCIAL = "Social Interactions"
        BODY = "Body Movements"
        FACE = "Facial Expressions"
        OBJECTS = "Objects"
        PERFORMANCES = "Performances"
        OUTDOOR = "Outdoor Activities"
        CLOTHING = "Clothing"
        SPORTS = "Sports"
        OTHER = "Other"

    # indexed by the (sample, fate, position) index below
    sample = models.ForeignKey(Sample, on_delete=models.PROTECT, related_name="triggers", db_index=False)
    text = models.TextField()
    label = models.CharField(max_length=40, null=True, blank=True)
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices, blank=True)
    category = models.CharField(max_length=30, choices=Category.choices, blank=True)
    explicit = models.BooleanField(null=True, blank=True, help_text="Visible (True) or implicit context (False).")
    origin = models.CharField(max_length=10, choices=Origin.choices)
    fate = models.CharField(max_length=15, choices=Fate.choices, default=Fate.KEPT)
    # indexed only where set (trigger_parent): imported and model triggers have none, and a full index would
    # hold one NULL entry for each of them
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", db_index=False,
        help_text="The trigger this one was derived from (provenance back to the model's proposal).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sample_id", "position", "id"]
        indexes = [
            models.Index(fields=["sample", "fate", "position"]),
            models.Index(fields=["parent"], condition=models.Q(parent__isnull=False), name="trigger_parent"),
        ]

    def __str__(self):
        return self.text[:80]


class EventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("Events are append-only")

    def delete(self):
        raise TypeError("Events are append-only")


class Event(models.Model):
    """Append-only log of every change: who, which pass, what, before → after, when."""

    # project and sample are indexed by the composite indexes below (fewer indexes: faster bulk imports)
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="events", db_index=False)
    sample = models.ForeignKey(Sample, null=True, blank=True, on_delete=models.PROTECT, related_name="events",
                               db_index=False)
    trigger = models.ForeignKey(Trigger, null=True, blank=True, on_delete=models.PROTECT, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=60)
    pass_number = models.PositiveSmallIntegerField(null=True, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["sample", "id"]), models.Index(fields=["project", "action"])]

    def __str__(self):
        return f"{self.action} by {self.actor_id or 'system'}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("Events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Events are append-only")


class ProjectAnnotator(models.Model):
    """An annotator a lead picked for a project (the pool the balancing strategy spreads work over)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="annotator_links")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="project_annotator_unique")]

    def __str__(self):
        return f"{self.user_id} on {self.project_id}"


class Assignment(models.Model):
    """(sample, annotator, pass) with a lease. ``open`` is waiting or being worked; the lease (``leased_until``)
    says who works on the sample in that pass right now, so two people never do (see ``do_take_next``)."""

    class Status(models.TextChoices):
        OPEN = "open", "open"
        DONE = "done", "done"
        SKIPPED = "skipped", "skipped"
        CANCELLED = "cancelled", "cancelled"

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="assignments", db_index=False)
    sample = models.ForeignKey(Sample, on_delete=models.PROTECT, related_name="assignments", db_index=False)
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments",
                                  db_index=False)
    pass_number = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    overlap = models.BooleanField(default=False, help_text="The second annotator of an agreement sample.")
    leased_until = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True, help_text="When the annotator first took it.")
    finished_at = models.DateTimeField(null=True, blank=True)
    work_seconds = models.PositiveIntegerField(null=True, blank=True, help_text="finished - started, at submit")
    skip_reason = models.TextField(blank=True)
    notes = models.JSONField(default=list, blank=True, help_text="Rework notes shown on the pass screen.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["annotator", "project", "pass_number", "status"]),
            models.Index(fields=["sample", "pass_number", "status"]),
            models.Index(fields=["project", "pass_number", "status"]),
            # "next" first looks for a lease the annotator still holds: few rows, whatever the queue's length
            models.Index(fields=["annotator", "project", "pass_number"], name="assignment_held_lease",
                         condition=models.Q(status="open", leased_until__isnull=False)),
        ]
        constraints = [
            models.UniqueConstraint(fields=["sample", "pass_number", "annotator"],
                                    condition=models.Q(status="open"), name="assignment_one_open_per_person"),
        ]

    def __str__(self):
        return f"pass {self.pass_number} of sample {self.sample_id} → {self.annotator_id} ({self.status})"


class ImportJob(models.Model):
    """An import started from the web form or the API, run by a Celery worker, with progress."""

    class Status(models.TextChoices):
        PENDING = "pending", "waiting for a worker"
        RUNNING = "running", "running"
        DONE = "done", "done"
        FAILED = "failed", "failed"

    class Format(models.TextChoices):
        EIBENCH = "eibench", "EIBench files"
        MANIFEST = "manifest", "manifest (CSV or JSONL)"

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="import_jobs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    format = models.CharField(max_length=10, choices=Format.choices)
    files = models.JSONField(default=dict, help_text="role → stored path of each uploaded file")
    images_root = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, help_text="[{file, line, message}] when the import was refused")
    summary = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"import #{self.pk} ({self.status})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(100 * self.done / self.total) if self.total else 0


class ProjectMember(models.Model):
    """A person's membership of a project, with their role in it: a lead, reviewer or annotator sees and changes
    only the projects they belong to (a superuser: all). See ``annotator.permissions.projects_for``.

    Membership is access control, not annotation data: removing a member deletes this row (with an Event), and
    their past work, assignments and events stay."""

    class Role(models.TextChoices):
        LEAD = "lead", "lead"
        REVIEWER = "reviewer", "reviewer"
        ANNOTATOR = "annotator", "annotator"

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="project_memberships")
    role = models.CharField(max_length=10, choices=Role.choices)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "role", "user"]
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="project_member_unique")]
        indexes = [models.Index(fields=["user", "project"])]

    def __str__(self):
        return f"{self.user} ({self.role}) in {self.project}"
