"""Questions by voice: a citizen sends a voice note, is told who will hear it, sends it; the
facilitator listens (the note sent again by its file id) and writes it down, and from then on
it is a question like any other. The recording is forgotten in the step that writes it down,
and nothing an official receives ever carries it."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from bot import speech
from storage.models import Base, OutboxMessage, Question, VoiceNote
from tests.telegram.conftest import Chat, Harness
from tests.telegram.test_officials_end_to_end import _delivered

ASKER, FACILITATOR, OFFICIAL = 890001, 890002, 890003
VOICE = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "telegram" / "voice.json").read_text("utf-8")
)["message"]["voice"]
TRANSCRIPT = "Nhà tôi bị sạt lở bờ kênh, xin hỏi có được hỗ trợ sửa nhà không?"
ANSWER = "Phường sẽ cử cán bộ đến xem và lập hồ sơ hỗ trợ trong tuần này."


async def _all_text(telegram: Harness) -> list[tuple[str, str]]:
    rows = []
    async with telegram.runtime.sessions() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).mappings():
                text = " ".join(
                    v.hex() if isinstance(v, bytes) else str(v) for v in dict(row).values()
                )
                rows.append((table.name, text))
    return rows


async def _ask_by_voice(telegram: Harness) -> tuple[Chat, str]:
    asker = await telegram.consenting(ASKER, "Thạch", "Sô Phia")
    telegram.fake.send_voice(ASKER)
    [kept] = await asker.expect(1)
    assert "giữ lại tin nhắn thoại" in kept.text
    [told] = await asker.press("Rà soát")
    # Told plainly, before anything is sent, who hears the voice and who sees only text.
    assert "người điều phối" in told.text and "Cán bộ chỉ thấy" in told.text
    assert "⌨️ Tôi sẽ gõ chữ" in told.button_texts
    await asker.press("Gửi tin nhắn thoại")
    [check] = await asker.press("Ẩn danh")
    assert "🎙" in check.text
    [receipt] = await asker.press("✅ Gửi")
    async with telegram.runtime.sessions() as session:
        question = await session.scalar(select(Question))
    assert question.ticket in receipt.text and "ghi lại thành chữ" in receipt.text
    return asker, question.ticket


async def test_a_voice_question_is_written_down_by_the_facilitator_and_answered_like_any_other(
    telegram: Harness,
):
    facilitator = await telegram.staff(FACILITATOR, role="facilitator", ward="Phường 7")
    official = await telegram.staff(OFFICIAL, role="official", agency="ldtbxh")
    asker, ticket = await _ask_by_voice(telegram)
    async with telegram.runtime.sessions() as session:
        assert (await session.scalar(select(VoiceNote))).file_ref == VOICE["file_id"]

    # The facilitator hears the note, sent again by its file id, and cannot approve it yet.
    voice, card = await facilitator.say("/duyet", expect=2)
    assert voice.voice == VOICE["file_id"] and ticket in voice.text
    assert "🎙" in card.text and "✅ Duyệt" not in card.button_texts
    await facilitator.press("Ghi lại thành chữ")
    [card] = await facilitator.say(TRANSCRIPT)
    assert TRANSCRIPT in card.text and "✅ Duyệt" in card.button_texts
    await _delivered(telegram)

    # Written down: no row of any table holds the file id any more.
    for table, text in await _all_text(telegram):
        assert VOICE["file_id"] not in text and VOICE["file_unique_id"] not in text, table

    await facilitator.press("✅ Duyệt")
    await official.say("/hopthu")
    [card] = await official.press(f"#{ticket}")
    assert TRANSCRIPT in card.text
    await official.press("✍️ Trả lời")
    await official.say(ANSWER)
    await official.press("📢 Công bố")
    [news] = await asker.expect(1)
    assert ANSWER in news.text and ticket in news.text
    await _delivered(telegram)

    # The official never received audio; only the facilitator was sent the note.
    assert all(not m.voice for m in telegram.fake.messages_to(OFFICIAL))
    voiced = [int(c.params["chat_id"]) for c in telegram.fake.calls if c.method == "sendVoice"]
    assert voiced == [FACILITATOR]
    for table, text in await _all_text(telegram):
        assert VOICE["file_id"] not in text, table


async def test_a_person_who_would_rather_type_is_asked_for_the_text_and_no_recording_is_kept(
    telegram: Harness,
):
    asker = await telegram.consenting(ASKER)
    telegram.fake.send_voice(ASKER)
    await asker.expect(1)
    await asker.press("Rà soát")
    [prompt] = await asker.press("Tôi sẽ gõ chữ")
    assert "Xin" in prompt.text
    await asker.say(TRANSCRIPT)
    await asker.press("Ẩn danh")
    await asker.press("✅ Gửi")
    await _delivered(telegram)
    async with telegram.runtime.sessions() as session:
        question = await session.scalar(select(Question))
        assert question.text == TRANSCRIPT
        assert await session.scalar(select(VoiceNote)) is None
    for table, text in await _all_text(telegram):
        assert VOICE["file_id"] not in text, table


async def test_a_voice_note_before_consent_is_answered_with_the_consent_not_kept(
    telegram: Harness,
):
    chat = telegram.chat(ASKER)
    telegram.fake.send_voice(ASKER)
    [consent] = await chat.expect(1)
    assert "Tôi đồng ý" in " ".join(consent.button_texts)
    await _delivered(telegram)
    for table, text in await _all_text(telegram):
        assert VOICE["file_id"] not in text, table


async def test_a_voice_question_not_written_down_is_counted_in_the_digest_and_reminded_daily(
    telegram: Harness, clock
):
    from tests.telegram.test_digest import ticker

    await telegram.staff(FACILITATOR, role="facilitator", ward="Phường 7")
    await _ask_by_voice(telegram)
    clock_ticker = ticker(telegram.runtime, clock)

    def told(fragment: str) -> list[str]:
        return [m.text for m in telegram.fake.messages_to(FACILITATOR) if fragment in m.text]

    await clock_ticker.tick()  # the morning's digest counts it; no reminder yet
    await _delivered(telegram)
    assert len(told("Hỏi bằng giọng nói, chưa ghi thành chữ: 1")) == 1
    assert told("chờ hơn một ngày") == []

    clock.advance(hours=24, minutes=1)
    await clock_ticker.tick()
    await clock_ticker.tick()  # once a day, however often the clock ticks
    await _delivered(telegram)
    [reminder] = told("chờ hơn một ngày")
    assert "1 câu hỏi" in reminder and "/duyet" in reminder


class DraftingTranscriber:
    """A stand-in speech model, as one would be plugged in by DOITHOAI_TRANSCRIBER."""

    async def transcribe(self, *, channel: str, file_ref: str, locale: str) -> str | None:
        return "bản nháp"


def test_the_transcriber_is_chosen_by_a_setting_and_a_bad_one_stops_the_start(database_url):
    from bot.core.config import SettingsError, load_settings
    from bot.core.transcriber import NoTranscriber, Transcriber, load

    assert isinstance(load("none"), NoTranscriber)
    plugged = load("tests.telegram.test_voice:DraftingTranscriber")
    assert isinstance(plugged, Transcriber) and not isinstance(plugged, NoTranscriber)
    with pytest.raises(SettingsError) as refused:
        load_settings(database_url=database_url, transcriber="no.such.module:Model")
    assert str(refused.value).startswith("DOITHOAI_TRANSCRIBER: ")
    assert "\n" not in str(refused.value)


async def test_a_plugged_speech_model_offers_its_draft_on_the_card_for_the_facilitator_to_check(
    telegram: Harness,
):
    dispatcher = telegram.runtime.dispatcher
    dispatcher.policy = dataclasses.replace(
        dispatcher.policy, transcriber="tests.telegram.test_voice:DraftingTranscriber"
    )
    facilitator = await telegram.staff(FACILITATOR, role="facilitator", ward="Phường 7")
    await _ask_by_voice(telegram)
    _voice, card = await facilitator.say("/duyet", expect=2)
    assert "bản nháp" in card.text and "✅ Duyệt" not in card.button_texts


async def test_a_rejected_voice_question_loses_its_recording_and_the_asker_is_told_kindly(
    telegram: Harness,
):
    facilitator = await telegram.staff(FACILITATOR, role="facilitator", ward="Phường 7")
    asker, ticket = await _ask_by_voice(telegram)
    [mine] = await asker.say("/cauhoi")
    assert "tin nhắn thoại của ông/bà" in mine.text
    await facilitator.say("/duyet", expect=2)
    await facilitator.press("❌")
    await facilitator.press("Chưa đủ thông tin")
    [told] = await asker.expect(1)
    assert ticket in told.text and "tin nhắn thoại của ông/bà" in told.text
    await _delivered(telegram)
    for table, text in await _all_text(telegram):
        assert VOICE["file_id"] not in text, table


# ---- "🔊 Nghe": an answer read aloud (espeak-ng and opusenc on this machine)


async def _answered(telegram: Harness) -> tuple[Chat, str]:
    facilitator = await telegram.staff(FACILITATOR, role="facilitator", ward="Phường 7")
    official = await telegram.staff(OFFICIAL, role="official", agency="ldtbxh")
    asker = await telegram.consenting(ASKER)
    ticket = await telegram.ask(asker, TRANSCRIPT)
    await facilitator.say("/duyet")
    await facilitator.press("✅ Duyệt")
    await official.say("/hopthu")
    await official.press(f"#{ticket}")
    await official.press("✍️ Trả lời")
    await official.say(ANSWER)
    await official.press("📢 Công bố")
    return asker, ticket


@pytest.mark.skipif(not speech.can_speak("vi"), reason="espeak-ng and opusenc are not installed")
async def test_an_answer_can_be_listened_to_as_a_voice_note_made_on_this_machine(
    telegram: Harness,
):
    asker, ticket = await _answered(telegram)
    [news] = await asker.expect(1)
    assert ANSWER in news.text and "🔊 Nghe" in news.button_texts
    [heard] = await asker.press("🔊 Nghe")
    assert heard.voice_audio.startswith(b"OggS") and ticket in heard.text
    await _delivered(telegram)
    # Spoken once per text: the same answer again is the same recording.
    assert await speech.speak(ANSWER, locale="vi") == heard.voice_audio
    # The recording is not kept in the outbox once sent.
    async with telegram.runtime.sessions() as session:
        bodies = [str(b) for b in await session.scalars(select(OutboxMessage.body))]
    assert not [b for b in bodies if "voice_audio" in b]


async def test_without_espeak_ng_the_listen_button_is_not_shown(telegram: Harness, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")  # espeak-ng and opusenc are not found
    asker, _ticket = await _answered(telegram)
    [news] = await asker.expect(1)
    assert ANSWER in news.text and "😊 Hài lòng" in news.button_texts
    assert not [label for label in news.button_texts if "🔊" in label]
