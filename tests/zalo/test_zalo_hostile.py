"""Hostile input on Zalo, on SQLite and PostgreSQL: the same codec reads a chosen option's data
and the same cleaning applies to texts and names (issue 12)."""

from __future__ import annotations

import logging

from sqlalchemy import func, select

from bot.core.i18n import Translator
from bot.core.messages import Button
from storage.models import Account, Question, Support
from tests.zalo.conftest import options

LAN = "8403999000000000001"
STALE = Translator("vi")._("That button is from an earlier message. What would you like to do?")


def troubles(caplog) -> list[str]:
    return [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.ERROR or r.exc_info
    ]


async def test_an_option_whose_data_does_not_parse_is_answered_as_a_stale_button(zalo, caplog):
    """The data behind Zalo's options goes through the button codec like Telegram's."""
    caplog.set_level(logging.INFO)
    lan = await zalo.consenting(LAN)
    for data in (
        "r:²:y",
        "r:99999999999999999999:y",
        "o:kl:²",
        "g:at:²:1",
        "u:p:-1",
        "m:" + "a" * 70,
    ):
        # As if shown by an earlier version, or forged: the label comes back, the data is ours.
        await zalo.channel.remember(LAN, [Button("Nút cũ", data)], False)
        [answer] = await lan.say("Nút cũ")
        assert STALE in answer.text and options(answer), data
    refused = [r for r in caplog.records if r.getMessage().startswith("button data refused")]
    assert len(refused) == 6 and all(r.levelno == logging.INFO for r in refused)
    assert troubles(caplog) == []


async def test_button_data_typed_as_text_and_huge_option_numbers_are_only_text(zalo, caplog):
    caplog.set_level(logging.INFO)
    lan = await zalo.consenting(LAN)
    for text in ("r:²:y", "u:s:²", "99999999999999999999", "²", "1\x00", "\x00\x00"):
        [answer] = await lan.say(text)
        assert answer.text, text
    async with zalo.runtime.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Support)) == 0
        assert await session.scalar(select(func.count()).select_from(Question)) == 0
    assert troubles(caplog) == []


async def test_a_question_and_a_shared_name_with_nul_and_overrides_are_stored_clean(zalo, caplog):
    caplog.set_level(logging.INFO)
    lan = await zalo.consenting(LAN)
    ticket = await zalo.ask(lan, "Xin hỏi\x00 về \u202ehộ nghèo\u202c năm nay ạ?")
    async with zalo.runtime.sessions() as session:
        text = await session.scalar(select(Question.text).where(Question.ticket == ticket))
    assert text == "Xin hỏi về hộ nghèo năm nay ạ?"
    await lan.say("/start")
    await lan.press("🏠", expect=2)  # the text, then Zalo's form asking for the phone
    [answer] = await lan.share_phone("0912\x00345678", name="Lan\x00\u202e Nguyễn")
    assert answer.text
    async with zalo.runtime.sessions() as session:
        [account] = list(await session.scalars(select(Account)))
    assert "\x00" not in account.display_name
    assert troubles(caplog) == []
