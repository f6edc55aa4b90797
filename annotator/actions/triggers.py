"""Trigger actions. A trigger is never deleted: removal sets its fate. Every change bumps the sample's
``version`` (a stale version is refused: :class:`StaleVersion`) and writes an Event in the same transaction."""
from __future__ import annotations

from django.db import transaction
from django.db.models import F

from ..models import Event, Sample, Trigger


class StaleVersion(Exception):
    """The sample changed since the caller read it (HTTP 409 in views and the API)."""

    def __init__(self, sample: Sample, expected: int):
        self.sample = sample
        self.expected = expected
        super().__init__(f"sample {sample.pk} is at version {sample.version}, not {expected}")


def _lock(sample_id: int, expected_version: int | None) -> Sample:
    sample = Sample.objects.select_for_update().get(pk=sample_id)
    if expected_version is not None and sample.version != expected_version:
        raise StaleVersion(sample, expected_version)
    return sample


def _bump(sample: Sample) -> None:
    Sample.objects.filter(pk=sample.pk).update(version=F("version") + 1)
    sample.version += 1


def _renumber(sample: Sample) -> None:
    """Drop imported numbering once the kept list changes shape, so no stale number is ever exported."""
    Trigger.objects.filter(sample=sample, label__regex=r"\d").update(label=None)


def _snapshot(trigger: Trigger) -> dict:
    return {"text": trigger.text, "position": trigger.position, "fate": trigger.fate, "kind": trigger.kind,
            "category": trigger.category, "explicit": trigger.explicit}


def do_edit_trigger_text(trigger_id: int, text: str, *, actor, expected_version: int | None = None,
                         pass_number: int | None = None) -> Trigger:
    text = text.strip()
    if not text:
        raise ValueError("a trigger needs some text")
    with transaction.atomic():
        trigger = Trigger.objects.select_related("sample").get(pk=trigger_id)
        sample = _lock(trigger.sample_id, expected_version)
        before = _snapshot(trigger)
        trigger.text = text
        trigger.save(update_fields=["text"])
        _bump(sample)
        Event.objects.create(project_id=sample.project_id, sample=sample, trigger=trigger, actor=actor,
                             action="trigger.edited", pass_number=pass_number, before=before,
                             after=_snapshot(trigger))
    return trigger


def do_set_trigger_fate(trigger_id: int, fate: str, *, actor, expected_version: int | None = None,
                        pass_number: int | None = None, reason: str = "") -> Trigger:
    """Keep, remove (hallucination / irrelevant) or restore a trigger; ``reason`` is kept in the Event.
    Keeping a trigger that is already kept records the decision (``trigger.kept``) without bumping anything
    else."""
    if fate not in Trigger.Fate.values:
        raise ValueError(f"unknown fate {fate!r}")
    with transaction.atomic():
        trigger = Trigger.objects.get(pk=trigger_id)
        sample = _lock(trigger.sample_id, expected_version)
        before = _snapshot(trigger)
        if fate == Trigger.Fate.KEPT:
            action = "trigger.kept" if trigger.fate == Trigger.Fate.KEPT else "trigger.restored"
        else:
            action = "trigger.removed"
        if trigger.fate != fate:
            trigger.fate = fate
            trigger.save(update_fields=["fate"])
            _renumber(sample)
        _bump(sample)
        after = _snapshot(trigger)
        if reason.strip():
            after["reason"] = reason.strip()
        Event.objects.create(project_id=sample.project_id, sample=sample, trigger=trigger, actor=actor,
                             action=action, pass_number=pass_number, before=before, after=after)
    return trigger


def do_update_trigger(trigger_id: int, *, actor, text: str | None = None, category: str | None = None,
                      explicit: bool | str | None = "unchanged", kind: str | None = None,
                      expected_version: int | None = None, pass_number: int | None = None) -> Trigger:
    """Edit a trigger's wording and/or tags (``None`` leaves a field as it is; ``explicit="unchanged"`` too)."""
    changes: dict = {}
    if text is not None:
        text = text.strip()
        if not text:
            raise ValueError("a trigger needs some text")
        changes["text"] = text
    if category is not None:
        if category and category not in Trigger.Category.values:
            raise ValueError(f"unknown category {category!r}")
        changes["category"] = category
    if kind is not None:
        if kind and kind not in Trigger.Kind.values:
            raise ValueError(f"unknown kind {kind!r}")
        changes["kind"] = kind
    if explicit != "unchanged":
        changes["explicit"] = explicit
    with transaction.atomic():
        trigger = Trigger.objects.get(pk=trigger_id)
        sample = _lock(trigger.sample_id, expected_version)
        before = _snapshot(trigger)
        for field, value in changes.items():
            setattr(trigger, field, value)
        if changes:
            trigger.save(update_fields=list(changes))
        _bump(sample)
        Event.objects.create(project_id=sample.project_id, sample=sample, trigger=trigger, actor=actor,
                             action="trigger.edited", pass_number=pass_number, before=before,
                             after=_snapshot(trigger))
    return trigger


def do_move_trigger(trigger_id: int, to_index: int, *, actor, expected_version: int | None = None,
                    pass_number: int | None = None) -> Trigger:
    """Move a kept trigger to ``to_index`` (0-based) in the kept list; the export follows ``position``.
    The kept triggers keep the same set of positions, permuted (removed ones do not move)."""
    with transaction.atomic():
        trigger = Trigger.objects.get(pk=trigger_id)
        sample = _lock(trigger.sample_id, expected_version)
        if trigger.fate != Trigger.Fate.KEPT:
            raise ValueError("only a kept trigger can be moved")
        kept = list(Trigger.objects.filter(sample=sample, fate=Trigger.Fate.KEPT).order_by("position", "id"))
        positions = [t.position for t in kept]
        order = [t for t in kept if t.pk != trigger.pk]
        order.insert(max(0, min(to_index, len(order))), next(t for t in kept if t.pk == trigger.pk))
        before = {"positions": {str(t.pk): t.position for t in kept}}
        moved = []
        for t, position in zip(order, sorted(positions), strict=True):
            if t.position != position:
                t.position = position
                moved.append(t)
        Trigger.objects.bulk_update(moved, ["position"])
        _renumber(sample)
        _bump(sample)
        mine = next(t for t in order if t.pk == trigger.pk)
        Event.objects.create(project_id=sample.project_id, sample=sample, trigger=mine, actor=actor,
                             action="trigger.moved", pass_number=pass_number, before=before,
                             after={"positions": {str(t.pk): t.position for t in order},
                                    "index": order.index(mine), "text": mine.text})
    return mine


def do_add_trigger(sample_id: int, text: str, *, actor, category: str = "", explicit: bool | None = None,
                   kind: str = "", expected_version: int | None = None, pass_number: int | None = None,
                   parent: Trigger | None = None) -> Trigger:
    text = text.strip()
    if not text:
        raise ValueError("a trigger needs some text")
    with transaction.atomic():
        sample = _lock(sample_id, expected_version)
        last = Trigger.objects.filter(sample=sample).order_by("-position").values_list("position", flat=True).first()
        trigger = Trigger.objects.create(sample=sample, text=text, position=(last or 0) + 1, category=category,
                                         explicit=explicit, kind=kind, origin=Trigger.Origin.ANNOTATOR,
                                         parent=parent)
        _renumber(sample)
        _bump(sample)
        Event.objects.create(project_id=sample.project_id, sample=sample, trigger=trigger, actor=actor,
                             action="trigger.added", pass_number=pass_number, after=_snapshot(trigger))
    return trigger
