"""A question by voice on Zalo: the audio event becomes a voice question, the facilitator
hears it at Zalo's address and writes it down, and the address is forgotten in that step."""

from __future__ import annotations

from sqlalchemy import select

from bot.channels.zalo import ZaloChannel
from bot.core.messages import Kind
from storage.models import Base, Question, VoiceNote
from tests.zalo.conftest import taken
from tests.zalo.test_zalo_events import channel, fixture, runtime  # noqa: F401 (fixtures)

ASKER, FACILITATOR = "7100000000000000001", "7100000000000000002"
TRANSCRIPT = "Con đường vào ấp bị ngập, xin hỏi khi nào phường sửa lại?"


async def _rows_text(zalo) -> list[tuple[str, str]]:
    rows = []
    async with zalo.runtime.sessions() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).mappings():
                text = " ".join(
                    v.hex() if isinstance(v, bytes) else str(v) for v in dict(row).values()
                )
                rows.append((table.name, text))
    return rows


async def test_an_audio_event_is_read_as_a_voice_note_at_zalos_address(
    channel: ZaloChannel,  # noqa: F811 (the fixture imported above)
):
    incoming = await taken(channel, fixture("user_send_audio"))
    assert incoming.kind is Kind.VOICE
    assert incoming.voice == "https://voice-stal-1.zdn.vn/5f2c8e1a9b7d3c4e.aac"


async def test_a_zalo_voice_question_is_written_down_and_its_address_forgotten(zalo):
    facilitator = await zalo.staff(FACILITATOR, role="facilitator", ward="Phường 7")
    asker = await zalo.consenting(ASKER)
    url = zalo.fake.audio_event(ASKER)["message"]["attachments"][0]["payload"]["url"]
    await asker._post(zalo.fake.send_audio(ASKER), 1)
    await asker.press("Rà soát")
    await asker.press("Gửi tin nhắn thoại")
    await asker.press("Ẩn danh")
    await asker.press("✅ Gửi")
    async with zalo.runtime.sessions() as session:
        assert (await session.scalar(select(VoiceNote))).file_ref == url

    [card] = await facilitator.say("/duyet")
    assert url in card.text and "Duyệt" not in " ".join(card.text.splitlines()[-8:])
    await facilitator.press("Ghi lại thành chữ")
    [card] = await facilitator.say(TRANSCRIPT)
    assert TRANSCRIPT in card.text
    async with zalo.runtime.sessions() as session:
        assert (await session.scalar(select(Question))).text == TRANSCRIPT
    for table, text in await _rows_text(zalo):
        assert url not in text, table
