"""Several `doithoai run` processes sharing one PostgreSQL database and one rate budget, against
a fake Bot API that allows exactly that rate: the most messages in any second, the seconds
above the limit, 429s and duplicates, with one process alone as the baseline.

    python bench/bench_processes.py                  # 1, 2 and 4 processes, RATE=40, 2,400 messages each
    python bench/bench_processes.py --quick          # 1 and 2 processes, 400 messages
    python bench/bench_processes.py --procs 2,4 --count 1200

The messages (distinct people, each text carrying its key) are in the outbox before the
processes start; they start together and run until nothing is left to send. The fake (in this
process) refuses with 429 any sendMessage past --rate in a sliding second, and a second one to
a chat within a second. "Most in a second" is over any sliding one-second window of the fake's
arrival times; "seconds above" counts whole seconds from the first message.
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
    doithoai,
    fill_broadcast,
    header,
    in_flight,
    load,
    per_second,
    received,
    scratch_database,
    steady_rate,
    tightest,
)


def run_one(procs: int, args, workdir: Path) -> dict:
    with scratch_database("postgresql") as url:
        fake = BenchBotAPI()
        first = 5_000_000
        fake.add_private_chats(range(first, first + args.count))
        fake.set_rate_limit(per_second=args.rate, per_chat_per_second=1)
        fake.start()
        fill_broadcast(url, args.count, first_recipient=first)
        probe = DbProbe(url)
        services = [
            doithoai(
                "run",
                database_url=url,
                api_url=fake.url,
                workdir=workdir,
                name=f"procs{procs}-{n}",
                rate=args.rate,
            )
            for n in range(procs)
        ]
        try:
            for service in services:
                service.start()
            started = time.monotonic()
            while fake.counts()["sent"] < args.count or in_flight(probe):
                for service in services:
                    if not service.alive():
                        raise RuntimeError(service.log_tail())
                if time.monotonic() - started > args.count / args.rate * 3 + 180:
                    print(f"  gave up: {fake.counts()} after {time.monotonic() - started:.0f} s")
                    break
                time.sleep(0.2)
            codes = [service.stop() for service in services]
        finally:
            probe.close()
            for service in services:
                service.stop()
            fake.stop()
    got = received(fake)
    times = [at for _, at in got]
    most, buckets = per_second(times)
    keys = Counter(key for key, _ in got)
    return {
        "sent": len(got),
        "most": most,
        "above": sum(1 for b in buckets if b > args.rate),
        "seconds": len(buckets),
        "max_bucket": max(buckets, default=0),
        "429": fake.rate_limited,
        "duplicates": sum(n - 1 for n in keys.values() if n > 1),
        "rate": steady_rate(times),
        "codes": codes,
        "tightest": tightest(fake, int(args.rate)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procs", default="1,2,4")
    parser.add_argument("--count", type=int, default=2400)
    parser.add_argument("--rate", type=float, default=40.0)
    parser.add_argument("--quick", action="store_true", help="1 and 2 processes, 400 messages")
    args = parser.parse_args()
    if args.quick:
        args.procs, args.count = "1,2", 400
    header(
        "bench_processes: several `doithoai run` on one PostgreSQL sharing RATE",
        f"processes {args.procs}; {args.count:,} messages each run; RATE={args.rate:g} and a "
        f"fake allowing {args.rate:g}/s and 1/s a chat",
    )
    with tempfile.TemporaryDirectory(prefix="bench-procs-") as folder:
        alone = None
        for procs in (int(p) for p in args.procs.split(",")):
            f = run_one(procs, args, Path(folder))
            if procs == 1:
                alone = f["rate"]
            ratio = f" = {f['rate'] / alone:.2f} × one process's" if alone and procs > 1 else ""
            print(
                f"{procs} process(es): {f['sent']:,} delivered in {f['seconds']} s, steady "
                f"{f['rate']:.1f}/s = {f['rate'] / args.rate:.3f} of RATE{ratio}; most in a sliding "
                f"second {f['most']} (whole seconds: max {f['max_bucket']}, {f['above']} above "
                f"{args.rate:g}) [target never above]; {f['429']} × 429 [target 0]; "
                f"{f['duplicates']} duplicates [target 0]; the tightest {int(args.rate) + 1} requests in a row "
                f"came within {f['tightest'] * 1000:.0f} ms; exit codes {f['codes']}; {load()}",
                flush=True,
            )
    print(f"# done; {load()}")


if __name__ == "__main__":
    main()
