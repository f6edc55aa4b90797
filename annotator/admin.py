from django.contrib import admin

from .models import Event, Image, ImportJob, Project, Sample, Trigger


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at", "annotators_per_pass", "reviewers_per_item", "is_demo")
    search_fields = ("name",)


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ("dataset_key", "project", "width", "height", "sha256")
    list_filter = ("project",)
    search_fields = ("dataset_key", "sha256")
    list_select_related = ("project",)


class TriggerInline(admin.TabularInline):
    model = Trigger
    fk_name = "sample"
    extra = 0
    can_delete = False  # triggers are never deleted: set their fate
    fields = ("position", "text", "label", "origin", "fate", "kind", "category", "explicit", "parent")
    raw_id_fields = ("parent",)


@admin.register(Sample)
class SampleAdmin(admin.ModelAdmin):
    list_display = ("id", "image", "kind", "emotion", "state", "version", "project")
    list_filter = ("project", "kind", "state", "emotion")
    search_fields = ("question", "image__dataset_key")
    list_select_related = ("image", "project")
    raw_id_fields = ("image",)
    inlines = [TriggerInline]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Trigger)
class TriggerAdmin(admin.ModelAdmin):
    list_display = ("id", "text", "origin", "fate", "position", "sample")
    list_filter = ("origin", "fate", "category")
    search_fields = ("text",)
    raw_id_fields = ("sample", "parent")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """Read-only: the log is append-only."""

    list_display = ("id", "created_at", "action", "actor", "pass_number", "sample", "project")
    list_filter = ("action", "project")
    list_select_related = ("actor", "project")
    raw_id_fields = ("sample", "trigger")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "format", "status", "done", "total", "created_at")
    list_filter = ("status", "format")
