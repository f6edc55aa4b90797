"""Review fixtures: a project of refined samples (model triggers, as the passes leave them), three reviewers, and
helpers to draw and rate."""
import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile

from annotator.models import Image, Project, Sample, Trigger
from annotator.roles import ANNOTATOR, REVIEWER
from review import actions
from review.models import ReviewAssignment
from tests.conftest import _user, join, png_bytes

TRIGGERS = [("Broad smile on his face.", "Facial Expressions"), ("Friends cheering around him.", "Social Interactions"),
            ("A trophy in his hands.", "Objects")]
EMOTIONS = ["angry", "sad", "excited", "happy"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def refined_project(name="Review", per_emotion=5, *, emotions=EMOTIONS, with_image=False, state="refined",
                    **settings) -> Project:
    project = Project.objects.create(name=name, **settings)
    i = 0
    for emotion in emotions:
        for _ in range(per_emotion):
            image = Image.objects.create(project=project, dataset_key=f"{emotion.title()}/{i:04d}.png", width=16,
                                         height=16)
            if with_image:
                image.file.save(f"{i:04d}.png", ContentFile(png_bytes((64, 48))), save=True)
            sample = Sample.objects.create(project=project, image=image, kind="basic", emotion=emotion, ordinal=i,
                                           truth_ordinal=i, state=state,
                                           question=f"What might have caused the person to look {emotion}?")
            Trigger.objects.bulk_create([Trigger(sample=sample, text=t, position=p, category=c, origin="model")
                                         for p, (t, c) in enumerate(TRIGGERS, start=1)])
            i += 1
    return project


@pytest.fixture
def reviewers(db, django_user_model, reviewer):
    return [reviewer, _user(django_user_model, "rev2", REVIEWER), _user(django_user_model, "rev3", REVIEWER)]


@pytest.fixture
def annotator2(db, django_user_model):
    return _user(django_user_model, "ann2", ANNOTATOR)


@pytest.fixture
def project(db, lead, reviewers, annotator):
    """20 refined samples (5 per emotion); lead1, rev1-3 and ann1 are its members."""
    return join(refined_project(), lead, *reviewers, annotator)


def open_review(qs, user) -> ReviewAssignment:
    return ReviewAssignment.objects.get(quality_sample=qs, reviewer=user, round=qs.round, status="open")


def rate_all(qs, reviewers, scores, notes=None):
    for i, (user, score) in enumerate(zip(reviewers, scores, strict=True)):
        actions.do_rate(open_review(qs, user).pk, score, (notes or {}).get(i, "note" if score < 3 else ""),
                        actor=user)
    qs.refresh_from_db()
    return qs
