"""Telegram, through python-telegram-bot: updates in (long polling or a webhook), messages out.

Everything Telegram-specific stays here: parsing updates into Incoming, HTML rendering with
every piece of text escaped, splitting over-long texts, inline keyboards, acknowledging button
presses, the command menus, and mapping Telegram's errors to neutral delivery outcomes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import html
import json
import logging
import warnings
from datetime import timedelta

import httpx
from telegram import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import MessageEntityType, MessageLimit, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.core.i18n import N_, Translator
from bot.core.messages import Address, Delivery, Incoming, Kind, Reply, SendResult
from bot.mailboxes import Mailboxes

log = logging.getLogger(__name__)

NAME = "telegram"
TEXT_LIMIT = MessageLimit.MAX_TEXT_LENGTH  # 4096, counted after entity parsing
CAPTION_LIMIT = MessageLimit.CAPTION_LENGTH  # 1024, likewise
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
ACKNOWLEDGED_KEPT = 10_000  # presses remembered as answered, against redeliveries

# Commands shown in Telegram's menu: the Vietnamese ones for everybody, English aliases for
# English clients, and the Vietnamese ones described in Khmer for Khmer clients (the commands
# are the ones their neighbours and the letters use). Descriptions come from the catalogs.
MENU = {
    "vi": ["hoi", "cauhoi", "xemcauhoi", "ngonngu", "xoa", "huy", "trogiup", "start"],
    "en": ["ask", "myquestions", "browse", "language", "delete", "cancel", "help", "start"],
    "km": ["hoi", "cauhoi", "xemcauhoi", "ngonngu", "xoa", "huy", "trogiup", "start"],
}
DESCRIPTIONS = {
    "hoi": N_("Send a question"),
    "ask": N_("Send a question"),
    "cauhoi": N_("My questions"),
    "myquestions": N_("My questions"),
    "xemcauhoi": N_("Other people's questions"),
    "browse": N_("Other people's questions"),
    "ngonngu": N_("Language"),
    "language": N_("Language"),
    "xoa": N_("Delete my data"),
    "delete": N_("Delete my data"),
    "huy": N_("Cancel"),
    "cancel": N_("Cancel"),
    "trogiup": N_("Help"),
    "help": N_("Help"),
    "start": N_("Start"),
}


def utf16_length(text: str) -> int:
    """Telegram counts lengths in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Cut a text into parts of at most `limit`, at a paragraph, a line or a space if possible."""
    parts: list[str] = []
    while utf16_length(text) > limit:
        # the longest prefix that fits
        size, end = 0, 0
        for index, char in enumerate(text):
            size += 2 if ord(char) > 0xFFFF else 1
            if size > limit:
                break
            end = index + 1
        window = text[:end]
        for separator in ("\n\n", "\n", " "):
            cut = window.rfind(separator)
            if cut > end // 2:
                parts.append(window[:cut].rstrip())
                text = text[cut + len(separator) :]
                break
        else:
            parts.append(window)
            text = text[end:]
    if text.strip() or not parts:
        parts.append(text)
    return parts


def render(reply: Reply) -> list[str]:
    """The reply as HTML parts: the title in bold, everything escaped."""
    title = f"<b>{html.escape(reply.title)}</b>\n\n" if reply.title else ""
    budget = TEXT_LIMIT - (utf16_length(reply.title) + 2 if reply.title else 0)
    chunks = split_text(reply.text, budget) if reply.text else [""]
    first, rest = chunks[0], chunks[1:]
    rest = [part for chunk in rest for part in split_text(chunk)]
    rendered = [title + html.escape(first)] + [html.escape(part) for part in rest]
    return [part for part in rendered if part.strip()] or [html.escape(reply.title or "…")]


def caption(title: str) -> str:
    """A photo's caption: the title in bold, escaped, cut to what Telegram takes."""
    if not title:
        return ""
    if utf16_length(title) > CAPTION_LIMIT:
        title = split_text(title, CAPTION_LIMIT - 1)[0] + "…"
    return f"<b>{html.escape(title)}</b>"


def keyboard(
    reply: Reply,
) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None:
    """Inline buttons for choices; the reply keyboard only for sharing a phone number, which
    Telegram offers nowhere else."""
    if reply.ask_phone:
        return ReplyKeyboardMarkup(
            [[KeyboardButton(reply.ask_phone, request_contact=True)]],
            one_time_keyboard=True,
            resize_keyboard=True,
        )
    if reply.buttons:
        return InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(b.label, callback_data=b.data) for b in row]
                for row in reply.buttons
            ]
        )
    if reply.clear_keyboard:
        return ReplyKeyboardRemove()
    return None


def parse(update: Update) -> Incoming | None:
    """A Telegram update as an Incoming, or None for the kinds the bot does not take."""
    key = str(update.update_id)
    if update.callback_query is not None:
        query = update.callback_query
        message = query.message
        chat = message.chat if message is not None else None
        if chat is not None and chat.type != "private":
            return Incoming(Address(NAME, str(chat.id)), key, Kind.GROUP, callback_id=query.id)
        return Incoming(
            Address(NAME, str(chat.id if chat is not None else query.from_user.id)),
            key,
            Kind.BUTTON,
            data=query.data or "",
            display_name=query.from_user.full_name,
            language=query.from_user.language_code or "",
            callback_id=query.id,
        )
    if update.edited_message is not None:
        message = update.edited_message
        kind = Kind.EDITED if message.chat.type == "private" else Kind.GROUP
        return Incoming(Address(NAME, str(message.chat.id)), key, kind)
    message = update.message
    if message is None:
        return None
    address = Address(NAME, str(message.chat.id))
    if message.chat.type != "private":
        # Answer only what is addressed to the bot, so as not to chatter in a group.
        text = message.text or ""
        if text.startswith("/"):
            return Incoming(address, key, Kind.GROUP)
        return None
    user = message.from_user
    common = {
        "display_name": user.full_name if user else "",
        "language": (user.language_code or "") if user else "",
    }
    text = message.text
    if text is not None:
        entity = message.entities[0] if message.entities else None
        if (
            entity is not None
            and entity.type == MessageEntityType.BOT_COMMAND
            and entity.offset == 0
        ):
            command = text[1 : entity.length].split("@")[0].lower()
            return Incoming(
                address,
                key,
                Kind.COMMAND,
                command=command,
                text=text[entity.length :].strip(),
                **common,
            )
        return Incoming(address, key, Kind.TEXT, text=text, **common)
    if message.contact is not None:
        # Only one's own number links a household: a forwarded contact card is someone else's.
        own = user is not None and message.contact.user_id == user.id
        phone = message.contact.phone_number if own else ""
        return Incoming(address, key, Kind.CONTACT, phone=phone, **common)
    audio = message.voice or message.audio
    if audio is not None:
        # A voice note may be a question (handlers.ask): its file id, and its length.
        seconds = audio.to_dict().get("duration", 0)  # the attribute warns in PTB 22
        return Incoming(
            address,
            key,
            Kind.VOICE,
            voice=audio.file_id,
            voice_seconds=seconds if isinstance(seconds, int) else 0,
            **common,
        )
    if message.effective_attachment is not None:
        return Incoming(address, key, Kind.MEDIA, **common)
    return Incoming(address, key, Kind.OTHER, **common)


def _seconds(value: int | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def classify(error: TelegramError) -> Delivery:
    """Telegram's errors as neutral outcomes."""
    if isinstance(error, RetryAfter):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Delivery(SendResult.THROTTLED, _seconds(error.retry_after), str(error))
    if isinstance(error, Forbidden):
        return Delivery(SendResult.UNREACHABLE, reason=error.message)
    if isinstance(error, BadRequest):
        if "chat not found" in error.message.lower():
            return Delivery(SendResult.UNREACHABLE, reason=error.message)
        return Delivery(SendResult.FAILED, reason=error.message)
    if isinstance(error, TimedOut):
        # The request may have reached Telegram: do not send it again by ourselves.
        if isinstance(error.__cause__, httpx.ConnectTimeout | httpx.PoolTimeout):
            return Delivery(SendResult.RETRY, reason=str(error))
        return Delivery(SendResult.UNKNOWN, reason=str(error))
    if isinstance(error, NetworkError):
        if isinstance(error.__cause__, httpx.ConnectError):
            return Delivery(SendResult.RETRY, reason=str(error))
        return Delivery(SendResult.UNKNOWN, reason=str(error))
    return Delivery(SendResult.FAILED, reason=str(error))


class TelegramChannel:
    name = NAME

    def __init__(
        self,
        *,
        token: str,
        api_url: str,
        dispatch,
        default_locale: str = "vi",
        rate: float = 25.0,
        spacing: timedelta = timedelta(seconds=1),
        webhook: bool = False,
        mailboxes: Mailboxes | None = None,
    ):
        """`dispatch` is the dispatcher's coroutine taking an Incoming and returning an Outcome.

        `rate` and `spacing` are Telegram's broadcast limits as we keep them: about 30 messages
        a second overall (we keep 25 by default) and one a second to a chat.

        With `webhook`, updates are not fetched here: the web app stores them and the intake
        worker hands each to `incoming` (the Application has no Updater then). When polling,
        updates go to `mailboxes`: different people's processed concurrently, each person's in
        order.
        """
        self._dispatch = dispatch
        self.default_locale = default_locale
        self.rate = rate
        self.spacing = spacing
        self.mailboxes = mailboxes or Mailboxes()
        self._background: set[asyncio.Task[None]] = set()
        self._acknowledged: dict[str, None] = {}  # recent presses answered, oldest first
        self._cleared: dict[str, None] = {}  # messages whose keyboard was taken away
        builder = (
            Application.builder()
            .token(token)
            .base_url(f"{api_url}/bot")
            .base_file_url(f"{api_url}/file/bot")
        )
        if webhook:
            builder = builder.updater(None)
        self.application: Application = builder.build()
        self.application.add_handler(TypeHandler(Update, self._on_update))
        self.application.add_error_handler(self._on_error)

    @property
    def bot(self):
        return self.application.bot

    async def _on_update(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Polling: acknowledge a button press at once, then queue the update behind the
        person's earlier ones. PTB hands updates over one at a time, in order; this returns
        as soon as the update is queued (or when the backlog has room again)."""
        self.acknowledge(update)
        incoming = parse(update)
        if incoming is None:
            return
        self.mailboxes.put(incoming.address, lambda: self._dispatch(incoming))
        await self.mailboxes.room()

    def update_from_json(self, data: object) -> Update | None:
        """A webhook's update as PTB's Update, bound to our bot (None if it is not one)."""
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return None
        return Update.de_json(data, self.bot)

    async def incoming(self, raw: bytes) -> Incoming | None:
        """A stored webhook body as an Incoming (None for what the bot does not take)."""
        update = self.update_from_json(json.loads(raw))
        return parse(update) if update is not None else None

    async def process(self, update: Update) -> None:
        """One update, at once (tests and the console's way): acknowledge and dispatch it."""
        self.acknowledge(update)
        incoming = parse(update)
        if incoming is not None:
            await self._dispatch(incoming)

    def acknowledge(self, update: Update) -> None:
        """A button press is answered at once, before any database work (Telegram gives up
        after 15 s), and its keyboard taken away so it is not pressed again; in the
        background, so that taking updates in never waits on it.

        A second press on the same keyboard (a double tap, before the app saw it go) is
        answered too, but the keyboard is taken away once: editing a message to what it already
        is, Telegram refuses with 400 "message is not modified"."""
        query = update.callback_query
        if query is None or query.id in self._acknowledged:
            return  # a redelivered press was answered the first time
        self._acknowledged[query.id] = None
        if len(self._acknowledged) > ACKNOWLEDGED_KEPT:
            del self._acknowledged[next(iter(self._acknowledged))]
        clear = False
        message = query.message
        if message is not None and getattr(message, "reply_markup", None):
            key = f"{message.chat.id}:{message.message_id}"
            clear = key not in self._cleared
            self._cleared[key] = None
            if len(self._cleared) > ACKNOWLEDGED_KEPT:
                del self._cleared[next(iter(self._cleared))]
        task = asyncio.create_task(self._acknowledge(query, clear=clear))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    @staticmethod
    async def _acknowledge(query: CallbackQuery, *, clear: bool) -> None:
        try:
            await query.answer()
        except TelegramError as exc:  # too old, or answered already (a redelivery)
            log.info("callback answer refused: %s", exc)
        if clear:
            try:
                await query.edit_message_reply_markup(reply_markup=None)
            except BadRequest as exc:
                if "not modified" not in exc.message.lower():  # another process took it away
                    log.info("could not remove a used keyboard: %s", exc)
            except TelegramError as exc:
                log.info("could not remove a used keyboard: %s", exc)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        key = update.update_id if isinstance(update, Update) else "-"
        log.error("telegram update %s failed", key, exc_info=context.error)

    async def send(self, address: Address, reply: Reply) -> Delivery:
        """The photo first, if any (the title as its caption), then the text in as many parts
        as it needs. Once something is out, a throttle is waited for here rather than
        reported: reporting it would send again what the person already has."""
        markup = keyboard(reply)
        sent_any = False
        if reply.voice or reply.voice_audio:
            # A voice note sent again by its file id (a question asked by voice, to the
            # facilitator who writes it down), or uploaded (an answer spoken, "🔊").
            try:
                await self.bot.send_voice(
                    chat_id=int(address.user_id),
                    voice=reply.voice or reply.voice_audio,
                    filename=None if reply.voice else "nghe.ogg",
                    caption=caption(reply.title) or None,
                    parse_mode=ParseMode.HTML,
                    reply_markup=None if reply.text else markup,
                )
            except TelegramError as exc:
                return classify(exc)
            if not reply.text:
                return Delivery(SendResult.SENT)
            sent_any = True
            reply = dataclasses.replace(reply, title="")
        if reply.photo:
            try:
                await self.bot.send_photo(
                    chat_id=int(address.user_id),
                    photo=reply.photo,
                    filename="chart.png",
                    caption=caption(reply.title) or None,
                    parse_mode=ParseMode.HTML,
                    reply_markup=None if reply.text else markup,
                )
            except TelegramError as exc:
                return classify(exc)
            if not reply.text:
                return Delivery(SendResult.SENT)
            sent_any = True
            reply = dataclasses.replace(reply, title="")  # the caption has shown it
        parts = render(reply)
        for number, part in enumerate(parts):
            last = number == len(parts) - 1
            for _attempt in range(5):
                try:
                    await self.bot.send_message(
                        chat_id=int(address.user_id),
                        text=part,
                        parse_mode=ParseMode.HTML,
                        reply_markup=markup if last else None,
                        disable_web_page_preview=True,
                    )
                    break
                except TelegramError as exc:
                    delivery = classify(exc)
                    if not sent_any or delivery.result is not SendResult.THROTTLED:
                        return delivery
                    # Part of the message is out already: wait here as asked rather than resend it.
                    await asyncio.sleep(delivery.retry_after)
            else:
                return Delivery(SendResult.FAILED, reason="throttled repeatedly mid-message")
            sent_any = True
        return Delivery(SendResult.SENT)

    async def register_commands(self) -> None:
        """setMyCommands: Vietnamese by default; English and Khmer for clients in those languages."""
        for locale, commands in MENU.items():
            t = Translator(locale)
            bot_commands = [BotCommand(c, t._(DESCRIPTIONS[c])) for c in commands]
            scope = BotCommandScopeAllPrivateChats()
            await self.bot.set_my_commands(bot_commands, scope=scope, language_code=locale)
            if locale == self.default_locale:
                await self.bot.set_my_commands(bot_commands, scope=scope)

    async def start_polling(self) -> None:
        await self.application.initialize()
        await self.register_commands()
        await self.application.start()
        await self.application.updater.start_polling(allowed_updates=ALLOWED_UPDATES)

    async def start_webhook(self, url: str, secret: str) -> None:
        """Have Telegram post updates to `url` with `secret` in X-Telegram-Bot-Api-Secret-Token.

        Every process behind the load balancer may call it: it sets the same webhook again.
        """
        await self.application.initialize()
        await self.register_commands()
        await self.application.start()
        await self.bot.set_webhook(url=url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)

    async def stop(self) -> None:
        """Stop fetching and sending. A webhook stays set: other processes may still serve it,
        and Telegram keeps the updates that arrive meanwhile for the next one to start."""
        if self.application.updater and self.application.updater.running:
            await self.application.updater.stop()
        await self.mailboxes.close()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()
