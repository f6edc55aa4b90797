"""Workspace actions end to end (no browser): assignment, leases, the three passes, undo, skip, rework, and the
export after three passes."""
from datetime import timedelta

import pytest
from django.utils import timezone

from annotator import actions
from annotator.exporting import eibench_file
from annotator.models import Assignment, Event, Sample, Trigger
from annotator.workspace_views import export_text
from tests.workspace.conftest import labelled_project, provenance

pytestmark = pytest.mark.django_db


def kept_texts(sample):
    return list(Trigger.objects.filter(sample=sample, fate="kept").order_by("position", "id")
                .values_list("text", flat=True))


def take(project, pass_number, who):
    a = actions.do_take_next(project.pk, pass_number, actor=who)
    assert a is not None
    return Sample.objects.get(pk=a.sample_id)


def test_assign_moves_labelled_into_pass1_and_plans_all_three_passes(project, annotator, other_annotator, lead):
    created = actions.do_assign_project(project.pk, [annotator.pk, other_annotator.pk], actor=lead)
    assert created == 9  # 3 samples x 3 passes, no overlap at 10% of 3
    assert set(Sample.objects.filter(project=project).values_list("state", flat=True)) == {"pass1"}
    assert Event.objects.filter(action="sample.queued").count() == 3
    assert Event.objects.filter(action="project.assigned").count() == 1
    # again: nothing new (already planned work is kept)
    assert actions.do_assign_project(project.pk, [annotator.pk, other_annotator.pk], actor=lead) == 0
    project.refresh_from_db()
    assert project.annotators_per_pass == 2 and project.overlap_fraction == 0.10


def test_overlap_samples_get_two_annotators_and_move_on_after_both(lead, annotator, other_annotator):
    project = labelled_project("Overlap", n=2, members=(lead, annotator, other_annotator))
    actions.do_assign_project(project.pk, [annotator.pk, other_annotator.pk], actor=lead, overlap_fraction=1.0)
    sample = take(project, 1, annotator)
    # the other annotator is on the same sample in pass 1 but cannot take it while it is leased
    other = actions.do_take_next(project.pk, 1, actor=other_annotator)
    assert other.sample_id != sample.pk
    actions.do_submit_pass(sample.pk, actor=annotator)
    sample.refresh_from_db()
    assert sample.state == "pass1"  # the agreement copy is still open
    actions.do_release_lease(other.pk, actor=other_annotator)
    again = actions.do_take_next(project.pk, 1, actor=other_annotator)
    assert again.sample_id == min(sample.pk, other.sample_id)
    actions.do_submit_pass(sample.pk, actor=other_annotator)
    sample.refresh_from_db()
    assert sample.state == "pass2"


def test_three_passes_export_equals_kept_triggers_in_pass3_order(project, annotator, other_annotator, lead,
                                                                  client):
    actions.do_assign_project(project.pk, [annotator.pk], actor=lead)
    sample = take(project, 1, annotator)
    t = {x.text: x for x in Trigger.objects.filter(sample=sample)}
    # pass 1: keep, remove a hallucination with a reason, fix a wording
    v = sample.version
    actions.do_set_trigger_fate(t["Broad smile on his face."].pk, "kept", actor=annotator, expected_version=v,
                                pass_number=1)
    actions.do_set_trigger_fate(t["A unicorn flies overhead."].pk, "hallucination", actor=annotator,
                                expected_version=v + 1, pass_number=1, reason="no unicorn in the picture")
    actions.do_update_trigger(t["A trophy in his hands."].pk, text="A small trophy in his hands.", actor=annotator,
                              expected_version=v + 2, pass_number=1)
    actions.do_submit_pass(sample.pk, actor=annotator, expected_version=v + 3)
    sample.refresh_from_db()
    assert sample.state == "pass2"
    # pass 2: add context
    take(project, 2, annotator)
    added = actions.do_add_trigger(sample.pk, "His team just won the final.", actor=annotator,
                                   category="Sports", explicit=False, expected_version=sample.version,
                                   pass_number=2)
    assert added.origin == "annotator"
    actions.do_submit_pass(sample.pk, actor=annotator, expected_version=sample.version + 1)
    sample.refresh_from_db()
    # pass 3: prune and reorder
    take(project, 3, annotator)
    actions.do_set_trigger_fate(t["Friends cheering around him."].pk, "irrelevant", actor=annotator,
                                expected_version=sample.version, pass_number=3)
    actions.do_move_trigger(added.pk, 0, actor=annotator, expected_version=sample.version + 1, pass_number=3)
    sample.refresh_from_db()
    actions.do_submit_pass(sample.pk, actor=annotator, expected_version=sample.version)
    sample.refresh_from_db()
    assert sample.state == "refined"

    order = ["His team just won the final.", "Broad smile on his face.", "A small trophy in his hands."]
    assert kept_texts(sample) == order
    assert export_text(Trigger.objects.filter(sample=sample)) == "\n".join(f"{i}. {x}" for i, x in
                                                                          enumerate(order, 1))
    # the benchmark export (once review makes it final) is the same list in the same order
    Sample.objects.filter(pk=sample.pk).update(state="final")
    truth = "".join(eibench_file(project, "EI_Basic/basic_ground_truth.json"))
    assert '"1. His team just won the final.\\n2. Broad smile on his face.\\n3. A small trophy in his hands."' in truth

    client.force_login(lead)
    row = provenance(client, project)[sample.pk]
    by_text = {tr["text"]: tr for tr in row["triggers"]}
    unicorn = by_text["A unicorn flies overhead."]
    assert unicorn["fate"] == "hallucination"
    assert unicorn["decided"]["pass"] == 1 and unicorn["decided"]["by"] == "ann1"
    assert unicorn["decided"]["reason"] == "no unicorn in the picture"
    assert by_text["Friends cheering around him."]["decided"] | {"at": None} == {
        "fate": "irrelevant", "pass": 3, "by": "ann1", "action": "trigger.removed", "reason": None, "at": None}
    assert by_text["His team just won the final."]["decided"]["pass"] == 2
    assert by_text["Broad smile on his face."]["decided"]["action"] == "trigger.kept"
    # untouched: the last submitter let it stand
    assert by_text["A small trophy in his hands."]["decided"]["action"] == "sample.submitted"
    exported = sorted((tr for tr in row["triggers"] if tr["exported_as"]), key=lambda tr: tr["exported_as"])
    assert [tr["text"] for tr in exported] == order


def test_undo_takes_back_my_changes_one_by_one(project, annotator, lead):
    actions.do_assign_project(project.pk, [annotator.pk], actor=lead)
    sample = take(project, 1, annotator)
    first, second = Trigger.objects.filter(sample=sample).order_by("position")[:2]
    actions.do_set_trigger_fate(first.pk, "hallucination", actor=annotator, pass_number=1)
    actions.do_update_trigger(second.pk, text="changed", actor=annotator, pass_number=1)
    actions.do_undo_last(sample.pk, actor=annotator)
    second.refresh_from_db()
    assert second.text == "A unicorn flies overhead."
    actions.do_undo_last(sample.pk, actor=annotator)
    first.refresh_from_db()
    assert first.fate == "kept"
    with pytest.raises(actions.NothingToUndo):
        actions.do_undo_last(sample.pk, actor=annotator)
    # undoing an addition withdraws it (nothing is deleted); undoing a move restores the order
    Sample.objects.filter(pk=sample.pk).update(state="pass2")
    added = actions.do_add_trigger(sample.pk, "new", actor=annotator, pass_number=2)
    actions.do_undo_last(sample.pk, actor=annotator)
    added.refresh_from_db()
    assert added.fate == "withdrawn"
    Sample.objects.filter(pk=sample.pk).update(state="pass3")
    before = kept_texts(sample)
    last = Trigger.objects.filter(sample=sample, fate="kept").order_by("-position").first()
    actions.do_move_trigger(last.pk, 0, actor=annotator, pass_number=3)
    assert kept_texts(sample)[0] == last.text
    actions.do_undo_last(sample.pk, actor=annotator)
    assert kept_texts(sample) == before
    assert Event.objects.filter(sample=sample, action="trigger.undone").count() == 4


def test_stale_version_is_refused(project, annotator, lead):
    actions.do_assign_project(project.pk, [annotator.pk], actor=lead)
    sample = take(project, 1, annotator)
    trigger = Trigger.objects.filter(sample=sample).first()
    actions.do_update_trigger(trigger.pk, text="one", actor=annotator, expected_version=sample.version)
    with pytest.raises(actions.StaleVersion):
        actions.do_update_trigger(trigger.pk, text="two", actor=annotator, expected_version=sample.version)
    trigger.refresh_from_db()
    assert trigger.text == "one"


def test_leases_expire_renew_release_and_reassign(project, annotator, other_annotator, lead):
    actions.do_assign_project(project.pk, [annotator.pk, other_annotator.pk], actor=lead, overlap_fraction=1.0)
    mine = actions.do_take_next(project.pk, 1, actor=annotator)
    theirs = actions.do_take_next(project.pk, 1, actor=other_annotator)
    assert mine.sample_id != theirs.sample_id
    # renewable
    old = mine.leased_until
    renewed = actions.do_renew_lease(mine.pk, actor=annotator)
    assert renewed.leased_until >= old
    with pytest.raises(actions.NotAssigned):
        actions.do_renew_lease(mine.pk, actor=other_annotator)
    # the same person asking again resumes their lease
    assert actions.do_take_next(project.pk, 1, actor=annotator).pk == mine.pk
    # expired: the other annotator of that (overlap) sample may take it
    Assignment.objects.filter(pk=mine.pk).update(leased_until=timezone.now() - timedelta(seconds=1))
    actions.do_release_lease(theirs.pk, actor=other_annotator)
    got = actions.do_take_next(project.pk, 1, actor=other_annotator)
    assert got.sample_id == mine.sample_id
    with pytest.raises(actions.LeaseHeld):
        actions.do_touch_lease(Sample.objects.get(pk=mine.sample_id), actor=annotator)
    # a lead releases and reassigns
    actions.do_release_lease(got.pk, actor=lead)
    assert Assignment.objects.get(pk=got.pk).leased_until is None
    moved = actions.do_reassign(mine.pk, lead.pk, actor=lead)
    assert moved.annotator_id == lead.pk
    with pytest.raises(actions.NotAssigned):
        actions.do_release_lease(got.pk, actor=annotator)
    with pytest.raises(actions.NotAssigned):
        actions.do_reassign(got.pk, annotator.pk, actor=annotator)
    assert Event.objects.filter(action__in=["assignment.released", "assignment.reassigned"]).count() == 3


def test_a_change_renews_its_lease_at_most_once_a_minute(project, annotator, lead):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def writes(ctx):
        return [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("UPDATE")]

    actions.do_assign_project(project.pk, [annotator.pk], actor=lead)
    sample = take(project, 1, annotator)
    mine = Assignment.objects.get(sample=sample, annotator=annotator, pass_number=1)
    # just leased: touching it again writes nothing (the change's own commit is the only one)
    with CaptureQueriesContext(connection) as ctx:
        got = actions.do_touch_lease(sample, actor=annotator)
    assert got.leased_until == mine.leased_until and writes(ctx) == []
    # renewed more than a minute ago: the lease is pushed out again
    stale = timezone.now() + actions.workspace.lease_length() - timedelta(seconds=61)
    Assignment.objects.filter(pk=mine.pk).update(leased_until=stale)
    with CaptureQueriesContext(connection) as ctx:
        got = actions.do_touch_lease(sample, actor=annotator)
    assert len(writes(ctx)) == 1
    assert Assignment.objects.get(pk=mine.pk).leased_until == got.leased_until > stale + timedelta(seconds=60)


def test_a_leased_change_renews_the_lease_in_the_same_transaction_and_even_when_refused(project, annotator,
                                                                                       other_annotator, lead):
    from django.db import transaction

    actions.do_assign_project(project.pk, [annotator.pk], actor=lead)
    sample = take(project, 1, annotator)
    mine = Assignment.objects.get(sample=sample, annotator=annotator, pass_number=1)
    trigger = Trigger.objects.filter(sample=sample).first()
    stale = timezone.now() + actions.workspace.lease_length() - timedelta(seconds=61)
    Assignment.objects.filter(pk=mine.pk).update(leased_until=stale)
    seen = []

    def change():  # runs inside the transaction that renewed the lease (not yet committed on its own)
        seen.append((transaction.get_connection().in_atomic_block,
                     Assignment.objects.get(pk=mine.pk).leased_until > stale))
        return actions.do_update_trigger(trigger.pk, text="Renewed with the change.", actor=annotator,
                                         expected_version=sample.version, pass_number=1)

    got = actions.do_leased_change(sample, change, actor=annotator)
    assert got.text == "Renewed with the change." and seen == [(True, True)]
    assert Assignment.objects.get(pk=mine.pk).leased_until > stale + timedelta(seconds=60)
    # a refused change (stale version) saves nothing, yet the lease is renewed as before
    Assignment.objects.filter(pk=mine.pk).update(leased_until=stale)
    with pytest.raises(actions.StaleVersion):
        actions.do_leased_change(sample, lambda: actions.do_update_trigger(
            trigger.pk, text="Lost.", actor=annotator, expected_version=sample.version, pass_number=1),
            actor=annotator)
    assert Trigger.objects.get(pk=trigger.pk).text == "Renewed with the change."
    assert Assignment.objects.get(pk=mine.pk).leased_until > stale + timedelta(seconds=60)
    # someone else holds it: refused before the change runs
    sample.refresh_from_db()
    with pytest.raises(actions.LeaseHeld):
        actions.do_leased_change(sample, lambda: pytest.fail("ran"), actor=other_annotator)


def test_skip_with_reason_then_lead_reassigns(project, annotator, other_annotator, lead):
    actions.do_assign_project(project.pk, [annotator.pk], actor=lead)
    sample = take(project, 1, annotator)
    with pytest.raises(ValueError):
        actions.do_skip(sample.pk, " ", actor=annotator)
    skipped = actions.do_skip(sample.pk, "image is too dark", actor=annotator)
    assert skipped.status == "skipped"
    assert actions.do_take_next(project.pk, 1, actor=annotator).sample_id != sample.pk
    new = actions.do_reassign(skipped.pk, other_annotator.pk, actor=lead)
    assert new.status == "open" and new.annotator_id == other_annotator.pk
    assert actions.do_take_next(project.pk, 1, actor=other_annotator).sample_id == sample.pk
    assert Event.objects.get(action="sample.skipped").after == {"reason": "image is too dark"}


def test_reopen_sends_a_sample_back_with_notes_and_it_becomes_refined_again(project, annotator, lead, client):
    actions.do_assign_project(project.pk, [annotator.pk], actor=lead)
    sample = Sample.objects.filter(project=project).order_by("id").first()
    for p in (1, 2, 3):
        assert take(project, p, annotator).pk == sample.pk
        actions.do_submit_pass(sample.pk, actor=annotator)
    sample.refresh_from_db()
    assert sample.state == "refined"
    actions.do_reopen_pass(sample.pk, 2, actor=lead, reason="rated 2/5: misses the context",
                           notes=["the crowd is celebrating a goal"])
    sample.refresh_from_db()
    assert sample.state == "pass2"
    event = Event.objects.get(action="sample.reopened")
    assert event.pass_number == 2 and event.after["notes"] == ["the crowd is celebrating a goal"]
    again = actions.do_take_next(project.pk, 2, actor=annotator)
    assert again.sample_id == sample.pk and again.notes[1] == "the crowd is celebrating a goal"
    client.force_login(annotator)
    page = client.get(f"/work/samples/{sample.pk}/").content.decode()
    assert "the crowd is celebrating a goal" in page and "rated 2/5" in page
    actions.do_submit_pass(sample.pk, actor=annotator)
    assert take(project, 3, annotator).pk == sample.pk
    actions.do_submit_pass(sample.pk, actor=annotator)
    sample.refresh_from_db()
    assert sample.state == "refined"


def test_only_assigned_annotators_or_leads_submit(project, annotator, other_annotator, lead):
    actions.do_assign_project(project.pk, [annotator.pk], actor=lead)
    sample = take(project, 1, annotator)
    with pytest.raises(actions.NotAssigned):
        actions.do_submit_pass(sample.pk, actor=other_annotator)
    actions.do_submit_pass(sample.pk, actor=lead)  # a lead may close a pass for everyone
    sample.refresh_from_db()
    assert sample.state == "pass2"
