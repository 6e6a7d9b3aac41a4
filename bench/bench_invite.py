"""Selection and enqueue of 100,000 households: choose them by quota from the registry, store
the selection, and write every invitation to the outbox (target: under 5 s in all).

    python bench/bench_invite.py    # SQLite, then PostgreSQL in a database of its own if it answers

Prints the time of each step and the households per second, with the machine it ran on.

    python bench/bench_invite.py --after-select                 # 20,000 households, 3,000 invited
    python bench/bench_invite.py --after-select --quick         # 2,000 households, 300 invited
    python bench/bench_invite.py --after-select --households 20000 --invite 3000 --repeats 3

The operator's way, on PostgreSQL (issue 10: 39 s for 3,000 before, target under 2 s): a
fresh database of its own with the registry (every household linked to a chat) and a
dialogue inviting --invite of them, then the real commands one after the other,
`doithoai dialogue select ID` and straight away `doithoai dialogue invite ID --no-send`, each a
process of its own. Prints the wall time of `invite`, of a bare `doithoai dialogue show ID` in
the same database (the command's start-up: Python, imports, settings, the schema check) as the
baseline, and the difference, with min/median/max over repeats (each in a fresh database).
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

from bot.services import Notifier  # noqa: E402
from bot.services.invitations import Invitations  # noqa: E402
from bot.services.selection import select_households  # noqa: E402
from storage.db import create_engine, session_factory, upgrade  # noqa: E402
from storage.dialogues import create_dialogue, get_dialogue  # noqa: E402
from storage.households import HouseholdRow, upsert_households  # noqa: E402
from storage.models import Household, HouseholdLink  # noqa: E402

N = 100_000
WARDS = [f"Phường {n}" for n in range(1, 11)]
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def machine() -> str:
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()}"
    )


async def _linked_registry(session, now: datetime) -> None:
    """N households (the same draw every run), every one linked to a Telegram chat."""
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


async def prepare(url: str) -> tuple[int, int]:
    """A registry of N households, every one linked to a chat, and two dialogues: one with the
    plan's quotas (80 of them invited), one that invites every household."""
    engine = create_engine(url)
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        await _linked_registry(session, now)
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
    invitations = Invitations(Notifier(sealer=None, zone=ZONE, default_locale="vi"))
    started = time.perf_counter()
    async with sessions() as session, session.begin():
        dialogue = await get_dialogue(session, dialogue_id=dialogue_id)
        assert dialogue is not None
        selection = await select_households(session, dialogue=dialogue, seed=1)
    selected = time.perf_counter()
    async with sessions() as session, session.begin():
        dialogue = await get_dialogue(session, dialogue_id=dialogue_id)
        result = await invitations.invite(session, dialogue=dialogue, now=datetime.now(UTC))
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

# `doithoai ARGS…` with the time from after the imports to the end printed on stderr: the
# command's own work (settings, engine, schema check, queries), not Python's start-up.
TIMED_COMMAND = """
import sys, time
from bot.cli import _register_subcommands, app
import bot.cli.dialogues, bot.dispatcher, bot.services.invitations, bot.services.selection
_register_subcommands()
started = time.perf_counter()
code = 0
try:
    app(args=sys.argv[1:], prog_name="doithoai")
except SystemExit as exc:
    code = exc.code
print(f"BENCH-WORK {time.perf_counter() - started:.3f}", file=sys.stderr)
sys.exit(code)
"""


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


def after_select(households: int, invited: int, repeats: int) -> None:
    """`doithoai dialogue select` then `doithoai dialogue invite --no-send` on a fresh
    PostgreSQL database, timed from outside."""
    import subprocess

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import header, load, scratch_database, spread

    header(
        "bench_invite --after-select: `dialogue invite` right after `dialogue select`, PostgreSQL",
        f"{households:,} households linked to chats, {invited:,} invited, {repeats} repeats",
    )
    global N
    N = households
    walls, works, bares, counts = [], [], [], []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(repeats):
            with scratch_database("postgresql") as url:
                dialogue_id = asyncio.run(prepare_one(url, invited))
                env = {k: v for k, v in os.environ.items() if not k.startswith("DOITHOAI_")}
                env.update(
                    {
                        "DOITHOAI_DATABASE_URL": url,
                        "DOITHOAI_SECRET_KEY": "b" * 64,
                        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
                        "COLUMNS": "200",
                    }
                )

                def command(*args: str, env=env) -> tuple[float, float, str]:
                    started = time.perf_counter()
                    done = subprocess.run(
                        [sys.executable, "-c", TIMED_COMMAND, *args],
                        env=env,
                        cwd=folder,
                        capture_output=True,
                        text=True,
                        timeout=600,
                    )
                    wall = time.perf_counter() - started
                    if done.returncode != 0:
                        raise RuntimeError(f"{args}: {done.stdout}{done.stderr}")
                    work = float(done.stderr.rsplit("BENCH-WORK", 1)[1].split()[0])
                    return wall, work, done.stdout

                select_wall, select_work, _ = command("dialogue", "select", str(dialogue_id))
                invite_wall, invite_work, out = command(
                    "dialogue", "invite", str(dialogue_id), "--no-send"
                )
                bare_wall, bare_work, _ = command("dialogue", "show", str(dialogue_id))
                queued = int(
                    next(w for w in out.split() if w.replace(",", "").isdigit()).replace(",", "")
                )
                walls.append(invite_wall)
                works.append(invite_work)
                bares.append(bare_work)
                counts.append(queued)
                print(
                    f"  select {select_wall:.2f} s (its work {select_work:.2f} s); invite "
                    f"{invite_wall:.2f} s, its work after the imports {invite_work:.2f} s "
                    f"({queued:,} queued); bare `dialogue show`: its work {bare_work:.2f} s "
                    f"(wall {bare_wall:.2f} s); {load()}",
                    flush=True,
                )
    print(
        f"`dialogue invite` of {counts[-1]:,} right after `select`, PostgreSQL: the command's "
        f"work {spread(works)} s [target < 2 s]; process wall {spread(walls)} s (Python and "
        f"imports included); bare `dialogue show`'s work {spread(bares)} s, invite / show "
        f"{spread([w / b for w, b in zip(works, bares, strict=True)])}; {load()}"
    )


async def prepare_one(url: str, invited: int) -> int:
    """The registry of N households, every one linked to a chat, and a dialogue inviting
    `invited` of them (three quarters from the priority group); its id."""
    engine = create_engine(url)
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        await _linked_registry(session, now)
        dialogue = await create_dialogue(
            session,
            title="Đối thoại bench",
            starts_at=now + timedelta(days=7),
            venue="Hội trường",
            wards=WARDS,
            quota_total=invited,
            quota_priority=invited * 3 // 4,
        )
        dialogue_id = dialogue.id
    await engine.dispose()
    return dialogue_id


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--after-select", action="store_true")
    parser.add_argument("--households", type=int, default=20_000)
    parser.add_argument("--invite", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.after_select:
        if args.quick:
            args.households, args.invite, args.repeats = 2000, 300, 1
        after_select(args.households, args.invite, args.repeats)
        return
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
