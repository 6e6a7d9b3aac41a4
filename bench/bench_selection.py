"""How fast select_invitees chooses from a city-sized registry: 100,000 households, 10 wards.

Run: python bench/bench_selection.py. Prints one line per case: the best wall-clock time of a
few runs (the least disturbed by whatever else the machine is doing) as a rate, the median, the
CPU time of the best run (which other processes on a shared machine inflate less), and the
machine it ran on. It asserts nothing about time: figures depend on the machine.
"""

from __future__ import annotations

import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from storage.selection import Candidate, select_invitees  # noqa: E402

HOUSEHOLDS = 100_000
WARDS = [f"Phường {n}" for n in range(1, 8)] + ["Xã Long Đức", "Xã Nguyệt Hóa", "Xã Hòa Thuận"]
CASES = [(80, 60), (20_000, 15_000)]  # (total, minimum_priority)
REPETITIONS = 5


def registry(seed: int = 2023) -> list[Candidate]:
    """Wards of uneven size; about half the households in the priority group (hộ nghèo, cận
    nghèo, mới thoát nghèo), a third of the heads women, a fifth Khmer or other minorities."""
    rng = random.Random(seed)
    weights = [rng.uniform(0.5, 2.0) for _ in WARDS]
    categories = ["poor", "near_poor", "new_non_poor", "other"]
    category_weights = [0.2, 0.15, 0.15, 0.5]
    candidates = [
        Candidate(
            household_id=household_id,
            ward=rng.choices(WARDS, weights)[0],
            category=rng.choices(categories, category_weights)[0],
            female=rng.random() < 0.35,
            minority=rng.random() < 0.2,
        )
        for household_id in range(1, HOUSEHOLDS + 1)
    ]
    rng.shuffle(candidates)  # a registry is not sorted the way the selection needs it
    return candidates


def machine() -> str:
    return f"{platform.processor() or platform.machine()} {os.cpu_count()} cores"


def main() -> None:
    candidates = registry()
    for total, minimum_priority in CASES:
        runs = []  # (wall, cpu)
        for seed in range(REPETITIONS):
            wall, cpu = time.perf_counter(), time.process_time()
            selection = select_invitees(
                candidates, wards=WARDS, total=total, minimum_priority=minimum_priority, seed=seed
            )
            runs.append((time.perf_counter() - wall, time.process_time() - cpu))
        best, best_cpu = min(runs)
        median = statistics.median(wall for wall, _ in runs)
        print(
            f"selection of {HOUSEHOLDS:,} households, {len(selection.invited):,} invited "
            f"(total {total:,}, minimum priority {minimum_priority:,}): {best:.2f} s "
            f"({HOUSEHOLDS / best:,.0f} households/s, best of {REPETITIONS}; median {median:.2f} s; "
            f"CPU {best_cpu:.2f} s) on {machine()}, Python {platform.python_version()}"
        )


if __name__ == "__main__":
    main()
