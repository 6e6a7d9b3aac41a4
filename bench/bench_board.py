"""The public board at province scale: 50,000 published questions, 8 concurrent readers, while
the bot writes, on SQLite and on PostgreSQL, against a bare Starlette "hello" served the same way
in the same run.

    python bench/bench_board.py                         # 50,000 questions, both databases
    python bench/bench_board.py --questions 2000 --seconds 3 --rounds 1 --no-postgres

For each database: seeds the questions (one dialogue that took place holds 80 % of them, the rest
spread over four others and the general intake; answers, commitments on time, late and open,
sensitive ones), counts them (`storage.board_counts.recount_all`, what the migration does), then
serves the board (`bot.board.board_routes`) and the hello app each with `uvicorn.run` in a process
of its own. A bot process records a question every 50 ms in the dispatcher's kind of transaction
and publishes every 20th (a publication changes the board's counts and version, so cached pages
are rendered again), timing each transaction. Rounds of `--seconds` each: hello, the home page,
the first page of the big dialogue, and that dialogue's pages taken at random (each request a page
never rendered: a render for every request). Prints requests/s and the ratio to hello of the
same round (min/median/max over the rounds), the load average, every page's size, the errors, the
bot's write latency during each phase, and how many pages the server rendered.

Targets (issue 14): home ≥ 0.25 × hello, first dialogue page ≥ 0.15 ×, largest page < 200 KB,
0 errors on both databases while the bot writes, write latency < 50 ms on SQLite while a page
renders. Nothing is asserted: the figures are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

HERE = Path(__file__).resolve()
BENCH_DB = "doithoai_bench_board"
READERS = 8
WORDS = (
    "hộ nghèo vay vốn bảo hiểm y tế học phí đường ngập nước trợ cấp người cao tuổi "
    "giấy chứng nhận đất ở nhà văn hóa khóm ấp chuồng bò hỗ trợ sinh kế việc làm"
).split()


def machine() -> str:
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()}"
    )


def load_average() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "?"


# Seeding


async def seed(url: str, questions: int) -> dict[str, int]:
    """`questions` published questions with answers and commitments, written in bulk, then
    counted from scratch. Returns the ids the readers ask for."""
    from sqlalchemy import insert

    from storage import board_counts
    from storage.db import create_engine, refresh_statistics, session_factory
    from storage.dialogues import create_dialogue, general_intake
    from storage.models import Answer, Commitment, Question
    from storage.topics import AGENCIES, TOPICS

    rng = random.Random(2026)
    engine = create_engine(url)
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    today = now.date()
    async with sessions() as session, session.begin():
        big = await create_dialogue(
            session,
            title="Đối thoại chính sách cấp tỉnh",
            starts_at=now - timedelta(days=20),
            venue="Hội trường tỉnh",
            wards=[f"Phường {n}" for n in range(1, 11)],
        )
        others = [
            await create_dialogue(
                session,
                title=f"Đối thoại số {n}",
                starts_at=now + timedelta(days=10 * (n - 2)),
                venue="Nhà văn hóa",
                wards=[f"Phường {n}"],
            )
            for n in range(1, 5)
        ]
        general = await general_intake(session)
        dialogues = [big.id] * 16 + [d.id for d in others] + [general.id]
        big_id, general_id = big.id, general.id
    topics, agencies = list(TOPICS), list(AGENCIES)
    q_rows, a_rows, c_rows = [], [], []
    for n in range(questions):
        status = rng.choices(
            ["approved", "answered", "committed", "fulfilled", "reopened"], [40, 30, 20, 5, 5]
        )[0]
        qid = secrets.token_hex(16)
        agency = rng.choice(agencies)
        q_rows.append(
            {
                "id": qid,
                "ticket": f"B{n:07d}",
                "dialogue_id": big_id if n < questions * 4 // 5 else rng.choice(dialogues),
                "topic": rng.choice(topics),
                "agency": agency,
                "text": sentence(rng, rng.randint(15, 40)),
                "anonymous": True,
                "status": status,
                "submitted_on": today - timedelta(days=30),
                "sensitive": rng.random() < 0.02,
                "supporters": int(rng.expovariate(0.2)),
                "answered_in_room": False,
                "due_on": today + timedelta(days=rng.randint(-20, 20))
                if status == "approved"
                else None,
            }
        )
        if status in ("answered", "committed", "fulfilled"):
            a_rows.append(
                {
                    "question_id": qid,
                    "agency": agency,
                    "text": sentence(rng, rng.randint(20, 60)),
                    "in_room": rng.random() < 0.2,
                    "published_at": now - timedelta(minutes=rng.randint(1, 40_000)),
                }
            )
        if status in ("committed", "fulfilled"):
            made = now - timedelta(minutes=rng.randint(1, 40_000))
            due = today + timedelta(days=rng.randint(-30, 30))
            done = status == "fulfilled"
            c_rows.append(
                {
                    "dialogue_id": q_rows[-1]["dialogue_id"],
                    "question_id": qid,
                    "agency": agency,
                    "content": sentence(rng, rng.randint(10, 25)),
                    "due_on": due,
                    "responsible": "Tổ công tác",
                    "status": "fulfilled" if done else "open",
                    "progress": "",
                    "version": 2 if done else 1,
                    "made_at": made,
                    "updated_at": made + timedelta(days=1) if done else made,
                    "fulfilled_on": due + timedelta(days=rng.randint(-5, 5)) if done else None,
                }
            )
    async with sessions() as session, session.begin():
        for table, rows in ((Question, q_rows), (Answer, a_rows), (Commitment, c_rows)):
            for start in range(0, len(rows), 2000):
                await session.execute(insert(table), rows[start : start + 2000])
        await refresh_statistics(session, "questions", "answers", "commitments")
    started = time.perf_counter()
    async with engine.begin() as connection:
        await connection.run_sync(board_counts.recount_all)
    counted = time.perf_counter() - started
    async with sessions() as session, session.begin():
        await refresh_statistics(session, "board_counts", "board_contributions")
    await engine.dispose()
    print(
        f"  seeded {questions:,} published questions, {len(a_rows):,} answers, "
        f"{len(c_rows):,} commitments; counted from scratch in {counted:.1f} s"
    )
    return {"big": big_id, "general": general_id, "pages": max(1, questions * 4 // 5 // 30)}


# The processes: servers and the bot


def serve(kind: str, url: str, port: int) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, PlainTextResponse
    from starlette.routing import Route

    if kind == "hello":

        async def hello(_request):  # type: ignore[no-untyped-def]
            return PlainTextResponse("hello")

        app = Starlette(routes=[Route("/", hello)])
    else:
        from bot.board import board_routes
        from bot.board_cache import PageCache
        from bot.core.config import load_settings
        from bot.runtime import Runtime

        runtime = Runtime(
            load_settings(
                database_url=url,
                secret_key="b" * 64,
                telegram_token="123456:BENCH",
                telegram_bot_username="phuong7_doithoai_bot",
            )
        )
        cache = PageCache()

        async def renders(_request):  # type: ignore[no-untyped-def]
            return JSONResponse({"renders": cache.renders})

        app = Starlette(routes=[*board_routes(runtime, cache), Route("/_bench/renders", renders)])
    uvicorn.run(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off"
    )


async def bot(url: str, dialogue_id: int, out: str) -> None:
    """Record a question every 50 ms (and publish every 20th) until told to stop; write each
    transaction's start and duration."""
    import signal

    from storage import moderation
    from storage.db import create_engine, session_factory
    from storage.models import Staff
    from storage.questions import add_question

    engine = create_engine(url)
    sessions = session_factory(engine)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        staff = Staff(
            role="facilitator",
            name="Bench",
            ward="Phường 1",
            code_hash=secrets.token_hex(32),
            code_expires_at=now,
            created_at=now,
        )
        session.add(staff)
        await session.flush()
        staff_id = staff.id
    writes: list[tuple[float, float, str]] = []  # (start, seconds, kind)
    rng = random.Random(7)
    n = 0
    while not stop.is_set():
        started = time.time()
        t0 = time.perf_counter()
        async with sessions() as session, session.begin():
            await session.connection()  # BEGIN (IMMEDIATE on SQLite): the write lock
            writes.append((started, time.perf_counter() - t0, "lock"))
            question = await add_question(
                session,
                dialogue_id=dialogue_id,
                topic="giamngheo",
                agency="ubnd",
                text=sentence(rng, 20),
                submitted_on=date.today(),
                account_id=None,
                asker_hash=secrets.token_hex(32),
                reply_handle=b"sealed",
            )
        writes.append((started, time.perf_counter() - t0, "record"))
        n += 1
        if n % 20 == 0:
            started = time.time()
            t0 = time.perf_counter()
            async with sessions() as session, session.begin():
                question = await session.merge(question)
                await moderation.approve(
                    session, question=question, staff_id=staff_id, on=date.today()
                )
            writes.append((started, time.perf_counter() - t0, "publish"))
        try:
            await asyncio.wait_for(stop.wait(), 0.05)
        except TimeoutError:
            pass
    await engine.dispose()
    Path(out).write_text(json.dumps(writes))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, str(HERE), *args])


def wait_for(port: int, path: str) -> None:
    import httpx

    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}{path}", timeout=5).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server on {port} did not start")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# Readers


async def readers(base: str, paths, seconds: float) -> tuple[float, int, int]:  # type: ignore[no-untyped-def]
    """8 readers asking for `paths()` for `seconds`: requests/s, requests, errors."""
    import httpx

    done = errors = 0
    limits = httpx.Limits(max_connections=READERS, max_keepalive_connections=READERS)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        end = time.monotonic() + seconds

        async def reader() -> None:
            nonlocal done, errors
            while time.monotonic() < end:
                try:
                    response = await client.get(paths())
                    if response.status_code != 200:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                done += 1

        started = time.monotonic()
        await asyncio.gather(*(reader() for _ in range(READERS)))
        elapsed = time.monotonic() - started
    return done / elapsed, done, errors


def spread(values: list[float], fmt: str = "{:.2f}") -> str:
    if not values:
        return "-"
    return "/".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values)))


def latencies(writes, intervals) -> str:  # type: ignore[no-untyped-def]
    inside = [d * 1000 for at, d, _kind in writes if any(a <= at < b for a, b in intervals)]
    if not inside:
        return "no writes"
    inside.sort()
    p95 = inside[min(len(inside) - 1, int(len(inside) * 0.95))]
    return (
        f"{len(inside)} writes, median {statistics.median(inside):.1f} ms, "
        f"p95 {p95:.1f} ms, max {inside[-1]:.1f} ms"
    )


def run(kind: str, url: str, args: argparse.Namespace) -> None:
    import httpx

    print(f"{kind}: {args.questions:,} questions (load average {load_average()})")
    ids = asyncio.run(seed(url, args.questions))
    board_port, hello_port = free_port(), free_port()
    board = start("--serve", "board", "--db", url, "--port", str(board_port))
    hello = start("--serve", "hello", "--db", url, "--port", str(hello_port))
    out = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
    bot_process = None
    try:
        wait_for(board_port, "/robots.txt")
        wait_for(hello_port, "/")
        base, hello_base = f"http://127.0.0.1:{board_port}", f"http://127.0.0.1:{hello_port}"
        big = f"/doi-thoai/{ids['big']}"
        sizes = {}
        for label, path in (
            ("home", "/"),
            ("dialogue, first page", big),
            ("dialogue, last page", f"{big}?trang={ids['pages']}"),
            ("dialogue, filtered", f"{big}?tinh-trang=overdue&co-quan=ubnd"),
            ("general intake", f"/doi-thoai/{ids['general']}"),
            ("agency", "/co-quan/ubnd"),
            ("agency, fulfilled, page 2", "/co-quan/ubnd?muc=fulfilled&trang=2"),
            ("feed.json", "/feed.json"),
            ("feed.atom", "/feed.atom"),
            ("sitemap.xml", "/sitemap.xml"),
        ):
            t0 = time.perf_counter()
            response = httpx.get(base + path, timeout=120)
            took = time.perf_counter() - t0
            sizes[label] = len(response.content)
            print(
                f"  {label:28} {response.status_code} {len(response.content) / 1024:8.1f} KB"
                f"  first render {took * 1000:7.1f} ms"
            )
        print(f"  largest page: {max(sizes.values()) / 1024:.1f} KB")
        bot_process = start("--bot", "--db", url, "--dialogue", str(ids["big"]), "--out", out)
        time.sleep(3)  # the bot's imports, before any phase
        rng = random.Random(1)
        phases = {
            "hello": (hello_base, lambda: "/"),
            "home": (base, lambda: "/"),
            "dialogue": (base, lambda: big),
            "uncached": (base, lambda: f"{big}?trang={rng.randint(2, ids['pages'])}"),
        }
        rates: dict[str, list[float]] = {name: [] for name in phases}
        intervals: dict[str, list[tuple[float, float]]] = {name: [] for name in phases}
        errors: dict[str, int] = dict.fromkeys(phases, 0)
        loads = []
        renders_before = httpx.get(base + "/_bench/renders").json()["renders"]
        for number in range(args.rounds):
            for name, (where, paths) in phases.items():
                begun = time.time()
                rate, _done, failed = asyncio.run(readers(where, paths, args.seconds))
                intervals[name].append((begun, time.time()))
                rates[name].append(rate)
                errors[name] += failed
            loads.append(load_average())
            print(
                f"  round {number + 1}: hello {rates['hello'][-1]:.0f}/s, "
                f"home {rates['home'][-1]:.0f}/s, dialogue {rates['dialogue'][-1]:.0f}/s, "
                f"uncached pages {rates['uncached'][-1]:.0f}/s; load average {loads[-1]}"
            )
        renders = httpx.get(base + "/_bench/renders").json()["renders"] - renders_before
    finally:
        if bot_process is not None:
            stop(bot_process)
        stop(board)
        stop(hello)
    writes = json.loads(Path(out).read_text()) if Path(out).stat().st_size else []
    os.unlink(out)
    for name in ("home", "dialogue"):
        ratios = [b / h for b, h in zip(rates[name], rates["hello"], strict=True)]
        print(f"  {name} / hello: {spread(ratios)} (min/median/max over {args.rounds} rounds)")
    print(
        "  requests/s min/median/max: "
        + "; ".join(f"{name} {spread(values, '{:.0f}')}" for name, values in rates.items())
    )
    print("  errors: " + ", ".join(f"{name} {n}" for name, n in errors.items()))
    print(f"  pages rendered by the server during the rounds: {renders}")
    for name in phases:
        records = [w for w in writes if w[2] == "record"]
        print(f"  bot's writes during {name}: {latencies(records, intervals[name])}")
    everywhen = sum(intervals.values(), [])
    published = [w for w in writes if w[2] == "publish"]
    print(f"  of which publications: {latencies(published, everywhen)}")
    for name in phases:
        locks = [w for w in writes if w[2] == "lock"]
        print(
            f"  bot's wait for its transaction to begin during {name}: "
            f"{latencies(locks, intervals[name])}"
        )
    print(f"  load average during the rounds: {', '.join(loads)}")
    home = statistics.median(b / h for b, h in zip(rates["home"], rates["hello"], strict=True))
    page = statistics.median(b / h for b, h in zip(rates["dialogue"], rates["hello"], strict=True))
    rendering = sorted(
        d * 1000
        for at, d, what in writes
        if what == "record" and any(a <= at < b for a, b in intervals["uncached"])
    )
    print(
        f"  targets ({kind}): home {home:.2f}× hello (≥ 0.25), first dialogue page {page:.2f}× "
        f"(≥ 0.15), largest page {max(sizes.values()) / 1024:.0f} KB (< 200), errors "
        f"{sum(errors.values())} (0), median write while every request renders "
        f"{statistics.median(rendering) if rendering else float('nan'):.1f} ms (< 50 on SQLite)"
    )


BENCH_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


async def pg_database(admin_url: str, *, create: bool) -> str:
    import asyncpg

    connection = await asyncpg.connect(admin_url, timeout=5)
    await connection.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    if create:
        await connection.execute(f"CREATE DATABASE {BENCH_DB}")
    await connection.close()
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{BENCH_DB}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=50_000)
    parser.add_argument("--seconds", type=float, default=6.0, help="each phase of a round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--serve", choices=["board", "hello"], help=argparse.SUPPRESS)
    parser.add_argument("--bot", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--dialogue", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.db, args.port)
        return
    if args.bot:
        asyncio.run(bot(args.db, args.dialogue, args.out))
        return

    from storage.db import upgrade

    print(
        f"bench_board on {machine()}, {READERS} readers, {args.rounds} rounds of {args.seconds} s"
    )
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite+aiosqlite:///{Path(folder) / 'board.db'}"
            upgrade(url)
            run("SQLite", url, args)
    if args.no_postgres:
        return
    admin = os.environ.get("DOITHOAI_BENCH_PG", BENCH_PG)
    try:
        url = asyncio.run(pg_database(admin, create=True))
    except Exception as exc:  # no PostgreSQL here: SQLite's figures stand alone
        print(f"PostgreSQL skipped: {exc}")
        return
    try:
        upgrade(url)
        run("PostgreSQL", url, args)
    finally:
        asyncio.run(pg_database(admin, create=False))


if __name__ == "__main__":
    main()
