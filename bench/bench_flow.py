"""The full question flow through the real `doithoai run` (long polling), against the bare
python-telegram-bot echo bot on the same kind of fake, in the same run.

    python bench/bench_flow.py                         # 300 people × 7 steps, 3 repeats; 50/s for 60 s
    python bench/bench_flow.py --quick                 # 20 people, 1 repeat, 10/s for 5 s, SQLite
    python bench/bench_flow.py --people 100 --seconds 30 --db sqlite,postgresql

Throughput: N people each take the 7 steps of asking a question (/start, consent, /hoi, a
topic, the question typed, anonymous, send), each step once the bot's answer to the previous
one has arrived and at least 1 s after it (a person reads; Telegram allows one message a second
to a chat, which the fake enforces on both bots). Updates per second from the first update to
the last answer, as a ratio to the echo bot's.

Steady rate: people start so that --rate updates a second arrive for --seconds seconds (each
person's steps planned --gap s apart, never before the answer to the previous one); p50/p99 of
update → answer (the fake's arrival time of the first sendMessage to that chat after the
update was offered), and the button presses answered more than 15 s after they were made.

The fake (tests/fakes/telegram_api.py) runs in this process, limited to 1 message a second
per chat (no overall limit: these are replies, and doithoai runs with
DOITHOAI_TELEGRAM_RATE=200 (--service-rate) so that its budget does not stand in the way); each bot
is its own process. PostgreSQL: a database of its own, created and dropped.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from _common import (
    SERVICE_RATE,
    BenchBotAPI,
    db_label,
    doithoai,
    echo_bot,
    header,
    kinds,
    load,
    percentile,
    proc_cpu,
    scratch_database,
    spread,
    wait_for,
)
from _driver import ASK_STEPS, Driver


def ready(fake: BenchBotAPI, child, timeout: float = 120) -> None:
    """Until the bot polls the fake (it has started)."""

    def polling() -> bool:
        if not child.alive():
            raise RuntimeError(f"{child.name} died:\n{child.log_tail()}")
        with fake._cond:
            return sum(1 for c in fake.calls if c.method == "getUpdates") >= 2

    wait_for(polling, timeout=timeout, what=f"{child.name} polling")


def new_fake() -> BenchBotAPI:
    fake = BenchBotAPI()
    fake.set_rate_limit(per_second=None, per_chat_per_second=1)
    return fake.start()


class Bot:
    """A bot process and its own fake."""

    def __init__(self, kind: str, workdir: Path, url: str | None = None):
        self.kind = kind
        self.fake = new_fake()
        if kind == "echo":
            self.child = echo_bot(self.fake.url, workdir)
        else:
            assert url is not None
            self.child = doithoai(
                "run",
                database_url=url,
                api_url=self.fake.url,
                workdir=workdir,
                name=f"doithoai-{db_label(url)}",
                rate=SERVICE_RATE[0],
                chat_interval=1.0,
            )
        self.child.start()
        ready(self.fake, self.child)
        self.next_uid = 1_000_000

    def people(self, n: int) -> list[int]:
        uids = list(range(self.next_uid, self.next_uid + n))
        self.next_uid += n + 1000
        return uids

    def drive(self, n: int, *, timeout: float, **kwargs) -> tuple[Driver, float]:
        driver = Driver(self.fake, self.people(n), buttons=self.kind != "echo", **kwargs)
        with self.fake._cond:
            calls = len(self.fake.calls)
        cpu = proc_cpu(self.child.pid)
        driver.run(timeout)
        cpu = proc_cpu(self.child.pid) - cpu
        with self.fake._cond:
            methods = Counter(c.method for c in self.fake.calls[calls:] if c.method != "getUpdates")
        self.calls_per_update = sum(methods.values()) / max(1, driver.result.updates)
        self.methods = dict(methods)
        return driver, cpu

    def close(self) -> None:
        self.child.stop()
        self.fake.stop()


def throughput(bots: dict[str, Bot], people: int, repeats: int, timeout: float) -> None:
    rates: dict[str, list[float]] = {name: [] for name in bots}
    cpus: dict[str, list[float]] = {name: [] for name in bots}
    for repeat in range(repeats):
        for name, bot in bots.items():  # interleaved, so that the load falls on all alike
            driver, cpu = bot.drive(people, timeout=timeout, think=1.0)
            result = driver.result
            if result.errors:
                print(f"  {name} repeat {repeat + 1}: {result.errors[:3]}")
            rate = result.updates / result.seconds
            rates[name].append(rate)
            cpus[name].append(cpu * 1000 / max(1, result.updates))
            print(
                f"  repeat {repeat + 1} {name}: {result.updates} updates in {result.seconds:.1f} s "
                f"= {rate:.1f}/s, {cpus[name][-1]:.1f} ms CPU an update, "
                f"{bot.calls_per_update:.2f} Bot API calls an update besides getUpdates "
                f"{bot.methods}; {load()}",
                flush=True,
            )
    echo = statistics.median(rates["echo"])
    bound = people * len(ASK_STEPS) / ((len(ASK_STEPS) - 1) * 1.0)
    print(
        f"throughput, {people} people × {len(ASK_STEPS)} steps (updates/s; a person's 1 s "
        f"between an answer and the next step alone allows at most {bound:.0f}/s):"
    )
    for name in bots:
        ratios = [r / e for r, e in zip(rates[name], rates["echo"], strict=True)]
        line = f"  {name:<22} {spread(rates[name], '{:.1f}')}"
        if name != "echo":
            line += f"; ratio to echo (same repeat) {spread(ratios)}  [target ≥ 0.8]"
        line += f"; CPU an update {spread(cpus[name], '{:.1f}')} ms"
        print(line)
    del echo


def steady(bots: dict[str, Bot], rate: float, seconds: float, gap: float) -> None:
    steps = len(ASK_STEPS)
    people = max(1, round(rate * seconds / steps))
    print(
        f"steady: {rate:g} updates/s planned for {seconds:g} s: {people} people arriving evenly "
        f"over {seconds:g} s, each one's steps {gap:g} s apart (and >= 1 s after an answer)"
    )
    echo_p99 = None
    for name, bot in bots.items():
        started = time.monotonic()
        driver, cpu = bot.drive(
            people,
            timeout=seconds * 4 + 120,
            think=1.0,
            gap=gap,
            spread=seconds,
        )
        result = driver.result
        late, never = driver.late_presses()
        lat = result.latencies
        p50, p99 = percentile(lat, 50) * 1000, percentile(lat, 99) * 1000
        if name == "echo":
            echo_p99 = p99
        # The offered rate once arrivals are steady: the people who came first are at their
        # last steps, the last ones not come yet.
        low = result.first_push + (steps - 1) * gap
        high = result.first_push + seconds
        if high - low < 1:
            low, high = result.first_push, result.first_push + seconds
        achieved = sum(1 for t in result.push_times if low <= t < high) / (high - low)
        line = (
            f"  {name:<22} p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {max(lat, default=0) * 1000:.0f} ms; "
            f"{result.updates} updates, {achieved:.1f}/s offered while steady; presses answered > 15 s: "
            f"{late}, never: {never}; CPU an update {cpu * 1000 / max(1, result.updates):.1f} ms"
        )
        if name != "echo" and echo_p99:
            line += f"; p99 = {p99 / echo_p99:.1f} × echo's  [target ≤ 150 ms, 0 late presses]"
        if result.errors:
            line += f"; {result.errors[:2]}"
        print(line + f"; {load()}; took {time.monotonic() - started:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rate", type=float, default=50.0, help="steady updates/s")
    parser.add_argument("--seconds", type=float, default=60.0, help="steady duration")
    parser.add_argument("--gap", type=float, default=2.0, help="a person's steps apart, s")
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--no-steady", action="store_true")
    parser.add_argument("--no-throughput", action="store_true")
    parser.add_argument("--quick", action="store_true", help="20 people, 1 repeat, 10/s for 5 s")
    parser.add_argument(
        "--service-rate",
        type=float,
        default=SERVICE_RATE[0],
        help="DOITHOAI_TELEGRAM_RATE of the service (the fake sets no overall limit)",
    )
    args = parser.parse_args()
    SERVICE_RATE[0] = args.service_rate
    if args.quick:
        args.people, args.repeats, args.rate, args.seconds, args.db = 20, 1, 10.0, 5.0, "sqlite"
    header(
        "bench_flow: the question flow through `doithoai run` vs a bare PTB echo bot",
        f"{args.people} people × {len(ASK_STEPS)} steps × {args.repeats} repeats; steady "
        f"{args.rate:g}/s for {args.seconds:g} s; databases {args.db}",
    )
    with tempfile.TemporaryDirectory(prefix="bench-flow-") as folder:
        workdir = Path(folder)
        for kind in kinds(args.db):
            with scratch_database(kind) as url:
                print(f"== {db_label(url)}", flush=True)
                bots: dict[str, Bot] = {}
                try:
                    bots["echo"] = Bot("echo", workdir)
                    bots[f"doithoai/{db_label(url)}"] = Bot("doithoai", workdir, url)
                    if not args.no_throughput:
                        throughput(bots, args.people, args.repeats, timeout=600)
                    if not args.no_steady:
                        steady(bots, args.rate, args.seconds, args.gap)
                finally:
                    for bot in bots.values():
                        bot.close()
                    for bot in bots.values():
                        if bot.fake.violations:
                            print(f"  fake's violations ({bot.kind}): {bot.fake.violations[:3]}")
    print(f"# done; {load()}")


if __name__ == "__main__":
    main()
