"""``manage.py assign_work``: the lead's Assign from the command line, and the queue per annotator and pass."""
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from annotator import actions
from annotator.models import Assignment, Event, Project, Sample
from tests.workspace.conftest import labelled_project

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("assign_work", *args, stdout=out)
    return out.getvalue()


def test_assigns_every_pass_of_the_auto_labelled_samples_and_shows_the_queues(annotator, other_annotator, lead):
    project = labelled_project("Wave", n=10, members=(lead, annotator, other_annotator))
    out = run("--project", "Wave", "--annotators", "ann1, ann2", "--overlap", "0.2")
    rows = Assignment.objects.filter(project=project)
    # 10 samples x 3 passes, plus the overlap samples' second annotator in each pass
    assert rows.filter(overlap=False).count() == 30 and rows.filter(overlap=True).count() == 3 * 2
    assert set(rows.values_list("annotator__username", flat=True)) == {"ann1", "ann2"}
    assert not Sample.objects.filter(project=project, state=Sample.State.LABELLED).exists()
    assert f"{rows.count()} assignments created for 2 annotators (overlap 20%)" in out
    assert "annotators: ann1, ann2" in out
    ready = {line.split()[0]: int(line.split()[2]) for line in out.splitlines() if line.split()[1:2] == ["1"]}
    assert ready == {u: rows.filter(annotator__username=u, pass_number=1).count() for u in ("ann1", "ann2")}
    event = Event.objects.get(project=project, action="project.assigned")
    assert event.actor is None and event.after["annotators"] == [annotator.pk, other_annotator.pk]
    assert Project.objects.get(pk=project.pk).overlap_fraction == 0.2


def test_running_it_again_keeps_the_work_already_given(annotator, other_annotator, lead):
    project = labelled_project("Wave", n=4, members=(lead, annotator, other_annotator))
    run("--project", "Wave", "--annotators", "ann1")
    taken = actions.do_take_next(project.pk, 1, actor=annotator)
    before = set(Assignment.objects.values_list("id", "annotator_id"))
    out = run("--project", "Wave", "--annotators", "ann1,ann2")
    assert out.startswith("0 assignments created")
    assert set(Assignment.objects.values_list("id", "annotator_id")) == before
    assert Assignment.objects.get(pk=taken.pk).leased_until is not None


def test_without_annotators_it_only_shows(annotator, lead):
    labelled_project("Wave", n=2, members=(lead, annotator))
    assert "no work given yet" in run("--project", "Wave")
    assert not Assignment.objects.exists()


@pytest.mark.parametrize("args, message", [
    (["--project", "Nope", "--annotators", "ann1"], "no project named 'Nope'"),
    (["--project", "Wave", "--annotators", "ghost"], "no user named 'ghost'"),
    (["--project", "Wave", "--annotators", "rev1"], "not annotators of this project"),
    (["--project", "Wave", "--annotators", " , "], "give at least one username"),
    (["--project", "Wave", "--annotators", "ann1", "--overlap", "1.5"], "between 0 and 1"),
    (["--project", "Wave", "--overlap", "0.3"], "go with --annotators"),
])
def test_bad_input_is_a_clear_error_and_nothing_is_assigned(annotator, reviewer, lead, args, message):
    project = labelled_project("Wave", n=3, members=(lead, annotator))  # rev1 is not a member
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert not Assignment.objects.exists()
    assert Sample.objects.filter(project=project, state=Sample.State.LABELLED).count() == 3
    assert Project.objects.get(pk=project.pk).overlap_fraction == 0.1
