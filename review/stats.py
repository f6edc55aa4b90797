"""Agreement and quality statistics, as pure functions over plain rows (no ORM), so they are checked against
independent implementations on fixed data (tests/review/test_stats.py).

- Krippendorff's alpha comes from ``nltk.metrics.agreement.AnnotationTask.alpha`` (which drops items with fewer
  than two values, as Krippendorff does) with nltk's interval / binary / MASI distances, and an ordinal distance
  built here from the marginal frequencies of the pairable values (Krippendorff 2011, eq. for δ²_ordinal).
- Fleiss' kappa comes from ``statsmodels.stats.inter_rater`` (``aggregate_raters`` + ``fleiss_kappa``).
- The intraclass correlations (Shrout & Fleiss 1979) are computed from the ANOVA mean squares with numpy
  (statsmodels has no ICC): ICC(1) one-way when items were rated by different reviewers, and also ICC(2)/(3)
  when every item was rated by the same reviewers.
"""
from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from nltk.metrics.agreement import AnnotationTask
from nltk.metrics.distance import binary_distance, interval_distance, masi_distance

SCORES = (0, 1, 2, 3, 4, 5)
LOW = 3  # "below 3 only for errors or missing triggers": the share below this is reported

Triple = tuple[Hashable, Hashable, object]  # (coder, item, value)


# --------------------------------------------------------------------------------------------------- alpha
def _pairable(triples: Iterable[Triple]) -> list[Triple]:
    """One value per (coder, item) — the last one wins — keeping only items with two values or more."""
    seen: dict[tuple, object] = {}
    for coder, item, value in triples:
        if value is None:
            continue
        seen[(coder, item)] = value
    per_item = Counter(item for _coder, item in seen)
    return [(coder, item, value) for (coder, item), value in seen.items() if per_item[item] >= 2]


def ordinal_distance(values: Iterable) -> callable:
    """Krippendorff's ordinal metric for these (pairable) values: δ²(c, k) = (Σ_{g=c..k} n_g - (n_c + n_k)/2)²."""
    freq = Counter(values)
    ranks = sorted(freq)
    cumulative, running = {}, 0
    for v in ranks:
        running += freq[v]
        cumulative[v] = running  # n of values ≤ v

    def distance(c, k):
        if c == k:
            return 0.0
        lo, hi = (c, k) if c < k else (k, c)
        between = cumulative[hi] - cumulative[lo] + freq[lo]  # Σ n_g for lo ≤ g ≤ hi
        return float(between - (freq[c] + freq[k]) / 2) ** 2

    return distance


def _masi(a: frozenset, b: frozenset) -> float:
    """nltk's MASI distance; two equal sets (two empty ones too, where nltk divides by zero) are at 0."""
    return 0.0 if a == b else masi_distance(a, b)


@dataclass
class Alpha:
    value: float | None
    items: int  # items with two values or more (the pairable ones)
    values: int  # pairable values

    def as_dict(self):
        return asdict(self)


def krippendorff_alpha(triples: Iterable[Triple], level: str = "interval") -> Alpha:
    """Krippendorff's alpha over ``(coder, item, value)`` triples with missing values allowed. ``level``:
    ``nominal``, ``ordinal``, ``interval`` or ``masi`` (values are sets). ``value`` is None when no item has two
    values, or when all pairable values are the same (alpha is undefined then)."""
    data = _pairable(triples)
    items = len({item for _c, item, _v in data})
    if items == 0:
        return Alpha(None, 0, 0)
    if level == "masi":
        data = [(c, i, frozenset(v)) for c, i, v in data]
        distance = _masi
    elif level == "ordinal":
        distance = ordinal_distance(v for _c, _i, v in data)
    elif level == "interval":
        distance = interval_distance
    elif level == "nominal":
        distance = binary_distance
    else:
        raise ValueError(f"unknown level {level!r}")
    if len({v for _c, _i, v in data}) < 2:
        return Alpha(None, items, len(data))
    task_class = ScopedSetTask if level == "masi" and _item_scoped(data) else LinearAlphaTask
    task = task_class(data=[(str(c), str(i), v) for c, i, v in data], distance=distance)
    return Alpha(float(task.alpha()), items, len(data))


def _item_scoped(data: list[Triple]) -> bool:
    """Every element of every set is an ``(item, ...)`` tuple naming the set's own item."""
    return all(isinstance(e, tuple) and e and e[0] == i for _c, i, v in data for e in v)


class LinearAlphaTask(AnnotationTask):
    """nltk's ``alpha``, step for step, with one change: the pairable values' frequencies are summed in place
    (nltk adds each item's ``FreqDist`` with ``+=``, which copies the running total every time: quadratic in the
    number of distinct labels, seconds for thousands of items). tests/review/test_stats.py checks that it gives
    nltk's own result."""

    def alpha(self):
        if len(self.K) == 0:
            raise ValueError("Cannot calculate alpha, no data present!")
        if len(self.K) == 1:
            return 1
        if len(self.C) == 1 and len(self.I) == 1:
            raise ValueError("Cannot calculate alpha, only one coder and item present!")
        all_valid = Counter()
        total_do = 0.0
        for _item, itemdata in self._grouped_data("item"):
            label_freqs = Counter(x["labels"] for x in itemdata)
            labels_count = sum(label_freqs.values())
            if labels_count < 2:
                continue
            all_valid.update(label_freqs)
            total_do += self.Disagreement(label_freqs) * labels_count
        if len(all_valid) == 1:
            return 1
        do = total_do / sum(all_valid.values())
        return 1.0 - do / self.Disagreement(all_valid)


class ScopedSetTask(LinearAlphaTask):
    """nltk's alpha, with the expected disagreement of set values summed in O(n) instead of over every pair of
    distinct labels (which is quadratic: thousands of trigger sets would take minutes).

    It holds when the elements are scoped to their item (``(item, trigger)``): sets of different items are
    disjoint, so their MASI distance is 1 (and the empty set, a label of its own, is at 1 from any other set).
    Only pairs of labels of the same item need the distance function. The result is the same as nltk's own
    ``Disagreement`` (tests/review/test_stats.py checks it)."""

    def Disagreement(self, label_freqs):
        if len(label_freqs) < 64:
            return super().Disagreement(label_freqs)
        groups: dict = defaultdict(dict)
        for label, n in label_freqs.items():
            groups[next(iter(label))[0] if label else None][label] = n
        total = sum(label_freqs.values())
        within = 0.0
        sizes = []
        for labels in groups.values():
            sizes.append(sum(labels.values()))
            for j, nj in labels.items():
                for k, nk in labels.items():
                    within += float(nj * nk) * self.distance(k, j)
        across = float(total * total - sum(n * n for n in sizes))  # distance 1 for every pair across groups
        return (within + across) / (total * (total - 1))


# ----------------------------------------------------------------------------------------- Fleiss / ICC
def _complete_matrix(triples: Iterable[Triple]) -> tuple[list, list, int]:
    """Items rated by the modal number k ≥ 2 of raters, as rows of k values (raters in a sorted order), the
    raters of each row, and k."""
    by_item: dict = defaultdict(dict)
    for coder, item, value in triples:
        if value is not None:
            by_item[item][coder] = value
    counts = Counter(len(v) for v in by_item.values() if len(v) >= 2)
    if not counts:
        return [], [], 0
    k = max(counts, key=lambda n: (counts[n], n))
    rows, raters = [], []
    for item in sorted(by_item, key=str):
        values = by_item[item]
        if len(values) == k:
            order = sorted(values, key=str)
            rows.append([values[c] for c in order])
            raters.append(tuple(order))
    return rows, raters, k


@dataclass
class Kappa:
    value: float | None
    items: int
    raters_per_item: int

    def as_dict(self):
        return asdict(self)


def fleiss_kappa(triples: Iterable[Triple], categories: Sequence = SCORES) -> Kappa:
    """Fleiss' kappa (statsmodels) over the items rated by the modal number of raters (it needs the same number
    of ratings per item; the others are left out and not counted in ``items``)."""
    from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

    rows, _raters, k = _complete_matrix(triples)
    if len(rows) < 2:
        return Kappa(None, len(rows), k)
    index = {c: i for i, c in enumerate(categories)}
    table = np.zeros((len(rows), len(categories)), dtype=int)
    for r, row in enumerate(rows):
        for v in row:
            table[r, index[v]] += 1
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(sm_fleiss(table, method="fleiss"))
    return Kappa(None if math.isnan(value) else value, len(rows), k)


@dataclass
class ICC:
    icc1: float | None  # one-way random, single rater
    icc1k: float | None  # one-way random, mean of k raters
    icc2: float | None  # two-way random, absolute agreement, single rater (same raters on every item)
    icc2k: float | None
    icc3: float | None  # two-way mixed, consistency, single rater
    icc3k: float | None
    items: int
    raters_per_item: int
    design: str  # "two-way" (the same raters rated every item) or "one-way"

    @property
    def value(self) -> float | None:
        """The figure to report: ICC(2,1) for a crossed design, else ICC(1,1)."""
        return self.icc2 if self.design == "two-way" else self.icc1

    def as_dict(self):
        return {**asdict(self), "value": self.value}


def _ratio(num: float, den: float) -> float | None:
    return None if den == 0 or math.isnan(den) else float(num / den)


def icc(triples: Iterable[Triple]) -> ICC:
    """Shrout & Fleiss intraclass correlations over the items rated by the modal number k of raters."""
    rows, raters, k = _complete_matrix(triples)
    n = len(rows)
    if n < 2 or k < 2:
        return ICC(None, None, None, None, None, None, n, k, "one-way")
    y = np.asarray(rows, dtype=float)
    grand = y.mean()
    ss_total = float(((y - grand) ** 2).sum())
    ss_rows = float(k * ((y.mean(axis=1) - grand) ** 2).sum())
    ss_within = ss_total - ss_rows
    ms_rows = ss_rows / (n - 1)
    ms_within = ss_within / (n * (k - 1))
    icc1 = _ratio(ms_rows - ms_within, ms_rows + (k - 1) * ms_within)
    icc1k = _ratio(ms_rows - ms_within, ms_rows)
    if len(set(raters)) == 1:  # crossed: the same k raters on every item, columns are raters
        ss_cols = float(n * ((y.mean(axis=0) - grand) ** 2).sum())
        ss_error = ss_total - ss_rows - ss_cols
        ms_cols = ss_cols / (k - 1)
        ms_error = ss_error / ((n - 1) * (k - 1))
        icc2 = _ratio(ms_rows - ms_error, ms_rows + (k - 1) * ms_error + k * (ms_cols - ms_error) / n)
        icc2k = _ratio(ms_rows - ms_error, ms_rows + (ms_cols - ms_error) / n)
        icc3 = _ratio(ms_rows - ms_error, ms_rows + (k - 1) * ms_error)
        icc3k = _ratio(ms_rows - ms_error, ms_rows)
        return ICC(icc1, icc1k, icc2, icc2k, icc3, icc3k, n, k, "two-way")
    return ICC(icc1, icc1k, None, None, None, None, n, k, "one-way")


# ------------------------------------------------------------------------------------------ descriptive
def describe(scores: Sequence[float], *, low: float = LOW) -> dict:
    """n, mean, sample standard deviation (n - 1), min, max, and the share of scores below ``low``."""
    n = len(scores)
    if not n:
        return {"n": 0, "mean": None, "sd": None, "min": None, "max": None, "below": 0, "share_below": None}
    below = sum(1 for s in scores if s < low)
    return {"n": n, "mean": statistics.fmean(scores), "sd": statistics.stdev(scores) if n > 1 else None,
            "min": min(scores), "max": max(scores), "below": below, "share_below": below / n}


def category_table(rows: Iterable[tuple[str, Hashable, str, int]], *, threshold: float = 3.0,
                   emotions: Sequence[str] = ()) -> list[dict]:
    """The human-check table: per emotion category, from ``(emotion, item, rater, score)`` rows — ratings
    ``n``, ``items``, ``mean``, ``sd``, ``min``/``max``, the share of ratings below 3, and how many items have a
    mean below ``threshold``. A last row, ``all``, covers every category."""
    by_emotion: dict[str, list[int]] = defaultdict(list)
    item_scores: dict[str, dict] = defaultdict(lambda: defaultdict(list))
    for emotion, item, _rater, score in rows:
        by_emotion[emotion].append(score)
        item_scores[emotion][item].append(score)
    order = [e for e in emotions if e in by_emotion] + sorted(e for e in by_emotion if e not in emotions)
    out = []
    for emotion in [*order, None]:
        scores = [s for e in order for s in by_emotion[e]] if emotion is None else by_emotion[emotion]
        items = ([v for e in order for v in item_scores[e].values()] if emotion is None
                 else list(item_scores[emotion].values()))
        out.append({"emotion": emotion or "all", **describe(scores), "items": len(items),
                    "items_below_threshold": sum(1 for v in items if statistics.fmean(v) < threshold)})
    return out


def reviewer_table(rows: Iterable[tuple[str, Hashable, str, int]]) -> list[dict]:
    """Per reviewer: their ratings described, and their mean minus the mean of the other ratings of the same
    items (a lenient reviewer has a positive bias)."""
    by_rater: dict[str, list[tuple]] = defaultdict(list)
    by_item: dict = defaultdict(list)
    for emotion, item, rater, score in rows:
        by_rater[rater].append((emotion, item, score))
        by_item[item].append((rater, score))
    out = []
    for rater in sorted(by_rater):
        scores = [s for _e, _i, s in by_rater[rater]]
        diffs = []
        for _e, item, score in by_rater[rater]:
            others = [s for r, s in by_item[item] if r != rater]
            if others:
                diffs.append(score - statistics.fmean(others))
        out.append({"rater": rater, **describe(scores),
                    "bias": statistics.fmean(diffs) if diffs else None,
                    "histogram": [scores.count(v) for v in SCORES]})
    return out


def histogram(scores: Iterable[int]) -> list[int]:
    counts = Counter(scores)
    return [counts.get(v, 0) for v in SCORES]


# ---------------------------------------------------------------------------------- annotator agreement
def f1(a: set, b: set) -> float:
    """F1 of two sets (the same whichever is the reference); two empty sets agree fully."""
    if not a and not b:
        return 1.0
    return 2 * len(a & b) / (len(a) + len(b))


def mean_pairwise_f1(sets_by_unit: dict[Hashable, dict[Hashable, frozenset]]) -> tuple[float | None, int]:
    """Mean over units of the mean F1 over every pair of coders of the unit; and how many units had a pair."""
    per_unit = []
    for coders in sets_by_unit.values():
        sets = list(coders.values())
        pairs = [f1(set(sets[i]), set(sets[j])) for i in range(len(sets)) for j in range(i + 1, len(sets))]
        if pairs:
            per_unit.append(statistics.fmean(pairs))
    return (statistics.fmean(per_unit) if per_unit else None), len(per_unit)


FATE_ACTIONS = frozenset({"trigger.added", "trigger.removed", "trigger.restored", "trigger.kept",
                          "trigger.undone", "trigger.edited"})


def replay_passes(triggers: Iterable[tuple], events: Iterable[tuple], units: set[tuple[int, int]]):
    """Each annotator's result of a pass, as they left it when they submitted it.

    ``triggers``: ``(sample_id, trigger_id, origin)`` of the samples; ``events``: ``(sample_id, event_id,
    action, pass_number, actor_id, trigger_id, after)`` in id order; ``units``: the ``(sample_id, pass)`` pairs
    done by two annotators. A trigger's fate follows its events (``after["fate"]``); at each
    ``sample.submitted`` of a unit, the submitter's decisions are the fates then.

    Returns ``(decisions, kept_sets)``: ``decisions[(sample, pass)][actor][trigger] = kept?`` over the model
    triggers, and ``kept_sets[(sample, pass)][actor]`` = the kept triggers (ids) as a frozenset."""
    origin: dict[int, dict[int, str]] = defaultdict(dict)
    for sample_id, trigger_id, trigger_origin in triggers:
        origin[sample_id][trigger_id] = trigger_origin
    fate: dict[int, dict[int, str]] = defaultdict(dict)
    added: dict[int, set[int]] = defaultdict(set)
    decisions: dict = defaultdict(dict)
    kept_sets: dict = defaultdict(dict)
    for sample_id, _eid, action, pass_number, actor, trigger_id, after in events:
        if trigger_id and action in FATE_ACTIONS and after and "fate" in after:
            fate[sample_id][trigger_id] = after["fate"]
            if action == "trigger.added":
                added[sample_id].add(trigger_id)
        elif action == "sample.submitted" and (sample_id, pass_number) in units and actor is not None:
            present = {t for t, o in origin[sample_id].items() if o != "annotator"} | added[sample_id]
            state = {t: fate[sample_id].get(t, "kept") for t in present}
            decisions[(sample_id, pass_number)][actor] = {
                t: state[t] == "kept" for t in present if origin[sample_id].get(t) == "model"}
            kept_sets[(sample_id, pass_number)][actor] = frozenset(t for t in present if state[t] == "kept")
    return decisions, kept_sets
