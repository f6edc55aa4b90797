"""The balancing strategy is a pure function: no database."""
from collections import Counter

from annotator.strategies import Planned, balance, overlap_count


def test_balanced_within_one_and_deterministic():
    work = [(s, p) for s in range(1, 101) for p in (1, 2, 3)]
    plan = balance(work, [10, 11, 12, 13], overlap_fraction=0.10, seed=7)
    per_person = Counter(p.annotator_id for p in plan)
    assert max(per_person.values()) - min(per_person.values()) <= 1
    assert plan == balance(work, [10, 11, 12, 13], overlap_fraction=0.10, seed=7)
    assert all(isinstance(p, Planned) for p in plan)


def test_overlap_fraction_is_done_by_two_different_annotators_in_each_pass():
    work = [(s, p) for s in range(200) for p in (1, 2, 3)]
    plan = balance(work, [1, 2, 3, 4], overlap_fraction=0.10)
    for pass_number in (1, 2, 3):
        rows = [p for p in plan if p.pass_number == pass_number]
        people = {}
        for p in rows:
            people.setdefault(p.sample_id, []).append(p.annotator_id)
        doubled = [s for s, who in people.items() if len(who) == 2]
        assert len(doubled) == 20 == overlap_count(200, 0.10)
        assert all(len(set(who)) == len(who) for who in people.values())
        assert len(people) == 200
        assert sum(p.overlap for p in rows) == 20


def test_default_overlap_is_ten_percent_and_rounds_half_up():
    assert overlap_count(15, 0.10) == 2
    assert overlap_count(4, 0.10) == 0
    assert overlap_count(10, 0) == 0
    plan = balance([(s, 1) for s in range(50)], [1, 2])
    assert sum(p.overlap for p in plan) == 5


def test_one_annotator_gets_everything_and_no_overlap():
    plan = balance([(s, 1) for s in range(10)], [5], overlap_fraction=0.5)
    assert [p.annotator_id for p in plan] == [5] * 10 and not any(p.overlap for p in plan)


def test_distinct_annotator_per_pass_when_there_are_enough_people():
    work = [(s, p) for s in range(30) for p in (1, 2, 3)]
    plan = balance(work, [1, 2, 3, 4], overlap_fraction=0.0, distinct_per_pass=True)
    by_sample = {}
    for p in plan:
        by_sample.setdefault(p.sample_id, []).append(p.annotator_id)
    assert all(len(set(who)) == 3 for who in by_sample.values())


def test_existing_load_and_taken_are_respected():
    plan = balance([(s, 1) for s in range(6)], [1, 2], overlap_fraction=0, load={1: 4})
    assert Counter(p.annotator_id for p in plan) == {2: 5, 1: 1}
    plan = balance([(9, 2)], [1, 2], overlap_fraction=0, taken={9: {1}}, distinct_per_pass=True)
    assert plan == [Planned(9, 2, 2, False)]
    assert balance([(1, 1)], []) == []
