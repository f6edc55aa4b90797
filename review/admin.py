"""Read-only admin views of the review records (every change goes through review.actions)."""
from django.contrib import admin

from .models import BenchmarkVersion, Draw, QualitySample, Rating, ReviewAssignment


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Draw)
class DrawAdmin(ReadOnly):
    list_display = ("id", "project", "source", "seed", "per_emotion", "reviewers_per_item", "created_at")
    list_filter = ("source",)


@admin.register(QualitySample)
class QualitySampleAdmin(ReadOnly):
    list_display = ("id", "project", "sample", "emotion", "round", "status", "mean")
    list_filter = ("status", "emotion")


@admin.register(ReviewAssignment)
class ReviewAssignmentAdmin(ReadOnly):
    list_display = ("id", "project", "quality_sample", "reviewer", "round", "status", "finished_at")
    list_filter = ("status",)


@admin.register(Rating)
class RatingAdmin(ReadOnly):
    list_display = ("id", "project", "quality_sample", "rater", "round", "score", "source", "created_at")
    list_filter = ("source", "score")


@admin.register(BenchmarkVersion)
class BenchmarkVersionAdmin(ReadOnly):
    list_display = ("id", "project", "number", "samples", "checksum", "created_by", "created_at")
