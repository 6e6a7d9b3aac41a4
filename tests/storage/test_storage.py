"""Storage rules, each checked on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import date, timedelta
from itertools import pairwise

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot.core.messages import Address
from storage import outbox
from storage.accounts import create_account, find_account
from storage.conversations import State, load_state, save_state
from storage.db import check, create_engine, schema_is_current, session_factory
from storage.dialogues import create_dialogue, general_intake, open_dialogues
from storage.models import Conversation, OutboxMessage, Question
from storage.questions import TICKET_ALPHABET, add_question, questions_of, release_questions
from storage.updates import already_processed, record_processed


@pytest.fixture
async def sessions(database_url):
    engine = create_engine(database_url)
    yield session_factory(engine)
    await engine.dispose()


async def test_the_migrations_match_the_models_and_leave_the_schema_current(database_url):
    await asyncio.to_thread(check, database_url)
    engine = create_engine(database_url)
    current, found, head = await schema_is_current(engine, database_url)
    await engine.dispose()
    assert current and found == head


async def test_the_general_intake_exists_after_migrating(sessions):
    async with sessions() as session:
        intake = await general_intake(session)
    assert intake.kind == "general"


async def test_an_update_key_can_be_recorded_only_once(sessions, clock):
    async with sessions() as session, session.begin():
        assert not await already_processed(session, channel="telegram", key="1")
        await record_processed(session, channel="telegram", key="1", at=clock())
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            await record_processed(session, channel="telegram", key="1", at=clock())
    async with sessions() as session:
        assert await already_processed(session, channel="telegram", key="1")
        assert not await already_processed(session, channel="zalo", key="1")


async def test_open_dialogues_are_the_planned_ones_before_their_deadline(sessions, clock):
    now = clock()
    async with sessions() as session, session.begin():
        soon = await create_dialogue(
            session,
            title="Sớm",
            starts_at=now + timedelta(days=3),
            venue="Hội trường",
            question_deadline=now + timedelta(days=1),
        )
        await create_dialogue(
            session,
            title="Hết hạn",
            starts_at=now + timedelta(days=3),
            venue="Hội trường",
            question_deadline=now - timedelta(hours=1),
        )
        await create_dialogue(session, title="Đã qua", starts_at=now - timedelta(days=1), venue="")
        later = await create_dialogue(
            session, title="Muộn", starts_at=now + timedelta(days=9), venue="Nhà văn hoá"
        )
    async with sessions() as session:
        found = await open_dialogues(session, now=now)
    assert [d.id for d in found] == [soon.id, later.id]


async def test_conversation_state_round_trips_and_an_empty_state_leaves_no_row(sessions):
    async with sessions() as session, session.begin():
        await save_state(
            session,
            channel="telegram",
            user_id="7",
            state=State("ask.text", {"nonce": "ab12", "text": "Đường ngập nước <b>"}),
        )
    async with sessions() as session, session.begin():
        state = await load_state(session, channel="telegram", user_id="7")
        assert state == State("ask.text", {"nonce": "ab12", "text": "Đường ngập nước <b>"})
        await save_state(session, channel="telegram", user_id="7", state=State())
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Conversation)) == 0


async def test_an_asker_lists_named_and_anonymous_questions_and_loses_them_on_release(sessions):
    async with sessions() as session, session.begin():
        intake = await general_intake(session)
        account = await create_account(
            session,
            channel="telegram",
            user_id="42",
            display_name="Lan",
            locale="vi",
            consented_on=date(2026, 11, 20),
        )
        named = await add_question(
            session,
            dialogue_id=intake.id,
            topic="tindung",
            agency="nhcsxh",
            text="Vay vốn thế nào?",
            submitted_on=date(2026, 11, 20),
            account_id=account.id,
        )
        hidden = await add_question(
            session,
            dialogue_id=intake.id,
            topic="rasoat",
            agency="ldtbxh",
            text="Vì sao hộ bên cạnh được xếp cận nghèo?",
            submitted_on=date(2026, 11, 21),
            asker_hash="h" * 64,
            reply_handle=b"sealed",
        )
        await add_question(
            session,
            dialogue_id=intake.id,
            topic="khac",
            agency="ubnd",
            text="Của người khác",
            submitted_on=date(2026, 11, 21),
            asker_hash="o" * 64,
            reply_handle=b"other",
        )
    assert hidden.anonymous and hidden.account_id is None
    assert set(named.ticket) <= set(TICKET_ALPHABET) and len(named.ticket) == 6
    async with sessions() as session:
        mine = await questions_of(session, account_id=account.id, asker_hash="h" * 64)
    assert [item.question.ticket for item in mine] == [hidden.ticket, named.ticket]
    async with sessions() as session, session.begin():
        assert await release_questions(session, account_id=account.id, asker_hash="h" * 64) == 2
    async with sessions() as session:
        assert await questions_of(session, account_id=account.id, asker_hash="h" * 64) == []
        rows = list(await session.scalars(select(Question).order_by(Question.text)))
    assert len(rows) == 3
    released = [q for q in rows if q.text != "Của người khác"]
    assert all(
        q.account_id is None and q.asker_hash is None and q.reply_handle is None for q in released
    )


async def test_an_anonymous_question_needs_its_hash_and_handle(sessions):
    async with sessions() as session, session.begin():
        intake = await general_intake(session)
        with pytest.raises(ValueError):
            await add_question(
                session,
                dialogue_id=intake.id,
                topic="khac",
                agency="ubnd",
                text="x" * 20,
                submitted_on=date(2026, 11, 20),
            )


async def test_an_account_is_unique_per_address(sessions):
    async with sessions() as session, session.begin():
        await create_account(
            session,
            channel="telegram",
            user_id="1",
            display_name="A",
            locale="vi",
            consented_on=date(2026, 1, 1),
        )
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            await create_account(
                session,
                channel="telegram",
                user_id="1",
                display_name="B",
                locale="vi",
                consented_on=date(2026, 1, 1),
            )
    async with sessions() as session:
        found = await find_account(session, channel="telegram", user_id="1")
    assert found is not None and found.display_name == "A" and len(found.asker_salt) == 32


async def _enqueue(sessions, clock, key, priority=outbox.PRIORITY_REPLY, recipient="1"):
    async with sessions() as session, session.begin():
        return await outbox.enqueue(
            session,
            key=key,
            channel="telegram",
            recipient=recipient,
            body={"text": key},
            now=clock(),
            priority=priority,
        )


async def test_the_outbox_keeps_one_row_per_idempotency_key(sessions, clock):
    assert await _enqueue(sessions, clock, "invite:1:2:telegram")
    assert not await _enqueue(sessions, clock, "invite:1:2:telegram")
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


FAST = timedelta(milliseconds=1)  # an interval between slots that never limits these tests


async def _claim(session, clock, *, interval=FAST, limit=100):
    return await outbox.claim_due(
        session, channel="telegram", interval=interval, now=clock(), limit=limit
    )


async def test_the_outbox_claims_replies_before_broadcasts_and_not_before_their_time(
    sessions, clock
):
    await _enqueue(sessions, clock, "broadcast", outbox.PRIORITY_BROADCAST, recipient="1")
    await _enqueue(sessions, clock, "reply", outbox.PRIORITY_REPLY, recipient="2")
    await _enqueue(sessions, clock, "reminder", outbox.PRIORITY_REMINDER, recipient="3")
    async with sessions() as session, session.begin():
        claim = await _claim(session, clock, limit=2)
    assert [c.body["text"] for c in claim.messages] == ["reply", "reminder"]
    async with sessions() as session, session.begin():
        await outbox.retry_later(
            session,
            message=claim.messages[0],
            not_before=clock() + timedelta(seconds=30),
            reason="429",
        )
        again = await _claim(session, clock)
    assert [c.body["text"] for c in again.messages] == ["broadcast"]
    clock.advance(seconds=31)
    async with sessions() as session, session.begin():
        later = await _claim(session, clock)
    assert [c.body["text"] for c in later.messages] == ["reply"]
    assert later.messages[0].attempts == 1  # the throttled try counted


async def test_a_message_cut_off_mid_send_becomes_unknown_and_is_never_claimed_again(
    sessions, clock
):
    await _enqueue(sessions, clock, "cut")
    async with sessions() as session, session.begin():
        [claimed] = (await _claim(session, clock)).messages
        assert await outbox.mark_sending(session, messages=[claimed], now=clock()) == {claimed.id}
    clock.advance(seconds=outbox.LEASE_SENDING.total_seconds() + 1)
    async with sessions() as session, session.begin():
        assert await outbox.expire_leases(session, now=clock()) == 1
        assert (await _claim(session, clock)).messages == []
    async with sessions() as session:
        row = await session.get(OutboxMessage, claimed.id)
    assert row.status == "unknown" and row.body is None


async def test_an_invitation_cut_off_mid_send_keeps_its_text_for_the_organiser_to_resend(
    sessions, clock
):
    await _enqueue(sessions, clock, "invite:1:2")
    async with sessions() as session, session.begin():
        [claimed] = (await _claim(session, clock)).messages
        await outbox.mark_sending(session, messages=[claimed], now=clock())
    clock.advance(seconds=outbox.LEASE_SENDING.total_seconds() + 1)
    async with sessions() as session, session.begin():
        await outbox.expire_leases(session, now=clock())
        [listed] = await outbox.unknown(session, prefixes=["invite:1:"])
        assert listed[1] == "invite:1:2" and listed[5]  # resendable
        assert await outbox.resend(session, ids=[claimed.id], now=clock()) == [claimed.id]
        [again] = (await _claim(session, clock)).messages
    assert again.body == {"text": "invite:1:2"}


async def test_a_message_claimed_but_never_sent_goes_back_to_pending_and_its_old_claim_is_void(
    sessions, clock
):
    await _enqueue(sessions, clock, "claimed only")
    async with sessions() as session, session.begin():
        [first] = (await _claim(session, clock)).messages
    clock.advance(seconds=outbox.LEASE_CLAIMED.total_seconds() + 1)
    async with sessions() as session, session.begin():
        assert await outbox.expire_leases(session, now=clock()) == 1
        [second] = (await _claim(session, clock)).messages
    assert second.id == first.id and second.claim != first.claim
    async with sessions() as session, session.begin():
        assert await outbox.mark_sending(session, messages=[first], now=clock()) == set()
        assert await outbox.mark_sending(session, messages=[second], now=clock()) == {second.id}


async def test_slots_are_one_interval_apart_and_a_person_gets_one_message_at_a_time(
    sessions, clock
):
    for n in range(6):
        await _enqueue(sessions, clock, f"to-a-{n}", recipient="a")
    for n in range(4):
        await _enqueue(sessions, clock, f"to-{n}", recipient=f"r{n}")
    tenth = timedelta(seconds=0.1)
    async with sessions() as session, session.begin():
        claim = await _claim(session, clock, interval=tenth)
    # The first message to "a", then the four others; "a"'s next waits for this one.
    assert [c.recipient for c in claim.messages] == ["a", "r0", "r1", "r2", "r3"]
    assert [b - a for a, b in pairwise(claim.slots)] == [tenth] * 4
    async with sessions() as session, session.begin():
        assert (await _claim(session, clock, interval=tenth)).messages == []
        # "a"'s message went; the next one waits for the spacing counted from its end.
        sent = outbox.Finished(claim.messages[0], outbox.Status.SENT, clock())
        await outbox.finish_many(session, finished=[sent], spacing=timedelta(seconds=1))
        held = await _claim(session, clock, interval=tenth)
    assert held.messages == [] and held.retry_at == sent.at + timedelta(seconds=1)
    clock.at(held.retry_at)
    async with sessions() as session, session.begin():
        [next_to_a] = (await _claim(session, clock, interval=tenth)).messages
    assert next_to_a.key == "to-a-1"


async def test_no_two_claims_ever_get_the_same_slot(sessions, clock):
    for n in range(40):
        await _enqueue(sessions, clock, f"m{n}", recipient=f"r{n}")
    interval = timedelta(milliseconds=50)
    slots = []
    async with sessions() as session, session.begin():
        slots += (await _claim(session, clock, interval=interval, limit=7)).slots
    async with sessions() as session, session.begin():
        slots += (await _claim(session, clock, interval=interval, limit=7)).slots
        slots += await outbox.grant_slots(
            session, channel="telegram", now=clock(), interval=interval, count=3
        )
    assert len(slots) == 17 and [b - a for a, b in pairwise(slots)] == [interval] * 16


async def test_a_failure_without_an_answer_is_retried_with_a_growing_wait_then_failed(
    sessions, clock
):
    await _enqueue(sessions, clock, "flaky")
    waits = []
    for _ in range(outbox.MAX_ATTEMPTS):
        async with sessions() as session, session.begin():
            [claimed] = (await _claim(session, clock)).messages
            wait = outbox.backoff(claimed.attempts + 1)
            again = await outbox.retry_later(
                session, message=claimed, not_before=clock() + wait, reason="connection refused"
            )
        waits.append(wait)
        clock.advance(seconds=wait.total_seconds())
    assert not again
    assert waits[:4] == [timedelta(seconds=s) for s in (5, 10, 20, 40)]
    assert max(waits) <= outbox.BACKOFF_CAP
    async with sessions() as session:
        [row] = (await session.scalars(select(OutboxMessage))).all()
    assert (row.status, row.attempts, row.body) == ("failed", outbox.MAX_ATTEMPTS, None)
    assert row.error.startswith(f"gave up after {outbox.MAX_ATTEMPTS} attempts")


async def test_a_sent_message_keeps_no_body(sessions, clock):
    await _enqueue(sessions, clock, "receipt")
    async with sessions() as session, session.begin():
        [claimed] = (await _claim(session, clock)).messages
        sent_at = clock()
        await outbox.finish_many(
            session,
            finished=[outbox.Finished(claimed, outbox.Status.SENT, sent_at)],
            spacing=timedelta(seconds=1),
        )
    async with sessions() as session:
        row = await session.get(OutboxMessage, claimed.id)
    assert (row.status, row.body, row.sent_at) == ("sent", None, sent_at)


async def test_an_unreachable_recipient_takes_their_waiting_messages_with_them(sessions, clock):
    for key in ("a", "b"):
        await _enqueue(sessions, clock, key, recipient="9")
    await _enqueue(sessions, clock, "c", recipient="10")
    async with sessions() as session, session.begin():
        [claimed] = (await _claim(session, clock, limit=1)).messages
        await outbox.finish_many(
            session,
            finished=[outbox.Finished(claimed, outbox.Status.UNREACHABLE, clock(), "blocked")],
            spacing=timedelta(seconds=1),
        )
        await outbox.mark_recipient_unreachable(
            session, channel="telegram", recipient="9", reason="blocked"
        )
        statuses = await outbox.counts(session)
    assert statuses == {"unreachable": 2, "pending": 1}


async def test_enqueue_many_counts_only_the_rows_it_really_inserted(sessions, clock):
    await _enqueue(sessions, clock, "bulk:3")
    messages = [
        outbox.Outgoing(key=f"bulk:{n}", channel="telegram", recipient=str(n), body={"text": ""})
        for n in range(6)
    ]
    async with sessions() as session, session.begin():
        assert await outbox.enqueue_many(session, messages=messages, now=clock()) == 5
        assert await outbox.enqueue_many(session, messages=messages, now=clock()) == 0


async def test_old_replies_and_update_keys_are_pruned_in_batches_and_invitations_kept(
    sessions, clock
):
    for n in range(5):
        await _enqueue(sessions, clock, f"reply:telegram:{n}:0", recipient=str(n))
        async with sessions() as session, session.begin():
            await record_processed(session, channel="telegram", key=str(n), at=clock())
    await _enqueue(sessions, clock, "invite:1:1", recipient="99")
    async with sessions() as session, session.begin():
        claim = await _claim(session, clock)
        await outbox.finish_many(
            session,
            finished=[outbox.Finished(m, outbox.Status.SENT, clock()) for m in claim.messages],
            spacing=timedelta(0),
        )
    clock.advance(days=31)
    before = clock() - timedelta(days=30)
    pruned = []
    while True:
        async with sessions() as session, session.begin():
            done = await outbox.prune(session, before=before, batch=2)
        pruned.append(done)
        if done < 2:
            break
    assert pruned == [2, 2, 1]
    async with sessions() as session:
        keys = list(await session.scalars(select(OutboxMessage.key)))
        assert keys == ["invite:1:1"]
        assert not await already_processed(session, channel="telegram", key="0")


async def test_two_workers_claim_disjoint_messages(sessions, clock):
    for n in range(30):
        await _enqueue(sessions, clock, f"m{n}", recipient=f"r{n}")

    async def worker() -> list[int]:
        got = []
        while True:
            async with sessions() as session, session.begin():
                batch = (await _claim(session, clock, limit=4)).messages
            if not batch:
                return got
            got.extend(c.id for c in batch)
            await asyncio.sleep(0)

    first, second = await asyncio.gather(worker(), worker())
    assert len(first) + len(second) == 30
    assert not set(first) & set(second)


def test_an_address_is_a_small_frozen_key():
    address = Address("telegram", "42")
    assert {address: 1}[Address("telegram", "42")] == 1
    with pytest.raises(AttributeError):
        address.user_id = "43"  # type: ignore[misc]


async def test_a_connection_dropped_in_the_middle_of_a_read_frees_the_write_lock_at_once(
    sqlite_url, clock
):
    """What a task cancelled between a SELECT and its rows leaves behind: SQLAlchemy throws the
    connection away (invalidate), with the driver's cursor still holding an unfinished
    statement. The next writer must get the lock at once, not after the 30 s busy timeout."""
    engine = create_engine(sqlite_url)
    sessions = session_factory(engine)
    async with sessions() as session:
        await session.begin()
        await record_processed(session, channel="telegram", key="1", at=clock())  # locked now
        connection = await session.connection()
        driver = (await connection.get_raw_connection()).driver_connection
        unfinished = await driver.execute("SELECT value FROM json_each('[1, 2, 3]')")
        await connection.invalidate()
    await engine.dispose()

    other = sqlite3.connect(sqlite_url.removeprefix("sqlite+aiosqlite:///"), timeout=0)
    try:
        other.execute("BEGIN IMMEDIATE")  # raises "database is locked" if anything holds it
        assert other.execute("SELECT count(*) FROM processed_updates").fetchone() == (0,)
        other.execute("ROLLBACK")
    finally:
        other.close()
    assert unfinished is not None  # still referenced here: no garbage collection helped
