"""CFSA runs: versioned pipeline configs, runs over samples, and the trace of every prompt and reply.

A model trigger names its run, model and prompt version through :class:`ModelProposal` (the annotator app knows
nothing of this one: dependencies point pipeline → annotator).
"""
from django.conf import settings
from django.db import models

from annotator.models import Project, Sample, Trigger

from .prompts import STAGES


class PromptVersion(models.Model):
    """One saved pipeline config of a project (backends, models, generation, persona, every stage's prompt).
    Never edited: a change makes the next version."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="prompt_versions")
    number = models.PositiveIntegerField()
    config = models.JSONField()
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "-number"]
        constraints = [models.UniqueConstraint(fields=["project", "number"], name="prompt_version_unique")]

    def __str__(self):
        return f"{self.project} v{self.number}"


class PipelineRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        DONE = "done", "done"
        CANCELLED = "cancelled", "cancelled"

    class Selection(models.TextChoices):
        ALL = "all", "all unlabelled samples"
        FAILED = "failed", "failed samples"
        SELECTED = "selected", "selected samples"

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="pipeline_runs")
    prompt_version = models.ForeignKey(PromptVersion, on_delete=models.PROTECT, related_name="runs")
    config = models.JSONField(help_text="The exact config this run used.")
    selection = models.CharField(max_length=10, choices=Selection.choices, default=Selection.ALL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    placeholder = models.BooleanField(default=False, help_text="Outputs come from a random-weight model.")
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    cancelled = models.PositiveIntegerField(default=0)
    general_questions = models.JSONField(default=list, help_text="Stage 2a: the 4 most frequent general questions.")
    general_counts = models.JSONField(default=dict)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_progress_at = models.DateTimeField(null=True, blank=True, help_text="When a batch last finished.")
    resumed = models.PositiveIntegerField(default=0, help_text="Times a stalled run's pending samples were resent.")

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["project", "-id"])]

    def __str__(self):
        return f"run #{self.pk} of {self.project} ({self.status})"

    @property
    def active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def remaining(self) -> int:
        return max(0, self.total - self.done - self.failed - self.cancelled)

    def models_used(self) -> str:
        vlm, llm = self.config.get("vlm", {}), self.config.get("llm", {})
        a = f"{vlm.get('backend')}:{vlm.get('model')}"
        b = f"{llm.get('backend')}:{llm.get('model')}"
        return a if a == b else f"VLM {a} · LLM {b}"


class RunSample(models.Model):
    """A sample in a run, with its outcome. Created in one INSERT … SELECT, however many samples."""

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        DONE = "done", "done"
        FAILED = "failed", "failed"
        CANCELLED = "cancelled", "cancelled"

    run = models.ForeignKey(PipelineRun, on_delete=models.PROTECT, related_name="items", db_index=False)
    sample = models.ForeignKey(Sample, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "sample"], name="run_sample_unique")]
        indexes = [models.Index(fields=["run", "status"])]

    def __str__(self):
        return f"sample {self.sample_id} in run {self.run_id}: {self.status}"


class StageTrace(models.Model):
    """One prompt and its reply. Unique by run + sample + stage + step, so a redelivered task never adds a second
    result for the same stage step (stage 2a is per run: no sample)."""

    run = models.ForeignKey(PipelineRun, on_delete=models.PROTECT, related_name="traces", db_index=False)
    sample = models.ForeignKey(Sample, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    stage = models.CharField(max_length=20, choices=[(k, f"{v[0]} {v[1]}") for k, v in STAGES.items()])
    step = models.PositiveSmallIntegerField(default=0)
    role = models.CharField(max_length=3)
    model = models.CharField(max_length=300)
    system = models.TextField(blank=True)
    prompt = models.TextField()
    with_image = models.BooleanField(default=False)
    reply = models.TextField()
    latency_ms = models.PositiveIntegerField(default=0)
    batch_size = models.PositiveIntegerField(default=1)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "sample", "stage", "step"], condition=models.Q(sample__isnull=False),
                                    name="trace_unique_sample_step"),
            models.UniqueConstraint(fields=["run", "stage", "step"], condition=models.Q(sample__isnull=True),
                                    name="trace_unique_run_step"),
        ]

    def __str__(self):
        return f"run {self.run_id} sample {self.sample_id} {self.stage}[{self.step}]"

    @property
    def stage_label(self) -> str:
        code, name, _ = STAGES[self.stage]
        return f"{code} · {name}"


class ModelProposal(models.Model):
    """Provenance of a model trigger: the run (hence the prompt version) and the stage-4 trace (hence the model)."""

    trigger = models.OneToOneField(Trigger, primary_key=True, on_delete=models.PROTECT, related_name="proposal")
    run = models.ForeignKey(PipelineRun, on_delete=models.PROTECT, related_name="proposals")
    trace = models.ForeignKey(StageTrace, on_delete=models.PROTECT, related_name="+")

    def __str__(self):
        return f"trigger {self.trigger_id} from run {self.run_id}"
