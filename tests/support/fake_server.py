"""The HTTP fake of the Bot API in a process of its own, so that its threads do not share a
GIL with whatever is being measured or tested.

    python -m tests.support.fake_server --chats 1000:3000 [--rate 30 --per-chat 1]

prints one line, the fake's base URL, then reads commands from stdin, one a line:

    dump PATH   write what the fake received as JSON to PATH, then answer "ok"
    quit        stop (closing stdin does the same)

The dump holds `messages` ([chat_id, text, at] in order of arrival, `at` from
time.monotonic(), which every process on the machine shares on Linux), `calls` (how many
per method), `violations` and `rate_limited`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from tests.fakes.telegram_api import FakeBotAPI


def _chat_range(text: str) -> range:
    first, _, last = text.partition(":")
    return range(int(first), int(last))


def snapshot(fake: FakeBotAPI) -> dict[str, Any]:
    with fake._cond:
        calls = Counter(call.method for call in fake.calls)
        violations = list(fake.violations)
        rate_limited = fake.rate_limited
    return {
        "messages": [[m.chat_id, m.text, m.at] for m in fake.all_messages()],
        "calls": dict(calls),
        "violations": violations,
        "rate_limited": rate_limited,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=_chat_range, default=range(0), help="FIRST:END")
    parser.add_argument("--rate", type=float, default=None, help="messages/s overall")
    parser.add_argument("--per-chat", type=float, default=None, help="messages/s to one chat")
    parser.add_argument("--token", default="123456:TEST-TOKEN")
    args = parser.parse_args(argv)
    fake = FakeBotAPI(token=args.token)
    fake.add_private_chats(args.chats)
    fake.set_rate_limit(per_second=args.rate, per_chat_per_second=args.per_chat)
    fake.start()
    print(fake.url, flush=True)
    try:
        for line in sys.stdin:
            command, _, rest = line.strip().partition(" ")
            if command == "dump":
                Path(rest).write_text(json.dumps(snapshot(fake), ensure_ascii=False), "utf-8")
                print("ok", flush=True)
            elif command == "quit":
                break
    finally:
        fake.stop()


class FakeServer:
    """The parent's handle on a fake_server child process."""

    def __init__(self, *, chats: range, rate: float | None = None, per_chat: float | None = None):
        command = [sys.executable, "-m", "tests.support.fake_server"]
        command += ["--chats", f"{chats.start}:{chats.stop}"]
        if rate is not None:
            command += ["--rate", str(rate)]
        if per_chat is not None:
            command += ["--per-chat", str(per_chat)]
        self.token = "123456:TEST-TOKEN"
        self.process = subprocess.Popen(
            command,
            cwd=Path(__file__).resolve().parents[2],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()
        if not self.url.startswith("http://"):
            self.close()
            raise RuntimeError("the fake server did not start")

    def dump(self, path: Path) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"dump {path}\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline().strip()
        assert answer == "ok", answer
        return json.loads(path.read_text("utf-8"))

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            try:
                self.process.stdin.write("quit\n")
                self.process.stdin.close()
            except BrokenPipeError:
                pass
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


if __name__ == "__main__":
    main()
