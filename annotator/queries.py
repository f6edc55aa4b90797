"""Read-side helpers shared by pages and the API (a fixed number of queries each)."""
from __future__ import annotations

from datetime import datetime, time

from django.db.models import Avg, Count, Q, Sum
from django.utils import timezone

from .actions.workspace import READY
from .models import Assignment, Image, Project, Sample

OPEN, DONE, SKIPPED = Assignment.Status.OPEN, Assignment.Status.DONE, Assignment.Status.SKIPPED


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


def start_of_today():
    """Midnight of today, in the current time zone."""
    return timezone.make_aware(datetime.combine(timezone.localdate(), time.min))


def queue_rows(user=None, projects=None):
    """Per (project, annotator, pass): ready, waiting, leased, done today, done, skipped, average seconds.
    ``user``: only theirs (else everyone's); ``projects``: only in these (a queryset). One grouped query."""
    now, today = timezone.now(), start_of_today()
    qs = Assignment.objects.all() if user is None else Assignment.objects.filter(annotator=user)
    if projects is not None:
        qs = qs.filter(project__in=projects)
    return list(
        qs.values("project_id", "project__name", "annotator_id", "annotator__username", "pass_number")
        .annotate(
            ready=Count("id", filter=READY),
            waiting=Count("id", filter=Q(status=OPEN) & ~READY),
            leased=Count("id", filter=Q(status=OPEN, leased_until__gt=now)),
            done_today=Count("id", filter=Q(status=DONE, finished_at__gte=today)),
            done=Count("id", filter=Q(status=DONE)),
            skipped=Count("id", filter=Q(status=SKIPPED)),
            seconds=Sum("work_seconds", filter=Q(status=DONE)),
            timed=Count("work_seconds", filter=Q(status=DONE)),
            avg_seconds=Avg("work_seconds", filter=Q(status=DONE)),
        )
        .order_by("project__name", "annotator__username", "pass_number")
    )
