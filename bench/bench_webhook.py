"""Webhook mode, the production path: the real `doithoai run --webhook` taking 2,000 updates
from 200 people posted 16 at a time, against a bare Starlette app answering 200 under uvicorn,
in the same run.

    python bench/bench_webhook.py                  # PostgreSQL, 200 people × 10 updates, 3 repeats
    python bench/bench_webhook.py --quick          # 20 people × 10, 1 repeat, SQLite
    python bench/bench_webhook.py --db sqlite,postgresql --repeats 2

Each person's 10 updates are posted in order (round by round over the people: a person's next
update goes out some 200 posts after the previous one): /start, the consent button, /hoi, a
question typed, /cauhoi, /start, /trogiup, /hoi, /huy, /cauhoi. They do not wait for the bot's
answers, as Telegram does not. "Fully processed" is when the database holds all 2,000 as
processed (each one's replies committed to the outbox); "all sent" when the outbox has nothing
left to send. The fake Bot API (in this process) enforces one message a second to a chat and
no overall limit (doithoai runs with DOITHOAI_TELEGRAM_RATE=200, --service-rate), so "all sent" cannot come
sooner than 9 s after a person's first answer: it is printed, not divided.

The ratio is fully processed per second ÷ the bare app's answered posts per second (the same
2,000 bodies, the same 16 posting threads). CPU: the doithoai process's CPU time from the
first post to the last reply sent, per update.
"""

from __future__ import annotations

import argparse
import http.client
import json
import queue
import tempfile
import threading
import time
from pathlib import Path

from _common import (
    SERVICE_RATE,
    WEBHOOK_SECRET,
    BenchBotAPI,
    DbProbe,
    db_label,
    doithoai,
    durable_app,
    free_port,
    header,
    hello_app,
    kinds,
    load,
    proc_cpu,
    scratch_database,
    spread,
    wait_for,
    wait_http,
)

STEPS = [
    "/start",
    "press c:ok:vi",
    "/hoi",
    "Vì sao nhà bên cạnh có xe hơi mà vẫn được xếp hộ cận nghèo? Người hỏi số {uid}.",
    "/cauhoi",
    "/start",
    "/trogiup",
    "/hoi",
    "/huy",
    "/cauhoi",
]


def press_update(fake: BenchBotAPI, uid: int, data: str) -> dict:
    """A button press on a message of the bot (its keyboard not echoed: nothing to remove)."""
    update = fake._template("callback_query.json")
    query = update["callback_query"]
    with fake._cond:
        fake._callback_counter += 1
        query["id"] = str(5_300_000_000_000_000_000 + fake._callback_counter)
    user = fake._user_for(uid)
    query["from"] = user
    query["message"] = {
        "message_id": 1,
        "from": fake._bot_user(),
        "chat": fake._private_chat(user),
        "date": int(time.time()),
        "text": "Chào mừng",
    }
    query["chat_instance"] = str(-(5_400_000_000_000_000_000 + uid))
    query["data"] = data
    return update


def ignored_bodies(fake: BenchBotAPI, count: int) -> list[bytes]:
    """Updates the bot does not take (posts in a channel): stored by the webhook, then only
    claimed and deleted by the intake. What the webhook and the intake cost on their own."""
    out = []
    for n in range(count):
        with fake._cond:
            update_id = fake._next_update_id
            fake._next_update_id += 1
        post = {
            "message_id": n + 1,
            "sender_chat": {"id": -1001234567890, "title": "Kênh phường", "type": "channel"},
            "chat": {"id": -1001234567890, "title": "Kênh phường", "type": "channel"},
            "date": int(time.time()),
            "text": f"Bản tin số {n}",
        }
        update = {"update_id": update_id, "channel_post": post}
        out.append(json.dumps(update, ensure_ascii=False).encode("utf-8"))
    return out


def bodies(fake: BenchBotAPI, uids: list[int]) -> list[bytes]:
    out = []
    for step in STEPS:
        for uid in uids:
            if step.startswith("press "):
                update = press_update(fake, uid, step.removeprefix("press "))
            else:
                update = fake.send_text(uid, step.format(uid=uid), push=False)
            out.append(json.dumps(fake.register(update), ensure_ascii=False).encode("utf-8"))
    return out


def post_all(port: int, payloads: list[bytes], concurrency: int) -> tuple[float, float, dict]:
    """Post every payload to /telegram, `concurrency` at a time; (first post, last answer,
    answers by status)."""
    work: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
    for payload in payloads:
        work.put(payload)
    for _ in range(concurrency):
        work.put(None)
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    headers = {
        "Content-Type": "application/json",
        "X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET,
    }

    def poster() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while (payload := work.get()) is not None:
            for _attempt in range(3):
                try:
                    connection.request("POST", "/telegram", body=payload, headers=headers)
                    response = connection.getresponse()
                    response.read()
                    status = response.status
                    break
                except (OSError, http.client.HTTPException):
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    status = -1
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
        connection.close()

    threads = [threading.Thread(target=poster, daemon=True) for _ in range(concurrency)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return started, time.monotonic(), statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--db", default="postgresql")
    parser.add_argument("--quick", action="store_true", help="20 people, 1 repeat, SQLite")
    parser.add_argument(
        "--ignored",
        action="store_true",
        help="also as many updates the bot ignores (channel posts): the bookkeeping's cost",
    )
    parser.add_argument(
        "--service-rate",
        type=float,
        default=SERVICE_RATE[0],
        help="DOITHOAI_TELEGRAM_RATE of the service (the fake sets no overall limit)",
    )
    args = parser.parse_args()
    SERVICE_RATE[0] = args.service_rate
    if args.quick:
        args.people, args.repeats, args.db = 20, 1, "sqlite"
    n = args.people * len(STEPS)
    header(
        "bench_webhook: `doithoai run --webhook` vs a bare Starlette app answering 200",
        f"{n:,} updates from {args.people} people, {args.concurrency} concurrent posts, "
        f"{args.repeats} repeats; databases {args.db}",
    )
    with tempfile.TemporaryDirectory(prefix="bench-webhook-") as folder:
        workdir = Path(folder)
        hello_port = free_port()
        hello = hello_app(hello_port, workdir).start()
        try:
            wait_http(hello_port, hello)
            for kind in kinds(args.db):
                with scratch_database(kind) as url:
                    run_one(url, args, workdir, hello_port, n)
        finally:
            hello.stop()
    print(f"# done; {load()}")


def run_one(url: str, args, workdir: Path, hello_port: int, n: int) -> None:
    label = db_label(url)
    print(f"== {label}", flush=True)
    fake = BenchBotAPI()
    fake.set_rate_limit(per_second=None, per_chat_per_second=1)
    fake.start()
    port = free_port()
    service = doithoai(
        "run",
        "--webhook",
        database_url=url,
        api_url=fake.url,
        workdir=workdir,
        name=f"webhook-{label}",
        rate=SERVICE_RATE[0],
        extra={
            "DOITHOAI_WEBHOOK_URL": "https://bench.example.vn",
            "DOITHOAI_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "DOITHOAI_HOST": "127.0.0.1",
            "DOITHOAI_PORT": str(port),
        },
    ).start()
    probe = DbProbe(url)
    floor = None
    if label == "PostgreSQL":
        floor_port = free_port()
        floor = durable_app(floor_port, workdir, url).start()
    bare_rates, floor_rates, rates, sent_rates, cpus, ratios = [], [], [], [], [], []
    ignored_rates, ignored_cpus = [], []
    try:
        wait_http(port, service, timeout=120)
        wait_for(lambda: fake.webhook is not None, timeout=60, what="setWebhook")
        next_uid = 2_000_000
        for repeat in range(args.repeats):
            uids = list(range(next_uid, next_uid + args.people))
            next_uid += args.people + 1000
            payloads = bodies(fake, uids)
            # The bare app first, with the same bodies.
            first, last, statuses = post_all(hello_port, payloads, args.concurrency)
            bare = len(payloads) / (last - first)
            bare_rates.append(bare)
            if floor is not None:
                wait_http(floor_port, floor)
                first, last, _ = post_all(floor_port, payloads, args.concurrency)
                floor_rates.append(len(payloads) / (last - first) / bare)
            before = probe.scalar("SELECT count(*) FROM processed_updates")
            sent_before = fake.counts()["sent"]
            cpu = proc_cpu(service.pid)
            first, posted, statuses = post_all(port, payloads, args.concurrency)
            while probe.scalar("SELECT count(*) FROM processed_updates") - before < len(payloads):
                if not service.alive():
                    raise RuntimeError(service.log_tail())
                if time.monotonic() - first > 600:
                    raise RuntimeError("not processed after 600 s")
                time.sleep(0.05)
            processed = time.monotonic()
            while probe.scalar(
                "SELECT count(*) FROM outbox WHERE status IN ('pending', 'claimed', 'sending')"
            ):
                if time.monotonic() - first > 900:
                    raise RuntimeError("not sent after 900 s")
                time.sleep(0.1)
            with fake._cond:
                last_sent = max(
                    (c.at for c in fake.calls if c.method == "sendMessage" and c.at >= first),
                    default=processed,
                )
            cpu = proc_cpu(service.pid) - cpu
            rate = len(payloads) / (processed - first)
            rates.append(rate)
            sent_rates.append(len(payloads) / (last_sent - first))
            cpus.append(cpu * 1000 / len(payloads))
            ratios.append(rate / bare)
            sent = fake.counts()["sent"] - sent_before
            print(
                f"  repeat {repeat + 1}: bare app {bare:.0f} posts/s; doithoai: posted in "
                f"{posted - first:.1f} s (answers {statuses}), fully processed in "
                f"{processed - first:.1f} s = {rate:.1f}/s, all {sent} replies sent in "
                f"{last_sent - first:.1f} s; CPU {cpus[-1]:.1f} ms an update; {load()}",
                flush=True,
            )
            if args.ignored:
                ignored = ignored_bodies(fake, len(payloads))
                cpu = proc_cpu(service.pid)
                first, posted, statuses = post_all(port, ignored, args.concurrency)
                while probe.scalar("SELECT count(*) FROM incoming_events"):
                    if time.monotonic() - first > 600:
                        raise RuntimeError("not processed after 600 s")
                    time.sleep(0.05)
                done = time.monotonic()
                cpu = proc_cpu(service.pid) - cpu
                ignored_rates.append(len(ignored) / (done - first))
                ignored_cpus.append(cpu * 1000 / len(ignored))
                print(
                    f"  repeat {repeat + 1}, updates the bot ignores (stored, claimed, deleted): "
                    f"posted in {posted - first:.1f} s ({statuses}), all gone in "
                    f"{done - first:.1f} s = {ignored_rates[-1]:.0f}/s = "
                    f"{ignored_rates[-1] / bare:.2f} × the bare app; CPU {ignored_cpus[-1]:.1f} ms "
                    f"an update; {load()}",
                    flush=True,
                )
    finally:
        probe.close()
        code = service.stop()
        if floor is not None:
            floor.stop()
        fake.stop()
    print(f"webhook mode on {label}, {n:,} updates, {args.concurrency} concurrent posts:")
    print(f"  bare Starlette app: {spread(bare_rates, '{:.0f}')} posts/s")
    if floor_rates:
        print(
            f"  the bare app committing each body to PostgreSQL first (bench/_durable_app.py): "
            f"{spread(floor_rates)} × the bare app — what storing an update alone leaves"
        )
    print(f"  doithoai fully processed: {spread(rates, '{:.1f}')} updates/s")
    print(f"  ratio to the bare app (same repeat): {spread(ratios)}  [target ≥ 0.4 on PostgreSQL]")
    print(f"  all replies sent (1 a second a chat): {spread(sent_rates, '{:.1f}')} updates/s")
    print(f"  CPU an update: {spread(cpus, '{:.1f}')} ms; exit code {code}")
    if ignored_rates:
        print(
            f"  updates it ignores (webhook + intake bookkeeping only): "
            f"{spread(ignored_rates, '{:.0f}')}/s, CPU {spread(ignored_cpus, '{:.1f}')} ms an update"
        )
    if fake.violations:
        print(f"  fake's violations: {len(fake.violations)}: {fake.violations[:3]}")


if __name__ == "__main__":
    main()
