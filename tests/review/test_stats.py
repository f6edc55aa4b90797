"""The statistics against independent implementations on fixed data: the GPL ``krippendorff`` package (a test-only
oracle) for alpha, ``pingouin`` for ICC, statsmodels and hand-computed textbook values for Fleiss' kappa, and
hand-computed MASI alpha / F1."""
import math
import random

import krippendorff
import numpy as np
import pandas as pd
import pingouin
import pytest

from review import stats

NAN = np.nan

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", the 4 observers x 12 units example with
# missing values (published: nominal 0.743, ordinal 0.815, interval 0.849).
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
]


def triples(matrix):
    return [(c, i, int(v)) for c, row in enumerate(matrix) for i, v in enumerate(row) if not math.isnan(v)]


def random_matrix(seed, raters=3, items=60, missing=0.0, spread=1):
    rng = random.Random(seed)
    out = np.full((raters, items), NAN)
    for i in range(items):
        base = rng.randint(0, 5)
        for c in range(raters):
            if rng.random() >= missing:
                out[c, i] = max(0, min(5, base + rng.randint(-spread, spread)))
    return out


DATASETS = {
    "krippendorff-2011": np.array(KRIPPENDORFF_2011, dtype=float),
    "complete-3x60": random_matrix(1),
    "missing-20pct-5x120": random_matrix(2, raters=5, items=120, missing=0.2),
    "missing-40pct-wide": random_matrix(3, raters=6, items=80, missing=0.4, spread=2),
    "low-agreement": random_matrix(4, raters=3, items=50, spread=4),
}


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_alpha_matches_the_krippendorff_package(name, level):
    matrix = DATASETS[name]
    ours = stats.krippendorff_alpha(triples(matrix), level)
    oracle = krippendorff.alpha(reliability_data=matrix, level_of_measurement=level)
    assert ours.value == pytest.approx(oracle, abs=1e-6)


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_linear_alpha_is_nltks_own(name, level):
    """The in-place summing of frequencies (LinearAlphaTask) gives exactly nltk's AnnotationTask.alpha."""
    from nltk.metrics.agreement import AnnotationTask

    pairable = stats._pairable(triples(DATASETS[name]))
    distance = {"nominal": stats.binary_distance, "interval": stats.interval_distance,
                "ordinal": stats.ordinal_distance(v for _c, _i, v in pairable)}[level]
    data = [(str(c), str(i), v) for c, i, v in pairable]
    assert stats.LinearAlphaTask(data=data, distance=distance).alpha() == pytest.approx(
        AnnotationTask(data=data, distance=distance).alpha(), abs=1e-12)


def test_alpha_on_the_published_example():
    t = triples(KRIPPENDORFF_2011)
    assert stats.krippendorff_alpha(t, "nominal").value == pytest.approx(0.743, abs=5e-4)
    assert stats.krippendorff_alpha(t, "ordinal").value == pytest.approx(0.815, abs=5e-4)
    assert stats.krippendorff_alpha(t, "interval").value == pytest.approx(0.849, abs=5e-4)
    # unit 12 has a single value: not pairable, not counted
    assert stats.krippendorff_alpha(t, "interval").items == 11


def test_alpha_degenerate_cases():
    assert stats.krippendorff_alpha([], "interval").value is None
    assert stats.krippendorff_alpha([("a", 1, 3), ("b", 2, 4)], "interval").value is None  # nothing pairable
    same = stats.krippendorff_alpha([("a", 1, 4), ("b", 1, 4), ("a", 2, 4), ("b", 2, 4)], "ordinal")
    assert same.value is None and same.items == 2  # one value only: undefined


def test_alpha_with_masi_distance_by_hand():
    # two coders, two units. Unit 1: {a,b} vs {a,b} (distance 0); unit 2: {a} vs {a,b}: MASI distance
    # 1 - J*M = 1 - (1/2)*(2/3) = 2/3. Pairable values: {a,b} x3, {a} x1.
    data = [("x", 1, {"a", "b"}), ("y", 1, {"a", "b"}), ("x", 2, {"a"}), ("y", 2, {"a", "b"})]
    d = 2 / 3
    do = (2 * d / 1) / 4  # unit 2 contributes n_ck*delta over (m_u - 1), both orders; n = 4
    de = (2 * 3 * 1 * d) / (4 * 3)  # 3 x {a,b} and 1 x {a}, both orders, over n(n-1)
    assert stats.krippendorff_alpha(data, "masi").value == pytest.approx(1 - do / de, abs=1e-12)


def test_masi_alpha_with_empty_sets():
    # an annotator who removed every trigger leaves an empty set; two empty sets agree
    data = [("x", 1, set()), ("y", 1, set()), ("x", 2, {"a"}), ("y", 2, {"a"}), ("x", 3, {"a"}), ("y", 3, set())]
    d = 1.0  # MASI distance between {a} and {} (no intersection)
    do = (2 * d / 1) / 6
    de = (2 * 3 * 3 * d) / (6 * 5)
    assert stats.krippendorff_alpha(data, "masi").value == pytest.approx(1 - do / de, abs=1e-12)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fast_masi_alpha_equals_nltks_own(seed):
    """The O(n) expected disagreement of item-scoped sets gives nltk's own result (with many distinct sets)."""
    from nltk.metrics.agreement import AnnotationTask

    rng = random.Random(seed)
    data = []
    for item in range(120):
        triggers = list(range(rng.randint(0, 5)))
        for coder in rng.sample("abcd", rng.choice([1, 2, 2, 3])):
            data.append((coder, item, frozenset((item, t) for t in triggers if rng.random() < 0.7)))
    ours = stats.krippendorff_alpha(data, "masi")
    pairable = stats._pairable(data)
    plain = AnnotationTask(data=[(c, str(i), v) for c, i, v in pairable], distance=stats._masi).alpha()
    assert len({v for _c, _i, v in pairable}) > 64  # the fast path ran
    assert ours.value == pytest.approx(plain, abs=1e-12)


def test_fleiss_kappa_textbook_example():
    # Fleiss (1971) as on Wikipedia: 10 items, 14 raters, 5 categories; kappa = 0.210.
    table = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
             [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    data = []
    for item, row in enumerate(table):
        rater = 0
        for category, n in enumerate(row, start=1):
            for _ in range(n):
                data.append((rater, item, category))
                rater += 1
    k = stats.fleiss_kappa(data, categories=(1, 2, 3, 4, 5))
    assert k.value == pytest.approx(0.20993, abs=1e-5)
    assert (k.items, k.raters_per_item) == (10, 14)


def test_fleiss_kappa_uses_items_with_the_usual_number_of_ratings():
    matrix = DATASETS["missing-20pct-5x120"]
    data = triples(matrix)
    k = stats.fleiss_kappa(data)
    counts = (~np.isnan(matrix)).sum(axis=0)
    modal = max(set(counts[counts >= 2]), key=lambda n: (list(counts).count(n), n))
    assert k.raters_per_item == modal and k.items == int((counts == modal).sum())
    from statsmodels.stats.inter_rater import aggregate_raters
    from statsmodels.stats.inter_rater import fleiss_kappa as sm

    rows = [sorted(int(v) for v in matrix[:, i] if not math.isnan(v)) for i in range(matrix.shape[1])
            if counts[i] == modal]
    table, _ = aggregate_raters(np.array(rows), n_cat=6)
    assert k.value == pytest.approx(sm(table), abs=1e-12)


def _pingouin_icc(matrix):
    raters, items = matrix.shape
    long = pd.DataFrame([{"item": i, "rater": c, "score": matrix[c, i]} for c in range(raters) for i in range(items)])
    return pingouin.intraclass_corr(data=long, targets="item", raters="rater", ratings="score").set_index("Type")


@pytest.mark.parametrize("name", ["complete-3x60", "low-agreement"])
def test_icc_matches_pingouin_on_a_crossed_design(name):
    matrix = DATASETS[name]
    ours = stats.icc(triples(matrix))
    oracle = _pingouin_icc(matrix)["ICC"]
    assert ours.design == "two-way" and ours.items == matrix.shape[1] and ours.raters_per_item == matrix.shape[0]
    for mine, theirs in (("icc1", "ICC(1,1)"), ("icc2", "ICC(A,1)"), ("icc3", "ICC(C,1)"), ("icc1k", "ICC(1,k)"),
                         ("icc2k", "ICC(A,k)"), ("icc3k", "ICC(C,k)")):
        assert getattr(ours, mine) == pytest.approx(oracle[theirs], abs=1e-9), mine
    assert ours.value == ours.icc2


def test_icc_one_way_when_reviewers_differ_per_item():
    # 40 items, each rated by 3 of 6 reviewers: ICC(1) only, equal to pingouin's ICC1 on the values as columns.
    rng = random.Random(7)
    data, columns = [], np.zeros((3, 40))
    for i in range(40):
        base = rng.randint(0, 5)
        for j, who in enumerate(sorted(rng.sample(range(6), 3))):
            v = max(0, min(5, base + rng.randint(-1, 1)))
            data.append((f"r{who}", i, v))
            columns[j, i] = v
    ours = stats.icc(data)
    assert ours.design == "one-way" and ours.icc2 is None and ours.value == ours.icc1
    assert ours.icc1 == pytest.approx(_pingouin_icc(columns).loc["ICC(1,1)", "ICC"], abs=1e-9)


def test_category_table_by_hand():
    rows = [("happy", 1, "a", 5), ("happy", 1, "b", 4), ("happy", 2, "a", 2), ("happy", 2, "b", 1),
            ("sad", 3, "a", 4)]
    table = {r["emotion"]: r for r in stats.category_table(rows, threshold=3, emotions=["sad", "happy"])}
    h = table["happy"]
    assert (h["n"], h["items"], h["mean"], h["min"], h["max"], h["below"]) == (4, 2, 3.0, 1, 5, 2)
    assert h["sd"] == pytest.approx(math.sqrt(10 / 3))  # sample SD of 5, 4, 2, 1
    assert h["share_below"] == 0.5 and h["items_below_threshold"] == 1
    assert table["sad"]["sd"] is None and table["all"]["n"] == 5
    assert [r["emotion"] for r in stats.category_table(rows, emotions=["sad", "happy"])] == ["sad", "happy", "all"]


def test_reviewer_bias():
    rows = [("happy", 1, "a", 5), ("happy", 1, "b", 3), ("happy", 2, "a", 4), ("happy", 2, "b", 4)]
    by = {r["rater"]: r for r in stats.reviewer_table(rows)}
    assert by["a"]["bias"] == 1.0 and by["b"]["bias"] == -1.0
    assert by["a"]["histogram"] == [0, 0, 0, 0, 1, 1]


def test_f1_and_mean_pairwise_f1():
    assert stats.f1({1, 2}, {2, 3}) == 0.5 and stats.f1(set(), set()) == 1.0 and stats.f1({1}, set()) == 0.0
    value, units = stats.mean_pairwise_f1({"u1": {"a": frozenset({1, 2}), "b": frozenset({1, 2})},
                                           "u2": {"a": frozenset({1}), "b": frozenset({1, 2, 3}),
                                                  "c": frozenset({1, 2})},
                                           "u3": {"a": frozenset({9})}})
    u2 = (stats.f1({1}, {1, 2, 3}) + stats.f1({1}, {1, 2}) + stats.f1({1, 2, 3}, {1, 2})) / 3
    assert units == 2 and value == pytest.approx((1 + u2) / 2)


def test_replay_gives_each_annotator_the_sample_as_they_left_it():
    triggers = [(1, 10, "model"), (1, 11, "model"), (1, 12, "annotator")]
    events = [
        (1, 1, "trigger.removed", 1, "A", 10, {"fate": "hallucination"}),
        (1, 2, "sample.submitted", 1, "A", None, {"state": "pass1"}),
        (1, 3, "trigger.restored", 1, "B", 10, {"fate": "kept"}),
        (1, 4, "trigger.removed", 1, "B", 11, {"fate": "hallucination"}),
        (1, 5, "sample.submitted", 1, "B", None, {"state": "pass2"}),
        (1, 6, "trigger.added", 2, "A", 12, {"fate": "kept"}),
        (1, 7, "sample.submitted", 2, "A", None, {"state": "pass3"}),
    ]
    decisions, kept = stats.replay_passes(triggers, events, {(1, 1)})
    assert decisions[(1, 1)] == {"A": {10: False, 11: True}, "B": {10: True, 11: False}}
    assert kept[(1, 1)] == {"A": frozenset({11}), "B": frozenset({10})}
    assert (1, 2) not in kept  # not an overlap unit
