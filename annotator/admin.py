"""The admin (staff only). Annotation data is never deleted here: no delete permission, no "delete selected"
action, on projects, images, samples, triggers, events and import jobs. Project members are managed inline."""
from django.contrib import admin, messages

from .actions.members import MemberError, do_add_member, do_remove_member
from .auth import ThrottledAdminAuthenticationForm
from .models import Event, Image, ImportJob, Project, ProjectMember, Sample, Trigger

admin.site.login_form = ThrottledAdminAuthenticationForm  # failed admin sign-ins are throttled like the site's


class NoDeleteAdmin(admin.ModelAdmin):
    """Rows of annotation data are never deleted (a trigger is removed by its fate, a sample never)."""

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


class MemberInline(admin.TabularInline):
    """Who belongs to the project and as what (removing a member keeps their past work)."""

    model = ProjectMember
    fk_name = "project"
    extra = 1
    fields = ("user", "role", "added_by", "added_at")
    readonly_fields = ("added_by", "added_at")
    raw_id_fields = ("user",)


@admin.register(Project)
class ProjectAdmin(NoDeleteAdmin):
    list_display = ("name", "created_at", "annotators_per_pass", "reviewers_per_item", "is_demo")
    search_fields = ("name",)
    inlines = [MemberInline]

    def save_formset(self, request, form, formset, change):
        if formset.model is not ProjectMember:
            return super().save_formset(request, form, formset, change)
        # Through the membership actions, so every change writes its Event (and a project keeps a lead).
        try:
            for member in formset.save(commit=False):
                do_add_member(form.instance, member.user, member.role, actor=request.user)
            for member in formset.deleted_objects:
                do_remove_member(form.instance, member.user, actor=request.user)
        except MemberError as exc:
            messages.error(request, str(exc))
        return None


@admin.register(ProjectMember)
class ProjectMemberAdmin(admin.ModelAdmin):
    list_display = ("project", "user", "role", "added_by", "added_at")
    list_filter = ("role", "project")
    search_fields = ("user__username", "project__name")
    raw_id_fields = ("user",)
    readonly_fields = ("added_by", "added_at")

    def save_model(self, request, obj, form, change):
        try:
            saved = do_add_member(obj.project, obj.user, obj.role, actor=request.user)
            obj.pk = saved.pk
        except MemberError as exc:
            messages.error(request, str(exc))

    def delete_model(self, request, obj):
        try:
            do_remove_member(obj.project, obj.user, actor=request.user)
        except MemberError as exc:
            messages.error(request, str(exc))

    def delete_queryset(self, request, queryset):
        for obj in queryset.select_related("project", "user"):
            self.delete_model(request, obj)


@admin.register(Image)
class ImageAdmin(NoDeleteAdmin):
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
class SampleAdmin(NoDeleteAdmin):
    list_display = ("id", "image", "kind", "emotion", "state", "version", "project")
    list_filter = ("project", "kind", "state", "emotion")
    search_fields = ("question", "image__dataset_key")
    list_select_related = ("image", "project")
    raw_id_fields = ("image",)
    inlines = [TriggerInline]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Trigger)
class TriggerAdmin(NoDeleteAdmin):
    list_display = ("id", "text", "origin", "fate", "position", "sample")
    list_filter = ("origin", "fate", "category")
    search_fields = ("text",)
    raw_id_fields = ("sample", "parent")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Event)
class EventAdmin(NoDeleteAdmin):
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
class ImportJobAdmin(NoDeleteAdmin):
    list_display = ("id", "project", "format", "status", "done", "total", "created_at")
    list_filter = ("status", "format")
