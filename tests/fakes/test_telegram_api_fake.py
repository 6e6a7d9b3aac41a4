"""Proves the Telegram Bot API fake behaves like Telegram for the real python-telegram-bot."""

import asyncio
import datetime as dtm
import json
import time
import urllib.request
import warnings

import pytest
import pytest_asyncio
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, EndPointNotFound, Forbidden, InvalidToken, RetryAfter
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from .telegram_api import FIXTURES_DIR, FakeBotAPI, parse_html, utf16_len

USER = 5123456789


@pytest.fixture
def fake():
    api = FakeBotAPI().start()
    yield api
    api.stop()


@pytest_asyncio.fixture
async def bot(fake):
    async with Bot(fake.token, base_url=f"{fake.url}/bot") as tg_bot:
        yield tg_bot


def seconds(retry_after) -> float:
    # PTB 22 returns an int (deprecated) or a timedelta depending on PTB_TIMEDELTA.
    return retry_after.total_seconds() if isinstance(retry_after, dtm.timedelta) else retry_after


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d) for t, d in pairs]])


# ------------------------------------------------------------------ the basics


@pytest.mark.asyncio
async def test_a_bot_can_get_me_and_learns_its_username(fake, bot):
    assert bot.bot.username == "doithoai_test_bot"
    assert bot.bot.is_bot
    assert bot.bot.id == 123456
    assert [c.method for c in fake.calls] == ["getMe"]
    assert fake.violations == []


@pytest.mark.asyncio
async def test_a_message_with_an_inline_keyboard_is_recorded_with_its_decoded_text(fake, bot):
    fake.send_text(USER, "chào bot")
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Có 👍", callback_data="answer:yes"),
                InlineKeyboardButton("Không", callback_data="answer:no"),
            ],
            [InlineKeyboardButton("Trang web", url="https://example.com/help")],
        ]
    )

    message = await bot.send_message(
        USER, "<b>Chào</b> bạn &amp; tôi &lt;3 &#128512;", parse_mode="HTML", reply_markup=markup
    )

    [sent] = fake.messages_to(USER)
    assert sent.text == "Chào bạn & tôi <3 😀"
    assert sent.raw_text == "<b>Chào</b> bạn &amp; tôi &lt;3 &#128512;"
    assert sent.parse_mode == "HTML"
    assert sent.buttons == [
        [("Có 👍", "answer:yes"), ("Không", "answer:no")],
        [("Trang web", "https://example.com/help")],
    ]
    assert sent.button_texts == ["Có 👍", "Không", "Trang web"]
    assert sent.data_for("Không") == "answer:no"
    with pytest.raises(AssertionError, match="no button containing"):
        sent.data_for("Hủy")
    # The returned Message is what Telegram returns: bot as sender, decoded text, entities,
    # the inline keyboard echoed, and a message_id after the user's message.
    assert message.text == "Chào bạn & tôi <3 😀"
    assert message.from_user.id == bot.bot.id
    assert message.chat.id == USER and message.chat.type == "private"
    assert message.message_id == sent.message_id == 2
    assert [(e.type, e.offset, e.length) for e in message.entities] == [("bold", 0, 4)]
    assert message.reply_markup == markup
    [call] = [c for c in fake.calls if c.method == "sendMessage"]
    assert call.params["chat_id"] == USER
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "answer:yes"
    assert fake.violations == []


@pytest.mark.asyncio
async def test_sending_to_a_chat_the_fake_never_saw_is_refused_with_chat_not_found(fake, bot):
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(424242, "hello")
    assert fake.violations and "chat not found" in fake.violations[0]


@pytest.mark.asyncio
async def test_html_with_an_unescaped_less_than_sign_is_refused_with_400(fake, bot):
    fake.send_text(USER, "hi")
    with pytest.raises(BadRequest, match="parse entities"):
        await bot.send_message(USER, "Điểm của bạn < 5 rồi", parse_mode="HTML")
    call = fake.calls[-1]
    assert call.response["ok"] is False and call.response["error_code"] == 400
    assert call.response["description"].startswith("Bad Request: can't parse entities: ")
    assert fake.messages_to(USER) == []
    assert len(fake.violations) == 1


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "html, reason",
    [
        ("a &nbsp; b", "Unsupported HTML entity"),
        ("<b>đậm", 'Can\'t find end tag corresponding to start tag "b"'),
        ("dòng 1<br>dòng 2", 'Unsupported start tag "br"'),
        ("<b><i>x</b></i>", "Unmatched end tag"),
        ("x</b>", "Unexpected end tag"),
        ('<span class="red">x</span>', 'Tag "span" must have class "tg-spoiler"'),
    ],
)
async def test_html_telegram_cannot_parse_is_refused(fake, bot, html, reason):
    fake.send_text(USER, "hi")
    with pytest.raises(BadRequest, match="parse entities"):
        await bot.send_message(USER, html, parse_mode="HTML")
    # PTB capitalizes the description, so check Telegram's exact wording in the call log.
    assert reason in fake.calls[-1].response["description"]


@pytest.mark.asyncio
async def test_a_65_byte_callback_data_is_refused_and_64_bytes_are_accepted(fake, bot):
    fake.send_text(USER, "hi")
    sixty_four = "đ" * 32  # 2 bytes each in UTF-8, only 32 characters
    await bot.send_message(USER, "ok", reply_markup=keyboard(("A", sixty_four)))
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(USER, "too much", reply_markup=keyboard(("A", "x" + sixty_four)))
    assert fake.calls[-1].response["description"] == "Bad Request: BUTTON_DATA_INVALID"
    assert [m.text for m in fake.messages_to(USER)] == ["ok"]


@pytest.mark.asyncio
async def test_a_button_without_an_action_is_refused(fake, bot):
    fake.send_text(USER, "hi")
    with pytest.raises(BadRequest, match="(?i)text buttons are unallowed"):
        await bot.send_message(
            USER, "x", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("bare")]])
        )


@pytest.mark.asyncio
async def test_messages_over_4096_utf16_units_are_refused(fake, bot):
    fake.send_text(USER, "hi")
    await bot.send_message(USER, "😀" * 2048)  # 4096 UTF-16 units: allowed
    await bot.send_message(USER, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")  # tags are free
    for too_long in ("😀" * 2049, "a" * 4097):  # 2049 characters but 4098 units
        with pytest.raises(BadRequest, match="Message is too long"):
            await bot.send_message(USER, too_long)
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(USER, "<b> </b>", parse_mode="HTML")
    assert len(fake.messages_to(USER)) == 2
    assert len(fake.violations) == 3


# ------------------------------------------------------------------ injected failures


@pytest.mark.asyncio
async def test_a_blocked_chat_gives_forbidden(fake, bot):
    fake.send_text(USER, "hi")
    fake.block(USER)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(USER, "are you there?")
    assert fake.calls[-1].response["error_code"] == 403
    assert fake.violations == []  # provoked on purpose, so not a violation


@pytest.mark.asyncio
async def test_fail_next_with_429_gives_retry_after_with_the_right_retry_after(fake, bot):
    fake.send_text(USER, "hi")
    fake.fail_next(
        "sendMessage", error_code=429, description="Too Many Requests: retry after 7", retry_after=7
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB's deprecation notice about int retry_after
        with pytest.raises(RetryAfter) as error:
            await bot.send_message(USER, "first")
        assert seconds(error.value.retry_after) == 7
    assert fake.calls[-1].response["parameters"] == {"retry_after": 7}
    await bot.send_message(USER, "second")  # only the next call failed
    assert [m.text for m in fake.messages_to(USER)] == ["second"]
    assert fake.violations == []


@pytest.mark.asyncio
async def test_fail_next_can_target_one_chat_and_several_calls(fake, bot):
    fake.send_text(USER, "hi")
    fake.send_text(777, "hi")
    fake.fail_next(
        "sendMessage",
        error_code=400,
        description="Bad Request: chat not found",
        chat_id=777,
        times=2,
    )
    await bot.send_message(USER, "to the other chat")
    for _ in range(2):
        with pytest.raises(BadRequest):
            await bot.send_message(777, "x")
    await bot.send_message(777, "now it works")
    assert [m.text for m in fake.messages_to(777)] == ["now it works"]


@pytest.mark.asyncio
async def test_the_rate_limit_refuses_sends_beyond_the_limit_with_retry_after(fake, bot):
    fake.send_text(USER, "hi")
    fake.set_rate_limit(per_chat_per_second=2)
    await bot.send_message(USER, "1")
    await bot.send_message(USER, "2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RetryAfter) as error:
            await bot.send_message(USER, "3")
        assert seconds(error.value.retry_after) >= 1
    assert fake.rate_limited == 1
    assert fake.violations == []


# ------------------------------------------------------------------ updates


@pytest.mark.asyncio
async def test_get_updates_returns_a_pushed_update_that_update_de_json_parses(fake, bot):
    pushed = fake.send_text(USER, "/start ref_42")
    assert pushed["update_id"] == 1

    [update] = await bot.get_updates(timeout=0)

    assert update == Update.de_json(pushed, bot)
    assert update.update_id == 1
    message = update.message
    assert message.text == "/start ref_42"
    assert message.from_user.id == USER and message.from_user.first_name == "Lan"
    assert message.from_user.language_code == "vi"
    assert message.chat.type == "private" and message.chat.id == USER
    assert isinstance(message.date, dtm.datetime)
    assert [(e.type, e.offset, e.length) for e in message.entities] == [("bot_command", 0, 6)]
    assert message.parse_entities() and update.effective_user.id == USER


@pytest.mark.asyncio
async def test_confirmed_updates_are_not_returned_again(fake, bot):
    fake.send_text(USER, "one")
    fake.send_text(USER, "two")
    first = await bot.get_updates(timeout=0)
    assert [u.message.text for u in first] == ["one", "two"]
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [1, 2]  # not confirmed yet

    started = time.monotonic()
    assert await bot.get_updates(offset=first[-1].update_id + 1, timeout=5) == ()
    assert time.monotonic() - started < 2  # long polling is capped at one second

    fake.send_text(USER, "three")
    assert [u.message.text for u in await bot.get_updates(offset=3, timeout=0)] == ["three"]


@pytest.mark.asyncio
async def test_a_long_poll_wakes_up_as_soon_as_an_update_is_pushed(fake, bot):
    async def push_later():
        await asyncio.sleep(0.2)
        fake.send_text(USER, "late")

    pusher = asyncio.create_task(push_later())
    started = time.monotonic()
    updates = await bot.get_updates(timeout=1)
    await pusher
    assert [u.message.text for u in updates] == ["late"]
    assert time.monotonic() - started < 0.9


@pytest.mark.asyncio
async def test_allowed_updates_filters_what_get_updates_delivers(fake, bot):
    fake.send_text(USER, "text")
    fake.push_update(
        {
            "message_reaction": {
                "chat": {"id": USER, "first_name": "Lan", "type": "private"},
                "message_id": 1,
                "date": 1718000000,
                "old_reaction": [],
                "new_reaction": [{"type": "emoji", "emoji": "👍"}],
            }
        }
    )
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [1]  # default set
    only_reactions = await bot.get_updates(timeout=0, allowed_updates=["message_reaction"])
    assert [u.update_id for u in only_reactions] == [2]


def test_every_fixture_is_one_update_that_ptb_parses():
    for path in sorted(FIXTURES_DIR.glob("*.json")):
        data = json.loads(path.read_text("utf-8"))
        update = Update.de_json(data, None)
        assert update.update_id == data["update_id"], path.name
        assert update.effective_chat is not None, path.name
        assert not update.api_kwargs, (path.name, update.api_kwargs)


@pytest.mark.asyncio
async def test_the_builders_fill_the_fixture_shapes_with_the_test_user(fake, bot):
    fake.user(USER, "Minh", last_name="Trần", username="minh_tran", language_code="en")
    updates = [
        fake.send_sticker(USER),
        fake.send_photo(USER),
        fake.send_voice(USER),
        fake.send_contact(USER, "+84901234567"),
        fake.edit_text(USER, 1, "đã sửa"),
        fake.send_group_text(USER, -4001, "/help@doithoai_test_bot chi tiết"),
    ]
    parsed = await bot.get_updates(timeout=0)
    assert [u.update_id for u in parsed] == [u["update_id"] for u in updates] == [1, 2, 3, 4, 5, 6]
    sticker, photo, voice, contact, edited, group = parsed
    assert sticker.message.sticker.type == "regular" and sticker.message.sticker.file_unique_id
    assert len(photo.message.photo) == 3 and photo.message.photo[-1].width == 800
    assert voice.message.voice.mime_type == "audio/ogg"
    assert voice.message.voice.to_dict()["duration"] == 4  # the attribute warns in PTB 22
    assert contact.message.contact.phone_number == "+84901234567"
    assert contact.message.contact.user_id == USER == contact.message.from_user.id
    assert edited.edited_message.text == "đã sửa" and edited.edited_message.edit_date
    assert group.message.chat.type == "group" and group.message.chat.id == -4001
    assert group.message.entities[0].length == len("/help@doithoai_test_bot")
    for update in parsed:
        assert update.effective_user.first_name == "Minh"
        assert update.effective_user.username == "minh_tran"
        assert not update.effective_message.api_kwargs
    # Group and private chats keep separate message_id sequences.
    assert sticker.message.message_id == 1 and group.message.message_id == 1


# ------------------------------------------------------------------ callbacks and edits


@pytest.mark.asyncio
async def test_pressing_a_button_sends_the_full_message_and_a_second_answer_is_refused(fake, bot):
    fake.send_text(USER, "hi")
    sent = await bot.send_message(USER, "Chọn:", reply_markup=keyboard(("Một", "pick:1")))
    with pytest.raises(AssertionError, match="no bot message"):
        fake.press(USER, "pick:2")

    pushed = fake.press(USER, "pick:1")
    query_id = pushed["callback_query"]["id"]
    [_, update] = await bot.get_updates(timeout=0)
    assert update.callback_query.data == "pick:1"
    assert update.callback_query.message.message_id == sent.message_id
    assert update.callback_query.message.reply_markup == sent.reply_markup
    assert fake.unanswered_callbacks() == [query_id]

    assert await bot.answer_callback_query(query_id, text="Đã chọn")
    assert fake.answered_callbacks() == {
        query_id: {"callback_query_id": query_id, "text": "Đã chọn"}
    }
    assert fake.unanswered_callbacks() == []
    assert fake.violations == []
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(query_id)
    assert len(fake.violations) == 1


@pytest.mark.asyncio
async def test_edits_update_the_recorded_message_and_identical_edits_are_refused(fake, bot):
    fake.send_text(USER, "hi")
    sent = await bot.send_message(USER, "Bước 1", reply_markup=keyboard(("Tiếp", "next")))
    await bot.edit_message_text(
        "<i>Bước 2</i>",
        USER,
        sent.message_id,
        parse_mode="HTML",
        reply_markup=keyboard(("Xong", "done")),
    )
    [recorded] = fake.messages_to(USER)
    assert (recorded.text, recorded.buttons) == ("Bước 2", [[("Xong", "done")]])

    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text(
            "<i>Bước 2</i>",
            USER,
            sent.message_id,
            parse_mode="HTML",
            reply_markup=keyboard(("Xong", "done")),
        )
    await bot.edit_message_reply_markup(USER, sent.message_id)  # removes the keyboard
    assert recorded.buttons == []
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", USER, 999)
    with pytest.raises(BadRequest, match="Message can't be edited"):
        await bot.edit_message_text("x", USER, 1)  # the user's own message
    assert len(fake.violations) == 3


@pytest.mark.asyncio
async def test_set_my_commands_is_recorded_by_scope_and_language(fake, bot):
    await bot.set_my_commands([("start", "Bắt đầu"), ("help", "Trợ giúp")])
    await bot.set_my_commands([("start", "Start")], language_code="en")
    assert fake.commands[("default", "")] == [
        {"command": "start", "description": "Bắt đầu"},
        {"command": "help", "description": "Trợ giúp"},
    ]
    assert fake.commands[("default", "en")] == [{"command": "start", "description": "Start"}]
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    for bad in ([("Start", "x")], [("start", "")], [("s" * 33, "x")], [("a", "d" * 257)]):
        with pytest.raises(BadRequest):
            await bot.set_my_commands(bad)
    assert len(fake.violations) == 4
    await bot.delete_my_commands(language_code="en")
    assert ("default", "en") not in fake.commands


@pytest.mark.asyncio
async def test_a_wrong_token_is_unauthorized_and_an_unknown_method_is_not_found(fake, bot):
    with pytest.raises(InvalidToken):
        async with Bot("999:WRONG", base_url=f"{fake.url}/bot"):
            pass
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")
    assert fake.calls[-1].response == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert len(fake.violations) == 2


def test_plain_http_get_and_json_bodies_are_understood(fake):
    with urllib.request.urlopen(f"{fake.url}/bot{fake.token}/getMe") as response:
        assert json.load(response)["result"]["username"] == "doithoai_test_bot"
    fake.send_text(USER, "hi")
    request = urllib.request.Request(
        f"{fake.url}/bot{fake.token}/sendmessage",  # method names are case-insensitive
        data=json.dumps({"chat_id": USER, "text": "123"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        assert json.load(response)["result"]["text"] == "123"
    assert fake.messages_to(USER)[0].text == "123"


# ------------------------------------------------------------------ the real Application


@pytest.mark.asyncio
async def test_a_real_application_polls_a_start_message_and_its_reply_is_recorded(fake):
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_html(
            f"Chào <b>{update.effective_user.first_name}</b>!",
            reply_markup=keyboard(("Bắt đầu", "menu:start")),
        )

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.callback_query.answer()
        await update.callback_query.edit_message_text("Đã bắt đầu")

    app = Application.builder().token(fake.token).base_url(f"{fake.url}/bot").build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(on_button))
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0)
        try:
            fake.user(USER, "Lan")
            fake.send_text(USER, "/start")
            [reply] = await fake.await_messages(USER, 1)
            assert reply.text == "Chào Lan!"
            assert reply.data_for("Bắt đầu") == "menu:start"

            fake.press(USER, "menu:start")
            await fake.await_call("editMessageText")
            assert fake.messages_to(USER)[0].text == "Đã bắt đầu"
            await fake.await_call("answerCallbackQuery")
            assert fake.unanswered_callbacks() == []
        finally:
            await app.updater.stop()
            await app.stop()
    assert fake.violations == []


# ------------------------------------------------------------------ the HTML parser itself


def test_parse_html_produces_telegram_entities_with_utf16_offsets():
    text, entities = parse_html(
        '😀 <b>đậm <i>nghiêng</i></b> <a href="https://x.y/?a=1&amp;b=2">link</a> '
        '<pre><code class="language-python">x = 1</code></pre> '
        "<tg-spoiler>bí mật</tg-spoiler> <blockquote expandable>q</blockquote>"
    )
    assert text == "😀 đậm nghiêng link x = 1 bí mật q"
    assert {(e["type"], e["offset"], e["length"]) for e in entities} == {
        ("bold", 3, 11),
        ("italic", 7, 7),
        ("text_link", 15, 4),
        ("pre", 20, 5),
        ("spoiler", 26, 6),
        ("expandable_blockquote", 33, 1),
    }
    assert next(e for e in entities if e["type"] == "text_link")["url"] == "https://x.y/?a=1&b=2"
    assert next(e for e in entities if e["type"] == "pre")["language"] == "python"
    assert utf16_len("😀") == 2


def test_the_rate_limit_counts_requests_in_their_order_of_arrival_whatever_order_they_are_checked():
    from tests.fakes.telegram_api import _over_limit

    accepted = [10.0, 10.2, 10.4]  # a limit of 3 a second: the second up to 10.4 is full
    assert _over_limit(accepted, 10.5, 3) == 10.0  # it would be the 4th within (9.5, 10.5]
    assert _over_limit(accepted, 11.05, 3) is None  # 10.2 and 10.4 only within (10.05, 11.05]
    # Checked late, a request that arrived before the others is not counted after them…
    assert _over_limit([10.3, 10.4], 10.1, 3) is None
    # …but it may not push a second that ends at an accepted later arrival past the limit.
    assert _over_limit([9.5, 10.3, 10.4], 10.1, 3) == 9.5
