"""Pure assignment strategy: plain data in, plain data out (no ORM), so it is unit-tested on its own.

The caller (``actions.workspace.do_assign_project``) reads ids, calls :func:`balance` and does one
``bulk_create``.
"""
from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple


class Planned(NamedTuple):
    sample_id: int
    pass_number: int
    annotator_id: int
    overlap: bool  # the second annotator of an agreement sample


def overlap_count(n: int, fraction: float) -> int:
    """How many of ``n`` samples two annotators do (half up, so 10% of 15 is 2)."""
    if n <= 0 or fraction <= 0:
        return 0
    return min(n, int(n * min(fraction, 1.0) + 0.5))


def balance(work: Sequence[tuple[int, int]], annotators: Sequence[int], *, overlap_fraction: float = 0.10,
            load: Mapping[int, int] | None = None, taken: Mapping[int, Iterable[int]] | None = None,
            distinct_per_pass: bool = False, seed: int = 0) -> list[Planned]:
    """Spread ``work`` — ``(sample_id, pass_number)`` pairs — over ``annotators``, least loaded first.

    - In each pass, ``overlap_fraction`` of the samples (chosen by a seeded shuffle, so the same input gives the
      same plan) get a second, different annotator, for agreement.
    - ``load``: open work each annotator already has (new work goes to the least loaded; ties go in
      ``annotators`` order).
    - ``taken``: sample id → annotators already on that sample (in any pass).
    - ``distinct_per_pass``: prefer an annotator who has not worked on the sample in another pass; when everyone
      has, fall back to the least loaded one (never the same person twice in the same pass).
    """
    people = list(dict.fromkeys(annotators))
    if not people:
        return []
    counts = {a: int((load or {}).get(a, 0)) for a in people}
    rank = {a: i for i, a in enumerate(people)}
    on_sample: dict[int, set[int]] = {s: set(v) for s, v in (taken or {}).items()}

    by_pass: dict[int, list[int]] = {}
    for sample_id, pass_number in work:
        by_pass.setdefault(pass_number, []).append(sample_id)

    def pick(sample_id: int, exclude: set[int]) -> int | None:
        candidates = [a for a in people if a not in exclude]
        if not candidates:
            return None
        if distinct_per_pass:
            fresh = [a for a in candidates if a not in on_sample.get(sample_id, ())]
            candidates = fresh or candidates
        return min(candidates, key=lambda a: (counts[a], rank[a]))

    plan: list[Planned] = []
    for pass_number in sorted(by_pass):
        samples = list(dict.fromkeys(by_pass[pass_number]))
        doubled: set[int] = set()
        if len(people) > 1:
            shuffled = sorted(samples)
            random.Random(f"{seed}:{pass_number}").shuffle(shuffled)
            doubled = set(shuffled[:overlap_count(len(samples), overlap_fraction)])
        for sample_id in samples:
            here: set[int] = set()
            for overlap in ((False, True) if sample_id in doubled else (False,)):
                who = pick(sample_id, here)
                if who is None:
                    break
                here.add(who)
                counts[who] += 1
                on_sample.setdefault(sample_id, set()).add(who)
                plan.append(Planned(sample_id, pass_number, who, overlap))
    return plan
