"""What the service is doing, for Prometheus: sends and their outcomes, throttles, the outbox's
backlog, how long updates take and wait, token refreshes.

Served at `GET /metrics` by the webhook app, and on DOITHOAI_METRICS_PORT in polling mode.
Labels are channels, statuses and outcomes only: never a person, a chat or a text.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

SENDS = Counter(
    "doithoai_sends", "Messages the outbox tried to send, by outcome", ["channel", "result"]
)
THROTTLED = Counter("doithoai_throttled", "429s (throttles) from the platform", ["channel"])
SLOTS_MISSED = Counter(
    "doithoai_slots_missed",
    "Sending slots of the shared budget that went by unused (a stalled process)",
    ["channel"],
)
SEND_SECONDS = Histogram(
    "doithoai_send_seconds",
    "Time of one send to the platform (all its requests)",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
OUTBOX_ROWS = Gauge(
    "doithoai_outbox_rows", "Outbox rows not yet final, and unknown ones", ["channel", "status"]
)
UPDATES = Counter(
    "doithoai_updates", "Incoming updates, by what became of them", ["channel", "outcome"]
)
UPDATE_SECONDS = Histogram(
    "doithoai_update_seconds",
    "Time to process one incoming update (its transaction)",
    ["channel"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
INTAKE_LAG = Histogram(
    "doithoai_intake_lag_seconds",
    "From an update's arrival to the start of its processing",
    ["channel"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60),
)
TOKEN_REFRESHES = Counter(
    "doithoai_token_refreshes", "Access token refreshes, by outcome", ["channel", "outcome"]
)
