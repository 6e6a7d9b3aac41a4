"""The command line's start-up and an organiser's two commands at a city's scale.

    python bench/bench_cli.py [--repeat 7]

1. `doithoai --help`, wall time of the whole process, against `python -c pass` run the same
   way (target: less than 0.5 s more);
2. `doithoai dialogue select` then `doithoai dialogue invite --no-send` of 80 households from a
   registry of 100,000 on SQLite, both processes, wall time (target: under 2 s together).

Each figure is min / median / max over the repeats, printed with the machine and its load
average (the machine is shared: compare the minimums). Nothing here is asserted by the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

N = 100_000
WARDS = [f"Phường {n}" for n in range(1, 11)]


def machine() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {load}"
    )


def wall(argv: list[str], *, env: dict[str, str] | None = None, cwd: Path = ROOT) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:4])}… failed:\n{done.stdout}{done.stderr}")
    return elapsed


def spread(values: list[float]) -> str:
    return (
        f"min {min(values):.3f} s, median {statistics.median(values):.3f} s, "
        f"max {max(values):.3f} s"
    )


def doithoai(*args: str) -> list[str]:
    return [sys.executable, "-c", "from bot.cli import main; main()", *args]


async def prepare(url: str) -> int:
    """A registry of N households (a fifth linked to a chat) and a dialogue of 80 over it."""
    from sqlalchemy import insert, select

    from storage.db import create_engine, session_factory
    from storage.dialogues import create_dialogue
    from storage.households import HouseholdRow, upsert_households
    from storage.models import Household, HouseholdLink

    rnd = random.Random(2026)
    rows = [
        HouseholdRow(
            code=f"HH-{n:06}",
            head_name=f"Chủ hộ {n}",
            gender=rnd.choice(["female", "male"]),
            ethnicity=rnd.choice(["Kinh", "Kinh", "Khmer", "Hoa"]),
            category=rnd.choice(["poor", "near_poor", "new_non_poor", "other"]),
            ward=rnd.choice(WARDS),
        )
        for n in range(N)
    ]
    engine = create_engine(url)
    now = datetime.now(UTC)
    try:
        async with session_factory(engine)() as session, session.begin():
            await upsert_households(session, rows=rows)
            ids = list(await session.scalars(select(Household.id)))
            links = [
                {
                    "household_id": h,
                    "channel": "telegram",
                    "user_id": str(10_000_000 + h),
                    "linked_at": now,
                    "last_used_at": now,
                }
                for h in ids[::5]
            ]
            for start in range(0, len(links), 5000):
                await session.execute(insert(HouseholdLink), links[start : start + 5000])
            dialogue = await create_dialogue(
                session,
                title="Đối thoại chính sách giảm nghèo",
                starts_at=now + timedelta(days=20),
                venue="Hội trường",
                wards=WARDS,
                quota_total=80,
                quota_priority=60,
            )
            return dialogue.id
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    repeat = parser.parse_args().repeat
    print(f"machine: {machine()}")

    env = {k: v for k, v in os.environ.items() if not k.startswith("DOITHOAI_")}
    bare = [wall([sys.executable, "-c", "pass"], env=env) for _ in range(repeat)]
    helps = [wall(doithoai("--help"), env=env) for _ in range(repeat)]
    print(f"python -c pass:   {spread(bare)}")
    print(f"doithoai --help:  {spread(helps)}")
    print(
        f"  --help minus pass: {min(helps) - min(bare):.3f} s at the minimums, "
        f"{statistics.median(helps) - statistics.median(bare):.3f} s at the medians "
        "(target < 0.5 s)"
    )

    from storage.db import upgrade

    rounds = max(3, repeat // 2)
    selects, invites, together = [], [], []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory(prefix="doithoai-bench-cli-") as folder:
            url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
            upgrade(url)
            dialogue = asyncio.run(prepare(url))
            run_env = {
                **env,
                "DOITHOAI_DATABASE_URL": url,
                "DOITHOAI_TELEGRAM_BOT_USERNAME": "doithoai_bench_bot",
            }
            chosen = wall(
                doithoai("dialogue", "select", str(dialogue)), env=run_env, cwd=Path(folder)
            )
            sent = wall(
                doithoai("dialogue", "invite", str(dialogue), "--no-send"),
                env=run_env,
                cwd=Path(folder),
            )
            selects.append(chosen)
            invites.append(sent)
            together.append(chosen + sent)
    print(f"select 80 of {N:,} (SQLite):         {spread(selects)}")
    print(f"invite --no-send (SQLite):          {spread(invites)}")
    print(f"  both processes: {spread(together)} (target < 2 s)")
    print(f"machine after: {machine()}")


if __name__ == "__main__":
    main()
