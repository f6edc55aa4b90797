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
                        pass_number: int | None = None) -> Trigger:
    if fate not in Trigger.Fate.values:
        raise ValueError(f"unknown fate {fate!r}")
    with transaction.atomic():
        trigger = Trigger.objects.get(pk=trigger_id)
        sample = _lock(trigger.sample_id, expected_version)
        before = _snapshot(trigger)
        trigger.fate = fate
        trigger.save(update_fields=["fate"])
        _renumber(sample)
        _bump(sample)
        Event.objects.create(project_id=sample.project_id, sample=sample, trigger=trigger, actor=actor,
                             action="trigger.removed" if fate != Trigger.Fate.KEPT else "trigger.restored",
                             pass_number=pass_number, before=before, after=_snapshot(trigger))
    return trigger


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
