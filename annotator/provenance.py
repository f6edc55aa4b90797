"""Who decided each trigger's fate, from a sample's events (pure: rows in, dict out; used by the provenance
export)."""
from __future__ import annotations

from collections.abc import Iterable

FATE_ACTIONS = frozenset({"trigger.added", "trigger.removed", "trigger.restored", "trigger.kept"})


def decisions(event_rows: Iterable[tuple]) -> tuple[dict[int, dict], dict | None]:
    """``(by trigger id, fallback)`` from event rows ``(sample_id, id, action, pass, actor, trigger_id, before,
    after, created_at)`` in id order. A trigger's decision is the last event that set its fate (added, kept,
    removed, restored, or an undo that changed the fate); ``fallback`` — the last pass submission — stands for a
    trigger nobody touched: its submitter let the fate stand."""
    by_trigger: dict[int, dict] = {}
    fallback = None
    for _sid, _eid, action, pass_number, actor, trigger_id, before, after, at in event_rows:
        if action == "sample.submitted":
            fallback = {"pass": pass_number, "by": actor, "action": action, "at": at.isoformat()}
        elif trigger_id and after and (action in FATE_ACTIONS or (
                action == "trigger.undone" and (before or {}).get("fate") != after.get("fate"))):
            by_trigger[trigger_id] = {"fate": after.get("fate"), "pass": pass_number, "by": actor, "action": action,
                                      "reason": after.get("reason"), "at": at.isoformat()}
    return by_trigger, fallback
