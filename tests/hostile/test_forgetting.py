"""/xoa, a refusal and silence on the consent really forget a chat: its address is in no
table afterwards (issue 12, item 4). Every column that can hold a person's address, name,
username or phone has a rule in storage/personal_data.py."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, select

from bot.clock import Ticker
from bot.core.i18n import Translator
from storage.models import Base, LinkAttempt, OutboxMessage, UnconsentedChat
from storage.personal_data import RULES, personal_columns, unregistered
from tests.telegram.test_invitations import _households

VI = Translator("vi")

# Distinctive, so that a match is the person and not a counter.
CHAT = 7311904517
NAME = "Huỳnh Bí Mật"


# ---- the registry ------------------------------------------------------------------------


def test_every_column_that_can_hold_personal_data_has_a_rule():
    assert unregistered(Base.metadata) == []
    columns = {f"{t.name}.{c.name}" for t in Base.metadata.tables.values() for c in t.columns}
    assert set(RULES) <= columns, "a rule for a column that no longer exists"
    for must in ("accounts.user_id", "outbox.recipient", "households.phone", "staff.name"):
        assert must in personal_columns(Base.metadata)


def test_a_new_column_for_a_name_a_username_or_a_phone_without_a_rule_is_caught():
    metadata = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(metadata)
    Table(
        "nicknames",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("telegram_username", String(64)),
        Column("contact_phone", String(20)),
        Column("chat_id", String(64)),
        Column("full_name", String(200)),
    )
    assert unregistered(metadata) == [
        "nicknames.chat_id",
        "nicknames.contact_phone",
        "nicknames.full_name",
        "nicknames.telegram_username",
    ]


# ---- what the database holds -------------------------------------------------------------


async def places(runtime, *needles: str) -> dict[str, list]:
    """Every "table.column" where one of `needles` appears, with the rows' keys (a scan of
    every table: text, JSON and bytes)."""
    found: dict[str, list] = {}
    async with runtime.sessions() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).mappings():
                for name, value in row.items():
                    if value is None or isinstance(value, (int, float, bool, datetime)):
                        continue
                    if isinstance(value, bytes):
                        text = value.decode("utf-8", "replace")
                    elif isinstance(value, (dict, list)):
                        text = json.dumps(value, ensure_ascii=False)
                    else:
                        text = str(value)
                    if any(n in text for n in needles):
                        found.setdefault(f"{table.name}.{name}", []).append(
                            row.get("key") or row.get("user_id") or row.get("id")
                        )
    return found


async def settled(runtime) -> None:
    """Wait until no outbox row is waiting or on the wire (a bounded wait for a condition)."""
    for _ in range(600):
        async with runtime.sessions() as session:
            busy = await session.scalar(
                select(OutboxMessage.id)
                .where(OutboxMessage.status.in_(("pending", "claimed", "sending")))
                .limit(1)
            )
        if busy is None:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the outbox did not settle")


def ticker(runtime, clock) -> Ticker:
    return Ticker(
        runtime.sessions,
        clock=clock,
        zone=runtime.settings.zone,
        default_locale="vi",
        policy=runtime.settings.policy,
    )


# Where a chat without consent may be, until the sweep: the replies on their way or just sent
# (the outbox needs the address for them), its pace, and the note to forget it.
UNTIL_THE_SWEEP = {"outbox.recipient", "recipient_paces.user_id", "unconsented_chats.user_id"}


async def _sweep(telegram, clock) -> None:
    await settled(telegram.runtime)
    clock.advance(minutes=61)  # DOITHOAI_UNCONSENTED_MINUTES: 60 by default
    await ticker(telegram.runtime, clock).tick()


async def test_delete_my_data_erases_the_chat_from_every_table_in_the_same_request(telegram, clock):
    runtime = telegram.runtime
    [household, *_] = await _households(runtime)
    lan = telegram.chat(CHAT, NAME)
    await lan.say("/start SAIMA99")  # a wrong code first: throttled, by keyed hash
    await lan.say(f"/start {household.link_code}")
    await lan.press("Tôi đồng ý")
    for how in ("Ẩn danh", "Ghi tên tôi"):
        await telegram.ask(
            lan, "Xin cho biết lịch tiếp dân của phường?", anonymous=how == "Ẩn danh"
        )
    # The household's invitation went to this chat, and another's fate is unknown.
    async with runtime.sessions() as session, session.begin():
        now = clock()
        for key, status in (("invite:2:1:telegram", "sent"), ("remind:5:1:telegram", "unknown")):
            session.add(
                OutboxMessage(
                    key=key,
                    channel="telegram",
                    recipient=str(CHAT),
                    status=status,
                    body={"text": "Kính mời"} if status == "unknown" else None,
                    not_before=now,
                    created_at=now,
                )
            )
    await settled(runtime)
    before = await places(runtime, str(CHAT), NAME)
    assert {"accounts.user_id", "household_links.user_id", "outbox.recipient"} <= set(before)
    assert "link_attempts.key" not in before  # the throttle never held the address

    await lan.say("/xoa")
    [done] = await lan.press("Xoá dữ liệu")
    assert done.text == VI._(
        "Your data has been deleted. Your questions remain for the dialogue without any link "
        "to you. Type /start if you want to use the bot again."
    )
    await settled(runtime)

    # At once: only the goodbye itself, its pace and the note to forget the chat.
    after = await places(runtime, str(CHAT), NAME)
    assert set(after) <= UNTIL_THE_SWEEP, after
    assert len(after.get("outbox.recipient", [])) == 1
    async with runtime.sessions() as session:
        rows = {r.key: r for r in await session.scalars(select(OutboxMessage))}
    assert rows["invite:2:1:telegram"].recipient == ""
    unknown = rows["remind:5:1:telegram"]
    assert (unknown.status, unknown.body, unknown.recipient) == ("failed", None, "")

    await _sweep(telegram, clock)
    assert await places(runtime, str(CHAT), NAME) == {}


async def test_a_wrong_code_before_consent_leaves_nothing_after_the_sweep(telegram, clock):
    stranger = telegram.chat(CHAT, NAME)
    [refused] = await stranger.say("/start WRONGCODE")
    assert "WRONGCODE" in refused.text
    await settled(telegram.runtime)
    assert set(await places(telegram.runtime, str(CHAT), NAME)) <= UNTIL_THE_SWEEP
    async with telegram.runtime.sessions() as session:
        [attempt] = list(await session.scalars(select(LinkAttempt)))
    assert str(CHAT) not in attempt.key and len(attempt.key) == 40

    await _sweep(telegram, clock)
    assert await places(telegram.runtime, str(CHAT), NAME) == {}
    async with telegram.runtime.sessions() as session:
        assert list(await session.scalars(select(LinkAttempt))) == []  # its hour is over


async def test_not_now_on_the_consent_forgets_what_was_sent_at_once_and_the_rest_later(
    telegram, clock
):
    lan = telegram.chat(CHAT, NAME)
    await lan.say("/start")
    [declined] = await lan.press("Để sau")
    assert declined.text.startswith("Vâng, chưa có gì được lưu.")
    await settled(telegram.runtime)
    async with telegram.runtime.sessions() as session:
        rows = list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    # The consent statement keeps no address; the answer to the refusal, until the sweep.
    assert [r.recipient for r in rows] == ["", str(CHAT)]

    await _sweep(telegram, clock)
    assert await places(telegram.runtime, str(CHAT), NAME) == {}


async def test_silence_on_the_consent_is_forgotten_after_the_set_minutes(telegram, clock):
    lan = telegram.chat(CHAT, NAME)
    await lan.say("/start")
    await settled(telegram.runtime)
    clock.advance(minutes=59)
    await ticker(telegram.runtime, clock).tick()
    assert "outbox.recipient" in await places(telegram.runtime, str(CHAT))  # not yet
    clock.advance(minutes=2)
    await ticker(telegram.runtime, clock).tick()
    assert await places(telegram.runtime, str(CHAT), NAME) == {}


async def test_a_chat_that_consents_in_time_is_kept(telegram, clock):
    lan = await telegram.consenting(CHAT, NAME)
    await _sweep(telegram, clock)
    found = await places(telegram.runtime, str(CHAT))
    assert "accounts.user_id" in found and "outbox.recipient" in found
    async with telegram.runtime.sessions() as session:
        assert list(await session.scalars(select(UnconsentedChat))) == []
    [menu] = await lan.say("/start")
    assert menu.text.startswith(VI._("Welcome back, {name}!").format(name=NAME))


@pytest.mark.parametrize("value", ["0", "-1", "sixty"])
def test_a_bad_unconsented_minutes_fails_at_start_naming_the_setting(value):
    from bot.core.config import SettingsError, load_settings

    with pytest.raises(SettingsError) as error:
        load_settings(unconsented_minutes=value)
    assert str(error.value).startswith("DOITHOAI_UNCONSENTED_MINUTES:")


def test_import_max_rows_must_be_a_positive_number():
    from bot.core.config import SettingsError, load_settings

    with pytest.raises(SettingsError) as error:
        load_settings(import_max_rows="0")
    assert str(error.value).startswith("DOITHOAI_IMPORT_MAX_ROWS:")
    assert load_settings(import_max_rows="1000").import_max_rows == 1000
