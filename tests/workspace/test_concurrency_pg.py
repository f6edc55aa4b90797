"""Two annotators asking for "next" at the same moment never get the same sample in the same pass: real
threads (each with its own PostgreSQL connection) released together by a barrier. PostgreSQL only (CI sets
DATABASE_URL); SQLite serialises writers and has no row locks to test."""
import threading
from collections import Counter

import pytest
from django.conf import settings
from django.db import connection

from annotator import actions
from annotator.models import Sample
from annotator.roles import ANNOTATOR
from tests.conftest import _user
from tests.workspace.conftest import labelled_project

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("postgresql" not in settings.DATABASES["default"]["ENGINE"],
                       reason="needs PostgreSQL (set DATABASE_URL)"),
]

THREADS = 8


def _race(fn, users):
    barrier = threading.Barrier(len(users))
    results, errors = {}, []

    def run(user):
        try:
            barrier.wait()
            results[user.username] = fn(user)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    return results


def test_simultaneous_next_never_hands_out_the_same_sample(django_user_model, lead):
    users = [_user(django_user_model, f"racer{i}", ANNOTATOR) for i in range(THREADS)]
    project = labelled_project("Race", n=30, members=(lead, *users))
    # every annotator is assigned every sample in pass 1 (100% overlap): the worst case for a race
    actions.do_assign_project(project.pk, [u.pk for u in users], actor=lead, overlap_fraction=1.0)
    from annotator.models import Assignment

    existing = set(Assignment.objects.filter(pass_number=1).values_list("sample_id", "annotator_id"))
    Assignment.objects.bulk_create([
        Assignment(project=project, sample_id=s, pass_number=1, annotator=u)
        for s in Sample.objects.filter(project=project).values_list("id", flat=True) for u in users
        if (s, u.pk) not in existing
    ])
    handed: list[int] = []
    for _round in range(3):
        got = _race(lambda u: actions.do_take_next(project.pk, 1, actor=u), users)
        ids = [a.sample_id for a in got.values() if a is not None]
        assert len(ids) == THREADS
        assert len(set(ids)) == len(ids), Counter(ids)
        handed.extend(ids)
        # each one gives it back finished; the next round races for the rest
        for user in users:
            assignment = got[user.username]
            actions.do_release_lease(assignment.pk, actor=user)
            Assignment.objects.filter(pk=assignment.pk).update(status="done")
    assert len(handed) == 3 * THREADS


def test_simultaneous_saves_one_wins_the_other_is_stale(django_user_model, lead, annotator):
    from annotator.models import Trigger

    project = labelled_project("Stale", n=1, members=(lead, annotator))
    sample = Sample.objects.get(project=project)
    trigger = Trigger.objects.filter(sample=sample).first()
    version = sample.version
    writers = [lead, _user(django_user_model, "lead2", None)]

    def save(user):
        try:
            actions.do_update_trigger(trigger.pk, text=f"by {user.username}", actor=user, expected_version=version)
            return "saved"
        except actions.StaleVersion:
            return "stale"

    outcome = _race(save, writers)
    assert sorted(outcome.values()) == ["saved", "stale"]
    trigger.refresh_from_db()
    assert trigger.text == f"by {next(k for k, v in outcome.items() if v == 'saved')}"
