"""A broadcast delivered by the real `doithoai run` over loopback HTTP to a fake Bot API that
enforces Telegram's limits: the rate achieved as a fraction of the configured one, 429s, CPU
per delivered message and peak memory.

    python bench/bench_delivery.py                       # 10,000 at RATE=25 (fake: 30/s) and at 100 (fake: 100/s)
    python bench/bench_delivery.py --quick               # 300 at 25 and 600 at 100, SQLite
    python bench/bench_delivery.py --count 1500 --db sqlite,postgresql
    python bench/bench_delivery.py --big                 # 100,000 at 100/s: RSS at 10k vs at 100k (~17 min)

The messages (to distinct people, each text carrying its key) are written to the outbox as a
fan-out writes them, then `doithoai run` is started and delivers them. The fake (in this
process) limits sendMessage to 30 a second overall for RATE=25 (Telegram's limit) and to 100 a
second for RATE=100, and to one a second per chat. The rate is taken from the fake's arrival
times over the steady part (first and last tenth left out); CPU per message is the process's
CPU time (user + system, /proc) between the first message arriving and the last, divided by
the messages in between (start-up excluded); peak RSS is VmHWM of the process at the end.
"""

from __future__ import annotations

import argparse
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
    per_second,
    proc_cpu,
    proc_rss,
    received,
    scratch_database,
    spread,
    steady_rate,
    tightest,
)

FAKE_LIMIT = {25.0: 30.0, 100.0: 100.0}  # the fake's overall limit for each configured rate


def deliver(url: str, count: int, rate: float, workdir: Path, *, checkpoints=()) -> dict:
    fake = BenchBotAPI()
    first = 3_000_000
    fake.add_private_chats(range(first, first + count))
    fake.set_rate_limit(per_second=FAKE_LIMIT.get(rate, rate), per_chat_per_second=1)
    fake.start()
    filled = time.monotonic()
    fill_broadcast(url, count, first_recipient=first)
    filled = time.monotonic() - filled
    probe = DbProbe(url)
    service = doithoai(
        "run",
        database_url=url,
        api_url=fake.url,
        workdir=workdir,
        name=f"delivery-{db_label(url)}-{rate:g}",
        rate=rate,
    ).start()
    figures: dict = {"fill_s": filled, "rss_at": {}}
    try:
        cpu0 = sent0 = None
        cpu1 = sent1 = 0
        started = time.monotonic()
        pending_checkpoints = sorted(checkpoints)
        while True:
            if not service.alive():
                raise RuntimeError(service.log_tail())
            sent = fake.counts()["sent"]
            if sent and cpu0 is None:
                cpu0, sent0 = proc_cpu(service.pid), sent
            if sent > (sent1 or 0):
                cpu1, sent1 = proc_cpu(service.pid), sent
            while pending_checkpoints and sent >= pending_checkpoints[0]:
                figures["rss_at"][pending_checkpoints.pop(0)] = proc_rss(service.pid)
            if sent >= count and in_flight(probe) == 0:
                break
            if time.monotonic() - started > count / rate * 3 + 180:
                raise RuntimeError(f"only {sent} of {count} sent")
            time.sleep(0.1)
        figures["rss"] = proc_rss(service.pid)
        figures["cpu_ms"] = (cpu1 - cpu0) * 1000 / max(1, sent1 - sent0)
        figures["statuses"] = dict(Counter_of(probe))
    finally:
        probe.close()
        figures["exit"] = service.stop()
        fake.stop()
    got = received(fake)
    times = [at for _, at in got]
    keys = Counter(key for key, _ in got)
    figures["sent"] = len(got)
    figures["duplicates"] = sum(n - 1 for n in keys.values() if n > 1)
    figures["rate"] = steady_rate(times)
    figures["max_second"], _ = per_second(times)
    figures["429"] = fake.rate_limited
    figures["violations"] = len(fake.violations)
    limit = int(FAKE_LIMIT.get(rate, rate))
    figures["tightest"] = (limit + 1, tightest(fake, limit))
    return figures


def Counter_of(probe: DbProbe) -> Counter:  # noqa: N802
    rows = probe.loop.run_until_complete(_statuses(probe))
    return Counter(dict(rows))


async def _statuses(probe: DbProbe):
    from sqlalchemy import text

    result = await probe.connection.execute(
        text("SELECT status, count(*) FROM outbox GROUP BY status")
    )
    rows = list(result)
    await probe.connection.commit()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="messages at each rate")
    parser.add_argument("--rates", default="25,100")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--quick", action="store_true", help="300 at 25 and 600 at 100, SQLite")
    parser.add_argument("--big", action="store_true", help="100,000 at 100/s, RSS at 10k vs 100k")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    if args.quick:
        args.db = "sqlite"
    if args.big:
        rates, args.count = [100.0], 100_000
    header(
        "bench_delivery: a broadcast through `doithoai run` against a rate-limited fake",
        ("300 at 25/s and 600 at 100/s" if args.quick else f"{args.count:,} at each of {rates}")
        + f"; {args.repeats} repeats; databases {args.db}",
    )
    with tempfile.TemporaryDirectory(prefix="bench-delivery-") as folder:
        workdir = Path(folder)
        for kind in kinds(args.db):
            for rate in rates:
                count = (300 if rate <= 25 else 600) if args.quick else args.count
                runs = []
                for _ in range(args.repeats):
                    with scratch_database(kind) as url:
                        label = db_label(url)
                        checkpoints = (10_000, count) if count > 10_000 else ()
                        f = deliver(url, count, rate, workdir, checkpoints=checkpoints)
                    runs.append(f)
                    print(
                        f"  {label} RATE={rate:g}: {f['sent']:,} delivered, {f['rate']:.1f}/s "
                        f"steady = {f['rate'] / rate:.3f} of the rate, most in a second "
                        f"{f['max_second']}, {f['429']} × 429, {f['duplicates']} duplicates, "
                        f"CPU {f['cpu_ms']:.2f} ms a message, RSS peak {f['rss'][1]:.0f} MB "
                        f"(now {f['rss'][0]:.0f}); the tightest {f['tightest'][0]} requests in a row within "
                        f"{f['tightest'][1] * 1000:.0f} ms; outbox {f['statuses']}; {load()}",
                        flush=True,
                    )
                    for at, (now, peak) in f["rss_at"].items():
                        print(
                            f"    RSS after {at:,} sent: {now:.0f} MB (peak so far {peak:.0f} MB)"
                        )
                target = "≥ 0.97" if rate <= 25 else "≥ 0.95"
                print(
                    f"{label} RATE={rate:g} ({count:,} messages, fake limit "
                    f"{FAKE_LIMIT.get(rate, rate):g}/s): achieved/configured "
                    f"{spread([r['rate'] / rate for r in runs], '{:.3f}')} [target {target}, 0 × 429]; "
                    f"429s {spread([r['429'] for r in runs], '{:.0f}')}; CPU a message "
                    f"{spread([r['cpu_ms'] for r in runs])} ms [target ≤ 3]; peak RSS "
                    f"{spread([r['rss'][1] for r in runs], '{:.0f}')} MB [target < 120]",
                    flush=True,
                )
    print(f"# done; {load()}")


if __name__ == "__main__":
    main()
