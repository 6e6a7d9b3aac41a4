"""Replies on Zalo, through the loopback fake of Zalo's API: plain text, long texts split,
buttons as `oa.query.show` templates or numbered options, the phone request, an image, and
each of Zalo's error codes as a neutral delivery outcome."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from bot.channels.zalo import MAX_BUTTONS, RATE_BACKOFF, TEXT_LIMIT, ZaloChannel
from bot.core.departure import TooLate, watching
from bot.core.i18n import Translator
from bot.core.messages import Address, Button, Kind, Reply, SendResult
from bot.runtime import Runtime
from tests.conftest import make_settings
from tests.fakes.zalo_api import FakeZaloAPI
from tests.support import RecordingWatch
from tests.zalo.conftest import taken

LAN = "6142494823180123456"
VI = Translator("vi")


@dataclass
class Zalo:
    fake: FakeZaloAPI
    channel: ZaloChannel
    runtime: Runtime

    async def send(self, reply: Reply, to: str = LAN):
        return await self.channel.send(Address("zalo", to), reply)

    async def parse_text(self, text: str, user: str = LAN):
        """What the channel makes of the person's next text (or pressed button)."""
        import json

        raw = json.dumps(self.fake.text_event(user, text), ensure_ascii=False).encode()
        return await taken(self.channel, raw)


@pytest.fixture
async def zalo(database_url, clock) -> AsyncIterator[Zalo]:
    fake = FakeZaloAPI(clock=clock).start()
    settings = make_settings(database_url, **fake.settings())
    runtime = Runtime(settings, clock=clock)
    channel = ZaloChannel(
        settings=settings, sessions=runtime.sessions, sealer=runtime.dispatcher.sealer, clock=clock
    )
    fake.follow_user(LAN)
    yield Zalo(fake, channel, runtime)
    await channel.close()
    await runtime.close()
    fake.stop()


async def test_a_text_goes_as_plain_text_with_the_title_as_its_first_line(zalo):
    delivery = await zalo.send(Reply(text="Câu hỏi của ông/bà đã được gửi.", title="Đã nhận"))
    assert delivery.result is SendResult.SENT
    [message] = zalo.fake.messages_to(LAN)
    assert message.text == "ĐÃ NHẬN\n\nCâu hỏi của ông/bà đã được gửi."
    assert message.buttons == [] and zalo.fake.violations == []


async def test_markup_characters_are_shown_as_written(zalo):
    await zalo.send(Reply(text="a < b & c > d"))
    [message] = zalo.fake.messages_to(LAN)
    assert message.text == "a < b & c > d"


async def test_a_text_over_2000_characters_is_split_at_paragraphs(zalo):
    first, second = "Đoạn một. " * 150, "Đoạn hai. " * 150
    delivery = await zalo.send(Reply(text=f"{first.strip()}\n\n{second.strip()}"))
    assert delivery.result is SendResult.SENT
    texts = [m.text for m in zalo.fake.messages_to(LAN)]
    assert texts == [first.strip(), second.strip()]
    assert all(len(t) <= TEXT_LIMIT for t in texts) and zalo.fake.violations == []


async def test_choices_go_as_buttons_that_send_their_label_back(zalo):
    reply = Reply(
        text="Ông/bà có đồng ý không?",
        buttons=((Button("✅ Đồng ý", "c:ok:vi"),), (Button("Để sau", "c:no:vi"),)),
    )
    assert (await zalo.send(reply)).result is SendResult.SENT
    [message] = zalo.fake.messages_to(LAN)
    assert message.text == "Ông/bà có đồng ý không?"
    assert message.buttons == [
        {"title": "✅ Đồng ý", "type": "oa.query.show", "payload": "✅ Đồng ý"},
        {"title": "Để sau", "type": "oa.query.show", "payload": "Để sau"},
    ]
    pressed = await zalo.parse_text(message.buttons[1]["payload"])
    assert (pressed.kind, pressed.data) == (Kind.BUTTON, "c:no:vi")


async def test_a_long_text_with_buttons_puts_the_buttons_on_its_last_part(zalo):
    text = "Nội dung dài. " * 200
    reply = Reply(text=text.strip(), buttons=((Button("Xong", "g:r"),),))
    assert (await zalo.send(reply)).result is SendResult.SENT
    messages = zalo.fake.messages_to(LAN)
    assert len(messages) == 2
    assert messages[0].buttons == [] and messages[1].labels == ["Xong"]
    assert zalo.fake.violations == []


async def test_more_choices_than_zalo_takes_are_numbered_and_answered_by_number(zalo):
    buttons = tuple((Button(f"Câu hỏi số {n}", f"u:q:{n:06d}"),) for n in range(1, 9))
    assert len(buttons) > MAX_BUTTONS
    assert (await zalo.send(Reply(text="Các câu hỏi đang mở:", buttons=buttons))).result is (
        SendResult.SENT
    )
    [message] = zalo.fake.messages_to(LAN)
    assert message.buttons == []
    lines = message.text.splitlines()
    assert lines[0] == "Các câu hỏi đang mở:"
    assert lines[2:10] == [f"{n}. Câu hỏi số {n}" for n in range(1, 9)]
    assert lines[-1] == VI._("Reply with the number of your choice.")
    picked = await zalo.parse_text("7")
    assert (picked.kind, picked.data) == (Kind.BUTTON, "u:q:000007")
    typed = await zalo.parse_text("Câu hỏi số 3")
    assert (typed.kind, typed.data) == (Kind.BUTTON, "u:q:000003")


async def test_choices_with_the_same_label_twice_are_numbered(zalo):
    buttons = ((Button("Xem", "u:q:1"), Button("Xem", "u:q:2")),)
    await zalo.send(Reply(text="Chọn:", buttons=buttons))
    [message] = zalo.fake.messages_to(LAN)
    assert message.buttons == [] and "1. Xem\n2. Xem" in message.text


async def test_when_zalo_refuses_the_template_the_choices_are_numbered(zalo):
    zalo.fake.fail_next(code=-201, user_id=LAN)
    reply = Reply(text="Chọn ngôn ngữ", buttons=((Button("Tiếng Việt", "l:vi"),),))
    assert (await zalo.send(reply)).result is SendResult.SENT
    [message] = zalo.fake.messages_to(LAN)
    assert message.text.startswith("Chọn ngôn ngữ\n\n1. Tiếng Việt")
    assert (await zalo.parse_text("1")).data == "l:vi"


async def test_the_newest_choices_replace_the_older_ones(zalo):
    await zalo.send(Reply(text="Một", buttons=((Button("Có", "a:1"),),)))
    await zalo.send(Reply(text="Hai", buttons=((Button("Không", "b:2"),),)))
    assert (await zalo.parse_text("Không")).data == "b:2"
    assert (await zalo.parse_text("Có")).kind is Kind.TEXT


async def test_asking_for_the_phone_sends_zalos_information_request(zalo):
    reply = Reply(
        text="Để liên kết hộ gia đình, xin chia sẻ số điện thoại.",
        ask_phone="📱 Chia sẻ số điện thoại",
    )
    assert (await zalo.send(reply)).result is SendResult.SENT
    text, request = zalo.fake.messages_to(LAN)
    assert text.text == "Để liên kết hộ gia đình, xin chia sẻ số điện thoại."
    assert request.template_type == "request_user_info"
    [element] = request.raw["attachment"]["payload"]["elements"]
    assert element["title"] == "📱 Chia sẻ số điện thoại"
    assert element["subtitle"] == VI._("Tap here to send us the phone number of your Zalo account.")
    assert zalo.fake.violations == []


def _png() -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure = pyplot.figure(figsize=(2, 1))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    pyplot.close(figure)
    return buffer.getvalue()


async def test_a_chart_is_uploaded_and_sent_as_an_image_with_its_title(zalo):
    chart = _png()
    reply = Reply(text="Tóm tắt hôm nay.", title="Báo cáo ngày", photo=chart)
    assert (await zalo.send(reply)).result is SendResult.SENT
    image, text = zalo.fake.messages_to(LAN)
    assert image.template_type == "media" and image.image == chart
    assert image.text == "Báo cáo ngày"
    assert text.text == "Tóm tắt hôm nay."
    assert zalo.fake.violations == []


async def test_an_image_over_zalos_limit_leaves_its_title_and_text(zalo):
    reply = Reply(text="Tóm tắt.", title="Báo cáo", photo=b"\x89PNG\r\n\x1a\n" + bytes(2**21))
    assert (await zalo.send(reply)).result is SendResult.SENT
    [message] = zalo.fake.messages_to(LAN)
    assert message.text == "BÁO CÁO\n\nTóm tắt." and zalo.fake.images == {}


# ---- Zalo's errors ----------------------------------------------------------------------

ERRORS = [
    # label, code, result
    ("the person has not written within the window", -230, SendResult.WINDOW),
    ("nor interacted with the OA's messages", -232, SendResult.WINDOW),
    ("the person does not follow the OA", -213, SendResult.UNREACHABLE),
    ("the person blocked the OA or is gone", -227, SendResult.UNREACHABLE),
    ("over the rate limit", -32, SendResult.THROTTLED),
    ("any other refusal", -201, SendResult.FAILED),
    ("an error Zalo may add later", -999, SendResult.FAILED),
]


@pytest.mark.parametrize(("code", "result"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
async def test_each_zalo_error_is_a_neutral_outcome(zalo, code, result):
    zalo.fake.fail_next(code=code, user_id=LAN)
    delivery = await zalo.send(Reply(text="Xin chào"))
    assert delivery.result is result
    assert str(code) in delivery.reason and LAN not in delivery.reason
    if result is SendResult.THROTTLED:
        assert delivery.retry_after == RATE_BACKOFF
    assert zalo.fake.messages_to(LAN) == []


async def test_the_interaction_window_is_zalos_own(zalo, clock):
    clock.advance(days=8)
    delivery = await zalo.send(Reply(text="Lời mời dự buổi đối thoại"))
    assert delivery.result is SendResult.WINDOW
    assert "-230" in delivery.reason


async def test_someone_who_never_followed_is_unreachable(zalo):
    delivery = await zalo.send(Reply(text="Xin chào"), to="9999999999999999999")
    assert delivery.result is SendResult.UNREACHABLE


async def test_a_rate_limit_mid_message_is_waited_out_rather_than_resent(zalo, monkeypatch):
    monkeypatch.setattr("bot.channels.zalo.sending.RATE_BACKOFF", 0.2)
    zalo.fake.set_rate_limit(1)
    text = ("Đoạn. " * 300).strip() + "\n\n" + ("Đoạn. " * 300).strip()
    delivery = await zalo.send(Reply(text=text))
    assert delivery.result is SendResult.SENT
    assert len(zalo.fake.messages_to(LAN)) == 2 and zalo.fake.rate_limited >= 1


TWO_PARTS = ("Một. " * 300).strip() + "\n\n" + ("Hai. " * 300).strip()


async def test_a_refusal_after_part_of_a_reply_is_out_is_reported_as_it_is(zalo):
    zalo.fake.fail_next(code=-227, user_id=LAN, after=1)
    delivery = await zalo.send(Reply(text=TWO_PARTS))
    assert delivery.result is SendResult.UNREACHABLE
    [first] = zalo.fake.messages_to(LAN)
    assert first.text.startswith("Một.")


async def test_a_connection_lost_after_part_of_a_reply_is_out_is_not_resent(zalo, monkeypatch):
    real_post = zalo.channel.http.post
    calls = []

    async def post_then_fail(url, **kwargs):
        calls.append(url)
        if len(calls) == 3:  # refresh, first part, then the second part's connection fails
            raise httpx.ConnectError("connection refused")
        return await real_post(url, **kwargs)

    monkeypatch.setattr(zalo.channel.http, "post", post_then_fail)
    delivery = await zalo.send(Reply(text=TWO_PARTS))
    assert delivery.result is SendResult.UNKNOWN, "resending would repeat the first part"
    assert len(zalo.fake.messages_to(LAN)) == 1


async def test_zalo_unreachable_keeps_the_message_for_later(zalo):
    zalo.fake.stop()  # before the first token refresh
    delivery = await zalo.send(Reply(text="Xin chào"))
    assert delivery.result is SendResult.THROTTLED and delivery.retry_after >= 60


async def test_a_connection_refused_is_safe_to_retry(zalo):
    await zalo.send(Reply(text="Một"))  # the token is fresh now
    zalo.fake.stop()
    delivery = await zalo.send(Reply(text="Hai"))
    assert delivery.result is SendResult.RETRY


async def test_no_answer_after_sending_is_unknown(database_url, clock):
    """A server that takes the request and never answers: it may have been delivered."""
    hold = asyncio.Event()

    async def silent(reader, writer):
        await reader.read(65536)
        await hold.wait()
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    fake = FakeZaloAPI(clock=clock).start()
    settings = make_settings(
        database_url, **{**fake.settings(), "zalo_api_url": f"http://127.0.0.1:{port}"}
    )
    runtime = Runtime(settings, clock=clock)
    http = httpx.AsyncClient(timeout=httpx.Timeout(0.5))
    channel = ZaloChannel(settings=settings, sessions=runtime.sessions, http=http, clock=clock)
    try:
        delivery = await channel.send(Address("zalo", LAN), Reply(text="Xin chào"))
        assert delivery.result is SendResult.UNKNOWN
    finally:
        hold.set()
        server.close()
        await http.aclose()
        await runtime.close()
        fake.stop()


async def test_the_channel_asks_before_each_request_goes_and_tells_once_it_is_written(zalo):
    watch = RecordingWatch()
    with watching(watch):
        delivery = await zalo.send(Reply(text="Câu hỏi của ông/bà đã được gửi."))
    assert delivery.result is SendResult.SENT
    assert watch.calls[-2:] == ["leaving", "departed"]  # a token's request may come first
    assert watch.calls.count("leaving") == watch.calls.count("departed")


async def test_a_request_stopped_before_it_goes_leaves_nothing_at_zalo(zalo):
    with watching(RecordingWatch(stop=True)), pytest.raises(TooLate):
        await zalo.send(Reply(text="Câu hỏi của ông/bà đã được gửi."))
    assert zalo.fake.messages_to(LAN) == []


async def test_a_token_refreshed_in_the_middle_of_a_send_is_neither_watched_nor_stopped(zalo):
    # The refresh is not the send's request: stopping it would leave the refresh begun (the
    # next one a minute later) and the send without a token.
    refreshes = zalo.fake.refreshes
    watch = RecordingWatch()
    with watching(watch):
        delivery = await zalo.send(Reply(text="Câu hỏi của ông/bà đã được gửi."))
    assert delivery.result is SendResult.SENT
    assert zalo.fake.refreshes == refreshes + 1  # the settings' token refreshed at first use
    assert watch.calls == ["leaving", "departed"]  # the message's request only
