"""Project actions."""
from __future__ import annotations

from django.db import transaction

from ..models import Event, Project, ProjectMember
from ..permissions import forget_memberships


def get_or_create_project(name: str, *, actor=None, **settings) -> Project:
    """The project called ``name``, created (with a ``project.created`` Event) when it does not exist.
    Whoever creates a project becomes its lead member."""
    name = name.strip()
    if not name:
        raise ValueError("a project needs a name")
    with transaction.atomic():
        project, created = Project.objects.get_or_create(name=name, defaults=settings)
        if created:
            Event.objects.create(project=project, actor=actor, action="project.created",
                                 after={"name": name, **settings})
            if actor is not None and actor.is_authenticated:
                ProjectMember.objects.create(project=project, user=actor, role=ProjectMember.Role.LEAD,
                                             added_by=actor)
                Event.objects.create(project=project, actor=actor, action="project.member_added",
                                     after={"user": actor.pk, "username": actor.username, "role": "lead"})
                forget_memberships(actor)
    return project
