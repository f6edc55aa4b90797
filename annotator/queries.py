"""Read-side helpers shared by pages and the API (a fixed number of queries each)."""
from __future__ import annotations

from django.db.models import Count, Q

from .models import Image, Project, Sample


def project_overview(project: Project) -> dict:
    """Sample counts by state, by emotion and both; how many images are missing."""
    rows = (Sample.objects.filter(project=project).values_list("emotion", "state")
            .annotate(n=Count("id")).order_by())
    by_state: dict[str, int] = {}
    by_emotion: dict[str, int] = {}
    matrix: dict[str, dict[str, int]] = {}
    for emotion, state, n in rows:
        by_state[state] = by_state.get(state, 0) + n
        by_emotion[emotion] = by_emotion.get(emotion, 0) + n
        matrix.setdefault(emotion, {})[state] = n
    images = Image.objects.filter(project=project).aggregate(total=Count("id"), missing=Count("id", filter=Q(file="")))
    states = [(value, label, by_state.get(value, 0)) for value, label in Sample.State.choices]
    emotions = sorted(set(project.emotions) | set(by_emotion), key=lambda e: (e not in project.emotions, e))
    return {
        "total": sum(by_state.values()),
        "states": states,
        "by_state": by_state,
        "by_emotion": by_emotion,
        "emotion_rows": [
            (e, by_emotion.get(e, 0),
             [(value, label, matrix.get(e, {}).get(value, 0)) for value, label, _n in states])
            for e in emotions
        ],
        "images": images["total"],
        "images_missing": images["missing"],
    }


def projects_with_counts(projects=None):
    """``projects`` (a queryset, e.g. ``permissions.projects_for(user)``; default: all) with sample counts."""
    return (Project.objects if projects is None else projects).annotate(
        n_samples=Count("samples", distinct=True),
        n_final=Count("samples", filter=Q(samples__state=Sample.State.FINAL), distinct=True),
    ).order_by("name")
