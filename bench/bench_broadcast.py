"""Broadcast throughput as a fraction of the configured rate limit (target: at least 0.95).

    python bench/bench_broadcast.py [--rates 25,100] [--seconds 12] [--no-postgres]

For each rate, a broadcast of rate x seconds messages to distinct people goes through the real
Outbox and TelegramChannel (python-telegram-bot over HTTP) to the fake Bot API, which runs in
a process of its own with no limit of its own. The throughput is measured where Telegram would
see it, from the fake's arrival times, over the steady part of the broadcast (the first and
last tenth of the messages left out). SQLite always; PostgreSQL too when it answers (a
`doithoai_bench` database is created beside DOITHOAI_TEST_PG's, default
postgresql://postgres@127.0.0.1:5432/test, and dropped afterwards). Figures are printed, never
asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.channels.telegram import TelegramChannel  # noqa: E402
from bot.core.clock import utcnow  # noqa: E402
from bot.outbox import Outbox  # noqa: E402
from storage.db import upgrade  # noqa: E402
from tests.support import (  # noqa: E402
    bulk_enqueue,
    clean_outbox,
    deliver_all,
    sessions_for,
    status_counts,
)
from tests.support.fake_server import FakeServer  # noqa: E402

PG_ADMIN_URL = os.environ.get("DOITHOAI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
BENCH_DB = "doithoai_bench"


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


async def _no_dispatch(incoming):
    raise AssertionError("the benchmark pushes no updates")


async def broadcast(
    url: str, fake: FakeServer, *, rate: float, count: int, first: int, workdir: Path
) -> dict[str, float]:
    """Deliver `count` messages at `rate`; the fake's view of it."""
    await clean_outbox(url)
    engine, sessions = sessions_for(url)
    await bulk_enqueue(sessions, count, prefix=f"bench{first}", first_recipient=first)
    channel = TelegramChannel(token=fake.token, api_url=fake.url, dispatch=_no_dispatch, rate=rate)
    await channel.application.initialize()
    outbox = Outbox(sessions, {channel.name: channel}, clock=utcnow)
    before = len(fake.dump(workdir / "before.json")["messages"])
    cpu = time.process_time()
    sent = await deliver_all(outbox, sessions, channel.name)
    cpu = time.process_time() - cpu
    counts = await status_counts(sessions)
    await channel.application.shutdown()
    await engine.dispose()
    await clean_outbox(url)
    assert sent == count and counts == {"sent": count}, (sent, counts)
    times = [at for _, _, at in fake.dump(workdir / "after.json")["messages"][before:]]
    assert len(times) == count, len(times)
    tenth = count // 10
    steady = times[tenth : count - tenth]
    throughput = (len(steady) - 1) / (steady[-1] - steady[0])
    whole = (count - 1) / (times[-1] - times[0])
    return {"steady": throughput, "whole": whole, "cpu_ms": 1000 * cpu / count}


async def postgres_url() -> str | None:
    """A scratch database beside the test one, or None (with the reason printed)."""
    import asyncpg

    try:
        connection = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    except Exception as exc:
        print(f"(PostgreSQL skipped: {PG_ADMIN_URL} unreachable: {exc})")
        return None
    try:
        await connection.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
        await connection.execute(f"CREATE DATABASE {BENCH_DB}")
    except Exception as exc:
        print(f"(PostgreSQL skipped: cannot create {BENCH_DB}: {exc})")
        return None
    finally:
        await connection.close()
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{BENCH_DB}".replace("postgresql://", "postgresql+asyncpg://", 1)


async def drop_postgres() -> None:
    import asyncpg

    connection = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    try:
        await connection.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    finally:
        await connection.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="25,100", help="messages a second, comma-separated")
    parser.add_argument("--seconds", type=float, default=12.0, help="length of each broadcast")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    counts = [int(rate * args.seconds) for rate in rates]

    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        databases = [("SQLite", f"sqlite+aiosqlite:///{workdir / 'bench.db'}")]
        if not args.no_postgres:
            url = await postgres_url()
            if url:
                databases.append(("PostgreSQL", url))
        fake = FakeServer(chats=range(1, 1 + len(databases) * sum(counts)))
        print(f"outbox broadcast throughput on {machine()}; fake Bot API in its own process")
        try:
            first = 1
            for name, url in databases:
                await asyncio.to_thread(upgrade, url)
                for rate, count in zip(rates, counts, strict=True):
                    r = await broadcast(
                        url, fake, rate=rate, count=count, first=first, workdir=workdir
                    )
                    first += count
                    print(
                        f"broadcast at {rate:g}/s: {r['steady']:.1f} msg/s = "
                        f"{r['steady'] / rate:.2f} of the limit ({name}, {count} messages; "
                        f"{r['whole'] / rate:.2f} first to last; {r['cpu_ms']:.1f} ms CPU a "
                        f"message) on {machine()}",
                        flush=True,
                    )
        finally:
            fake.close()
            if len(databases) > 1:
                await drop_postgres()


if __name__ == "__main__":
    asyncio.run(main())
