"""SIGKILLs of the real `doithoai run` in the middle of a broadcast: duplicates, rows left stuck,
rows of unknown fate against the bound (kills × WIRE), and whether `doithoai outbox unknown`
lists every one.

    python bench/bench_kills.py                      # 30 kills during 5,000 sends, SQLite and PostgreSQL
    python bench/bench_kills.py --quick              # 5 kills during 500 sends, SQLite
    python bench/bench_kills.py --kills 10 --count 2000 --db sqlite,postgresql

The messages (distinct people, each text carrying its key) are in the outbox before the first
start. Then, again and again: `doithoai run` is started, once the fake has received a new
message it is left to send for a random 0.05–2 s, and killed with SIGKILL. Every other restart
comes "long after" the crash: the dead process's leases are moved into the past by the lease's
length (as tests/test_outbox_resilience.py does), the others straight away while the leases
still hold. After the last kill, the leases are aged, `doithoai run` runs until nothing is
pending, claimed or sending, and is stopped with SIGTERM. The fake (in this process) enforces
the given overall rate and one message a second per chat; the service runs at that rate.

Printed: duplicates (keys the fake accepted twice), stuck rows (still pending/claimed/sending
after the final run: none if it finished), unknown rows against 8 × kills (WIRE, the rows one
process marks "sending" at once), how many unknown ones did reach the fake, and the unknown
rows `doithoai outbox unknown` does not list.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

from _common import (
    BenchBotAPI,
    DbProbe,
    db_label,
    doithoai,
    fill_broadcast,
    header,
    in_flight,
    kinds,
    load,
    received,
    scratch_database,
    wait_for,
)

from bot.outbox import WIRE
from storage.outbox import LEASE
from tests.support import age_leases, sessions_for

ROW = re.compile(r"^\s*[│┃|]\s*(\d+)\s*[│┃|]")


def age(url: str) -> None:
    from datetime import timedelta

    async def run() -> None:
        engine, sessions = sessions_for(url)
        try:
            await age_leases(sessions, by=LEASE + timedelta(seconds=5))
        finally:
            await engine.dispose()

    asyncio.run(run())


def listed_unknown(url: str, fake_url: str, workdir: Path) -> tuple[set[int], str]:
    """The numbers `doithoai outbox unknown` prints, and its last line."""
    command = doithoai("outbox", "unknown", database_url=url, api_url=fake_url, workdir=workdir)
    env = dict(command.env, COLUMNS="200")
    done = subprocess.run(
        command.argv, env=env, cwd=workdir, capture_output=True, text=True, timeout=120
    )
    numbers = {int(m.group(1)) for line in done.stdout.splitlines() if (m := ROW.match(line))}
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return numbers, (lines[-1] if lines else done.stderr.strip())


def run_one(url: str, args, workdir: Path, seed: int) -> None:
    label = db_label(url)
    rng = random.Random(seed)
    fake = BenchBotAPI()
    first = 4_000_000
    fake.add_private_chats(range(first, first + args.count))
    fake.set_rate_limit(
        per_second=args.rate * 1.2 if args.rate <= 25 else args.rate, per_chat_per_second=1
    )
    fake.start()
    fill_broadcast(url, args.count, first_recipient=first, prefix="invite-bench")
    probe = DbProbe(url)
    service = doithoai(
        "run",
        database_url=url,
        api_url=fake.url,
        workdir=workdir,
        name=f"kills-{label}",
        rate=args.rate,
    )
    started = time.monotonic()
    kills = 0
    try:
        for kill in range(args.kills):
            before = fake.counts()["sent"]
            service.start()

            def sending(before=before) -> bool:
                if not service.alive():
                    raise RuntimeError(service.log_tail())
                return fake.counts()["sent"] > before

            wait_for(sending, timeout=120, what="the service sends")
            time.sleep(rng.uniform(0.05, 2.0))
            service.kill()
            kills += 1
            if kill % 2:
                age(url)
            if in_flight(probe) == 0:
                print(f"  the broadcast ended after {kills} kills")
                break
        age(url)
        service.start()
        final = time.monotonic()
        stuck = None
        while True:
            if not service.alive():
                raise RuntimeError(service.log_tail())
            left = in_flight(probe)
            if left == 0:
                stuck = 0
                break
            if time.monotonic() - final > args.count / args.rate * 2 + 120:
                stuck = left
                break
            time.sleep(0.2)
        code = service.stop()
        elapsed = time.monotonic() - started
        statuses = Counter(
            dict(
                probe.loop.run_until_complete(
                    _rows(probe, "SELECT status, count(*) FROM outbox GROUP BY status")
                )
            )
        )
        unknown_ids = {
            row[0]
            for row in probe.loop.run_until_complete(
                _rows(probe, "SELECT id, key FROM outbox WHERE status = 'unknown'")
            )
        }
        unknown_keys = {
            row[1]
            for row in probe.loop.run_until_complete(
                _rows(probe, "SELECT id, key FROM outbox WHERE status = 'unknown'")
            )
        }
    finally:
        probe.close()
        service.stop()
        fake.stop()
    got = Counter(key for key, _ in received(fake))
    duplicates = {k: n for k, n in got.items() if n > 1}
    unknown_reached = sum(1 for k in unknown_keys if k in got)
    listed, last_line = listed_unknown(url, fake.url, workdir)
    missing = unknown_ids - listed
    bound = kills * WIRE
    print(
        f"{label}: {kills} SIGKILLs during {args.count:,} sends at RATE={args.rate:g} "
        f"(seed {seed}, {service.starts} starts, {elapsed:.0f} s): "
        f"{len(duplicates)} duplicates [target 0]; {stuck} stuck [target 0]; "
        f"{len(unknown_ids)} unknown vs {bound} = {WIRE} × kills [target ≤], of which "
        f"{unknown_reached} did reach the fake; `doithoai outbox unknown` lists {len(listed)}, "
        f"missing {len(missing)} [target 0] (its last line: {last_line!r}); outbox {dict(statuses)}; "
        f"fake's 429s {fake.rate_limited}; exit code {code}; {load()}",
        flush=True,
    )
    cut_off = [v for v in fake.violations if v.endswith("(params: {})")]
    if len(fake.violations) != len(cut_off):
        print(f"  fake's violations: {[v for v in fake.violations if v not in cut_off][:3]}")


async def _rows(probe: DbProbe, sql: str):
    from sqlalchemy import text

    rows = list(await probe.connection.execute(text(sql)))
    await probe.connection.commit()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=100.0, help="service's RATE and fake's limit")
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="5 kills during 500 sends, SQLite")
    args = parser.parse_args()
    if args.quick:
        args.kills, args.count, args.db = 5, 500, "sqlite"
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(3), "big")
    header(
        "bench_kills: SIGKILLs of `doithoai run` during a broadcast",
        f"{args.kills} kills during {args.count:,} sends at RATE={args.rate:g}; databases {args.db}",
    )
    with tempfile.TemporaryDirectory(prefix="bench-kills-") as folder:
        for kind in kinds(args.db):
            with scratch_database(kind) as url:
                run_one(url, args, Path(folder), seed)
    print(f"# done; {load()}")


if __name__ == "__main__":
    main()
