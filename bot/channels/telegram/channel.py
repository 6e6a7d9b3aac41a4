"""TelegramChannel: the one contract (verify, parse, complete, acknowledge, shown, send) over
python-telegram-bot, and polling or a webhook to take updates in."""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import json
import logging
from collections.abc import Mapping
from datetime import timedelta

from telegram import BotCommand, BotCommandScopeAllPrivateChats, CallbackQuery, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, ContextTypes, TypeHandler
from telegram.request import HTTPXRequest

from bot.channels.http import departure_hooks
from bot.core.i18n import N_, Translator
from bot.core.messages import Address, Delivery, Incoming, Reply, SendResult, Shown
from bot.mailboxes import Mailboxes

from .rendering import Markup, caption, classify, keyboard, render
from .updates import NAME, parse

log = logging.getLogger(__name__)

SECRET_HEADER = "x-telegram-bot-api-secret-token"
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


class TelegramChannel:
    name = NAME
    text_choices = False  # a pressed button brings back its own data

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
        webhook_secret: str = "",
    ):
        """`dispatch` is the dispatcher's coroutine taking an Incoming and returning an Outcome:
        polling's way in (a webhook's updates go through the intake, like every channel's).

        `rate` and `spacing` are Telegram's broadcast limits as we keep them: about 30 messages
        a second overall (we keep 25 by default) and one a second to a chat.

        With `webhook`, updates are not fetched here: the web app stores them and the intake
        worker parses each (the Application has no Updater then); `webhook_secret` is the
        secret Telegram sends with them (`verify`). When polling, updates go to `mailboxes`:
        different people's processed concurrently, each person's in order.
        """
        self._dispatch = dispatch
        self.webhook_secret = webhook_secret
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
            # The requests that send: PTB's defaults (a pool of 256), and each request's
            # departure told to the outbox, which counts the rate from there.
            .request(HTTPXRequest(httpx_kwargs={"event_hooks": departure_hooks()}))
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
        self.acknowledge_update(update)
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

    # ---- the channel contract ---------------------------------------------------------

    def verify(self, raw: bytes, headers: Mapping[str, str]) -> bool:
        """Is it Telegram's? The secret given with setWebhook, in its header, compared in
        constant time (Telegram signs nothing: the body is not looked at)."""
        given = next((v for k, v in headers.items() if k.lower() == SECRET_HEADER), "")
        return bool(self.webhook_secret) and hmac.compare_digest(
            given.encode("utf-8"), self.webhook_secret.encode("utf-8")
        )

    def parse(self, raw: bytes) -> Incoming | None:
        """A stored webhook body as an Incoming (None for what the bot does not take)."""
        update = self.update_from_json(json.loads(raw))
        return parse(update) if update is not None else None

    async def complete(self, incoming: Incoming) -> Incoming:
        """Telegram's updates carry all the bot reads."""
        return incoming

    def shown(self, reply: Reply) -> Shown | None:
        """Inline buttons bring back their own data: nothing to keep."""
        return None

    def acknowledge(self, raw: bytes) -> None:
        """A webhook's button press, answered at once (see acknowledge_update)."""
        try:
            data = json.loads(raw)
            if not isinstance(data, dict) or not isinstance(data.get("callback_query"), dict):
                return
            update = self.update_from_json(data)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            # Stored all the same: the intake says what it makes of it.
            log.warning("telegram webhook: a press not acknowledged: %s", type(exc).__name__)
            return
        if update is not None:
            self.acknowledge_update(update)

    def acknowledge_update(self, update: Update) -> None:
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
        """The voice note or photo first, if any (the title as its caption), then the text in
        as many parts as it needs. Once something is out, a throttle is waited for here rather
        than reported: reporting it would send again what the person already has."""
        markup = keyboard(reply)
        sent_any = False
        for send_media in (self._send_voice, self._send_photo):
            delivery = await send_media(address, reply, markup)
            if delivery is None:
                continue
            if delivery.result is not SendResult.SENT or not reply.text:
                return delivery
            sent_any = True
            reply = dataclasses.replace(reply, title="")  # the caption has shown it
        return await self._send_parts(address, reply, markup, sent_any=sent_any)

    async def _send_voice(self, address: Address, reply: Reply, markup: Markup) -> Delivery | None:
        """A voice note sent again by its file id (a question asked by voice, to the
        facilitator who writes it down), or uploaded (an answer spoken, "🔊"); None if none."""
        if not (reply.voice or reply.voice_audio):
            return None
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
        return Delivery(SendResult.SENT)

    async def _send_photo(self, address: Address, reply: Reply, markup: Markup) -> Delivery | None:
        """The reply's photo (a chart), its title as the caption; None if it has none."""
        if not reply.photo:
            return None
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
        return Delivery(SendResult.SENT)

    async def _send_parts(
        self, address: Address, reply: Reply, markup: Markup, *, sent_any: bool
    ) -> Delivery:
        """The text in parts, the keyboard on the last."""
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
        self.webhook_secret = secret
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
