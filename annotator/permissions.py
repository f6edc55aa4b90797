"""One role check, composed (DRF permission classes and a view decorator share ``roles.has_role``)."""
from functools import wraps

from django.core.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission

from .models import Assignment
from .roles import ANNOTATOR, LEAD, REVIEWER, has_role

ANY_ROLE = (ANNOTATOR, REVIEWER, LEAD)


class HasAnyRole(BasePermission):
    """Annotators, reviewers and leads (a signed-in user without a role sees nothing)."""

    message = "You need the annotator, reviewer or lead role."

    def has_permission(self, request, view):
        return has_role(request.user, *ANY_ROLE)


class IsLead(BasePermission):
    message = "Only a project lead may do this."

    def has_permission(self, request, view):
        return has_role(request.user, LEAD)


class ReadOnly(BasePermission):
    def has_permission(self, request, view):
        return request.method in SAFE_METHODS


def role_required(*roles):
    """View decorator: 403 unless the (signed-in) user holds one of ``roles``."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not has_role(request.user, *roles):
                raise PermissionDenied("Your role does not allow this.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


# ------------------------------------------------------------------------------------ sample-level access
WORK, READ = "work", "read"


def sample_access(user, sample) -> str | None:
    """``"work"`` (may change the sample in its current pass), ``"read"`` or ``None``, composed from the role
    check and the user's assignments: leads work on everything; reviewers read; an annotator works on a sample
    assigned to them in its current pass and reads the samples they were ever assigned."""
    if has_role(user, LEAD):
        return WORK
    access = None
    if has_role(user, ANNOTATOR):
        loaded = sample.__dict__.get("_ws_assignments")  # the sample's assignments, when the caller has them
        if loaded is not None:
            rows = [(a.pass_number, a.status) for a in loaded if a.annotator_id == user.pk]
        else:
            rows = Assignment.objects.filter(sample_id=sample.pk, annotator=user).values_list("pass_number", "status")
        for pass_number, status in rows:
            if status == Assignment.Status.OPEN and sample.state == f"pass{pass_number}":
                return WORK
            access = READ
    if access is None and has_role(user, REVIEWER):
        access = READ
    return access


def _sample_of(obj):
    return getattr(obj, "sample", None) or obj


class CanReadSample(BasePermission):
    """Object level: the user reads this sample (see :func:`sample_access`)."""

    message = "This sample is not assigned to you."

    def has_object_permission(self, request, view, obj):
        return sample_access(request.user, _sample_of(obj)) is not None


class CanWorkOnSample(BasePermission):
    """Object level: reads for readers; writes only for whoever may work on the sample in its current pass."""

    message = "You may not change this sample in its current pass."

    def has_object_permission(self, request, view, obj):
        access = sample_access(request.user, _sample_of(obj))
        return access == WORK or (access == READ and request.method in SAFE_METHODS)
