"""Workspace actions: assignment, leases, "next", submit, skip, undo, rework. Each owns its transaction and
writes its Event; views, the API and commands call these.

Sample lifecycle: labelled → pass1 → pass2 → pass3 → refined (``passN``: in pass N, waiting or being worked).
A sample in pass N has one open :class:`Assignment` per annotator of that pass (two for agreement samples);
it moves on when the last of them is submitted.
"""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from ..models import Assignment, Event, Project, ProjectAnnotator, ProjectMember, Sample, Trigger
from ..permissions import has_project_role
from ..roles import ANNOTATOR, LEAD
from ..strategies import balance
from .triggers import StaleVersion, _lock, _renumber, _snapshot

PASSES = (1, 2, 3)
PASS_NAMES = {1: "remove hallucinations", 2: "add commonsense context", 3: "prune irrelevant triggers"}
PASS_STATES = {1: Sample.State.PASS1, 2: Sample.State.PASS2, 3: Sample.State.PASS3}
STATE_PASS = {v: k for k, v in PASS_STATES.items()}
OPEN = Assignment.Status.OPEN
# Changes "undo" can take back, and what fate-setting actions the provenance export names as the decision.
UNDOABLE = ("trigger.edited", "trigger.removed", "trigger.restored", "trigger.kept", "trigger.added",
            "trigger.moved")


class LeaseHeld(Exception):
    """Someone else holds the sample in this pass right now (HTTP 409)."""

    def __init__(self, holder: str, until):
        self.holder, self.until = holder, until
        super().__init__(f"{holder} is working on this sample (lease until {until:%H:%M})")


class NotAssigned(Exception):
    """The actor has no open assignment for this sample in its current pass."""


class NothingToUndo(Exception):
    pass


# A change renews its lease only when the last renewal is older than this: at most one lease write a minute.
LEASE_RENEW_AFTER = timedelta(seconds=60)


def _user(pk):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(pk=pk).first()
    if user is None:
        raise ValueError(f"no user {pk}")
    return user


def lease_length() -> timedelta:
    return timedelta(seconds=getattr(settings, "EISTUDIO_LEASE_SECONDS", 1800))


def current_pass(sample: Sample) -> int | None:
    return STATE_PASS.get(sample.state)


def _event(sample: Sample | None, action: str, *, actor, project_id=None, pass_number=None, before=None,
           after=None, trigger=None) -> Event:
    return Event.objects.create(project_id=project_id or sample.project_id, sample=sample, trigger=trigger,
                                actor=actor, action=action, pass_number=pass_number, before=before, after=after)


# --------------------------------------------------------------------------------------------- assignment
def do_assign_project(project_id: int, annotator_ids: list[int], *, actor, overlap_fraction: float | None = None,
                      distinct_per_pass: bool = False, seed: int | None = None) -> int:
    """Pick the project's annotators, move auto-labelled samples into pass 1 and give every (sample, pass) still
    to do — from each sample's current pass to pass 3 — to annotators with :func:`strategies.balance`.
    Already planned work is kept. Returns how many assignments were created."""
    annotator_ids = list(dict.fromkeys(int(a) for a in annotator_ids))
    if not annotator_ids:
        raise ValueError("pick at least one annotator")
    members = set(ProjectMember.objects.filter(project_id=project_id, user_id__in=annotator_ids,
                                               role__in=[ANNOTATOR, LEAD]).values_list("user_id", flat=True))
    outsiders = [a for a in annotator_ids if a not in members]
    if outsiders:
        raise ValueError(f"not annotators of this project: user {', '.join(map(str, outsiders))} "
                         "(a lead adds them as members first)")
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=project_id)
        if overlap_fraction is not None:
            if not 0 <= overlap_fraction <= 1:
                raise ValueError("the overlap fraction is between 0 and 1")
            project.overlap_fraction = overlap_fraction
        project.annotators_per_pass = len(annotator_ids)
        project.save(update_fields=["overlap_fraction", "annotators_per_pass"])
        ProjectAnnotator.objects.filter(project=project).exclude(user_id__in=annotator_ids).delete()
        ProjectAnnotator.objects.bulk_create([ProjectAnnotator(project=project, user_id=a) for a in annotator_ids],
                                             ignore_conflicts=True)

        labelled = list(Sample.objects.filter(project=project, state=Sample.State.LABELLED)
                        .values_list("id", flat=True))
        if labelled:
            Sample.objects.filter(id__in=labelled).update(state=Sample.State.PASS1, version=F("version") + 1)
            Event.objects.bulk_create([
                Event(project=project, sample_id=sid, actor=actor, action="sample.queued", pass_number=1,
                      before={"state": Sample.State.LABELLED}, after={"state": Sample.State.PASS1})
                for sid in labelled
            ], batch_size=5000)

        planned = {(s, p) for s, p in Assignment.objects.filter(project=project, status=OPEN)
                   .values_list("sample_id", "pass_number")}
        work = []
        for sid, state in (Sample.objects.filter(project=project, state__in=PASS_STATES.values())
                           .order_by("id").values_list("id", "state")):
            work.extend((sid, p) for p in range(STATE_PASS[state], 4) if (sid, p) not in planned)
        taken: dict[int, set[int]] = {}
        for sid, who in (Assignment.objects.filter(project=project).exclude(status=Assignment.Status.CANCELLED)
                         .values_list("sample_id", "annotator_id")):
            taken.setdefault(sid, set()).add(who)
        load = dict(Assignment.objects.filter(project=project, status=OPEN, annotator_id__in=annotator_ids)
                    .values_list("annotator_id").annotate(n=Count("id")).values_list("annotator_id", "n"))
        plan = balance(work, annotator_ids, overlap_fraction=project.overlap_fraction, load=load, taken=taken,
                       distinct_per_pass=distinct_per_pass, seed=project.pk if seed is None else seed)
        Assignment.objects.bulk_create([
            Assignment(project=project, sample_id=p.sample_id, pass_number=p.pass_number,
                       annotator_id=p.annotator_id, overlap=p.overlap)
            for p in plan
        ], batch_size=5000)
        _event(None, "project.assigned", actor=actor, project_id=project.pk, after={
            "annotators": annotator_ids, "overlap_fraction": project.overlap_fraction,
            "distinct_per_pass": distinct_per_pass, "created": len(plan), "moved_to_pass1": len(labelled)})
    return len(plan)


# -------------------------------------------------------------------------------------------------- leases
def do_take_next(project_id: int, pass_number: int, *, actor, after_sample: int | None = None) -> Assignment | None:
    """The actor's next sample in ``pass_number``, with a lease; ``None`` when the queue is empty.

    A lease the actor still holds comes back first (a reload resumes). Otherwise the candidate sample row is
    locked with ``SELECT … FOR UPDATE SKIP LOCKED`` and, once locked, checked again with a fresh query for a
    lease taken meanwhile — so two annotators asking at the same moment never get the same sample in the same
    pass. ``after_sample``: put that one back and take another.
    """
    if pass_number not in PASSES:
        raise ValueError("pass is 1, 2 or 3")
    if not has_project_role(actor, project_id, ANNOTATOR):
        raise NotAssigned("you are not an annotator of this project")
    state = PASS_STATES[pass_number]
    now = timezone.now()
    with transaction.atomic():
        mine = Assignment.objects.filter(project_id=project_id, annotator=actor, pass_number=pass_number,
                                         status=OPEN)
        if after_sample is not None:
            mine.filter(sample_id=after_sample).update(leased_until=None)
        held = mine.filter(leased_until__gt=now, sample__state=state)
        if after_sample is not None:
            held = held.exclude(sample_id=after_sample)
        held = held.select_related("sample").order_by("id").first()
        if held is not None:
            return _lease(held, now)
        leased_by_others = (Assignment.objects.filter(pass_number=pass_number, status=OPEN, leased_until__gt=now)
                            .exclude(annotator=actor))
        candidates = (Sample.objects.filter(project_id=project_id, state=state,
                                            id__in=mine.values("sample_id"))
                      .exclude(id__in=leased_by_others.values("sample_id")))
        if after_sample is not None:
            candidates = candidates.exclude(id=after_sample)
        passed_over: set[int] = set()
        for _attempt in range(20):
            sample_id = (candidates.exclude(id__in=passed_over).order_by("id")
                         .select_for_update(skip_locked=True).values_list("id", flat=True).first())
            if sample_id is None:
                return None
            # Locked: a fresh statement sees leases committed since the candidate query started.
            if leased_by_others.filter(sample_id=sample_id, leased_until__gt=timezone.now()).exists():
                passed_over.add(sample_id)
                continue
            assignment = mine.select_related("sample").get(sample_id=sample_id)
            return _lease(assignment, now, event=True)
    return None


def _lease(assignment: Assignment, now, *, event: bool = False) -> Assignment:
    assignment.leased_until = now + lease_length()
    fields = ["leased_until"]
    if assignment.started_at is None:
        assignment.started_at = now
        fields.append("started_at")
    assignment.save(update_fields=fields)
    if event:
        _event(assignment.sample, "assignment.leased", actor=assignment.annotator,
               pass_number=assignment.pass_number, after={"assignment": assignment.pk,
                                                          "until": assignment.leased_until.isoformat()})
    return assignment


def _lease_due(sample: Sample, actor, assignments: list[Assignment] | None):
    """The checks before a change (see :func:`do_touch_lease`): ``(the actor's assignment or None, when the
    lease renewal is due to be written)``."""
    pass_number = current_pass(sample)
    is_lead = has_project_role(actor, sample.project_id, LEAD)
    if pass_number is None:
        raise NotAssigned(f"this sample is not in a refinement pass (it is {sample.get_state_display()})")
    now = timezone.now()
    if assignments is None:
        assignments = list(Assignment.objects.filter(sample=sample, pass_number=pass_number, status=OPEN)
                           .select_related("annotator"))
    here = [a for a in assignments if a.pass_number == pass_number and a.status == OPEN]
    other = next((a for a in here if a.annotator_id != actor.pk and a.leased_until and a.leased_until > now), None)
    if other is not None and not is_lead:
        raise LeaseHeld(other.annotator.username, other.leased_until)
    mine = next((a for a in here if a.annotator_id == actor.pk), None)
    if mine is None:
        if is_lead:
            return None, None
        raise NotAssigned("this sample is not assigned to you in this pass")
    if mine.started_at and mine.leased_until and mine.leased_until - now > lease_length() - LEASE_RENEW_AFTER:
        return mine, None  # renewed moments ago: no write
    return mine, now


def _renew(mine: Assignment, now) -> None:
    mine.leased_until = now + lease_length()
    mine.started_at = mine.started_at or now
    Assignment.objects.filter(pk=mine.pk).update(leased_until=mine.leased_until,
                                                 started_at=Coalesce("started_at", now))


def do_touch_lease(sample: Sample, *, actor, assignments: list[Assignment] | None = None) -> Assignment | None:
    """Before a change: check the actor may work on ``sample`` in its current pass and renew the lease (one
    UPDATE, skipped when it was renewed less than ``LEASE_RENEW_AFTER`` ago). ``assignments``: the sample's
    assignments when the caller already has them (else one query).

    Leads may change any sample in a pass (returns ``None`` when they have no assignment of their own).
    Raises :class:`NotAssigned` or :class:`LeaseHeld`. A change made right after should use
    :func:`do_leased_change` instead (the renewal and the change then commit together)."""
    mine, due = _lease_due(sample, actor, assignments)
    if due is not None:
        _renew(mine, due)
    return mine


def do_leased_change(sample: Sample, change, *, actor, assignments: list[Assignment] | None = None):
    """:func:`do_touch_lease`, then ``change()`` (a workspace action, which writes its Event), in one transaction:
    a change costs one commit, not two. The renewal is written first, as before (submit times the pass from
    it). A change that raises (a stale version, a bad field) rolls back alone: the lease is still renewed.
    Returns what ``change()`` returned.

    The renewal locks the actor's assignment before the action locks the sample, the other way round from
    "next"; the two meet only when one person changes a sample and asks for the next at the same moment, and
    then PostgreSQL refuses one of them as a deadlock (a 503 with a retry; nothing half-saved)."""
    mine, due = _lease_due(sample, actor, assignments)
    if due is None:
        return change()
    try:
        with transaction.atomic():
            _renew(mine, due)
            return change()
    except Exception:
        _renew(mine, due)
        raise


def do_renew_lease(assignment_id: int, *, actor) -> Assignment:
    """Extend the holder's lease (the pass screen does this while it is open)."""
    with transaction.atomic():
        a = Assignment.objects.select_for_update().select_related("sample").get(pk=assignment_id)
        if a.annotator_id != actor.pk:
            raise NotAssigned("only the holder renews a lease")
        if a.status != OPEN:
            raise NotAssigned("this assignment is closed")
        now = timezone.now()
        other = (Assignment.objects.filter(sample_id=a.sample_id, pass_number=a.pass_number, status=OPEN,
                                           leased_until__gt=now).exclude(pk=a.pk).select_related("annotator")
                 .first())
        if other is not None:
            raise LeaseHeld(other.annotator.username, other.leased_until)
        return _lease(a, now)


def do_release_lease(assignment_id: int, *, actor) -> Assignment:
    """Give the sample back (the holder, or a lead for anyone's): it stays assigned, without a lease."""
    with transaction.atomic():
        a = Assignment.objects.select_for_update().select_related("sample").get(pk=assignment_id)
        if a.annotator_id != actor.pk and not has_project_role(actor, a.project_id, LEAD):
            raise NotAssigned("only the holder or a lead releases a lease")
        before = {"until": a.leased_until.isoformat() if a.leased_until else None}
        a.leased_until = None
        a.save(update_fields=["leased_until"])
        _event(a.sample, "assignment.released", actor=actor, pass_number=a.pass_number,
               before=before, after={"assignment": a.pk, "annotator": a.annotator_id})
    return a


def do_reassign(assignment_id: int, annotator_id: int, *, actor) -> Assignment:
    """A lead gives an open (or skipped) assignment to another annotator; returns the open assignment."""
    with transaction.atomic():
        a = Assignment.objects.select_for_update().select_related("sample").get(pk=assignment_id)
        if not has_project_role(actor, a.project_id, LEAD):
            raise NotAssigned("only a lead of the project reassigns")
        if not has_project_role(_user(annotator_id), a.project_id, ANNOTATOR):
            raise ValueError("that person is not an annotator of this project")
        if a.status not in (OPEN, Assignment.Status.SKIPPED):
            raise ValueError("only open or skipped work can be reassigned")
        if Assignment.objects.filter(sample_id=a.sample_id, pass_number=a.pass_number, status=OPEN,
                                     annotator_id=annotator_id).exclude(pk=a.pk).exists():
            raise ValueError("that annotator already has this sample in this pass")
        before = {"annotator": a.annotator_id, "status": a.status}
        if a.status == OPEN:
            a.annotator_id, a.leased_until, a.started_at = annotator_id, None, None
            a.save(update_fields=["annotator", "leased_until", "started_at"])
            result = a
        else:
            result = Assignment.objects.create(project_id=a.project_id, sample_id=a.sample_id,
                                               pass_number=a.pass_number, annotator_id=annotator_id,
                                               overlap=a.overlap, notes=a.notes)
        _event(a.sample, "assignment.reassigned", actor=actor, pass_number=a.pass_number, before=before,
               after={"annotator": annotator_id, "assignment": result.pk})
    return result


# ---------------------------------------------------------------------------------------- submit / skip
def do_submit_pass(sample_id: int, *, actor, expected_version: int | None = None) -> Sample:
    """Finish the actor's pass on the sample. When no one else of that pass is still on it, the sample moves
    to the next pass (or ``refined`` after pass 3). A lead may submit for everyone."""
    with transaction.atomic():
        sample = _lock(sample_id, expected_version)
        pass_number = current_pass(sample)
        if pass_number is None:
            raise NotAssigned("this sample is not in a refinement pass")
        now = timezone.now()
        open_here = Assignment.objects.filter(sample=sample, pass_number=pass_number, status=OPEN)
        mine = list(open_here.filter(annotator=actor))
        if not mine and not has_project_role(actor, sample.project_id, LEAD):
            raise NotAssigned("this sample is not assigned to you in this pass")
        closing = mine or list(open_here)
        for a in closing:
            a.status, a.finished_at, a.leased_until = Assignment.Status.DONE, now, None
            a.work_seconds = int((now - a.started_at).total_seconds()) if a.started_at else None
        Assignment.objects.bulk_update(closing, ["status", "finished_at", "leased_until", "work_seconds"])
        before = {"state": sample.state}
        if not open_here.exclude(pk__in=[a.pk for a in closing]).exists():
            sample.state = PASS_STATES.get(pass_number + 1, Sample.State.REFINED)
        sample.version += 1
        Sample.objects.filter(pk=sample.pk).update(state=sample.state, version=sample.version, updated_at=now)
        kept = Trigger.objects.filter(sample=sample, fate=Trigger.Fate.KEPT).count()
        _event(sample, "sample.submitted", actor=actor, pass_number=pass_number, before=before,
               after={"state": sample.state, "kept": kept,
                      "seconds": closing[0].work_seconds if mine else None})
    return sample


def do_skip(sample_id: int, reason: str, *, actor) -> Assignment:
    """The actor hands the sample back with a reason; it stays in its pass for a lead to reassign."""
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("say why you skip this sample")
    with transaction.atomic():
        sample = Sample.objects.select_for_update().get(pk=sample_id)
        pass_number = current_pass(sample)
        a = (Assignment.objects.filter(sample=sample, pass_number=pass_number, status=OPEN, annotator=actor)
             .first())
        if a is None:
            raise NotAssigned("this sample is not assigned to you in this pass")
        a.status, a.skip_reason, a.leased_until, a.finished_at = (Assignment.Status.SKIPPED, reason, None,
                                                                  timezone.now())
        a.save(update_fields=["status", "skip_reason", "leased_until", "finished_at"])
        _event(sample, "sample.skipped", actor=actor, pass_number=pass_number, after={"reason": reason})
    return a


def do_reopen_pass(sample_id: int, pass_number: int, *, actor, reason: str, notes: list[str] | None = None) -> Sample:
    """Send a sample back to pass ``pass_number`` (rework from review). Passes ``pass_number``..3 are done again,
    by whoever did them last (a lead assigns the rest); ``notes`` are shown to the annotator on the pass screen.
    Submitting pass 3 makes it ``refined`` again."""
    if pass_number not in PASSES:
        raise ValueError("pass is 1, 2 or 3")
    notes = [n for n in (notes or []) if n and n.strip()]
    with transaction.atomic():
        sample = Sample.objects.select_for_update().get(pk=sample_id)
        before = {"state": sample.state}
        Assignment.objects.filter(sample=sample, status=OPEN).update(status=Assignment.Status.CANCELLED,
                                                                     leased_until=None)
        last_by_pass: dict[int, int] = {}
        for p, who in (Assignment.objects.filter(sample=sample, status=Assignment.Status.DONE, overlap=False)
                       .order_by("finished_at", "id").values_list("pass_number", "annotator_id")):
            last_by_pass[p] = who
        Assignment.objects.bulk_create([
            Assignment(project_id=sample.project_id, sample=sample, pass_number=p, annotator_id=last_by_pass[p],
                       notes=[reason, *notes] if p == pass_number else [])
            for p in range(pass_number, 4) if p in last_by_pass
        ])
        sample.state = PASS_STATES[pass_number]
        sample.version += 1
        Sample.objects.filter(pk=sample.pk).update(state=sample.state, version=sample.version,
                                                   updated_at=timezone.now())
        _event(sample, "sample.reopened", actor=actor, pass_number=pass_number, before=before,
               after={"state": sample.state, "reason": reason, "notes": notes})
    return sample


# --------------------------------------------------------------------------------------------------- undo
def last_undoable(sample: Sample, *, actor, pass_number: int) -> Event | None:
    """The actor's latest change to the sample in this pass that has not been undone yet."""
    events = list(Event.objects.filter(sample=sample, actor=actor, pass_number=pass_number,
                                       action__in=(*UNDOABLE, "trigger.undone")).order_by("-id")[:200])
    undone = {e.after.get("undoes") for e in events if e.action == "trigger.undone"}
    return next((e for e in events if e.action != "trigger.undone" and e.pk not in undone), None)


def do_undo_last(sample_id: int, *, actor, expected_version: int | None = None) -> Event:
    """Take back the actor's last change in the sample's current pass (repeatable); writes ``trigger.undone``."""
    with transaction.atomic():
        sample = _lock(sample_id, expected_version)
        pass_number = current_pass(sample)
        target = last_undoable(sample, actor=actor, pass_number=pass_number) if pass_number else None
        if target is None:
            raise NothingToUndo("nothing of yours to undo in this pass")
        trigger = Trigger.objects.get(pk=target.trigger_id)
        before = _snapshot(trigger)
        if target.action == "trigger.added":
            trigger.fate = Trigger.Fate.WITHDRAWN
            trigger.save(update_fields=["fate"])
        elif target.action == "trigger.moved":
            positions = {int(k): v for k, v in target.before["positions"].items()}
            moved = list(Trigger.objects.filter(pk__in=positions))
            for t in moved:
                t.position = positions[t.pk]
            Trigger.objects.bulk_update(moved, ["position"])
            trigger.refresh_from_db()
        else:
            old = target.before
            for field in ("text", "fate", "category", "kind", "explicit"):
                setattr(trigger, field, old[field])
            trigger.save(update_fields=["text", "fate", "category", "kind", "explicit"])
        _renumber(sample)
        Sample.objects.filter(pk=sample.pk).update(version=F("version") + 1)
        sample.version += 1
        after = {**_snapshot(trigger), "undoes": target.pk, "undid": target.action}
        return _event(sample, "trigger.undone", actor=actor, pass_number=pass_number, trigger=trigger,
                      before=before, after=after)


def work_filter(pass_number: int) -> Q:
    """Assignments whose sample is in their pass now (ready to work, not waiting for an earlier pass)."""
    return Q(pass_number=pass_number, sample__state=PASS_STATES[pass_number])


READY = Q(status=OPEN) & (work_filter(1) | work_filter(2) | work_filter(3))

__all__ = [
    "LeaseHeld",
    "NotAssigned",
    "NothingToUndo",
    "StaleVersion",
    "do_assign_project",
    "do_leased_change",
    "do_reassign",
    "do_release_lease",
    "do_renew_lease",
    "do_reopen_pass",
    "do_skip",
    "do_submit_pass",
    "do_take_next",
    "do_touch_lease",
    "do_undo_last",
    "last_undoable",
]
