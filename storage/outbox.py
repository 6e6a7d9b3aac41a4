"""The outbox: every outgoing message as a row, claimed, sent once, its outcome recorded.

A row goes pending -> claimed (taken by one process, with a lease) -> sending (committed just
before its HTTP call, after every wait) -> sent | failed | unreachable | unknown | window, or
back to pending after a throttle, a retry or a slot its process missed. A row found still
"claimed" after its lease was never sent and goes back to pending; one still "sending" was cut
off mid-call: it may have arrived, so it becomes "unknown" and is listed for the organiser,
never resent by itself (`resend` is the organiser's decision).

The rate budget is a row per channel: the next free sending slot, shared by every process.
Slots are granted one per message claimed, a little over 1/rate apart; a process sends at most
one message per slot it holds, never before the slot and never long after it (bot/outbox.py),
so that several processes together keep the platform's rate in every second.

A person's messages go one at a time: a row is claimable only when none of the same person's
is claimed or sending, and not before the person's pace (`recipient_paces`, written when the
previous send finished, plus the channel's spacing).

"window": the platform takes messages to a person only for a while after they last wrote to
us (Zalo); such a row is never retried on its channel, and a copy keyed KEY:via:CHANNEL may go
to the household's chat on another channel.

The outbox is written in pieces, each re-exported here (`from storage.outbox import X` is the
way in for every caller):

- storage/outbox_rows.py: what a row is (priorities, states, leases, kinds of keys, what a
  final row keeps);
- storage/outbox_budget.py: the shared rate budget and its slots;
- storage/outbox_enqueue.py: adding messages, and a copy through the other channel;
- storage/outbox_sending.py: claim, mark sending, give back, finish, retry, expire leases;
- storage/outbox_unknown.py: rows by status, unknown outcomes and their resending;
- storage/outbox_retention.py: what is forgotten (paces, a person's address, old replies).
"""

from __future__ import annotations

from storage.outbox_budget import (
    BUDGETS,
    grant_slots,
)
from storage.outbox_enqueue import (
    CHUNK,
    REROUTABLE,
    VIA,
    Outgoing,
    blocked_recipients,
    deliver_another_way,
    enqueue,
    enqueue_many,
    reroutable,
    via_key,
)
from storage.outbox_retention import (
    FORGOTTEN,
    drop_pending_to,
    forget_recipient,
    prune,
    prune_paces,
)
from storage.outbox_rows import (
    BACKOFF_CAP,
    BACKOFF_FIRST,
    HELD,
    IN_FLIGHT,
    LEASE,
    LEASE_CLAIMED,
    LEASE_SENDING,
    MAX_ATTEMPTS,
    PRIORITY_BROADCAST,
    PRIORITY_REMINDER,
    PRIORITY_REPLY,
    PRUNABLE,
    RESENDABLE,
    ROWS,
    SEALED,
    UNDELIVERED,
    Claimed,
    Status,
    forgotten,
    kept_body,
    key_range,
)
from storage.outbox_sending import (
    PACES,
    Claim,
    Finished,
    anything_due,
    backoff,
    claim_due,
    expire_leases,
    finish_many,
    give_back,
    mark_recipient_unreachable,
    mark_sending,
    retry_later,
)
from storage.outbox_unknown import (
    counts,
    resend,
    status_counts,
    unknown,
    waiting,
)

__all__ = [
    "BACKOFF_CAP",
    "BACKOFF_FIRST",
    "BUDGETS",
    "CHUNK",
    "Claim",
    "Claimed",
    "FORGOTTEN",
    "Finished",
    "HELD",
    "IN_FLIGHT",
    "LEASE",
    "LEASE_CLAIMED",
    "LEASE_SENDING",
    "MAX_ATTEMPTS",
    "Outgoing",
    "PACES",
    "PRIORITY_BROADCAST",
    "PRIORITY_REMINDER",
    "PRIORITY_REPLY",
    "PRUNABLE",
    "REROUTABLE",
    "RESENDABLE",
    "ROWS",
    "SEALED",
    "Status",
    "UNDELIVERED",
    "VIA",
    "anything_due",
    "backoff",
    "blocked_recipients",
    "claim_due",
    "counts",
    "deliver_another_way",
    "drop_pending_to",
    "enqueue",
    "enqueue_many",
    "expire_leases",
    "finish_many",
    "forget_recipient",
    "forgotten",
    "give_back",
    "grant_slots",
    "kept_body",
    "key_range",
    "mark_recipient_unreachable",
    "mark_sending",
    "prune",
    "prune_paces",
    "reroutable",
    "resend",
    "retry_later",
    "status_counts",
    "unknown",
    "via_key",
    "waiting",
]
