"""What the benchmarks share: the machine and its load, figures over repeats, a scratch
database (SQLite file or a PostgreSQL database of its own), the HTTP fake of the Bot API with
Telegram's limits and a hook for whatever drives it, the real `doithoai run` as a child
process, and the bare baselines (a python-telegram-bot echo bot, a Starlette hello world under
uvicorn) that each figure is divided by.

Nothing here asserts a time: the scripts print what they measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import platform
import queue
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.telegram_api import FakeBotAPI, _bad  # noqa: E402

BENCH = Path(__file__).resolve().parent
PG_ADMIN_URL = os.environ.get("DOITHOAI_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
TOKEN = "123456:TEST-TOKEN"
WEBHOOK_SECRET = "bench-webhook-secret-0123456789"
# DOITHOAI_TELEGRAM_RATE where replies are measured (flow, webhook): high enough that the
# broadcast budget is not what limits them (the fake sets no overall limit there).
SERVICE_RATE = [200.0]


# ------------------------------------------------------------------ the machine and figures


def machine() -> str:
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()}"
    )


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min)"


def header(title: str, sizes: str) -> None:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    print(f"# {title}\n# {stamp}; {machine()}; {load()}\n# sizes: {sizes}", flush=True)


def spread(values: Sequence[float], fmt: str = "{:.2f}") -> str:
    """min / median / max of the repeats."""
    if not values:
        return "–"
    if len(values) == 1:
        return fmt.format(values[0])
    return (
        " / ".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values)))
        + f" (min/median/max of {len(values)})"
    )


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ------------------------------------------------------------------ databases


def async_url(url: str) -> str:
    for plain, asynchronous in (
        ("sqlite://", "sqlite+aiosqlite://"),
        ("postgresql://", "postgresql+asyncpg://"),
    ):
        if url.startswith(plain):
            return asynchronous + url[len(plain) :]
    return url


@contextlib.contextmanager
def scratch_database(kind: str) -> Iterator[str]:
    """A migrated, empty database for one run: a SQLite file in a temporary folder, or a
    PostgreSQL database `doithoai_bench_<random>` created at PG_ADMIN_URL and dropped after."""
    from storage.db import upgrade

    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="doithoai-bench-") as folder:
            url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
            upgrade(url)
            yield url
        return
    import asyncpg

    name = f"doithoai_bench_{os.getpid()}_{secrets.token_hex(3)}"

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(PG_ADMIN_URL, timeout=10)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        url = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        url = f"{url}/{name}"
        upgrade(url)
        yield url
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def kinds(arg: str) -> list[str]:
    chosen = [k.strip() for k in arg.split(",") if k.strip()]
    for kind in chosen:
        if kind not in ("sqlite", "postgresql"):
            raise SystemExit(f"--db: sqlite, postgresql or both, not {kind!r}")
    return chosen


def db_label(url: str) -> str:
    return "PostgreSQL" if url.startswith("postgresql") else "SQLite"


# ------------------------------------------------------------------ the fake Bot API


class BenchBotAPI(FakeBotAPI):
    """The tests' fake of the Bot API (Telegram's checks and, when set, its limits), plus
    setWebhook, and a hook: every accepted sendMessage is put on `events` as
    ("message", chat_id, monotonic time), and every answered button press is timed."""

    def __init__(self) -> None:
        super().__init__(token=TOKEN)
        self.events: queue.SimpleQueue[tuple[str, int, float]] = queue.SimpleQueue()
        self.answer_times: dict[str, float] = {}
        self.webhook: dict | None = None
        self.accepted_sends = 0
        self._handlers["setWebhook"] = self._set_webhook
        self._canonical["setwebhook"] = "setWebhook"

    def start(self) -> BenchBotAPI:
        # The referee runs in this process, and Python's full garbage collections of what it
        # records (10,000 calls and more) stopped its threads for 100-125 ms: the requests that
        # came meanwhile were stamped together on waking, and 101 that left over 1.01 s looked
        # like 101 within 0.96 s (at 10,000 messages at 100/s, each 429 fell on such a pause;
        # the process's own departures never had 101 within 1.012 s). The platform's clock does
        # not stop for our bookkeeping: no collection while it listens (reference counting
        # still frees what it records; `stop` lets the collector run again).
        gc.collect()
        gc.freeze()
        gc.disable()
        super().start()
        return self

    def stop(self) -> None:
        super().stop()
        gc.enable()
        gc.unfreeze()

    def _set_webhook(self, params: dict) -> bool:
        if not str(params.get("url") or "").startswith("https://"):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        with self._cond:
            self.webhook = dict(params)
        return True

    def _send_message(self, params: dict) -> dict:
        message = super()._send_message(params)
        with self._cond:
            self.accepted_sends += 1
        self.events.put(("message", message["chat"]["id"], time.monotonic()))
        return message

    def _answer_callback_query(self, params: dict) -> bool:
        result = super()._answer_callback_query(params)
        with self._cond:
            self.answer_times[str(params.get("callback_query_id"))] = time.monotonic()
        return result

    def register(self, update: dict) -> dict:
        """An update built with push=False made known (ids, chats, button presses) as if
        Telegram had sent it, without queueing it for getUpdates: for webhooks."""
        with self._cond:
            update["update_id"] = self._next_update_id
            self._next_update_id += 1
            self._register(update)
            self.updates.append(update)
        return update

    def counts(self) -> dict[str, int]:
        # Counted as they come, not by scanning `calls` under the fake's lock ten times a
        # second: at 100,000 calls that scan held every request of the fake back.
        with self._cond:
            return {
                "sent": self.accepted_sends,
                "429": self.rate_limited,
                "violations": len(self.violations),
            }


# ------------------------------------------------------------------ child processes


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def proc_rss(pid: int) -> tuple[float, float]:
    """(current, peak) resident size in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


class Child:
    """A child process with its log in a file; stopped with SIGTERM, or killed."""

    def __init__(self, argv: list[str], *, env: dict[str, str], cwd: Path, name: str):
        self.argv, self.env, self.cwd, self.name = argv, env, cwd, name
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def log_path(self) -> Path:
        return self.cwd / f"{self.name}.log"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> Child:
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"--- start {self.starts}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.argv, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=5)

    def log_tail(self, lines: int = 20) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOITHOAI_")}
    env.update({"PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"})
    return env


def doithoai(
    *args: str,
    database_url: str,
    api_url: str,
    workdir: Path,
    name: str = "doithoai",
    rate: float = 25.0,
    chat_interval: float = 1.0,
    extra: dict[str, str] | None = None,
    secret_key: str | None = None,
) -> Child:
    """The real `doithoai` command (not started yet), configured by its settings only."""
    env = clean_env()
    env.update(
        {
            "DOITHOAI_DATABASE_URL": database_url,
            "DOITHOAI_SECRET_KEY": secret_key or "b" * 64,
            "DOITHOAI_TELEGRAM_TOKEN": TOKEN,
            "DOITHOAI_TELEGRAM_API_URL": api_url,
            "DOITHOAI_TELEGRAM_RATE": str(rate),
            "DOITHOAI_TELEGRAM_CHAT_INTERVAL": str(chat_interval),
            "DOITHOAI_TELEGRAM_BOT_USERNAME": "doithoai_test_bot",
        }
    )
    env.update(extra or {})
    argv = [sys.executable, "-c", "from bot.cli import main; main()", *args]
    profile = os.environ.get("BENCH_PROFILE")
    if profile:
        # BENCH_PROFILE=DIR: each start under cProfile counting CPU time (not wall time: on a
        # busy machine a send that wakes another process is charged for the wait), written to
        # DIR/NAME-PID.prof when the process stops with SIGTERM.
        code = (
            "import cProfile, os, sys, time; from bot.cli import main; "
            "sys.argv = ['doithoai', *sys.argv[1:]]; "
            "profile = cProfile.Profile(time.process_time)\n"
            "try:\n    profile.runcall(main)\nexcept SystemExit:\n    pass\n"
            f"profile.dump_stats(os.path.join({profile!r}, {name!r} + f'-{{os.getpid()}}.prof'))"
        )
        argv = [sys.executable, "-c", code, *args]
    return Child(argv, env=env, cwd=workdir, name=name)


def echo_bot(api_url: str, workdir: Path) -> Child:
    """The bare baseline: a python-telegram-bot echo bot polling the fake."""
    env = clean_env()
    env.update({"BENCH_API_URL": api_url, "BENCH_TOKEN": TOKEN})
    return Child([sys.executable, str(BENCH / "_echo_bot.py")], env=env, cwd=workdir, name="echo")


def hello_app(port: int, workdir: Path) -> Child:
    """The bare baseline of webhook mode: a Starlette hello world served by uvicorn."""
    env = clean_env()
    argv = [sys.executable, str(BENCH / "_hello_app.py"), str(port)]
    return Child(argv, env=env, cwd=workdir, name="hello")


def durable_app(port: int, workdir: Path, database_url: str) -> Child:
    """The second baseline of webhook mode: the hello app that also commits each posted body
    to PostgreSQL before answering (bench/_durable_app.py)."""
    env = clean_env()
    url = database_url.replace("postgresql+asyncpg://", "postgresql://")
    argv = [sys.executable, str(BENCH / "_durable_app.py"), str(port), url]
    return Child(argv, env=env, cwd=workdir, name="durable")


def wait_for(predicate, *, timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"not reached within {timeout:.0f} s: {what}")
        time.sleep(interval)


def wait_http(port: int, child: Child, *, timeout: float = 60.0) -> None:
    """Until something answers on 127.0.0.1:port."""

    def answers() -> bool:
        if not child.alive():
            raise RuntimeError(f"{child.name} died:\n{child.log_tail()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return True
        return False

    wait_for(answers, timeout=timeout, what=f"{child.name} listening on {port}")


def sync_query(url: str, sql: str, *params: Any) -> Any:
    """One scalar from the database, outside any event loop (the driver's threads)."""
    from sqlalchemy import text

    from storage.db import create_engine

    async def run() -> Any:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                return (await connection.execute(text(sql))).scalar()
        finally:
            await engine.dispose()

    return asyncio.run(run())


class DbProbe:
    """Scalars from the database on one kept connection, from synchronous code (the benchmark's
    main thread polls it while the service works)."""

    def __init__(self, url: str):
        from storage.db import create_engine

        self.loop = asyncio.new_event_loop()
        self.engine = create_engine(url)
        self.connection = self.loop.run_until_complete(self.engine.connect())

    def scalar(self, sql: str) -> Any:
        from sqlalchemy import text

        async def run() -> Any:
            result = (await self.connection.execute(text(sql))).scalar()
            await self.connection.commit()  # a fresh snapshot next time
            return result

        return self.loop.run_until_complete(run())

    def close(self) -> None:
        async def run() -> None:
            await self.connection.close()
            await self.engine.dispose()

        self.loop.run_until_complete(run())
        self.loop.close()


# ------------------------------------------------------------------ broadcasts


def fill_broadcast(url: str, count: int, *, first_recipient: int, prefix: str = "bulk") -> None:
    """`count` messages to distinct people in the outbox, as a fan-out writes them (each text
    carries its key, so the fake can tell them apart)."""
    from storage.db import create_engine, session_factory
    from tests.support import bulk_enqueue

    async def run() -> None:
        engine = create_engine(url)
        try:
            await bulk_enqueue(
                session_factory(engine),
                count,
                prefix=prefix,
                first_recipient=first_recipient,
                batch=5000,
            )
        finally:
            await engine.dispose()

    asyncio.run(run())


def received(fake: FakeBotAPI) -> list[tuple[str, float]]:
    """(key, arrival) of every broadcast message the fake accepted, in order of arrival."""
    from tests.support import key_in

    out = []
    for message in fake.all_messages():
        with contextlib.suppress(ValueError):
            out.append((key_in(message.text), message.at))
    return out


def steady_rate(times: Sequence[float]) -> float:
    """Messages a second over the steady part: the first and last tenth left out."""
    if len(times) < 20:
        return len(times) / max(1e-9, times[-1] - times[0]) if len(times) > 1 else 0.0
    cut = len(times) // 10
    part = times[cut : len(times) - cut]
    return (len(part) - 1) / max(1e-9, part[-1] - part[0])


def per_second(times: Sequence[float]) -> tuple[int, list[int]]:
    """(the most in any sliding second, the counts in each whole second from the first)."""
    most, left = 0, 0
    for right, at in enumerate(times):
        while at - times[left] >= 1.0:
            left += 1
        most = max(most, right - left + 1)
    buckets: list[int] = []
    if times:
        start = times[0]
        for at in times:
            index = int(at - start)
            while len(buckets) <= index:
                buckets.append(0)
            buckets[index] += 1
    return most, buckets


def in_flight(probe: DbProbe) -> int:
    return probe.scalar(
        "SELECT count(*) FROM outbox WHERE status IN ('pending', 'claimed', 'sending')"
    )


def tightest(fake: FakeBotAPI, limit: int) -> float:
    """The shortest time in which limit + 1 sendMessage requests reached the fake (accepted or
    not): under a second, the last of them was past the limit of `limit` a second."""
    with fake._cond:
        times = sorted(c.at for c in fake.calls if c.method == "sendMessage")
    spans = [times[i + limit] - times[i] for i in range(len(times) - limit)]
    return min(spans, default=float("inf"))
