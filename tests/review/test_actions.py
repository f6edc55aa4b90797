"""Review actions: draw, rate (blind events), round completion, rework through annotator's pass screens and the
re-rating round, finalising a category, imported ratings, freezing versions. Each writes annotator Events."""
import pytest

from annotator import actions as work
from annotator.models import Assignment, Event, Sample, Trigger
from review import actions
from review.models import Draw, QualitySample, Rating, ReviewAssignment
from tests.conftest import join
from tests.review.conftest import open_review, rate_all, refined_project

pytestmark = pytest.mark.django_db


def test_draw_samples_per_category_assigns_reviewers_and_logs(project, lead, reviewers):
    draw = actions.do_draw_quality_sample(project.pk, actor=lead, per_emotion=3, seed=11)
    items = QualitySample.objects.filter(draw=draw)
    assert items.count() == 12 and sorted(draw.emotions) == sorted(project.emotions)
    assert {e: items.filter(emotion=e).count() for e in project.emotions} == dict.fromkeys(project.emotions, 3)
    assert Sample.objects.filter(project=project, state="sampled").count() == 12
    assert Sample.objects.filter(project=project, state="refined").count() == 8
    for qs in items:
        assert sorted(ReviewAssignment.objects.filter(quality_sample=qs).values_list("reviewer__username", flat=True)
                      ) == ["rev1", "rev2", "rev3"]
    assert Event.objects.filter(project=project, action="sample.sampled").count() == 12
    assert Event.objects.get(project=project, action="review.drawn").after["seed"] == 11
    assert sum(len(v) for v in draw.population.values()) == 20
    # the same population and seed give the same draw
    from review.strategies import draw_sample

    again = draw_sample(draw.population, 3, 11)
    assert sorted(s for v in again.values() for s in v) == sorted(items.values_list("sample_id", flat=True))


def test_draw_defaults_from_the_project_and_refuses_without_refined(lead, reviewers):
    p = join(refined_project("Defaults", per_emotion=2, sample_size_per_emotion=1, reviewers_per_item=2), lead,
             *reviewers)
    draw = actions.do_draw_quality_sample(p.pk, actor=lead)
    assert QualitySample.objects.filter(draw=draw).count() == 4 and draw.reviewers_per_item == 2
    assert ReviewAssignment.objects.filter(quality_sample__draw=draw).count() == 8
    empty = join(refined_project("Empty", per_emotion=1, state="pass1"), lead)
    with pytest.raises(ValueError, match="no refined sample"):
        actions.do_draw_quality_sample(empty.pk, actor=lead)
    with pytest.raises(ValueError, match="at least 2 reviewers"):
        actions.do_draw_quality_sample(p.pk, actor=lead, reviewers=[reviewers[0].pk])


def test_only_the_projects_leads_draw(project, reviewers, django_user_model):
    with pytest.raises(actions.NotAllowed):
        actions.do_draw_quality_sample(project.pk, actor=reviewers[0])
    from tests.conftest import _user

    other_lead = _user(django_user_model, "lead-elsewhere", "lead")  # a lead, but not of this project
    with pytest.raises(actions.NotAllowed):
        actions.do_draw_quality_sample(project.pk, actor=other_lead)


def _one(project, lead, per=1, seed=1):
    draw = actions.do_draw_quality_sample(project.pk, actor=lead, per_emotion=per, seed=seed, emotions=["happy"])
    return draw, QualitySample.objects.get(draw=draw)


def test_rating_round_passes_and_events_do_not_leak_scores(project, lead, reviewers):
    _draw, qs = _one(project, lead)
    actions.do_rate(open_review(qs, reviewers[0]).pk, 5, "clear", actor=reviewers[0])
    event = Event.objects.filter(action="rating.submitted").get()
    assert "score" not in event.after and "note" not in event.after and event.sample_id == qs.sample_id
    qs.refresh_from_db()
    assert qs.status == "pending" and Sample.objects.get(pk=qs.sample_id).state == "sampled"
    qs = rate_all(qs, reviewers[1:], [4, 3])
    assert qs.status == "passed" and qs.mean == pytest.approx(4.0)
    assert Sample.objects.get(pk=qs.sample_id).state == "rated"
    rated = Event.objects.get(action="sample.rated")
    assert rated.after["mean"] == pytest.approx(4.0) and rated.after["ratings"] == 3 and "scores" not in rated.after


def test_rating_rules(project, lead, reviewers, annotator):
    _draw, qs = _one(project, lead)
    a = open_review(qs, reviewers[0])
    with pytest.raises(ValueError, match="0 to 5"):
        actions.do_rate(a.pk, 6, actor=reviewers[0])
    with pytest.raises(ValueError, match="0 to 5"):
        actions.do_rate(a.pk, "four", actor=reviewers[0])
    with pytest.raises(ValueError, match="needs a note"):
        actions.do_rate(a.pk, 2, "", actor=reviewers[0])
    with pytest.raises(actions.NotAllowed):
        actions.do_rate(a.pk, 4, actor=reviewers[1])  # someone else's
    with pytest.raises(actions.NotAllowed):
        actions.do_rate(a.pk, 4, actor=annotator)  # annotators never rate
    actions.do_rate(a.pk, 4, actor=reviewers[0])
    with pytest.raises(actions.Conflict):
        actions.do_rate(a.pk, 3, actor=reviewers[0])  # ratings are final
    assert Rating.objects.count() == 1


def _do_passes(sample_id, user, from_pass=1, fn=None):
    for p in range(from_pass, 4):
        work.do_take_next(Sample.objects.get(pk=sample_id).project_id, p, actor=user)
        if fn and p == from_pass:
            fn()
        work.do_submit_pass(sample_id, actor=user)


def test_below_threshold_goes_to_rework_with_notes_and_is_rated_again(lead, reviewers, annotator):
    project = join(refined_project("Rework", per_emotion=2, state="labelled"), lead, *reviewers, annotator)
    work.do_assign_project(project.pk, [annotator.pk], actor=lead, overlap_fraction=0)
    happy = Sample.objects.filter(project=project, emotion="happy")
    for s in Sample.objects.filter(project=project):
        _do_passes(s.pk, annotator)
    assert set(Sample.objects.filter(project=project).values_list("state", flat=True)) == {"refined"}

    draw = actions.do_draw_quality_sample(project.pk, actor=lead, per_emotion=1, seed=3, emotions=["happy"])
    qs = QualitySample.objects.get(draw=draw)
    qs = rate_all(qs, reviewers, [1, 3, 4], notes={0: "The trophy is not in the picture."})
    assert qs.status == "below" and qs.mean == pytest.approx(8 / 3)
    with pytest.raises(actions.Conflict):
        actions.do_finalise_category(draw.pk, "happy", actor=lead)

    actions.do_send_to_rework(qs.pk, 2, actor=lead)
    qs.refresh_from_db()
    sample = Sample.objects.get(pk=qs.sample_id)
    assert qs.status == "rework" and sample.state == "pass2"
    notes = Assignment.objects.get(sample=sample, pass_number=2, status="open").notes
    assert notes[0].startswith("Quality review round 1: mean rating 2.67 is below the threshold 3")
    assert "rev1 rated 1/5: The trophy is not in the picture." in notes
    assert ReviewAssignment.objects.filter(quality_sample=qs, status="open").count() == 0

    def fix():
        work.do_add_trigger(sample.pk, "He has just won the final.", category="Sports", actor=annotator,
                            pass_number=2)

    _do_passes(sample.pk, annotator, from_pass=2, fn=fix)
    qs.refresh_from_db()
    assert qs.round == 2 and qs.status == "pending" and Sample.objects.get(pk=sample.pk).state == "sampled"
    assert sorted(ReviewAssignment.objects.filter(quality_sample=qs, round=2, status="open")
                  .values_list("reviewer__username", flat=True)) == ["rev1", "rev2", "rev3"]
    from review.permissions import can_see_round

    assert not can_see_round(reviewers[0], qs, 1)  # blind while rating again: the earlier round too
    assert can_see_round(lead, qs, 1) and can_see_round(annotator, qs, 1)
    qs = rate_all(qs, reviewers, [4, 4, 5])
    assert can_see_round(reviewers[0], qs, 1) and can_see_round(reviewers[0], qs, 2)
    assert qs.status == "passed" and qs.mean == pytest.approx(13 / 3)
    assert Rating.objects.filter(quality_sample=qs).count() == 6  # round 1 kept as history

    n = actions.do_finalise_category(draw.pk, "happy", actor=lead)
    assert n == 2  # the rated one and the refined one not drawn
    assert set(happy.values_list("state", flat=True)) == {"final"}
    assert Sample.objects.filter(project=project, emotion="sad", state="refined").count() == 2
    assert Event.objects.filter(action="sample.finalised").count() == 2
    with pytest.raises(actions.Conflict, match="already finalised"):
        actions.do_finalise_category(draw.pk, "happy", actor=lead)


def test_only_below_threshold_goes_to_rework(project, lead, reviewers):
    _draw, qs = _one(project, lead)
    with pytest.raises(actions.Conflict):
        actions.do_send_to_rework(qs.pk, 1, actor=lead)
    rate_all(qs, reviewers, [4, 4, 4])
    with pytest.raises(actions.Conflict):
        actions.do_send_to_rework(qs.pk, 1, actor=lead)
    with pytest.raises(actions.NotAllowed):
        actions.do_send_to_rework(qs.pk, 1, actor=reviewers[0])


def test_refined_samples_after_the_draw_wait_for_the_next(project, lead, reviewers):
    draw = actions.do_draw_quality_sample(project.pk, actor=lead, per_emotion=5, seed=1, emotions=["happy"])
    late = Sample.objects.filter(project=project, emotion="sad").first()
    assert late.state == "refined"  # another category: not in this draw's population
    for q in QualitySample.objects.filter(draw=draw):
        rate_all(q, reviewers, [5, 4, 4])
    assert actions.do_finalise_category(draw.pk, "happy", actor=lead) == 5
    late.refresh_from_db()
    assert late.state == "refined"


RATER_FILE = '{"Happy/0015.png": "4"}\n{"Happy/0016.png": "2"}\n{"Sad/0005.png": 5}\n'


def test_import_ratings(project, lead):
    n = actions.do_import_ratings(project.pk, "rater_1", "rater_1.jsonl", RATER_FILE.encode(), actor=lead)
    assert n == 3
    draw = Draw.objects.get(project=project, source="imported")
    assert sorted(Rating.objects.filter(quality_sample__draw=draw).values_list("score", flat=True)) == [2, 4, 5]
    assert Sample.objects.filter(project=project, state="refined").count() == 20  # states untouched
    actions.do_import_ratings(project.pk, "rater_2", "rater_2.jsonl", RATER_FILE.encode())
    assert QualitySample.objects.filter(draw=draw).count() == 3 and Rating.objects.count() == 6
    assert Event.objects.filter(action="review.ratings_imported").count() == 2


@pytest.mark.parametrize("text, problem", [
    ('{"Happy/0015.png": "4"}\n{"Happy/0015.png": "3"}\n', "line 2: duplicate image path 'Happy/0015.png' "
                                                           "(first on line 1)"),
    ('{"Happy/0015.png": "4"}\n{"Happy/0016.png": "6"}\n', "line 2: rating '6' is not a whole number from 0 to 5"),
    ('{"Happy/0015.png": "4.5"}\n', "line 1: rating '4.5' is not a whole number"),
    ('{"Happy/0015.png": "4"}\n{"Happy/0016.png": "4"\n', "line 2: malformed JSON"),
    ('{"Nope/1.png": "4"}\n', "line 1: image 'Nope/1.png' is not in project 'Review'"),
    ('["Happy/0015.png", 4]\n', 'line 1: expected one {"<image path>": "<0-5>"} object per line'),
    ('{"Happy/0015.png": "4"}\n\n{"Happy/0016.png": "4"}\n', "line 2: empty line"),
    ('', "the file is empty"),
    ('{"Happy/00\\u000015.png": "4"}\n', "line 1: the image path contains a NUL character"),
    ('{"Happy/\\ud800.png": "4"}\n', "line 1: the image path contains a lone surrogate"),
    ("[" * 50_000 + "]" * 50_000 + "\n", "line 1: malformed JSON: nested too deeply"),
])
def test_import_ratings_refuses_bad_files_whole(project, text, problem):
    with pytest.raises(actions.RatingsRefused) as exc:
        actions.do_import_ratings(project.pk, "r", "r.jsonl", text.encode())
    assert problem in exc.value.report() and exc.value.report().startswith("r.jsonl")
    assert not Rating.objects.exists() and not Draw.objects.exists() and not QualitySample.objects.exists()


def test_import_ratings_twice_is_refused(project):
    actions.do_import_ratings(project.pk, "r", "r.jsonl", RATER_FILE.encode())
    with pytest.raises(actions.RatingsRefused, match="line 1: r already has a rating"):
        actions.do_import_ratings(project.pk, "r", "r.jsonl", RATER_FILE.encode())
    assert Rating.objects.count() == 3


def test_freeze_versions_checksums_and_changelog(project, lead):
    from annotator.exporting import eibench_file
    from review import versions

    Sample.objects.filter(project=project, emotion="happy").update(state="final")
    v1 = actions.do_freeze_version(project.pk, actor=lead, note="first")
    assert v1.number == 1 and v1.samples == 5 and set(v1.files) == {"EI_Basic/user.jsonl",
                                                                    "EI_Basic/basic_ground_truth.json"}
    entries = versions.entries_of(v1)
    for name in v1.files:
        assert versions.verified_file(v1, entries, name) == "".join(eibench_file(project, name)).encode()
    assert Event.objects.get(action="benchmark.frozen").after["checksum"] == v1.checksum

    changed = Sample.objects.filter(project=project, emotion="happy").order_by("id").first()
    Trigger.objects.filter(sample=changed, position=3).update(fate="irrelevant")
    Sample.objects.filter(project=project, emotion="sad").update(state="final")
    Sample.objects.filter(pk=Sample.objects.filter(project=project, emotion="happy").order_by("-id")[0].pk).update(
        state="refined")
    v2 = actions.do_freeze_version(project.pk, actor=lead)
    log = v2.changelog
    assert (log["previous"], log["added"], log["removed"], log["changed"], log["unchanged"]) == (1, 5, 1, 1, 3)
    assert log["changed_keys"][0]["image"] == changed.image.dataset_key and v2.previous_id == v1.pk
    assert v2.checksum != v1.checksum
    with pytest.raises(TypeError):
        v1.save()
    with pytest.raises(ValueError, match="no final samples"):
        actions.do_freeze_version(join(refined_project("Nothing", per_emotion=1), lead).pk, actor=lead)
    with pytest.raises(actions.NotAllowed):
        actions.do_freeze_version(project.pk, actor=_reviewer(project))


def _reviewer(project):
    from django.contrib.auth import get_user_model

    from tests.conftest import _user

    return join(project, _user(get_user_model(), "rev-freeze", "reviewer")) and get_user_model().objects.get(
        username="rev-freeze")


def test_next_round_replaces_a_reviewer_who_left_the_project(lead, reviewers, annotator, django_user_model):
    from annotator.actions import do_remove_member
    from tests.conftest import _user

    rev4 = _user(django_user_model, "rev4", "reviewer")
    project = join(refined_project("Leaver", per_emotion=1, emotions=["happy"], state="labelled"), lead, *reviewers,
                   rev4, annotator)
    work.do_assign_project(project.pk, [annotator.pk], actor=lead, overlap_fraction=0)
    sample = Sample.objects.get(project=project)
    _do_passes(sample.pk, annotator)
    draw = actions.do_draw_quality_sample(project.pk, actor=lead, per_emotion=1, seed=1,
                                          reviewers=[r.pk for r in reviewers])
    qs = rate_all(QualitySample.objects.get(draw=draw), reviewers, [1, 1, 4])
    actions.do_send_to_rework(qs.pk, 3, actor=lead)
    do_remove_member(project, reviewers[0], actor=lead)
    _do_passes(sample.pk, annotator, from_pass=3)
    qs.refresh_from_db()
    assert qs.round == 2
    assert sorted(ReviewAssignment.objects.filter(quality_sample=qs, round=2).values_list(
        "reviewer__username", flat=True)) == ["rev2", "rev3", "rev4"]
