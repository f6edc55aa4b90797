"""Workspace fixtures: auto-labelled samples as the CFSA pipeline leaves them (model triggers, state
"labelled"), a second annotator, and helpers to assign and to read the export."""
import json

import pytest
from django.core.files.base import ContentFile

from annotator.models import Image, Project, Sample, Trigger
from annotator.roles import ANNOTATOR
from tests.conftest import _user, join, png_bytes

MODEL_TRIGGERS = [
    ("Broad smile on his face.", "Facial Expressions", True, "phys"),
    ("A unicorn flies overhead.", "Outdoor Activities", True, "env"),
    ("Friends cheering around him.", "Social Interactions", True, "social"),
    ("A trophy in his hands.", "Objects", True, "obj"),
]


def labelled_project(name="Wave", n=3, *, with_image=False, triggers=MODEL_TRIGGERS, members=()) -> Project:
    """``members``: users who become members of the project in their site role."""
    project = join(Project.objects.create(name=name), *members)
    for i in range(n):
        image = Image.objects.create(project=project, dataset_key=f"Happy/{i:04d}.png", width=16, height=16)
        if with_image:
            image.file.save(f"{i:04d}.png", ContentFile(png_bytes((64, 48))), save=True)
        sample = Sample.objects.create(project=project, image=image, kind="basic", emotion="happy", ordinal=i,
                                       question="What might have caused the man to look happy?",
                                       state=Sample.State.LABELLED)
        Trigger.objects.bulk_create([
            Trigger(sample=sample, text=text, position=p, category=cat, explicit=exp, kind=kind, origin="model")
            for p, (text, cat, exp, kind) in enumerate(triggers, start=1)
        ])
    return project


@pytest.fixture
def other_annotator(db, django_user_model):
    return _user(django_user_model, "ann2", ANNOTATOR)


@pytest.fixture
def project(db, lead, annotator, other_annotator, reviewer):
    return labelled_project(members=(lead, annotator, other_annotator, reviewer))


def provenance(client, project) -> dict[int, dict]:
    response = client.get(f"/projects/{project.pk}/export/provenance.jsonl")
    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode().splitlines()
    return {row["sample"]: row for row in map(json.loads, lines)}
