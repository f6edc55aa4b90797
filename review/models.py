"""Quality review: draws of quality samples, reviewer assignments, 0-5 ratings, rework rounds, and frozen,
checksummed benchmark versions. Depends on annotator only (``review → annotator``).

Writes go through :mod:`review.actions` (one function per change, each writing an annotator ``Event`` in the
same transaction). Ratings are never edited or deleted.

Sample lifecycle (annotator's ``Sample.state``): ``refined`` → ``sampled`` (drawn for rating) → ``rated`` (every
reviewer of the round rated it) → ``final`` (the lead finalises the category). A rated sample whose mean is below
the project's threshold is sent back to a pass by the lead (``do_send_to_rework``); when it is ``refined`` again
it is ``sampled`` again for a new rating round by the same reviewers.
"""
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from annotator.models import Project, Sample


class Draw(models.Model):
    """One seeded random draw of quality samples (per emotion category), or the container of imported ratings.

    ``population``: emotion → the ids of the refined samples the draw was made from (the draw can be re-derived
    from it and ``seed`` with :func:`review.strategies.draw_sample`); finalising a category finalises them."""

    class Source(models.TextChoices):
        DRAWN = "drawn", "drawn in EI Studio"
        IMPORTED = "imported", "imported ratings"

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="review_draws")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.DRAWN)
    seed = models.BigIntegerField(default=0)
    per_emotion = models.PositiveIntegerField(default=50)
    reviewers_per_item = models.PositiveSmallIntegerField(default=3)
    emotions = models.JSONField(default=list)
    population = models.JSONField(default=dict, help_text="emotion → ids of the refined samples drawn from")
    reviewers = models.JSONField(default=list, help_text="user ids of the reviewers the draw was spread over")
    finalised = models.JSONField(default=list, help_text="emotions the lead has finalised")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["project", "-id"])]

    def __str__(self):
        return f"draw #{self.pk} of {self.project} ({self.source})"


class QualitySample(models.Model):
    """A sample drawn for rating. ``round`` counts rating rounds (a reworked sample is rated again)."""

    class Status(models.TextChoices):
        PENDING = "pending", "waiting for ratings"
        PASSED = "passed", "passed"
        BELOW = "below", "below the threshold"
        REWORK = "rework", "in rework"
        IMPORTED = "imported", "imported ratings"

    draw = models.ForeignKey(Draw, on_delete=models.PROTECT, related_name="items")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="+", db_index=False)
    sample = models.ForeignKey(Sample, on_delete=models.PROTECT, related_name="quality_samples")
    emotion = models.CharField(max_length=50, blank=True)
    round = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    mean = models.FloatField(null=True, blank=True, help_text="mean rating of the current round, once complete")
    rework_pass = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["draw", "sample"], name="quality_sample_once_per_draw")]
        indexes = [models.Index(fields=["project", "status"]), models.Index(fields=["project", "emotion"])]

    def __str__(self):
        return f"quality sample {self.pk} (sample {self.sample_id}, round {self.round}, {self.status})"


class ReviewAssignment(models.Model):
    """(quality sample, reviewer, round): a reviewer's task to rate a sample once in a round."""

    class Status(models.TextChoices):
        OPEN = "open", "open"
        DONE = "done", "done"
        CANCELLED = "cancelled", "cancelled"

    quality_sample = models.ForeignKey(QualitySample, on_delete=models.PROTECT, related_name="assignments")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="+", db_index=False)
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="review_assignments")
    round = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["quality_sample", "reviewer", "round"],
                                               name="review_assignment_once_per_round")]
        indexes = [models.Index(fields=["reviewer", "status"]), models.Index(fields=["project", "status"])]

    def __str__(self):
        return f"review of quality sample {self.quality_sample_id} by {self.reviewer_id} (round {self.round})"


class Rating(models.Model):
    """A 0-5 quality rating with a note. ``rater`` names who rated (the username, or the ``--rater`` name of an
    imported file); ``reviewer`` is the user for ratings made here. Never edited."""

    class Source(models.TextChoices):
        REVIEW = "review", "rated here"
        IMPORTED = "imported", "imported"

    quality_sample = models.ForeignKey(QualitySample, on_delete=models.PROTECT, related_name="ratings")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="+", db_index=False)
    assignment = models.OneToOneField(ReviewAssignment, null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="rating")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    rater = models.CharField(max_length=150)
    round = models.PositiveSmallIntegerField(default=1)
    score = models.PositiveSmallIntegerField(validators=[MinValueValidator(0), MaxValueValidator(5)])
    note = models.TextField(blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.REVIEW)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["quality_sample", "round", "rater"], name="rating_once_per_round"),
            models.CheckConstraint(condition=models.Q(score__gte=0, score__lte=5), name="rating_score_0_5"),
        ]
        indexes = [models.Index(fields=["project", "quality_sample", "round"])]

    def __str__(self):
        return f"{self.rater}: {self.score}/5 on quality sample {self.quality_sample_id}"


class BenchmarkVersion(models.Model):
    """A frozen benchmark: the project's final samples at one moment, exported identically whenever asked.

    The entries hold every exported field (and each sample's rendered trigger list); the files are rendered
    from them with the EIBench writers and checked against ``files`` (sha256 and size of each file) and
    ``checksum`` (sha256 over the file names and digests) before any byte leaves."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="benchmark_versions")
    number = models.PositiveIntegerField()
    note = models.TextField(blank=True)
    checksum = models.CharField(max_length=64)
    files = models.JSONField(default=dict, help_text="file name → {sha256, bytes}")
    samples = models.PositiveIntegerField(default=0)
    changelog = models.JSONField(default=dict, help_text="against the previous version: counts and keys")
    previous = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "-number"]
        constraints = [models.UniqueConstraint(fields=["project", "number"], name="benchmark_version_unique")]

    def __str__(self):
        return f"{self.project} v{self.number}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("benchmark versions are immutable")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("benchmark versions are immutable")


class VersionEntry(models.Model):
    """One sample of a frozen version, as exported (the rendered trigger list is kept, not re-read)."""

    version = models.ForeignKey(BenchmarkVersion, on_delete=models.PROTECT, related_name="entries", db_index=False)
    sample = models.ForeignKey(Sample, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10)
    ordinal = models.PositiveIntegerField()
    truth_ordinal = models.PositiveIntegerField(null=True, blank=True)
    truth_position = models.PositiveIntegerField(null=True, blank=True,
                                                 help_text="place in basic_ground_truth.json (its own order)")
    dataset_key = models.CharField(max_length=500)
    question = models.TextField()
    emotion = models.CharField(max_length=50, blank=True)
    triggers = models.TextField(help_text="the kept trigger list as the export writes it")

    class Meta:
        ordering = ["version", "kind", "ordinal", "id"]
        indexes = [models.Index(fields=["version", "kind", "ordinal"])]

    def __str__(self):
        return f"{self.dataset_key} in version {self.version_id}"
