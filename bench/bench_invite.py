"""Selection and enqueue of 100,000 households: choose them by quota from the registry, store
the selection, and write every invitation to the outbox (target: under 5 s in all).

    python bench/bench_invite.py    # SQLite, then PostgreSQL in a database of its own if it answers

Prints the time of each step and the households per second, with the machine it ran on.
"""

from __future__ import annotations

import asyncio
import os
import platform
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select  # noqa: E402

from bot.cli_dialogues import waitlist_depth  # noqa: E402
from handlers.invitations import invite_selected  # noqa: E402
from storage import invitations as inv  # noqa: E402
from storage.db import create_engine, session_factory, upgrade  # noqa: E402
from storage.dialogues import create_dialogue  # noqa: E402
from storage.households import HouseholdRow, is_minority, upsert_households  # noqa: E402
from storage.models import Household, HouseholdLink  # noqa: E402
from storage.selection import Candidate, select_invitees  # noqa: E402

N = 100_000
WARDS = [f"Phường {n}" for n in range(1, 11)]
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def machine() -> str:
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()}"
    )


async def prepare(url: str) -> tuple[int, int]:
    """A registry of N households, every one linked to a chat, and two dialogues: one with the
    plan's quotas (80 of them invited), one that invites every household."""
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
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
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
            for h in ids
        ]
        for start in range(0, len(links), 5000):
            await session.execute(insert(HouseholdLink), links[start : start + 5000])
        plan = await create_dialogue(
            session,
            title="The plan's quotas",
            starts_at=now + timedelta(days=7),
            venue="Hội trường",
            wards=WARDS,
            quota_total=80,
            quota_priority=60,
        )
        everyone = await create_dialogue(
            session,
            title="Every household",
            starts_at=now + timedelta(days=7),
            venue="Hội trường",
            wards=WARDS,
            quota_total=N,
            quota_priority=N * 3 // 4 - 1000,
        )
        dialogue_ids = (plan.id, everyone.id)
    await engine.dispose()
    return dialogue_ids


async def measure(url: str, dialogue_id: int) -> tuple[float, float, int, int]:
    engine = create_engine(url)
    sessions = session_factory(engine)
    started = time.perf_counter()
    async with sessions() as session, session.begin():
        from storage.dialogues import get_dialogue

        dialogue = await get_dialogue(session, dialogue_id=dialogue_id)
        assert dialogue is not None
        query = select(
            Household.id, Household.ward, Household.category, Household.gender, Household.ethnicity
        ).where(Household.ward.in_(dialogue.wards))
        candidates = [
            Candidate(h, w, c, g == "female", is_minority(e))
            for h, w, c, g, e in await session.execute(query)
        ]
        selection = select_invitees(
            candidates,
            wards=dialogue.wards,
            total=dialogue.quota_total,
            minimum_priority=dialogue.quota_priority,
            seed=1,
        )
        await inv.save_selection(
            session,
            dialogue_id=dialogue.id,
            chosen=[(p.household_id, p.group, p.rank) for p in selection.invited],
            waiting=[(p.household_id, p.group, p.rank) for p in selection.waitlist],
            waitlist_depth=waitlist_depth(dialogue.quota_total),
        )
    selected = time.perf_counter()
    async with sessions() as session, session.begin():
        dialogue = await get_dialogue(session, dialogue_id=dialogue_id)
        result = await invite_selected(
            session, dialogue=dialogue, now=datetime.now(UTC), default_locale="vi", zone=ZONE
        )
    invited = time.perf_counter()
    await engine.dispose()
    return selected - started, invited - selected, len(selection.invited), result.queued


def report(kind: str, select_s: float, invite_s: float, chosen: int, queued: int) -> None:
    total = select_s + invite_s
    print(
        f"selection from {N:,} households ({chosen:,} chosen) on {kind}: {select_s:.2f} s; "
        f"enqueue of {queued:,} invitations: {invite_s:.2f} s; "
        f"together {total:.2f} s = {N / total:,.0f} households/s "
        f"({total / 5:.2f} of the 5 s target) on {machine()}"
    )


BENCH_DB = "doithoai_bench"


async def fresh_postgresql(admin_url: str) -> str:
    """A database of its own for the benchmark (never the tests' one), made empty."""
    import asyncpg

    connection = await asyncpg.connect(admin_url, timeout=5)
    await connection.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
    await connection.execute(f"CREATE DATABASE {BENCH_DB}")
    await connection.close()
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{BENCH_DB}"


async def drop_postgresql(admin_url: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(admin_url, timeout=5)
    await connection.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
    await connection.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        upgrade(url)
        for dialogue_id in asyncio.run(prepare(url)):
            report("SQLite", *asyncio.run(measure(url, dialogue_id)))
    admin = os.environ.get("DOITHOAI_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        pg = asyncio.run(fresh_postgresql(admin))
    except Exception as exc:  # no PostgreSQL here: SQLite's figure stands alone
        print(f"PostgreSQL skipped: {exc}")
        return
    try:
        upgrade(pg)
        for dialogue_id in asyncio.run(prepare(pg)):
            report("PostgreSQL", *asyncio.run(measure(pg, dialogue_id)))
    finally:
        asyncio.run(drop_postgresql(admin))


if __name__ == "__main__":
    main()
