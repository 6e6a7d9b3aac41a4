"""People chatting with a bot through the fake Bot API: each person takes the steps of asking
a question, one after another, each step once the bot has answered the previous one (a person
presses the buttons the bot's last answer showed) and not sooner than planned.

Used by bench_flow.py, against the real `doithoai run` and against the bare echo bot alike:
the echo bot's answers carry no buttons, so a press there names the bot's last message.
"""

from __future__ import annotations

import heapq
import queue
import threading
import time
from dataclasses import dataclass, field

from _common import BenchBotAPI

QUESTION = "Vì sao nhà bên cạnh có xe hơi mà vẫn được xếp hộ cận nghèo? Người hỏi số {uid}."

# The steps of asking a question with no dialogue planned (the general intake): what a person
# types, or the label of the button they press on the bot's last answer.
ASK_STEPS: list[tuple[str, str]] = [
    ("text", "/start"),
    ("press", "Tôi đồng ý"),
    ("text", "/hoi"),
    ("press", "Rà soát"),
    ("text", QUESTION),
    ("press", "Ẩn danh"),
    ("press", "✅ Gửi"),
]


@dataclass
class Person:
    uid: int
    start: float  # when the first step is planned (monotonic)
    step: int = 0  # the next step to take
    waiting: bool = False  # a step taken, its answer not seen yet
    sent_at: float = 0.0
    last_reply: float = 0.0


@dataclass
class Result:
    updates: int = 0
    first_push: float = 0.0
    last_reply: float = 0.0
    latencies: list[float] = field(default_factory=list)
    press_pushed: dict[str, float] = field(default_factory=dict)
    push_times: list[float] = field(default_factory=list)
    finished_people: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return max(1e-9, self.last_reply - self.first_push)


class Driver:
    """Drives `people` through `steps` on `fake`; `run()` returns when every person has had
    every answer, or `timeout` seconds after the start."""

    def __init__(
        self,
        fake: BenchBotAPI,
        uids: list[int],
        *,
        buttons: bool,
        think: float = 1.0,
        gap: float = 0.0,
        spread: float = 0.0,
        steps: list[tuple[str, str]] = ASK_STEPS,
    ):
        """`buttons`: press the button with the step's label (doithoai), else the bot's last
        message whatever it shows (the echo bot). `think`: a person's least time between an
        answer and their next step (Telegram's one message a second to a chat applies to the
        echo bot's answers too). `gap`: the planned time between two steps of a person;
        `spread`: the people's first steps spread evenly over this many seconds."""
        self.fake, self.buttons, self.think, self.gap, self.steps = fake, buttons, think, gap, steps
        self.uids = uids
        self.spread = spread
        self.result = Result()

    def _push(self, person: Person, now: float) -> None:
        kind, value = self.steps[person.step]
        if kind == "text":
            text = value.format(uid=person.uid)
            self.fake.send_text(person.uid, text)
        else:
            messages = self.fake.messages_to(person.uid)
            if self.buttons:
                data = None
                for message in reversed(messages):
                    for row in message.buttons:
                        for label, button_data in row:
                            if value in label:
                                data = button_data
                                break
                        if data:
                            break
                    if data:
                        break
                if data is None:
                    self.result.errors.append(
                        f"{person.uid}: no button {value!r} in {[m.text[:60] for m in messages[-2:]]}"
                    )
                    person.step = len(self.steps)
                    return
                update = self.fake.press(person.uid, data)
            else:
                update = self.fake.press(person.uid, "x", message_id=messages[-1].message_id)
            self.result.press_pushed[update["callback_query"]["id"]] = now
        person.waiting = True
        person.sent_at = now
        self.result.updates += 1
        self.result.push_times.append(now)

    def run(self, timeout: float) -> Result:
        start = time.monotonic() + 0.2
        n = len(self.uids)
        people = {
            uid: Person(uid, start + (i * self.spread / n if n else 0))
            for i, uid in enumerate(self.uids)
        }
        due: list[tuple[float, int]] = [(p.start, p.uid) for p in people.values()]
        heapq.heapify(due)
        # Answers to someone else's run (an earlier repeat's stragglers) are not ours.
        while True:
            try:
                self.fake.events.get_nowait()
            except queue.Empty:
                break
        self.result.first_push = start
        remaining = n
        deadline = start + timeout
        while remaining and time.monotonic() < deadline:
            now = time.monotonic()
            while due and due[0][0] <= now:
                _, uid = heapq.heappop(due)
                person = people[uid]
                self._push(person, time.monotonic())
                if person.step >= len(self.steps):
                    remaining -= 1
            wait = min(0.2, max(0.0, due[0][0] - time.monotonic())) if due else 0.2
            try:
                kind, chat, at = self.fake.events.get(timeout=wait)
            except queue.Empty:
                continue
            person = people.get(chat)
            if person is None or not person.waiting or at < person.sent_at:
                continue
            person.waiting = False
            person.last_reply = at
            self.result.latencies.append(at - person.sent_at)
            self.result.last_reply = max(self.result.last_reply, at)
            person.step += 1
            if person.step >= len(self.steps):
                remaining -= 1
                self.result.finished_people += 1
                continue
            planned = person.start + person.step * self.gap
            heapq.heappush(due, (max(planned, at + self.think), person.uid))
        if remaining:
            self.result.errors.append(f"{remaining} of {n} people not finished after {timeout} s")
        return self.result

    def late_presses(self, limit: float = 15.0, settle: float = 5.0) -> tuple[int, int]:
        """(answered later than `limit` s after the press, never answered): waits up to
        `settle` s for answers still on their way."""
        deadline = time.monotonic() + settle
        while time.monotonic() < deadline:
            with self.fake._cond:
                missing = [q for q in self.result.press_pushed if q not in self.fake.answer_times]
            if not missing:
                break
            time.sleep(0.1)
        with self.fake._cond:
            answers = dict(self.fake.answer_times)
        late = sum(
            1
            for q, at in self.result.press_pushed.items()
            if q in answers and answers[q] - at > limit
        )
        never = sum(1 for q in self.result.press_pushed if q not in answers)
        return late, never


def in_thread(function, *args, **kwargs):
    """Run `function` in a thread of its own and return its result (the driver must not
    share the asyncio loop of whatever else this process does)."""
    box: dict = {}

    def target() -> None:
        box["result"] = function(*args, **kwargs)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join()
    return box["result"]
