"""Peak memory while the outbox delivers a large broadcast: it should not grow with its size.

    python bench/bench_memory.py [--sizes 10000,50000,100000] [--rate 100000] [--trace]

For each size N, a fresh child process enqueues N messages to distinct people in bulk (into a
temporary SQLite database), then delivers them through the real Outbox to a trivial in-process
channel (no network, zero spacing, `--rate` messages a second, so that it runs as fast as the
outbox itself can). It reports the growth of the process's peak resident size (getrusage
maxrss) during delivery, over what it was once the rows were enqueued, and with --trace the
peak of Python allocations during delivery (tracemalloc; about four times slower). The figures
are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core.clock import utcnow  # noqa: E402
from bot.core.messages import Address, Delivery, Reply, SendResult  # noqa: E402
from bot.outbox import Outbox  # noqa: E402
from storage.db import upgrade  # noqa: E402
from tests.support import bulk_enqueue, deliver_all, sessions_for, status_counts  # noqa: E402

MB = 1024 * 1024


class NullChannel:
    """The Channel protocol and nothing else: every message 'sent' at once."""

    name = "null"
    spacing = timedelta(0)

    def __init__(self, rate: float):
        self.rate = rate
        self.sent = 0

    async def send(self, address: Address, reply: Reply) -> Delivery:
        self.sent += 1
        return Delivery(SendResult.SENT)


def maxrss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux


async def measure(size: int, rate: float, trace: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"
        await asyncio.to_thread(upgrade, url)
        engine, sessions = sessions_for(url)
        await bulk_enqueue(sessions, size, channel=NullChannel.name)
        channel = NullChannel(rate)
        outbox = Outbox(sessions, {channel.name: channel}, clock=utcnow)
        rss_before = maxrss_bytes()
        if trace:
            tracemalloc.start()
        started = time.monotonic()
        sent = await deliver_all(outbox, sessions, channel.name)
        elapsed = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1] if trace else 0
        tracemalloc.stop()
        rss_growth = maxrss_bytes() - rss_before
        counts = await status_counts(sessions)
        await engine.dispose()
    assert sent == size == channel.sent and counts == {"sent": size}, (sent, counts)
    return {
        "size": size,
        "seconds": elapsed,
        "traced_peak_mb": peak / MB,
        "rss_growth_mb": rss_growth / MB,
        "rss_peak_mb": maxrss_bytes() / MB,
    }


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000,100000")
    parser.add_argument("--rate", type=float, default=100_000.0, help="the channel's rate")
    parser.add_argument("--trace", action="store_true", help="tracemalloc too (slower)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # the child's job
    args = parser.parse_args()
    if args.one:
        result = asyncio.run(measure(args.one, args.rate, args.trace))
        print(json.dumps(result))
        return
    print(f"outbox memory, channel at {args.rate:g}/s, zero spacing, SQLite, on {machine()}")
    for size in (int(s) for s in args.sizes.split(",")):
        command = [sys.executable, __file__, "--one", str(size), "--rate", str(args.rate)]
        if args.trace:
            command.append("--trace")
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        r = json.loads(output.strip().splitlines()[-1])
        traced = f"tracemalloc peak {r['traced_peak_mb']:6.1f} MB, " if args.trace else ""
        print(
            f"{size:>7} messages: {traced}maxrss +{r['rss_growth_mb']:6.1f} MB "
            f"(peak {r['rss_peak_mb']:.0f} MB), {r['seconds']:.0f} s "
            f"({size / r['seconds']:.0f} messages/s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
