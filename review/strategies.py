"""Pure review strategies: plain ids in, plain ids out (no ORM), unit-tested on their own.

The callers in :mod:`review.actions` read ids, call these and do one ``bulk_create``.
"""
from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence


def draw_sample(ids_by_emotion: Mapping[str, Iterable[int]], per_emotion: int, seed: int) -> dict[str, list[int]]:
    """A seeded random sample of ``per_emotion`` ids from each emotion category (all of them when a category has
    fewer). The same ids and seed give the same draw whatever order the ids come in; each category is drawn
    with its own generator (``"seed:emotion"``), so adding a category does not change another's draw.
    Returns emotion → drawn ids, sorted."""
    if per_emotion < 1:
        raise ValueError("draw at least one sample per category")
    out: dict[str, list[int]] = {}
    for emotion in sorted(ids_by_emotion):
        population = sorted({int(i) for i in ids_by_emotion[emotion]})
        if len(population) <= per_emotion:
            out[emotion] = population
        else:
            out[emotion] = sorted(random.Random(f"{seed}:{emotion}").sample(population, per_emotion))
    return out


def assign_reviewers(sample_ids: Sequence[int], reviewers: Sequence[int], per_item: int, *, seed: int = 0,
                     load: Mapping[int, int] | None = None) -> list[tuple[int, int]]:
    """Give each sample ``per_item`` distinct reviewers, least loaded first (``load``: open reviews each already
    has), ties broken by a seeded order of the reviewers so nobody is always first. Returns
    ``(sample_id, reviewer_id)`` pairs, samples in the given order."""
    people = list(dict.fromkeys(int(r) for r in reviewers))
    if per_item < 1:
        raise ValueError("each sample needs at least one reviewer")
    if len(people) < per_item:
        raise ValueError(f"{per_item} reviewers per sample need at least {per_item} reviewers "
                         f"(got {len(people)})")
    order = sorted(people)
    random.Random(f"{seed}:reviewers").shuffle(order)
    rank = {r: i for i, r in enumerate(order)}
    counts = {r: int((load or {}).get(r, 0)) for r in people}
    plan: list[tuple[int, int]] = []
    for sample_id in sample_ids:
        chosen = sorted(people, key=lambda r: (counts[r], rank[r]))[:per_item]
        for r in chosen:
            counts[r] += 1
            plan.append((int(sample_id), r))
    return plan
