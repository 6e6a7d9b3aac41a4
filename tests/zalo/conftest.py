"""Zalo end to end: the fake Zalo API posts signed webhook events to the real ASGI app served
by uvicorn on loopback; the intake worker processes them, the outbox sends the replies back
to the fake, which records what each person sees.

Use the `zalo` fixture (a ZaloHarness)::

    async def test_something(zalo):
        lan = await zalo.consenting("8401000000000000001")  # follows the OA, says yes
        ticket = await zalo.ask(lan, "Xin hỏi về việc rà soát hộ nghèo năm nay?")
        official = await zalo.staff("8401000000000000002", role="official", agency="ldtbxh")
        [reply] = await lan.say("/cauhoi")       # a user_send_text; waits for 1 message
        [menu] = await lan.press("Tôi đồng ý")   # a button (or a numbered option) chosen
        await lan.expect(2)                      # wait for 2 messages pushed to Lan
        options(reply)                           # the choices a message offers

`chat.say`, `chat.press`, `chat.follow`, `chat.share_phone` wait for `expect` new messages
(1 by default, 0 to wait for none) and check that no more arrive right after. Each returns the
new SentMessage list (`.text`, `.labels` for real buttons; `options(message)` for buttons or
numbered options alike). `chat.posted` is the last webhook request (its `.status`, and
`zalo.fake.replay(chat.posted)` sends it again byte for byte). The runtime is at
`zalo.runtime` (`.sessions()`, `.clock`), the channel at `zalo.channel`, the fake at
`zalo.fake` (`messages_to(user_id)`, `set_last_interaction`, `fail_next`, `block`, ...), the
served app at `zalo.url`. The `clock` fixture moves the service's and the fake's time alike.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, or_, select

from bot.channels.zalo import ZaloChannel
from bot.core.messages import Incoming, Kind
from bot.dispatcher import Dispatcher, picked
from bot.runtime import Runtime
from bot.web import WebServer, create_app
from storage import staff as staff_store
from storage.conversations import load_choices
from storage.models import IncomingEvent, OutboxMessage
from tests.conftest import make_settings
from tests.fakes.zalo_api import FakeZaloAPI, Posted, SentMessage


async def taken(
    channel: ZaloChannel, raw: bytes, dispatcher: Dispatcher | None = None
) -> Incoming | None:
    """What the service takes from a stored event, as the intake and the dispatcher do: parsed
    (pure) and completed; an unfollow is dispatched (nothing is answered); a text is read
    against the choices last shown."""
    incoming = channel.parse(raw)
    if incoming is None:
        return None
    incoming = await channel.complete(incoming)
    if incoming.kind is Kind.UNFOLLOW:
        assert dispatcher is not None
        assert (await dispatcher.dispatch(incoming)).replies == []
        return None
    async with channel.sessions() as session:
        sealed = await load_choices(session, channel="zalo", user_id=incoming.address.user_id)
    return picked(incoming, sealed, channel.sealer)


TICKET = re.compile(r"\b([ACDEFGHJKLMNPQRTUVWXY34679]{6})\b")
NUMBERED = re.compile(r"^\s*(\d{1,3})\.\s+(.+?)\s*$", re.MULTILINE)


def options(message: SentMessage) -> list[str]:
    """The choices a message offers: its buttons' titles, else its numbered lines."""
    if message.buttons:
        return message.labels
    return [label for _, label in NUMBERED.findall(message.text)]


class ZaloChat:
    """One person's side of the OA conversation: what they do, and what they see."""

    def __init__(self, harness: ZaloHarness, user_id: str):
        self.harness = harness
        self.fake = harness.fake
        self.user_id = user_id
        self.seen = 0
        self.posted: Posted | None = None

    async def _post(self, posting, expect: int) -> list[SentMessage]:
        self.posted = await posting
        assert self.posted.status == 200, (self.posted.status, self.posted.text)
        return await self.expect(expect)

    async def follow(self, *, expect: int = 1) -> list[SentMessage]:
        """Follow the OA (Zalo's way in: the bot greets and asks for consent)."""
        return await self._post(self.fake.follow(self.user_id), expect)

    async def unfollow(self, *, expect: int = 0) -> list[SentMessage]:
        return await self._post(self.fake.unfollow(self.user_id), expect)

    async def say(self, text: str, *, expect: int = 1) -> list[SentMessage]:
        """Type a text (a command too: "/cauhoi")."""
        return await self._post(self.fake.send_text(self.user_id, text), expect)

    async def press(self, label: str, *, expect: int = 1) -> list[SentMessage]:
        """Choose the option whose label contains `label` among the last ones shown: press the
        `oa.query.show` button (Zalo sends its payload back as the person's text), or type the
        number of a numbered option."""
        for message in reversed(self.fake.messages_to(self.user_id)):
            if message.buttons:
                return await self._post(self.fake.press(self.user_id, label), expect)
            numbered = [(n, text) for n, text in NUMBERED.findall(message.text) if label in text]
            if len(numbered) > 1:
                raise AssertionError(f"{len(numbered)} options match {label!r}: {numbered}")
            if numbered:
                return await self.say(numbered[0][0], expect=expect)
            if NUMBERED.search(message.text):
                raise AssertionError(f"no option {label!r} in {message.text!r}")
        raise AssertionError(f"no choice was shown to {self.user_id}")

    async def share_phone(self, phone: str, name: str = "", *, expect: int = 1):
        """Fill Zalo's request_user_info form (the bot must have sent one)."""
        return await self._post(self.fake.submit_info(self.user_id, phone, name), expect)

    async def expect(self, count: int) -> list[SentMessage]:
        """Wait for `count` new messages, and make sure no more arrive right after."""
        if count:
            await self.fake.await_messages(self.user_id, self.seen + count, timeout=30)
        await self.harness.settle()
        messages = self.fake.messages_to(self.user_id)
        new = messages[self.seen :]
        self.seen = len(messages)
        assert len(new) == count, [m.text for m in new]
        return new


class ZaloHarness:
    def __init__(
        self, fake: FakeZaloAPI, runtime: Runtime, channel: ZaloChannel, server: WebServer
    ):
        self.fake = fake
        self.runtime = runtime
        self.channel = channel
        self.server = server
        self.url = server.url

    def chat(self, user_id: str) -> ZaloChat:
        return ZaloChat(self, user_id)

    async def settle(self, quiet: float = 0.15) -> None:
        """Wait until every stored event is processed and nothing due is left unsent."""
        for _ in range(200):
            async with self.runtime.sessions() as session:
                waiting = await session.scalar(select(func.count()).select_from(IncomingEvent))
                sending = await session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(
                        or_(
                            OutboxMessage.status.in_(("claimed", "sending")),
                            (OutboxMessage.status == "pending")
                            & (OutboxMessage.not_before <= self.runtime.clock()),
                        )
                    )
                )
            if not waiting and not sending:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(quiet)

    async def consenting(self, user_id: str) -> ZaloChat:
        """A person who followed the OA and accepted the consent statement."""
        chat = self.chat(user_id)
        await chat.follow()
        await chat.press("Tôi đồng ý")
        return chat

    async def staff(
        self,
        user_id: str,
        *,
        role: str,
        name: str = "Cán bộ",
        agency: str | None = None,
        ward: str | None = None,
    ) -> ZaloChat:
        """A consenting Zalo chat given a staff role straight in the database."""
        chat = await self.consenting(user_id)
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
                session, code=code, channel="zalo", user_id=user_id, now=now
            )
            assert claimed is not None
        return chat

    async def ask(
        self,
        chat: ZaloChat,
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
async def zalo(database_url, clock) -> AsyncIterator[ZaloHarness]:
    fake = FakeZaloAPI(clock=clock).start()
    # A short per-person interval keeps the conversations quick.
    settings = make_settings(database_url, zalo_chat_interval=0.05, **fake.settings())
    runtime = Runtime(settings, clock=clock)
    channel = ZaloChannel(
        settings=settings,
        sessions=runtime.sessions,
        sealer=runtime.dispatcher.sealer,
        clock=runtime.clock,
    )
    runtime.add_channel(channel)
    server = WebServer(create_app(runtime, zalo=channel), host="127.0.0.1", port=0)
    await server.start()
    fake.webhook_url = f"{server.url}/zalo"
    delivery = asyncio.create_task(runtime.outbox.run(idle=0.2))
    intake = asyncio.create_task(runtime.intake.run(every=0.2))
    try:
        yield ZaloHarness(fake, runtime, channel, server)
    finally:
        await server.stop()
        for task in (intake, delivery):
            task.cancel()
        await asyncio.wait({intake, delivery}, timeout=5)
        await channel.close()
        await runtime.close()
        fake.stop()
    assert fake.violations == [], "the OA sent what Zalo would refuse"
