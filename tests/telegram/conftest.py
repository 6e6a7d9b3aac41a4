"""The real python-telegram-bot Application, polling an HTTP fake of the Bot API on loopback."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.channels.telegram import TelegramChannel
from bot.runtime import Runtime
from storage import staff as staff_store
from tests.fakes.telegram_api import FakeBotAPI, SentMessage

TICKET = re.compile(r"\b([ACDEFGHJKLMNPQRTUVWXY34679]{6})\b")


class Chat:
    """One person's side of the conversation: what they do, and what they see."""

    def __init__(self, fake: FakeBotAPI, user_id: int):
        self.fake = fake
        self.user_id = user_id
        self.seen = 0

    async def say(self, text: str, *, expect: int = 1) -> list[SentMessage]:
        self.fake.send_text(self.user_id, text)
        return await self.expect(expect)

    async def press(self, label: str, *, expect: int = 1) -> list[SentMessage]:
        """Press the button whose label contains `label`, on the last message that has one."""
        data = self.button(label)
        self.fake.press(self.user_id, data)
        return await self.expect(expect)

    def button(self, label: str) -> str:
        for message in reversed(self.fake.messages_to(self.user_id)):
            for row in message.buttons:
                for text, data in row:
                    if label in text:
                        return data
        raise AssertionError(f"no button with {label!r} was shown")

    async def expect(self, count: int) -> list[SentMessage]:
        """Wait for `count` new messages. One more than expected shows up here or in the next
        expectation (which then sees a message it did not expect); no sleep stands in for
        "nothing else came"."""
        await self.fake.await_messages(self.user_id, self.seen + count, timeout=30)
        messages = self.fake.messages_to(self.user_id)
        new = messages[self.seen :]
        self.seen = len(messages)
        assert len(new) == count, [m.text for m in new]
        return new


class Harness:
    def __init__(self, fake: FakeBotAPI, runtime: Runtime, channel: TelegramChannel):
        self.fake = fake
        self.runtime = runtime
        self.channel = channel

    def chat(
        self,
        user_id: int,
        first_name: str = "Lan",
        last_name: str | None = None,
        language_code: str = "vi",
    ) -> Chat:
        self.fake.user(
            user_id, first_name=first_name, last_name=last_name, language_code=language_code
        )
        return Chat(self.fake, user_id)

    async def settled(self, timeout: float = 30) -> None:
        """Wait until the outbox has recorded the outcome of every message it took (the
        person may see a message a moment before its row is marked sent)."""
        from sqlalchemy import func, select

        from storage.models import OutboxMessage
        from storage.outbox import Status

        unfinished = (Status.PENDING, Status.CLAIMED, Status.SENDING)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            async with self.runtime.sessions() as session:
                left = await session.scalar(
                    select(func.count()).where(OutboxMessage.status.in_(unfinished))
                )
            if not left:
                return
            assert asyncio.get_running_loop().time() < deadline, f"{left} messages unfinished"
            await asyncio.sleep(0.02)

    async def consenting(
        self, user_id: int, first_name: str = "Lan", last_name: str | None = None
    ) -> Chat:
        chat = self.chat(user_id, first_name, last_name)
        await chat.say("/start")
        await chat.press("Tôi đồng ý")
        return chat

    async def staff(
        self,
        user_id: int,
        *,
        role: str,
        name: str = "Cán bộ",
        agency: str | None = None,
        ward: str | None = None,
        first_name: str = "Cán bộ",
    ) -> Chat:
        """A consenting chat given a staff role straight in the database (the code flow itself
        is tested in test_staff.py)."""
        chat = await self.consenting(user_id, first_name)
        now = self.runtime.clock()
        async with self.runtime.sessions() as session, session.begin():
            _, code = await staff_store.invite(
                session,
                role=role,
                name=name,
                agency=agency,
                ward=ward,
                now=now,
                valid_for=timedelta(days=7),
            )
            claimed = await staff_store.claim(
                session, code=code, channel="telegram", user_id=str(user_id), now=now
            )
            assert claimed is not None
        return chat

    async def ask(
        self,
        chat: Chat,
        text: str,
        *,
        topic: str = "Rà soát",
        anonymous: bool = True,
        dialogue: str | None = None,
    ) -> str:
        """Send a question through the chat as a citizen would; returns its ticket."""
        await chat.say("/hoi")
        if dialogue is not None:
            await chat.press(dialogue)
        await chat.press(topic)
        await chat.say(text)
        await chat.press("Ẩn danh" if anonymous else "Ghi tên tôi")
        sent = await chat.press("✅ Gửi")
        for message in sent:
            found = TICKET.search(message.text)
            if found:
                return found.group(1)
        raise AssertionError(f"no ticket in {[m.text for m in sent]}")


@pytest.fixture
async def telegram(runtime: Runtime) -> AsyncIterator[Harness]:
    fake = FakeBotAPI().start()
    # A short per-chat interval keeps the conversations quick; test_rate_limits keeps 1 s.
    channel = TelegramChannel(
        token=fake.token,
        api_url=fake.url,
        dispatch=runtime.dispatcher.dispatch,
        spacing=timedelta(milliseconds=50),
    )
    runtime.add_channel(channel)
    await channel.start_polling()
    delivery = asyncio.create_task(runtime.outbox.run(idle=0.2))
    try:
        yield Harness(fake, runtime, channel)
    finally:
        delivery.cancel()
        # Let the delivery unwind (its sessions closed) before the engine is disposed, but
        # never wait on it for long: a teardown must not hang the suite.
        await asyncio.wait({delivery}, timeout=5)
        await channel.stop()
        fake.stop()
    assert fake.violations == [], "the bot made calls Telegram would refuse"
    assert fake.unanswered_callbacks() == [], "every button press must be answered"
