"""Choosing the households to invite to a dialogue session, by the plan's quotas.

The Trà Vinh plan (seed 004, §7.2) invites, per session, representatives of 80 households living
in the participating wards: 60 poor, near-poor or newly-out-of-poverty households (the *priority*
group) and 20 *other* ones (commune poverty officers, respected persons, hamlet heads, association
representatives), choosing female heads of household and ethnic minorities first.
`select_invitees` turns a registry into that list of invitations, with a ranked waitlist behind it
and a composition table per ward. It is pure: no database, no clock, and the randomness comes only
from the `seed` given, so that the same registry and seed always give the same selection and an
organiser can show how it was made.

The rules:

1. Eligible: the candidates whose ward is one of `wards` (names compared exactly); an empty
   `wards` means every ward present. Each household may appear once.
2. Seats per group: the priority group gets `minimum_priority` seats and the others
   `total - minimum_priority`. The minimum is a floor, not a cap: seats the others cannot fill go
   to the priority group. When the priority group has fewer candidates than its minimum, all of
   them are invited, the others still get at most `total - minimum_priority` seats (their share
   must not grow at the expense of the poor), and a ``Shortfall("priority", ...)`` is reported.
   When fewer than `total` are invited in the end, a ``Shortfall("total", ...)`` is reported.
3. Seats per ward, within a group: in proportion to the group's eligible candidates in each ward,
   by the largest-remainder (Hamilton) method, so each ward's seats are within one of its exact
   share. A ward never has fewer candidates than the seats this gives it (its exact share is at
   most its candidates, since the group never has more seats than candidates), so no seats ever
   need to be handed on to other wards. Equal remainders go to the larger ward, then by a seeded
   draw among the wards.
4. Candidates within a ward and group: by score, highest first — a female head counts 1 and an
   ethnic minority counts 1, so a Khmer woman heading her household comes first — and ties by a
   random order drawn from ``random.Random(seed)`` over the eligible candidates sorted by
   household id (so the order in which the registry lists them does not matter).
5. The order within a group (``Pick.rank``: the invited, then the waitlist), and so who replaces
   a household that declines, interleaves the wards by the Sainte-Laguë (Webster) rule: the next
   seat goes to the ward that is the most under-filled, the one with the smallest
   ``(seats it holds + 1/2) / its candidates in the group``, and within that ward to its best
   remaining candidate (rule 4). Equal fill goes to the higher-scoring candidate, then the seeded
   order. The waitlist starts from the wards' invited counts, so each replacement goes where the
   proportions need it most and the ranking ends with every ward fully listed. Each ward's own
   candidates keep their rule-4 order inside the group's ranking, so an organiser who wants to
   replace a decline from the same ward just takes that ward's first waitlisted household.
   (Ordering the waitlist by score across all wards first was rejected: a ward with many female
   or Khmer heads would then take every early replacement and the proportions would drift.)
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import NamedTuple

PRIORITY_CATEGORIES = frozenset({"poor", "near_poor", "new_non_poor"})
CATEGORIES = PRIORITY_CATEGORIES | {"other"}
PRIORITY, OTHER = "priority", "other"
GROUPS = (PRIORITY, OTHER)

# Every ordering below is a sort of plain integers: Python sorts them fast, and unlike a tuple
# per candidate they give the cyclic garbage collector nothing to scan (the tuples took about
# 40% more time on 100,000 candidates). A candidate's *place* in its ward's queue (rule 4) packs, from high to low bits:
# 2 - score (2 bits, so the best score is the smallest), a lottery draw (53 bits) and the
# candidate's position among the eligible sorted by household id (32 bits): unique, so no two
# places tie, and the low bits give the candidate back.
_LOTTERY_BITS = 53
_POSITION_BITS = 32
_POSITION_MASK = (1 << _POSITION_BITS) - 1
_PLACE_BITS = 2 + _LOTTERY_BITS + _POSITION_BITS
# The interleaving (rule 5) puts the fill ratio (2k + 1) / n above the place, as the integer
# floor((2k + 1) * 2**64 / n): two different ratios with n below 2**32 differ by at least 1 / n²,
# more than 2**-64, so their floors differ too and compare the same way; equal ratios stay equal.
_RATIO_BITS = 64


class Candidate(NamedTuple):
    """A household as the draw sees it (a tuple: a registry of 100,000 is read into one each,
    and a tuple is made in a third of a frozen dataclass's time). The two flags may come from
    the database as 1 and 0, which count and compare as True and False."""

    household_id: int
    ward: str
    category: str  # "poor", "near_poor", "new_non_poor" (the priority group) or "other"
    female: bool  # female head of household
    minority: bool  # ethnic minority (Khmer, Hoa, ...)

    @property
    def group(self) -> str:
        return PRIORITY if self.category in PRIORITY_CATEGORIES else OTHER

    @property
    def score(self) -> int:
        # The plan asks to prefer female heads and ethnic minorities; neither outweighs the other.
        return int(self.female) + int(self.minority)


@dataclass(frozen=True, slots=True)
class Pick:
    household_id: int
    group: str  # "priority" or "other"
    rank: int  # 0-based order within its group: invited first, then the waitlist in order
    ward: str


@dataclass(frozen=True, slots=True)
class Shortfall:
    kind: str  # "priority" (fewer priority households than the minimum) or "total"
    wanted: int
    found: int


@dataclass
class WardLine:
    """One row of the composition table: who the ward sends, and what proportionality asked."""

    ward: str
    priority: int = 0  # among the invited
    other: int = 0
    female: int = 0
    minority: int = 0
    priority_share: int = 0  # the seats of each group that the apportionment gave this ward
    other_share: int = 0


@dataclass
class Selection:
    invited: list[Pick]  # the priority group in rank order, then the others
    waitlist: list[Pick]  # every other eligible candidate, ranked per group after its invited
    lines: list[WardLine]  # per participating ward, in the order given
    total: int
    minimum_priority: int
    shortfalls: list[Shortfall] = field(default_factory=list)

    @property
    def met(self) -> bool:
        return not self.shortfalls


def select_invitees(
    candidates: Iterable[Candidate],
    *,
    wards: Sequence[str],
    total: int = 80,
    minimum_priority: int = 60,
    seed: int,
    waitlist_depth: int | None = None,
) -> Selection:
    """Choose `total` households from `wards`, at least `minimum_priority` of the priority group.

    With `waitlist_depth`, each group's waitlist stops after that many households (the first of
    the full ranking, which stays the same): a session needs a few dozen replacements, and
    ranking a province's registry to the end would only be thrown away.

    Raises ValueError on impossible arguments (negative quotas, a minimum above the total), on an
    unknown category and on a household listed twice; TypeError when `wards` is a single string.
    """
    _check_arguments(wards, total=total, minimum_priority=minimum_priority)
    everyone = _checked(candidates)

    # A ward named twice is still one ward with one line.
    participating = list(dict.fromkeys(wards)) if wards else sorted({c.ward for c in everyone})
    rng = random.Random(seed)
    # Drawn from the names sorted, so that the order `wards` are listed in changes nothing.
    ward_draw = {w: i for i, w in enumerate(rng.sample(sorted(participating), len(participating)))}
    queues, eligible = _queues(everyone, participating, rng)

    found = {g: sum(len(q) for q in queues[g].values()) for g in GROUPS}
    others = min(found[OTHER], total - minimum_priority)
    priority = min(found[PRIORITY], total - others)  # the others' unused seats come back here
    seats = {PRIORITY: priority, OTHER: others}

    shortfalls = []
    if found[PRIORITY] < minimum_priority:
        shortfalls.append(Shortfall(PRIORITY, minimum_priority, found[PRIORITY]))
    if priority + others < total:
        shortfalls.append(Shortfall("total", total, priority + others))

    lines = {w: WardLine(w) for w in participating}
    invited: list[Pick] = []
    waitlist: list[Pick] = []
    into = (lines, invited, waitlist)
    for group in GROUPS:
        _seat_group(group, queues[group], seats[group], ward_draw, eligible, into, waitlist_depth)

    return Selection(
        invited=invited,
        waitlist=waitlist,
        lines=[lines[w] for w in participating],
        total=total,
        minimum_priority=minimum_priority,
        shortfalls=shortfalls,
    )


def _check_arguments(wards: Sequence[str], *, total: int, minimum_priority: int) -> None:
    if isinstance(wards, str):
        raise TypeError("wards must be a sequence of ward names, not a single string")
    if total < 0:
        raise ValueError(f"total must be zero or more, not {total}")
    if minimum_priority < 0:
        raise ValueError(f"minimum_priority must be zero or more, not {minimum_priority}")
    if minimum_priority > total:
        raise ValueError(
            f"minimum_priority ({minimum_priority}) cannot be more than total ({total})"
        )


def _checked(candidates: Iterable[Candidate]) -> list[Candidate]:
    """The candidates by household id, each known category, none listed twice."""
    # Sorting by household id first makes everything below independent of the registry's order.
    everyone = sorted(candidates, key=attrgetter("household_id"))
    for before, after in zip(everyone, everyone[1:], strict=False):
        if before.household_id == after.household_id:
            raise ValueError(f"household {after.household_id} is listed twice")
    unknown = next((c for c in everyone if c.category not in CATEGORIES), None)
    if unknown is not None:
        raise ValueError(
            f"household {unknown.household_id} has an unknown category {unknown.category!r} "
            f"(expected one of {', '.join(sorted(CATEGORIES))})"
        )
    return everyone


def _queues(
    everyone: list[Candidate], participating: list[str], rng: random.Random
) -> tuple[dict[str, dict[str, list[int]]], list[Candidate]]:
    """Each group's and ward's places, best first, and the eligible candidates they point to."""
    # queues[group][ward]: the places of the ward's candidates of the group, best first (rule 4).
    queues: dict[str, dict[str, list[int]]] = {g: {w: [] for w in participating} for g in GROUPS}
    priority_queues, other_queues = queues[PRIORITY], queues[OTHER]
    eligible: list[Candidate] = []
    draw = rng.getrandbits
    for c in everyone:
        by_ward = priority_queues if c.category in PRIORITY_CATEGORIES else other_queues
        queue = by_ward.get(c.ward)
        if queue is None:  # not a participating ward
            continue
        # Candidate.score, inlined: this loop runs once per candidate.
        rank_bits = (2 - c.female - c.minority) << _LOTTERY_BITS | draw(_LOTTERY_BITS)
        queue.append(rank_bits << _POSITION_BITS | len(eligible))
        eligible.append(c)
    if len(eligible) > _POSITION_MASK:
        raise ValueError(f"too many candidates ({len(eligible)}) for one selection")
    for by_ward in queues.values():
        for queue in by_ward.values():
            queue.sort()
    return queues, eligible


def _seat_group(
    group: str,
    by_ward: dict[str, list[int]],
    seats: int,
    ward_draw: dict[str, int],
    eligible: list[Candidate],
    into: tuple[dict[str, WardLine], list[Pick], list[Pick]],
    waitlist_depth: int | None,
) -> None:
    """The group's seats shared among the wards: its invited, its waitlist (the first
    `waitlist_depth` when given), each ward's line, added to `into`."""
    lines, invited, waitlist = into
    counts = {w: len(q) for w, q in by_ward.items()}
    shares = _apportion(seats, counts, ward_draw)
    group_invited = [eligible[i] for i in _interleave(by_ward, dict.fromkeys(by_ward, 0), shares)]
    for rank, c in enumerate(group_invited):
        invited.append(Pick(c.household_id, group, rank, c.ward))
        line = lines[c.ward]
        if group == PRIORITY:
            line.priority += 1
        else:
            line.other += 1
        line.female += c.female
        line.minority += c.minority
    waiting = _interleave(by_ward, shares, counts, limit=waitlist_depth)
    waitlist.extend(
        Pick(c.household_id, group, rank, c.ward)
        for rank, c in enumerate(map(eligible.__getitem__, waiting), start=len(group_invited))
    )
    for w, share in shares.items():
        if group == PRIORITY:
            lines[w].priority_share = share
        else:
            lines[w].other_share = share


def _apportion(seats: int, counts: dict[str, int], ward_draw: dict[str, int]) -> dict[str, int]:
    """Largest remainder: `seats` over the wards in proportion to `counts` (seats <= their sum).

    Exact integer arithmetic: a ward's quota is seats * count / pool, its remainder the numerator
    modulo pool (all remainders share the denominator, so they compare as integers).

    No ward can be given more seats than it has candidates, so the plan's "a ward short of its
    share hands the rest to the others" never has to be applied: the quota seats * n / pool is at
    most n because seats <= pool, and when it is not whole, rounding it up gives at most n again.
    """
    pool = sum(counts.values())
    if seats > pool:
        raise ValueError(f"cannot give {seats} seats to {pool} candidates")  # a caller's bug
    shares = dict.fromkeys(counts, 0)
    if seats == 0:
        return shares
    given = 0
    remainders = []
    for w, n in counts.items():
        whole, remainder = divmod(seats * n, pool)
        shares[w] = whole
        given += whole
        if n:
            remainders.append((-remainder, -n, ward_draw[w], w))
    remainders.sort()
    for *_, w in remainders[: seats - given]:
        shares[w] += 1
    return shares


def _interleave(
    queues: dict[str, list[int]],
    start: dict[str, int],
    stop: dict[str, int],
    *,
    limit: int | None = None,
) -> list[int]:
    """The positions of queues[w][start[w]:stop[w]] of every ward, in the Sainte-Laguë order
    (only the first `limit` of them when given).

    The k-th candidate (from 0) of a ward with n candidates in the group comes with the fill ratio
    (2k + 1) / n; handing out seats one at a time to the most under-filled ward is the same as
    sorting all candidates by that ratio (it grows with k, so each ward's own order is kept): one
    sort instead of a scan of every ward for every seat. Equal ratios fall back on the places.
    """
    keys: list[int] = []
    for w, queue in queues.items():
        n = len(queue)
        # A ward's keys grow with k, so the first `limit` overall hold at most `limit` of each.
        end = stop[w] if limit is None else min(stop[w], start[w] + limit)
        keys.extend(
            (((2 * k + 1) << _RATIO_BITS) // n) << _PLACE_BITS | place
            for k, place in enumerate(queue[start[w] : end], start[w])
        )
    keys.sort()
    return [key & _POSITION_MASK for key in keys[:limit]]
