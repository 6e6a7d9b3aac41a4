"""One person, two channels: a household linked on Telegram and on a second platform gets its
invitations, reminders and the answers to its questions in the chat it used last, once.

The second platform is a small channel written here against the Channel protocol, with its
person's side (`OtherChat`) driving the real dispatcher as a platform's updates would; it can
refuse chosen people as Zalo does outside its window (test_window_fallback.py).
"""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.clock import Ticker
from bot.core.messages import Address, Delivery, Incoming, Kind, Reply, SendResult
from bot.runtime import Runtime
from bot.services.invitations import Invitations
from storage import invitations as inv
from storage.models import (
    Account,
    Feedback,
    Household,
    HouseholdLink,
    OutboxMessage,
    Question,
    Support,
)
from tests.telegram import conftest as telegram_harness
from tests.telegram.test_inbox import TODAY, approve, follow, vi
from tests.telegram.test_invitations import _dialogue, _households, _link
from tests.telegram.test_pushback import _again, _publish_an_answer

OTHER = "other"
telegram = telegram_harness.telegram  # the Telegram harness's fixture, outside tests/telegram


class OtherChannel:
    """A second platform: keeps what it is sent, per person; answers WINDOW (as Zalo's -230)
    for the people in `closed`, as if they had not written lately."""

    name = OTHER
    rate = 100.0
    spacing = timedelta(milliseconds=20)

    def __init__(self) -> None:
        self.sent: dict[str, list[Reply]] = defaultdict(list)
        self.closed: set[str] = set()
        self.refused: dict[str, int] = defaultdict(int)
        self._keys = itertools.count(1)

    async def send(self, address: Address, reply: Reply) -> Delivery:
        if address.user_id in self.closed:
            self.refused[address.user_id] += 1
            return Delivery(SendResult.WINDOW, reason="-230 user has not interacted lately")
        self.sent[address.user_id].append(reply)
        return Delivery(SendResult.SENT)

    def key(self) -> str:
        return f"u{next(self._keys)}"


class OtherChat:
    """One person's side on the second platform: what they do, and what they see."""

    def __init__(self, runtime: Runtime, channel: OtherChannel, user_id: int, name: str):
        self.runtime = runtime
        self.channel = channel
        self.user_id = str(user_id)
        self.name = name
        self.seen = 0

    @property
    def messages(self) -> list[Reply]:
        return self.channel.sent[self.user_id]

    async def _send(self, incoming: Incoming, expect: int) -> list[Reply]:
        await self.runtime.dispatcher.dispatch(incoming)
        return await self.expect(expect)

    async def say(self, text: str, *, expect: int = 1) -> list[Reply]:
        address, key = Address(OTHER, self.user_id), self.channel.key()
        if text.startswith("/"):
            command, _, rest = text[1:].partition(" ")
            incoming = Incoming(
                address, key, Kind.COMMAND, command=command, text=rest, display_name=self.name
            )
        else:
            incoming = Incoming(address, key, Kind.TEXT, text=text, display_name=self.name)
        return await self._send(incoming, expect)

    async def press(self, label: str, *, expect: int = 1) -> list[Reply]:
        """Press the button whose label contains `label`, on the last message that has one."""
        for reply in reversed(self.messages):
            for row in reply.buttons:
                for button in row:
                    if label in button.label:
                        incoming = Incoming(
                            Address(OTHER, self.user_id),
                            self.channel.key(),
                            Kind.BUTTON,
                            data=button.data,
                            display_name=self.name,
                        )
                        return await self._send(incoming, expect)
        raise AssertionError(f"no button with {label!r} was shown")

    async def expect(self, count: int) -> list[Reply]:
        """Wait for `count` new messages, and make sure no more arrive right after."""
        for _ in range(600):
            if len(self.messages) >= self.seen + count:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.1)
        new = self.messages[self.seen :]
        self.seen = len(self.messages)
        assert len(new) == count, [m.text for m in new]
        return new

    async def ask(self, text: str, *, topic: str = "Rà soát") -> str:
        """An anonymous question through this chat; returns its ticket."""
        await self.say("/hoi")
        await self.press(topic)
        await self.say(text)
        await self.press("Ẩn danh")
        [sent] = await self.press("✅ Gửi")
        async with self.runtime.sessions() as session:
            tickets = set(await session.scalars(select(Question.ticket)))
        [ticket] = [t for t in tickets if f"#{t}" in sent.text or t in sent.text]
        return ticket


@pytest.fixture
def other(runtime: Runtime) -> OtherChannel:
    """The second platform, added to the service. Request it before `telegram`, which starts
    the delivery loop over the service's channels."""
    channel = OtherChannel()
    runtime.add_channel(channel)
    return channel


async def link_other(
    runtime: Runtime, channel: OtherChannel, user_id: int, household: Household
) -> OtherChat:
    """A chat on the second platform linked to the household by its code, after consent."""
    chat = OtherChat(runtime, channel, user_id, "Chủ hộ")
    await chat.say(f"/start {household.link_code}")
    [linked] = await chat.press("Tôi đồng ý")
    assert f"hộ {household.head_name}" in linked.text
    return chat


async def delivered(runtime: Runtime) -> None:
    """Wait until nothing is left to send."""
    for _ in range(600):
        async with runtime.sessions() as session:
            waiting = await session.scalar(
                select(OutboxMessage.id).where(
                    OutboxMessage.status.in_(("pending", "claimed", "sending"))
                )
            )
        if waiting is None:
            return
        runtime.outbox.wake()
        await asyncio.sleep(0.05)
    raise AssertionError("the outbox never emptied")


async def invite(runtime: Runtime, dialogue, chosen: list[Household]) -> None:
    async with runtime.sessions() as session, session.begin():
        await inv.save_selection(
            session,
            dialogue_id=dialogue.id,
            chosen=[(h.id, "priority", n) for n, h in enumerate(chosen)],
            waiting=[],
        )
        await Invitations(runtime.notifier).invite(
            session,
            dialogue=dialogue,
            now=runtime.clock(),
        )
    runtime.outbox.wake()


async def test_the_invitation_goes_to_the_chat_used_last_and_the_reminder_follows_the_household(
    other, telegram, clock
):
    runtime = telegram.runtime
    [household, *_] = await _households(runtime, count=3)
    d = await _dialogue(runtime, clock, total=1, priority=1)
    on_other = await link_other(runtime, other, 901, household)
    clock.advance(minutes=1)
    on_telegram = await _link(telegram, 902, household)  # linked, and so used, last

    await invite(runtime, d, [household])
    [invitation] = await on_telegram.expect(1)
    assert invitation.text.startswith("Giấy mời dự đối thoại chính sách")
    assert f"Kính mời Ông {household.head_name}" in invitation.text  # registered as male
    await delivered(runtime)
    assert on_other.messages[on_other.seen :] == []

    # The household writes from the other chat: the reminder goes there, and only there.
    clock.advance(minutes=1)
    await on_other.say("/start")
    clock.advance(days=2, minutes=1)
    ticker = Ticker(runtime.sessions, clock=clock, zone=runtime.settings.zone, default_locale="vi")
    assert await ticker.tick() == 1
    runtime.outbox.wake()
    [reminder] = await on_other.expect(1)
    assert reminder.title == "Nhắc lịch đối thoại chính sách"
    assert "Đối thoại chính sách giảm nghèo 2026" in reminder.text
    assert [b.label for row in reminder.buttons for b in row] == ["✅ Tham dự", "❌ Không tham dự"]
    await delivered(runtime)
    assert len(telegram.fake.messages_to(902)) == on_telegram.seen

    # Its "Tham dự" from the other chat counts: the chat belongs to the household.
    [accepted] = await on_other.press("Tham dự")
    assert accepted.text.startswith("Xin cảm ơn: chúng tôi kính chờ ông/bà lúc")
    async with runtime.sessions() as session:
        rows = list(await session.execute(select(OutboxMessage.key, OutboxMessage.channel)))
    reminders = [(k, c) for k, c in rows if k.startswith("remind:")]
    assert [c for _, c in reminders] == [OTHER] and reminders[0][0].endswith(f":{household.id}")


async def test_an_answer_reaches_the_household_in_the_chat_it_used_last_once(
    other, telegram, clock
):
    runtime = telegram.runtime
    [household, *_] = await _households(runtime, count=2)
    official = await telegram.staff(913, role="official", agency="ldtbxh", name="Chị Hoa")
    asker = await _link(telegram, 911, household)
    follower = await telegram.consenting(914, "Minh")  # linked to no household
    ticket = await telegram.ask(asker, "Khi nào công bố danh sách hộ cận nghèo năm nay?")
    await approve(telegram, ticket)
    await follow(telegram, ticket, 914)

    # Later the household talks on the other platform, and that chat follows the question too.
    clock.advance(minutes=1)
    on_other = await link_other(runtime, other, 912, household)
    sealer = runtime.dispatcher.sealer
    address = Address(OTHER, "912")
    async with runtime.sessions() as session, session.begin():
        account = await session.scalar(select(Account).where(Account.user_id == "912"))
        found = await session.scalar(select(Question).where(Question.ticket == ticket))
        session.add(
            Support(
                question_id=found.id,
                supporter_hash=sealer.asker_hash(account.asker_salt, address),
                reply_handle=sealer.seal(address),
                supported_on=TODAY,
            )
        )

    await _publish_an_answer(telegram, official, ticket)
    await official.expect(1)
    [news] = await on_other.expect(1)  # once for the household, where it talks now
    assert news.title == vi("Your question has an answer")
    assert f"#{ticket}" in news.text and "Khi nào công bố danh sách" in news.text
    [followed] = await follower.expect(1)  # a person with no household, at their address
    assert f"#{ticket}" in followed.text
    await delivered(runtime)
    assert len(telegram.fake.messages_to(911)) == asker.seen

    # The household goes back to Telegram; the answer published again reaches nobody twice.
    clock.advance(minutes=1)
    await asker.say("/start")
    assert await _again(telegram, runtime, ticket=ticket) == (0, 0)
    await delivered(runtime)
    assert len(telegram.fake.messages_to(911)) == asker.seen
    assert len(on_other.messages) == on_other.seen
    assert len(telegram.fake.messages_to(914)) == follower.seen
    async with runtime.sessions() as session:
        links = list(await session.scalars(select(HouseholdLink)))
        news_rows = list(
            await session.scalars(select(OutboxMessage).where(OutboxMessage.key.like("sealed:%")))
        )
    assert len(links) == 2
    # Two messages: the household's and the follower's; sent, they keep no text nor address.
    assert len(news_rows) == 2
    assert all(r.status == "sent" and r.body is None and r.recipient == "" for r in news_rows)
    assert all(r.key.startswith("sealed:0:") for r in news_rows)  # the general intake (0)


async def test_an_answer_rerouted_to_the_households_other_chat_can_be_judged_there(
    other, telegram, clock
):
    runtime = telegram.runtime
    [household, *_] = await _households(runtime, count=2)
    official = await telegram.staff(923, role="official", agency="ldtbxh", name="Chị Hoa")
    asker = await _link(telegram, 921, household)
    ticket = await telegram.ask(asker, "Xin hỏi khi nào phường rà soát lại hộ cận nghèo?")
    await approve(telegram, ticket)

    # The household now talks on the other platform; that chat neither asked nor follows.
    clock.advance(minutes=1)
    on_other = await link_other(runtime, other, 922, household)
    await _publish_an_answer(telegram, official, ticket)
    await official.expect(1)
    [news] = await on_other.expect(1)
    [thanks] = await on_other.press("Chưa hài lòng")
    await on_other.press("Câu trả lời chưa đúng vào câu hỏi của tôi")
    async with runtime.sessions() as session:
        question = await session.scalar(select(Question).where(Question.ticket == ticket))
        given = list(await session.scalars(select(Feedback)))
    assert question.status == "reopened"
    assert [(f.satisfied, f.question_id) for f in given] == [(False, question.id)]
    assert f"#{ticket}" in news.text and thanks.buttons  # the reasons to choose from
