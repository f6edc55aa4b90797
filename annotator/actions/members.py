"""Project membership: who belongs to a project, and as what. Each change writes an Event."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from ..models import Event, Project, ProjectMember
from ..permissions import forget_memberships
from ..roles import ANNOTATOR, LEAD, REVIEWER, user_roles

ROLES = (LEAD, REVIEWER, ANNOTATOR)


class MemberError(ValueError):
    """A membership change that cannot be made (the message says why, for a person)."""


def default_role(user) -> str:
    """The role a new member gets when none is given: their highest site role (lead > reviewer > annotator)."""
    held = user_roles(user)
    return next((r for r in ROLES if r in held), ANNOTATOR)


def do_add_member(project: Project, user, role: str | None = None, *, actor=None) -> ProjectMember:
    """Make ``user`` a member of ``project`` with ``role`` (default: their site role), or change their role."""
    role = role or default_role(user)
    if role not in ROLES:
        raise MemberError(f"unknown role {role!r} (one of {', '.join(ROLES)})")
    if not user.is_active:
        raise MemberError(f"{user.username} is not an active account")
    with transaction.atomic():
        member = ProjectMember.objects.select_for_update().filter(project=project, user=user).first()
        before = {"role": member.role} if member else None
        if member is None:
            member = ProjectMember.objects.create(project=project, user=user, role=role, added_by=actor)
        elif member.role != role:
            if member.role == LEAD and role != LEAD:
                _keep_a_lead(project, user)
            member.role = role
            member.save(update_fields=["role"])
        else:
            return member
        Event.objects.create(project=project, actor=actor, action="project.member_added" if before is None
                             else "project.member_changed", before=before,
                             after={"user": user.pk, "username": user.username, "role": role})
    forget_memberships(user)
    return member


def do_remove_member(project: Project, user, *, actor=None) -> bool:
    """Take ``user`` out of ``project`` (their past work stays). A project keeps at least one lead."""
    with transaction.atomic():
        member = ProjectMember.objects.select_for_update().filter(project=project, user=user).first()
        if member is None:
            return False
        if member.role == LEAD:
            _keep_a_lead(project, user)
        # Membership is access control, not annotation data: the row goes, the Event records it.
        ProjectMember.objects.filter(pk=member.pk).delete()
        Event.objects.create(project=project, actor=actor, action="project.member_removed",
                             before={"user": user.pk, "username": user.username, "role": member.role})
    forget_memberships(user)
    return True


def _keep_a_lead(project: Project, user) -> None:
    if not ProjectMember.objects.filter(project=project, role=LEAD).exclude(user=user).exists():
        raise MemberError(f"{user.username} is the project's only lead: add another lead first")


def user_by_name(username: str):
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise MemberError(f"no user named {username!r}")
    return user
