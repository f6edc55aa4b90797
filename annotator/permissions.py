"""One role check, composed (DRF permission classes and a view decorator share ``roles.has_role``)."""
from functools import wraps

from django.core.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission

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
