"""The rate as the platform counts it: when one process's requests on one channel really went.

The shared budget (storage/outbox_budget.py) spaces the slots, and a send takes its slot on
time (bot/outbox.py). But between taking a slot and the request leaving lie the platform
library's work and any stall of the process: a request that leaves 80 ms late lands among the
next second's, which left on time, and the platform sees rate + 1 in a second (its 429). Two
rules, each checked as late as it can be:

- **Not long after its slot, at the wire.** A send's first request does not go more than
  `latest` (its slot and the grace) after its slot: the channel asks just before the first
  byte (bot/core/departure.py) and is stopped with nothing written; the row goes back to
  pending. This one holds across processes: it is what the budget's margin is counted on.
- **At most `rate` in any DEPARTURE_WINDOW, by departure.** Each request's departure is
  recorded as late as it is known (when the channel says its bytes were written, else when
  its send returned, and "now" while it has not gone), and a send waits until the rate-th
  latest departure of its lane is a window behind it: a request held up but let go delays
  those of this process that would reach the platform in the same second.

DEPARTURE_WINDOW - 1 s covers what changes between a request leaving and the platform's clock
seeing it (a few ms on loopback). It is shorter than the budget's (BUDGET_WINDOW in
bot/outbox.py), so that the usual few ms between a slot and its request leaving do not delay
the send a second later: a wait happens only after a stall.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.core.departure import TooLate

DEPARTURE_WINDOW = timedelta(seconds=1, milliseconds=10)


class Departure:
    """One send: when its request went, as late as known so far (None while it has not gone);
    the watch its channel reports to (bot.core.departure.Watch)."""

    __slots__ = ("_clock", "_stops", "at", "done", "key", "latest", "let_go", "stopped", "told")

    def __init__(
        self,
        clock: Callable[[], datetime],
        latest: datetime | None,
        key: object = None,
        stops: set[object] | None = None,
    ):
        self._clock = clock
        self.latest = latest
        self.key, self._stops = key, stops  # where a stopped send's key is noted
        self.at: datetime | None = None
        self.told = False  # the channel said when its request went
        self.let_go = False  # a request of this send may have gone: none is stopped after
        self.stopped = False  # its first request was stopped: nothing of it went
        self.done = False  # the send returned: `at` moves no more

    # Once the send returned, a request still reporting here is not its own (a task it started
    # copied the watch with its context): nothing of it is stopped or counted.

    def leaving(self) -> None:
        if self.done:
            return
        if not self.let_go and self.latest is not None and self._clock() > self.latest:
            self.stopped = True
            if self._stops is not None and self.key is not None:
                self._stops.add(self.key)
            raise TooLate(f"held up past its slot: not sent (due by {self.latest:%H:%M:%S.%f})")
        self.let_go = True

    def departed(self) -> None:
        if not self.done:
            self.at, self.told, self.let_go = self._clock(), True, True

    def ended(self) -> None:
        """The send returned: its departure now, if the channel never said when."""
        if not self.told:
            self.at = self._clock()
        self.done = True


class Departures:
    """The last sends of one lane, to hold the next one back until the rate-th latest went a
    window ago."""

    def __init__(
        self, rate: float, *, clock: Callable[[], datetime], window: timedelta = DEPARTURE_WINDOW
    ):
        self.count = max(1, int(rate))
        self.window = window
        self._clock = clock
        self._recent: deque[Departure] = deque()
        self._stopped_once: set[object] = set()

    def not_before(self, now: datetime) -> datetime | None:
        """When the next request may go, if later than `now`: a window after the rate-th latest
        departure (one not gone yet counts as going now; one stopped, not at all)."""
        # Kept while it may still count: not finished, or gone less than a window ago. Not by
        # number: one send held up may be overtaken by any number of later ones.
        horizon = now - self.window
        self._recent = deque(
            d for d in self._recent if not (d.done and d.at is not None and d.at <= horizon)
        )
        moments = sorted(
            now if d.at is None else d.at for d in self._recent if not (d.stopped and not d.told)
        )
        if len(moments) < self.count:
            return None
        at = moments[-self.count] + self.window
        return at if at > now else None

    def start(self, *, latest: datetime | None = None, key: object = None) -> Departure:
        """A send begins, its first request not to go after `latest`: counted from now on.

        A message (`key`) stopped once in this process goes the next time however late: a
        process too starved to meet its slots (its event loop slower than GRACE) would
        otherwise stop every send and send nothing at all. The departures still hold it."""
        if key is not None and key in self._stopped_once:
            self._stopped_once.discard(key)
            latest = None
        if len(self._stopped_once) > 10_000:  # rows that another process took meanwhile
            self._stopped_once.clear()
        departure = Departure(self._clock, latest, key, self._stopped_once)
        self._recent.append(departure)
        return departure
