"""What a platform's window stops (Zalo -230/-232: the person has not written lately) is not
lost: it goes once to the household's chat on another channel; without one, the household is
on the ward's printed list (`doithoai dialogue undelivered`) and the digest counts it.

The second platform is test_two_channels.py's small channel, refusing chosen people.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot.core.i18n import Translator
from bot.core.messages import Reply
from storage import undelivered as undelivered_store
from storage.models import HouseholdLink, Invitation, OutboxMessage
from storage.outbox import Outgoing, enqueue_many
from tests.telegram.test_inbox import approve, vi
from tests.telegram.test_invitations import WARD, _dialogue, _households, _link
from tests.telegram.test_pushback import _publish_an_answer
from tests.test_two_channels import (
    OTHER,
    OtherChannel,
    OtherChat,
    delivered,
    invite,
    link_other,
    other,
    telegram,
)

__all__ = ["other", "telegram"]  # the fixtures, from test_two_channels

ROOT = Path(__file__).resolve().parent.parent
VI = Translator("vi")


def _doithoai(database_url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOITHOAI_")}
    env.update(
        {"DOITHOAI_SECRET_KEY": "s" * 40, "DOITHOAI_DATABASE_URL": database_url, "COLUMNS": "250"}
    )
    return subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def _undelivered_cli(database_url: str, cwd: Path, *args: str) -> str:
    result = await asyncio.to_thread(_doithoai, database_url, cwd, "dialogue", "undelivered", *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


async def consenting_other(runtime, channel: OtherChannel, user_id: int) -> OtherChat:
    """A person on the other platform, linked to no household."""
    chat = OtherChat(runtime, channel, user_id, "Bình")
    await chat.say("/start")
    await chat.press("Tôi đồng ý")
    return chat


async def _rows(runtime, pattern: str) -> dict[str, OutboxMessage]:
    async with runtime.sessions() as session:
        found = await session.scalars(select(OutboxMessage).where(OutboxMessage.key.like(pattern)))
        return {row.key: row for row in found}


async def test_what_the_window_stops_goes_once_to_the_households_chat_on_another_channel(
    other, telegram, clock, database_url, tmp_path
):
    runtime = telegram.runtime
    [household, *_] = await _households(runtime, count=2)
    official = await telegram.staff(923, role="official", agency="ldtbxh")
    on_telegram = await _link(telegram, 921, household)
    ticket = await telegram.ask(on_telegram, "Hộ nghèo được hỗ trợ tiền điện thế nào?")
    await approve(telegram, ticket)
    d = await _dialogue(runtime, clock, total=1, priority=1)
    clock.advance(minutes=1)
    on_other = await link_other(runtime, other, 922, household)  # used last
    other.closed.add("922")  # ...but not lately enough for the platform

    await invite(runtime, d, [household])
    [invitation] = await on_telegram.expect(1)
    assert invitation.text.startswith("Giấy mời dự đối thoại chính sách")
    assert f"{household.head_name} tham dự" in invitation.text
    await _publish_an_answer(telegram, official, ticket)
    await official.expect(1)
    [news] = await on_telegram.expect(1)
    assert vi("Your question has an answer") in news.text and f"#{ticket}" in news.text
    await delivered(runtime)
    assert other.refused["922"] == 2 and on_other.messages[on_other.seen :] == []

    key = f"invite:{d.id}:{household.id}:{OTHER}"
    rows = await _rows(runtime, f"invite:{d.id}:%")
    assert set(rows) == {key, f"{key}:via:telegram"}
    stopped, copy = rows[key], rows[f"{key}:via:telegram"]
    assert (stopped.status, stopped.body, stopped.recipient) == ("window", None, "922")
    assert "-230" in stopped.error
    assert (copy.status, copy.channel, copy.recipient) == ("sent", "telegram", "921")
    news_rows = await _rows(runtime, "sealed:%")
    assert sorted(r.status for r in news_rows.values()) == ["sent", "window"]
    assert all(r.body is None and r.recipient == "" for r in news_rows.values())

    # The invitation answered from the chat it reached.
    [accepted] = await on_telegram.press("Tham dự")
    assert accepted.text.startswith("Xin cảm ơn: chúng tôi kính chờ ông/bà lúc")
    async with runtime.sessions() as session:
        invitation_row = await session.scalar(select(Invitation))
        assert invitation_row.status == "accepted"
        # Delivered another way: on nobody's list, in no count.
        assert await undelivered_store.undelivered(session, dialogue_id=d.id) == []
        assert (
            await undelivered_store.window_stopped(
                session, dialogue_ids=[1, d.id], since=clock() - timedelta(days=1)
            )
            == 0
        )
    # Once: waking the outbox again sends no second copy.
    runtime.outbox.wake()
    await delivered(runtime)
    assert len(telegram.fake.messages_to(921)) == on_telegram.seen
    assert len(await _rows(runtime, "%:via:%")) == 2

    listing = await _undelivered_cli(database_url, tmp_path, str(d.id))
    assert " ".join(listing.split()) == VI._(
        "Every invitation, reminder and notice of this dialogue reached its household or is "
        "still on its way."
    )


async def test_with_no_other_chat_the_household_is_on_the_printed_list_and_the_digest_counts_it(
    other, telegram, clock, database_url, tmp_path
):
    runtime = telegram.runtime
    households = await _households(runtime, count=3)
    only_other, on_telegram_only = households[0], households[1]
    facilitator = await telegram.staff(939, role="facilitator", ward=WARD)
    official = await telegram.staff(938, role="official", agency="ldtbxh")

    # An anonymous asker on the other platform, linked to no household.
    asker = await consenting_other(runtime, other, 933)
    question_text = "Đường vào khóm 4 ngập nước, khi nào sửa?"
    ticket = await asker.ask(question_text)
    await approve(telegram, ticket)

    d = await _dialogue(runtime, clock, total=2, priority=1)
    on_other = await link_other(runtime, other, 931, only_other)
    telegram_chat = await _link(telegram, 932, on_telegram_only)
    other.closed.update({"931", "933"})

    await invite(runtime, d, [only_other, on_telegram_only])
    [invitation] = await telegram_chat.expect(1)
    assert f"{on_telegram_only.head_name} tham dự" in invitation.text
    await _publish_an_answer(telegram, official, ticket)
    await official.expect(1)
    await delivered(runtime)
    assert other.refused == {"931": 1, "933": 1}
    assert on_other.messages[on_other.seen :] == [] and asker.messages[asker.seen :] == []

    rows = await _rows(runtime, "%")
    assert rows[f"invite:{d.id}:{only_other.id}:{OTHER}"].status == "window"
    [news] = [r for k, r in rows.items() if k.startswith("sealed:")]
    # Only the count is kept of news the window stopped: no text, no address, no copy.
    assert (news.status, news.body, news.recipient) == ("window", None, "")
    assert not any(":via:" in k for k in rows)

    # The printed list names the household, with what did not reach it; never the question.
    async with runtime.sessions() as session:
        [listed] = await undelivered_store.undelivered(session, dialogue_id=d.id)
    assert listed.household.id == only_other.id
    assert [(m.kind, m.channel, m.status) for m in listed.missed] == [("invite", OTHER, "window")]
    out = tmp_path / "chua-nhan.csv"
    printed = await _undelivered_cli(database_url, tmp_path, str(d.id), "--out", str(out))
    for shown in (only_other.code, only_other.head_name, only_other.hamlet, "0912 345 000"):
        assert shown in printed
    assert on_telegram_only.head_name not in printed
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel reads the diacritics
    [header, line] = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert header == [
        VI._("Household code"),
        VI._("Head of household"),
        VI._("Hamlet"),
        VI._("Phone"),
        VI._("Not delivered"),
        VI._("Why"),
    ]
    assert line[:4] == [only_other.code, only_other.head_name, "Khóm 3", "0912 345 000"]
    assert line[4] == VI._("Invitation")
    assert line[5] == VI._(
        "{channel}: has not written to us lately, the platform refuses messages"
    ).format(channel=OTHER)
    everything = raw.decode("utf-8-sig") + printed
    assert ticket not in everything and "khóm 4 ngập" not in everything

    # The digest of the ward counts both: the invitation and the answer the window stopped.
    photo, text = await facilitator.say("/baocao", expect=2)
    assert vi("Not delivered (Zalo window): {count}").format(count=2) in text.text.splitlines()
    async with runtime.sessions() as session:
        links = list(await session.scalars(select(HouseholdLink)))
    assert {(link.channel, link.user_id) for link in links} == {(OTHER, "931"), ("telegram", "932")}


async def test_a_staff_message_the_window_stops_is_not_copied_to_a_household_chat(
    other, telegram, clock
):
    # A facilitator's digest names questions: it belongs to the chat that holds the role, even
    # when that chat is also linked to a household with a chat elsewhere.
    runtime = telegram.runtime
    [household, *_] = await _households(runtime, count=1)
    on_telegram = await _link(telegram, 951, household)
    await link_other(runtime, other, 952, household)
    other.closed.add("952")
    async with runtime.sessions() as session, session.begin():
        await enqueue_many(
            session,
            messages=[
                Outgoing(
                    key="digest:99:2026-11-20",
                    channel=OTHER,
                    recipient="952",
                    body=Reply("📊 Báo cáo").to_json(),
                )
            ],
            now=clock(),
        )
    await delivered(runtime)
    rows = await _rows(runtime, "digest:%")
    assert [(r.key, r.status, r.body) for r in rows.values()] == [
        ("digest:99:2026-11-20", "window", None)
    ]
    assert len(telegram.fake.messages_to(951)) == on_telegram.seen
