"""Choosing the households to invite by the Trà Vinh plan's quotas (storage/selection.py)."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from fractions import Fraction
from math import ceil, floor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.selection import (
    CATEGORIES,
    PRIORITY_CATEGORIES,
    Candidate,
    Selection,
    Shortfall,
    select_invitees,
)

WARDS = ["Phường 1", "Phường 2", "Phường 3", "Phường 4", "Phường 5"]


def registry(sizes: dict[str, tuple[int, int]], seed: int = 0) -> list[Candidate]:
    """`sizes[ward] = (priority households, other households)`, with random heads."""
    rng = random.Random(seed)
    priority_categories = sorted(PRIORITY_CATEGORIES)
    candidates = []
    for ward, (priority, other) in sizes.items():
        categories = [rng.choice(priority_categories) for _ in range(priority)] + ["other"] * other
        for category in categories:
            female, minority = rng.random() < 0.5, rng.random() < 0.3
            candidates.append(Candidate(len(candidates) + 1, ward, category, female, minority))
    return candidates


def in_group(selection: Selection, group: str) -> list:
    return [p for p in selection.invited if p.group == group]


# --- the plan's quotas on examples ---------------------------------------------------------


def test_the_plans_defaults_on_a_comfortable_registry_invite_60_priority_and_20_other_households():
    candidates = registry({w: (100 + 10 * i, 40 + 5 * i) for i, w in enumerate(WARDS)})
    by_id = {c.household_id: c for c in candidates}

    selection = select_invitees(candidates, wards=WARDS, seed=2023)

    assert selection.met and selection.shortfalls == []
    assert (selection.total, selection.minimum_priority) == (80, 60)
    assert len(in_group(selection, "priority")) == 60
    assert len(in_group(selection, "other")) == 20
    assert all(
        by_id[p.household_id].category in PRIORITY_CATEGORIES
        for p in in_group(selection, "priority")
    )
    assert all(by_id[p.household_id].category == "other" for p in in_group(selection, "other"))
    assert [line.ward for line in selection.lines] == WARDS
    assert sum(line.priority for line in selection.lines) == 60
    assert sum(line.other for line in selection.lines) == 20
    assert sum(line.priority_share for line in selection.lines) == 60
    assert sum(line.other_share for line in selection.lines) == 20
    invited = [by_id[p.household_id] for p in selection.invited]
    assert sum(line.female for line in selection.lines) == sum(c.female for c in invited)
    assert sum(line.minority for line in selection.lines) == sum(c.minority for c in invited)
    for line in selection.lines:
        assert line.priority + line.other == sum(p.ward == line.ward for p in selection.invited)
    assert len(selection.invited) + len(selection.waitlist) == len(candidates)


def test_too_few_priority_households_are_all_invited_with_a_priority_shortfall_and_others_capped_at_20():
    candidates = registry({"Phường 1": (12, 50), "Phường 2": (18, 50)})

    selection = select_invitees(candidates, wards=["Phường 1", "Phường 2"], seed=1)

    assert len(in_group(selection, "priority")) == 30
    assert len(in_group(selection, "other")) == 20
    assert selection.shortfalls == [Shortfall("priority", 60, 30), Shortfall("total", 80, 50)]
    assert not selection.met
    assert {p.group for p in selection.waitlist} == {"other"}


def test_too_few_households_in_total_report_a_total_shortfall():
    candidates = registry({"Phường 1": (40, 3), "Phường 2": (25, 2)})

    selection = select_invitees(candidates, wards=["Phường 1", "Phường 2"], seed=1)

    assert len(selection.invited) == 70
    assert selection.shortfalls == [Shortfall("total", 80, 70)]
    assert selection.waitlist == []


def test_seats_the_others_cannot_fill_go_to_the_priority_group():
    candidates = registry({"Phường 1": (100, 2), "Phường 2": (100, 3)})

    selection = select_invitees(candidates, wards=["Phường 1", "Phường 2"], seed=1)

    assert len(in_group(selection, "priority")) == 75
    assert len(in_group(selection, "other")) == 5
    assert selection.met


def test_a_khmer_woman_heading_her_household_comes_first_then_women_or_minorities():
    heads = [
        Candidate(1, "Phường 7", "poor", female=False, minority=False),
        Candidate(2, "Phường 7", "near_poor", female=True, minority=False),
        Candidate(3, "Phường 7", "new_non_poor", female=False, minority=True),
        Candidate(4, "Phường 7", "poor", female=True, minority=True),
        Candidate(5, "Phường 7", "poor", female=False, minority=False),
    ]
    for seed in range(20):
        selection = select_invitees(
            heads, wards=["Phường 7"], total=3, minimum_priority=3, seed=seed
        )
        ranked = [p.household_id for p in selection.invited + selection.waitlist]
        assert ranked[0] == 4
        assert set(ranked[1:3]) == {2, 3}
        assert set(ranked[3:]) == {1, 5}


def test_equal_scores_are_ordered_by_the_seed_so_different_seeds_can_choose_differently():
    heads = [Candidate(i, "Phường 1", "poor", False, False) for i in range(1, 41)]
    chosen = {
        tuple(
            p.household_id
            for p in select_invitees(heads, wards=[], total=5, minimum_priority=5, seed=s).invited
        )
        for s in range(10)
    }
    assert len(chosen) > 1


def test_a_decline_is_replaced_from_the_most_under_filled_ward():
    # Ward A has 60 priority households, ward B 30: A gets 2 of 3 seats, B 1. The waitlist then
    # goes to the smallest (seats held + 1/2) / candidates, in 120ths: A 5 < B 6 -> A;
    # A 7 > B 6 -> B; A 7 < B 10 -> A; A 9 -> A; A 11 > B 10 -> B; A 11, A 13 < B 14 -> A, A; B.
    candidates = registry({"A": (60, 0), "B": (30, 0)})

    selection = select_invitees(candidates, wards=["A", "B"], total=3, minimum_priority=3, seed=5)

    assert [(line.ward, line.priority) for line in selection.lines] == [("A", 2), ("B", 1)]
    assert "".join(p.ward for p in selection.waitlist[:8]) == "ABAABAAB"


def test_only_the_participating_wards_are_invited_each_once_and_no_wards_means_every_ward():
    candidates = registry({"Phường 1": (30, 10), "Phường 2": (30, 10), "Phường 3": (30, 10)})

    two = select_invitees(
        candidates,
        wards=["Phường 3", "Phường 1", "Phường 3"],
        total=20,
        minimum_priority=15,
        seed=3,
    )
    every = select_invitees(candidates, wards=[], total=20, minimum_priority=15, seed=3)

    assert {p.ward for p in two.invited + two.waitlist} == {"Phường 1", "Phường 3"}
    assert [line.ward for line in two.lines] == ["Phường 3", "Phường 1"]
    assert [line.ward for line in every.lines] == ["Phường 1", "Phường 2", "Phường 3"]
    assert len(every.invited) + len(every.waitlist) == len(candidates)


def test_a_participating_ward_without_candidates_still_has_its_line():
    candidates = registry({"Phường 1": (70, 25)})

    selection = select_invitees(candidates, wards=["Phường 1", "Xã Long Đức"], seed=3)

    assert selection.lines[1].ward == "Xã Long Đức"
    assert (selection.lines[1].priority, selection.lines[1].other) == (0, 0)
    assert (selection.lines[0].priority, selection.lines[0].other) == (60, 20)


def test_nothing_to_choose_from_gives_an_empty_selection_with_a_total_shortfall():
    selection = select_invitees([], wards=["Phường 1"], seed=0)

    assert selection.invited == selection.waitlist == []
    assert selection.shortfalls == [Shortfall("priority", 60, 0), Shortfall("total", 80, 0)]


@pytest.mark.parametrize(
    ("total", "minimum_priority", "message"),
    [(-1, 0, "total"), (80, 81, "cannot be more than total"), (80, -1, "minimum_priority")],
)
def test_impossible_quotas_are_refused_with_a_clear_message(total, minimum_priority, message):
    with pytest.raises(ValueError, match=message):
        select_invitees(
            registry({"Phường 1": (5, 5)}),
            wards=[],
            total=total,
            minimum_priority=minimum_priority,
            seed=0,
        )


def test_a_household_listed_twice_or_of_an_unknown_category_is_refused():
    twice = [
        Candidate(7, "Phường 1", "poor", True, False),
        Candidate(7, "Phường 2", "other", False, False),
    ]
    with pytest.raises(ValueError, match="household 7 is listed twice"):
        select_invitees(twice, wards=[], seed=0)
    unknown = [Candidate(8, "Phường 1", "rich", False, False)]
    with pytest.raises(ValueError, match="unknown category 'rich'"):
        select_invitees(unknown, wards=[], seed=0)


def test_a_single_ward_name_instead_of_a_list_is_refused():
    with pytest.raises(TypeError, match="single string"):
        select_invitees(registry({"Phường 1": (5, 5)}), wards="Phường 1", seed=0)


# --- properties ----------------------------------------------------------------------------

WARD_NAMES = [
    "Phường 1",
    "Phường 7",
    "Phường 9",
    "Xã Long Đức",
    "Xã Nguyệt Hóa",
    "Xã Hòa Thuận",
    "Khóm 4",
]


# (ward index, category, female head, minority): built once, as building strategies is slow.
PEOPLE = st.lists(
    st.tuples(st.integers(0, 5), st.sampled_from(sorted(CATEGORIES)), st.booleans(), st.booleans()),
    max_size=100,
)


@st.composite
def scenarios(draw):
    """Households over 1–6 wards with random categories and heads; participating wards drawn
    apart (none means every ward), so that some households fall outside and some wards have
    none; quotas from nothing to more than there are households."""
    present = draw(st.lists(st.sampled_from(WARD_NAMES), min_size=1, max_size=6, unique=True))
    people = draw(PEOPLE)
    # Scattered household ids, not in registry order (drawing them one by one is slow).
    ids = draw(st.randoms(use_true_random=False)).sample(range(1, 10**9), len(people))
    candidates = [
        Candidate(i, present[ward % len(present)], category, female, minority)
        for i, (ward, category, female, minority) in zip(ids, people, strict=True)
    ]
    wards = draw(
        st.one_of(
            st.just([]),
            st.lists(st.sampled_from(WARD_NAMES), min_size=1, max_size=6, unique=True),
        )
    )
    total = draw(st.integers(0, 100))
    minimum_priority = draw(st.integers(0, total))
    seed = draw(st.integers(0, 2**32))
    return candidates, wards, total, minimum_priority, seed


def select(scenario) -> Selection:
    candidates, wards, total, minimum_priority, seed = scenario
    return select_invitees(
        candidates, wards=wards, total=total, minimum_priority=minimum_priority, seed=seed
    )


def eligible(scenario) -> list[Candidate]:
    candidates, wards, *_ = scenario
    return [c for c in candidates if not wards or c.ward in wards]


def ranking(selection: Selection, group: str) -> list:
    """The group's picks in rank order: the invited, then the waitlist."""
    return [p for p in selection.invited + selection.waitlist if p.group == group]


# Modest example counts keep the file to a few seconds; deadline off for loaded machines.
property_settings = settings(max_examples=50, deadline=None)


@property_settings
@given(scenarios())
def test_no_household_is_chosen_twice(scenario):
    selection = select(scenario)
    ids = [p.household_id for p in selection.invited + selection.waitlist]
    assert len(ids) == len(set(ids))


@property_settings
@given(scenarios())
def test_the_invited_and_the_waitlist_together_are_exactly_the_eligible_households_of_the_participating_wards(
    scenario,
):
    selection = select(scenario)
    by_id = {c.household_id: c for c in scenario[0]}
    picks = selection.invited + selection.waitlist
    assert {p.household_id for p in picks} == {c.household_id for c in eligible(scenario)}
    for p in picks:
        c = by_id[p.household_id]
        assert p.ward == c.ward
        assert p.group == ("priority" if c.category in PRIORITY_CATEGORIES else "other")
        assert not scenario[1] or p.ward in scenario[1]


@property_settings
@given(scenarios())
def test_the_quotas_are_kept_as_far_as_the_registry_allows(scenario):
    _, _, total, minimum_priority, _ = scenario
    selection = select(scenario)
    found = Counter(
        "priority" if c.category in PRIORITY_CATEGORIES else "other" for c in eligible(scenario)
    )
    priority, other = len(in_group(selection, "priority")), len(in_group(selection, "other"))

    assert priority + other <= total
    assert priority >= min(minimum_priority, found["priority"])
    assert other <= total - minimum_priority
    # Nobody eligible is left out while a seat stays empty within the rules.
    assert priority + other == min(
        total, found["priority"] + min(found["other"], total - minimum_priority)
    )
    expected = []
    if found["priority"] < minimum_priority:
        expected.append(Shortfall("priority", minimum_priority, found["priority"]))
    if priority + other < total:
        expected.append(Shortfall("total", total, priority + other))
    assert selection.shortfalls == expected
    assert selection.met == (priority + other == total)


@property_settings
@given(scenarios(), st.randoms(use_true_random=False))
def test_the_same_registry_and_seed_give_the_same_selection_whatever_the_order_of_the_registry(
    scenario, rnd
):
    candidates, wards, total, minimum_priority, seed = scenario
    shuffled = list(candidates)
    rnd.shuffle(shuffled)
    assert select(scenario) == select((shuffled, wards, total, minimum_priority, seed))
    assert select(scenario) == select((iter(candidates), wards, total, minimum_priority, seed))


@property_settings
@given(scenarios(), st.integers(min_value=0, max_value=12))
def test_a_waitlist_cut_to_a_depth_is_the_first_of_each_groups_full_waitlist(scenario, depth):
    candidates, wards, total, minimum_priority, seed = scenario
    full = select(scenario)
    cut = select_invitees(
        candidates,
        wards=wards,
        total=total,
        minimum_priority=minimum_priority,
        seed=seed,
        waitlist_depth=depth,
    )
    assert (cut.invited, cut.lines, cut.shortfalls) == (full.invited, full.lines, full.shortfalls)
    for group in ("priority", "other"):
        waiting = [p for p in full.waitlist if p.group == group]
        assert [p for p in cut.waitlist if p.group == group] == waiting[:depth]


@property_settings
@given(scenarios(), st.randoms(use_true_random=False))
def test_the_order_the_wards_are_listed_in_changes_only_the_order_of_the_lines(scenario, rnd):
    candidates, wards, total, minimum_priority, seed = scenario
    reordered = list(wards)
    rnd.shuffle(reordered)
    first, second = select(scenario), select((candidates, reordered, total, minimum_priority, seed))
    assert (first.invited, first.waitlist, first.shortfalls) == (
        second.invited,
        second.waitlist,
        second.shortfalls,
    )
    assert sorted(first.lines, key=lambda line: line.ward) == sorted(
        second.lines, key=lambda line: line.ward
    )


@property_settings
@given(scenarios())
def test_within_a_ward_and_group_no_invited_household_scores_lower_than_a_waitlisted_one(scenario):
    selection = select(scenario)
    by_id = {c.household_id: c for c in scenario[0]}
    lowest_invited: dict[tuple[str, str], int] = {}
    for p in selection.invited:
        key = (p.ward, p.group)
        lowest_invited[key] = min(lowest_invited.get(key, 2), by_id[p.household_id].score)
    for p in selection.waitlist:
        if (p.ward, p.group) in lowest_invited:
            assert by_id[p.household_id].score <= lowest_invited[(p.ward, p.group)]


@property_settings
@given(scenarios())
def test_each_wards_seats_in_a_group_are_within_one_of_its_proportional_share(scenario):
    selection = select(scenario)
    for group in ("priority", "other"):
        candidates = Counter(
            c.ward
            for c in eligible(scenario)
            if (c.category in PRIORITY_CATEGORIES) == (group == "priority")
        )
        pool = sum(candidates.values())
        seats = len(in_group(selection, group))
        held = Counter(p.ward for p in in_group(selection, group))
        for line in selection.lines:
            exact = Fraction(seats * candidates[line.ward], pool) if pool else Fraction(0)
            share = line.priority_share if group == "priority" else line.other_share
            assert held[line.ward] == share <= candidates[line.ward]
            assert floor(exact) <= share <= ceil(exact)


@property_settings
@given(scenarios())
def test_the_seats_rounded_up_go_to_the_largest_remainders(scenario):
    selection = select(scenario)
    for group in ("priority", "other"):
        candidates = Counter(
            c.ward
            for c in eligible(scenario)
            if (c.category in PRIORITY_CATEGORIES) == (group == "priority")
        )
        pool = sum(candidates.values())
        seats = len(in_group(selection, group))
        if not pool:
            continue
        rounded_up, rounded_down = [], []
        for line in selection.lines:
            exact = Fraction(seats * candidates[line.ward], pool)
            share = line.priority_share if group == "priority" else line.other_share
            if exact.denominator != 1:
                (rounded_up if share > exact else rounded_down).append(exact - floor(exact))
        if rounded_up and rounded_down:
            assert min(rounded_up) >= max(rounded_down)


@property_settings
@given(scenarios())
def test_ranks_run_from_0_without_gaps_within_each_group_across_the_invited_then_the_waitlist(
    scenario,
):
    selection = select(scenario)
    for group in ("priority", "other"):
        invited = [p.rank for p in selection.invited if p.group == group]
        waiting = [p.rank for p in selection.waitlist if p.group == group]
        assert invited + waiting == list(range(len(invited) + len(waiting)))


@property_settings
@given(scenarios())
def test_each_next_in_line_comes_from_the_most_under_filled_ward_and_is_its_best_remaining_household(
    scenario,
):
    """The documented waitlist rule, checked step by step with exact fractions."""
    selection = select(scenario)
    by_id = {c.household_id: c for c in scenario[0]}
    for group in ("priority", "other"):
        queue: dict[str, list[Candidate]] = defaultdict(list)
        for p in ranking(selection, group):
            queue[p.ward].append(by_id[p.household_id])
        size = {w: len(q) for w, q in queue.items()}
        # Each ward's own households come best score first.
        for q in queue.values():
            assert [c.score for c in q] == sorted((c.score for c in q), reverse=True)
        held = Counter(p.ward for p in in_group(selection, group))
        for p in [p for p in selection.waitlist if p.group == group]:
            fill = {w: Fraction(2 * held[w] + 1, 2 * size[w]) for w in size if held[w] < size[w]}
            lowest = min(fill.values())
            assert fill[p.ward] == lowest
            best_of_tied = max(queue[w][held[w]].score for w, f in fill.items() if f == lowest)
            assert by_id[p.household_id].score == best_of_tied
            held[p.ward] += 1


@property_settings
@given(scenarios())
def test_the_composition_lines_add_up_to_the_invited(scenario):
    selection = select(scenario)
    by_id = {c.household_id: c for c in scenario[0]}
    for line in selection.lines:
        mine = [by_id[p.household_id] for p in selection.invited if p.ward == line.ward]
        assert line.priority == sum(c.category in PRIORITY_CATEGORIES for c in mine)
        assert line.other == sum(c.category == "other" for c in mine)
        assert line.female == sum(c.female for c in mine)
        assert line.minority == sum(c.minority for c in mine)
    assert sum(line.priority + line.other for line in selection.lines) == len(selection.invited)
