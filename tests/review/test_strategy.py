"""The pure sampling and reviewer-assignment strategies (no database)."""
import pytest

from review.strategies import assign_reviewers, draw_sample


def test_draw_is_seeded_per_category_and_order_free():
    ids = {"happy": list(range(1, 201)), "sad": list(range(201, 260)), "angry": [300, 301]}
    a = draw_sample(ids, 50, seed=7)
    b = draw_sample({k: list(reversed(v)) for k, v in ids.items()}, 50, seed=7)
    assert a == b
    assert [len(a[e]) for e in ("happy", "sad", "angry")] == [50, 50, 2]  # all of a small category
    assert set(a["happy"]) <= set(ids["happy"]) and len(set(a["happy"])) == 50
    assert a["happy"] == sorted(a["happy"])
    assert draw_sample(ids, 50, seed=8)["happy"] != a["happy"]
    # another category does not change this one's draw
    assert draw_sample({"happy": ids["happy"]}, 50, seed=7)["happy"] == a["happy"]


def test_draw_needs_a_size():
    with pytest.raises(ValueError):
        draw_sample({"happy": [1]}, 0, seed=1)


def test_reviewers_distinct_balanced_and_least_loaded_first():
    plan = assign_reviewers(list(range(10)), [1, 2, 3, 4], 3, seed=1)
    by_sample = {}
    for s, r in plan:
        by_sample.setdefault(s, []).append(r)
    assert all(len(set(v)) == 3 for v in by_sample.values()) and len(by_sample) == 10
    counts = {r: sum(1 for _s, x in plan if x == r) for r in (1, 2, 3, 4)}
    assert max(counts.values()) - min(counts.values()) <= 1  # 30 reviews over 4 people
    loaded = assign_reviewers([1], [1, 2, 3, 4], 3, load={1: 5})
    assert 1 not in {r for _s, r in loaded}
    assert assign_reviewers(list(range(5)), [1, 2, 3], 3, seed=3) == assign_reviewers(list(range(5)), [3, 2, 1], 3,
                                                                                     seed=3)


def test_too_few_reviewers():
    with pytest.raises(ValueError, match="at least 3 reviewers"):
        assign_reviewers([1], [1, 2], 3)
