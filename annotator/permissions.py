"""Who may see and change what: one check, composed everywhere (pages, the API, actions, other apps).

Two layers:

* **Site roles** (Django groups ``annotator``, ``reviewer``, ``lead``; see ``roles``): a signed-in person without
  one sees nothing at all, and only someone with the site role ``lead`` creates projects.
* **Project membership** (:class:`~annotator.models.ProjectMember`): a person sees only the projects they belong
  to, and their role *in that project* is their membership's role (a superuser leads every project). A lead holds
  every role of their project. Whoever creates a project becomes its lead member.

:func:`projects_for` is the queryset of projects a person sees; every page, API viewset and the pipeline and
review apps start from it (or from :func:`project_for`, which answers 404 for a project outside it, so its
existence is not revealed). :func:`project_role` / :func:`has_project_role` is the role check, and
:func:`sample_access` composes it with the workspace assignments.
"""
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework.permissions import SAFE_METHODS, BasePermission

from .models import Assignment, Project, ProjectMember
from .roles import ANNOTATOR, LEAD, REVIEWER, has_role, load_access

ANY_ROLE = (ANNOTATOR, REVIEWER, LEAD)


# ------------------------------------------------------------------------------------------- project roles
def _memberships(user) -> dict[int, str]:
    """project id → the user's role there (cached on the user object for the request; see ``load_access``)."""
    cached = getattr(user, "_eistudio_memberships", None)
    if cached is None:
        load_access(user)  # with the site roles, in the same query
        cached = user._eistudio_memberships
    return cached


def forget_memberships(user) -> None:
    """Drop the cached memberships (after adding or removing one for this user object)."""
    user.__dict__.pop("_eistudio_memberships", None)


def _project_id(project) -> int | None:
    if project is None:
        return None
    return project if isinstance(project, int) else getattr(project, "pk", None)


def project_role(user, project) -> str | None:
    """The user's role in ``project`` (a Project or its id): ``lead``, ``reviewer``, ``annotator`` or None.
    A superuser leads every project; an inactive or anonymous user has none."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return LEAD
    return _memberships(user).get(_project_id(project))


def has_project_role(user, project, *roles: str) -> bool:
    """True when the user holds one of ``roles`` in ``project`` (a lead holds every role); with no ``roles``,
    when the user is a member at all."""
    role = project_role(user, project)
    if role is None:
        return False
    return not roles or role == LEAD or role in roles


def projects_for(user, *roles: str):
    """The projects ``user`` sees (with one of ``roles`` in them, when given): theirs; every project for a
    superuser; none for anyone else."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Project.objects.none()
    if user.is_superuser:
        return Project.objects.all()
    members = ProjectMember.objects.filter(user_id=user.pk)
    if roles:
        members = members.filter(role__in={LEAD, *roles})
    return Project.objects.filter(pk__in=members.values("project_id"))


def project_for(user, pk, *roles: str, queryset=None) -> Project:
    """Project ``pk`` when ``user`` may see it (else 404: another project's existence is not revealed) and, when
    ``roles`` are given, holds one of them in it (else 403)."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404("no such project") from None
    if project_role(user, pk) is None:
        raise Http404("no such project")
    project = (queryset if queryset is not None else Project.objects).filter(pk=pk).first()
    if project is None:
        raise Http404("no such project")
    if roles and not has_project_role(user, project, *roles):
        raise PermissionDenied(f"Your role in this project does not allow this (needs {' or '.join(roles)}).")
    return project


def require_project_role(user, project, *roles: str) -> None:
    """404 when the user is not a member of ``project``; 403 when they lack every one of ``roles``."""
    if project_role(user, project) is None:
        raise Http404("no such project")
    if roles and not has_project_role(user, project, *roles):
        raise PermissionDenied(f"Your role in this project does not allow this (needs {' or '.join(roles)}).")


# ---------------------------------------------------------------------------------------------- site roles
class HasAnyRole(BasePermission):
    """Annotators, reviewers and leads (a signed-in user without a role sees nothing)."""

    message = "You need the annotator, reviewer or lead role."

    def has_permission(self, request, view):
        return has_role(request.user, *ANY_ROLE)


class IsLead(BasePermission):
    """Site role ``lead`` (creating projects). Object level: a lead *of the object's project*."""

    message = "Only a project lead may do this."

    def has_permission(self, request, view):
        return has_role(request.user, LEAD)

    def has_object_permission(self, request, view, obj):
        return has_project_role(request.user, project_of(obj), LEAD)


class ReadOnly(BasePermission):
    def has_permission(self, request, view):
        return request.method in SAFE_METHODS


def project_of(obj) -> int | None:
    """The id of the project an object belongs to (a project, or anything with a ``project_id``)."""
    if isinstance(obj, Project):
        return obj.pk
    pid = getattr(obj, "project_id", None)
    if pid is None:
        sample = getattr(obj, "sample", None)
        pid = getattr(sample, "project_id", None)
    return pid


class IsProjectMember(BasePermission):
    """Object level: the object's project is one of the user's (reads); writes need ``write_roles`` there."""

    message = "You are not a member of this project."
    write_roles: tuple[str, ...] = (LEAD,)

    def has_object_permission(self, request, view, obj):
        project = project_of(obj)
        if request.method in SAFE_METHODS:
            return has_project_role(request.user, project)
        return has_project_role(request.user, project, *self.write_roles)


def role_required(*roles):
    """View decorator: 403 unless the (signed-in) user holds one of ``roles`` as a site role."""

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
    """``"work"`` (may change the sample in its current pass), ``"read"`` or ``None``, composed from the user's
    role in the sample's project and their assignments: its leads work on everything; its reviewers read; its
    annotators work on a sample assigned to them in its current pass and read the samples they were ever
    assigned. Anyone else: ``None``."""
    role = project_role(user, sample.project_id)
    if role is None:
        return None
    if role == LEAD:
        return WORK
    if role == ANNOTATOR:
        loaded = sample.__dict__.get("_ws_assignments")  # the sample's assignments, when the caller has them
        if loaded is not None:
            rows = [(a.pass_number, a.status) for a in loaded if a.annotator_id == user.pk]
        else:
            rows = Assignment.objects.filter(sample_id=sample.pk, annotator=user).values_list("pass_number", "status")
        access = None
        for pass_number, status in rows:
            if status == Assignment.Status.OPEN and sample.state == f"pass{pass_number}":
                return WORK
            access = READ
        return access
    if role == REVIEWER:
        return READ
    return None


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
