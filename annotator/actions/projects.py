"""Project actions."""
from __future__ import annotations

from django.db import transaction

from ..models import Event, Project


def get_or_create_project(name: str, *, actor=None, **settings) -> Project:
    """The project called ``name``, created (with a ``project.created`` Event) when it does not exist."""
    name = name.strip()
    if not name:
        raise ValueError("a project needs a name")
    with transaction.atomic():
        project, created = Project.objects.get_or_create(name=name, defaults=settings)
        if created:
            Event.objects.create(project=project, actor=actor, action="project.created",
                                 after={"name": name, **settings})
    return project
