"""Each update is processed exactly once, even when delivered twice or to two processes at once."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from telegram import Update

from bot.channels.telegram import parse
from handlers import router
from storage.models import OutboxMessage, Question


async def _count(runtime, model):
    async with runtime.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def test_a_redelivered_confirmation_creates_one_question_and_one_receipt(telegram):
    lan = await telegram.consenting(301)
    await lan.say("/hoi")
    await lan.press("Khác")
    await lan.say("Khi nào phường tổ chức đối thoại tiếp?")
    await lan.press("Ẩn danh")
    confirm = telegram.fake.press(301, lan.button("✅ Gửi"))
    await lan.expect(1)
    # Telegram delivers the same update again (after a crash before the offset was confirmed).
    app = telegram.channel.application
    await app.process_update(Update.de_json(confirm, app.bot))
    await asyncio.sleep(0.3)
    assert await _count(telegram.runtime, Question) == 1
    assert len(telegram.fake.messages_to(301)) == lan.seen  # nothing more was sent


async def test_two_processes_given_the_same_update_process_it_once(runtime, telegram):
    lan = await telegram.consenting(302)
    await lan.say("/hoi")
    await lan.press("Khác")
    await lan.say("Khi nào phường tổ chức đối thoại tiếp?")
    await lan.press("Ẩn danh")
    update = telegram.fake.press(302, lan.button("✅ Gửi"), push=False)
    update["update_id"] = 900001
    incoming = parse(Update.de_json(update, telegram.channel.bot))
    before = await _count(runtime, OutboxMessage)
    outcomes = await asyncio.gather(
        runtime.dispatcher.dispatch(incoming), runtime.dispatcher.dispatch(incoming)
    )
    assert sorted(o.duplicate for o in outcomes) == [False, True]
    assert await _count(runtime, Question) == 1
    assert await _count(runtime, OutboxMessage) == before + 1  # one receipt, with the menu


async def test_a_failing_handler_apologises_and_loses_nothing(telegram, monkeypatch, caplog):
    lan = await telegram.consenting(303)
    await lan.say("/hoi")
    await lan.press("Khác")
    await lan.say("Đèn đường ở khóm 2 hỏng đã lâu, khi nào sửa?")

    async def broken(ctx):
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(router.ACTIONS, "help", broken)
    [sorry] = await lan.say("/trogiup")
    assert sorry.text.startswith("Xin lỗi, hệ thống vừa gặp trục trặc")
    assert "disk on fire" not in sorry.text and "Traceback" not in sorry.text
    assert any("failed" in r.getMessage() for r in caplog.records)
    monkeypatch.undo()
    [offer] = await lan.say("/hoi")
    assert offer.button_texts == ["▶️ Tiếp tục", "🔄 Bắt đầu lại"]
    [how] = await lan.press("Tiếp tục")
    assert how.button_texts[0] == "🕶 Ẩn danh"
