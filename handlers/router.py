"""Which handler answers an update: commands, buttons and text, by the person's state.

Everything that is not understood gets a short helpful reply, never silence or a trace.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.core import buttons as btn
from bot.core.messages import Button, Kind
from handlers import (
    ask,
    consultation,
    consultation_themes,
    delete,
    digest,
    feedback,
    inbox,
    invitations,
    language,
    link,
    listen,
    mine,
    moderation,
    room,
    start,
    support,
)
from handlers.context import Context
from handlers.menu import show_help, show_menu

log = logging.getLogger(__name__)

Handler = Callable[[Context], Awaitable[None]]

# Vietnamese commands first, English aliases beside them.
COMMANDS: dict[str, str] = {
    "start": "start",
    "hoi": "ask",
    "ask": "ask",
    "cauhoi": "mine",
    "myquestions": "mine",
    "xoa": "delete",
    "delete": "delete",
    "trogiup": "help",
    "help": "help",
    "ngonngu": "language",
    "language": "language",
    "huy": "cancel",
    "cancel": "cancel",
    "xemcauhoi": "browse",
    "browse": "browse",
    # staff: each checks the role on the server side (handlers.roles)
    "duyet": "moderate",
    "moderate": "moderate",
    "hopthu": "inbox",
    "inbox": "inbox",
    "buoidoithoai": "room",
    "room": "room",
    "baocao": "digest",
    "digest": "digest",
    "gopy": "consult",
    "consult": "consult",
    "chude": "themes",
    "themes": "themes",
}

NEEDS_ACCOUNT = {
    "ask",
    "mine",
    "browse",
    "moderate",
    "inbox",
    "room",
    "digest",
    "consult",
    "themes",
}

# Buttons of the later flows: the first part of the data names the flow, the rest is its own.
BUTTON_FLOWS: dict[str, Callable[[Context, btn.Pressed], Awaitable[None]]] = {
    "s": moderation.on_button,  # facilitator: moderation queue
    "o": inbox.on_button,  # official: inbox, answers, commitments, forwarding
    "f": feedback.on_button,  # asker or follower: "Hài lòng" / "Chưa hài lòng"
    "u": support.on_button,  # citizen: browse questions, "Tôi cũng muốn hỏi"
    "g": room.on_button,  # facilitator: at and after the dialogue
    "d": digest.on_button,  # facilitator: the digest on demand
    "v": lambda ctx, pressed: consultation.on_button(ctx, _parts(pressed)),  # anyone (tham vấn)
    "w": lambda ctx, pressed: consultation_themes.on_button(ctx, _parts(pressed)),  # facilitator
}


def _parts(pressed: btn.Pressed) -> list[str]:
    """A consultation button's typed values as the flow reads them: nonce, action[, number]."""
    arg = pressed.get("arg")
    return [pressed["nonce"], pressed["action"], *([] if arg is None else [str(arg)])]


# Typed text of the later flows, by the state's prefix.
TEXT_FLOWS: dict[str, Handler] = {
    "mod.": moderation.on_text,
    "inbox.": inbox.on_text,
    "fb.": feedback.on_text,
    "room.": room.on_text,
    "consult.": consultation.on_text,
    "themes.": consultation_themes.on_text,
}


async def _cancel(ctx: Context) -> None:
    _ = ctx.t._
    if not ctx.state.name:
        show_menu(ctx, _("There is nothing to cancel."))
        return
    ctx.clear_state()
    show_menu(ctx, _("Cancelled. Nothing was sent."))


ACTIONS: dict[str, Handler] = {
    "start": start.start,
    "ask": ask.begin,
    "mine": mine.my_questions,
    "delete": delete.ask_to_confirm,
    "help": show_help,
    "language": language.offer,
    "cancel": _cancel,
    "browse": support.browse,
    "moderate": moderation.queue,
    "inbox": inbox.show,
    "room": room.show,
    "digest": digest.on_demand,
    "consult": consultation.begin,
    "themes": consultation_themes.begin,
}


async def route(ctx: Context) -> None:
    kind = ctx.incoming.kind
    if kind is Kind.COMMAND:
        await _command(ctx)
    elif kind is Kind.BUTTON:
        await _button(ctx)
    elif kind is Kind.TEXT:
        await _text(ctx)
    elif kind is Kind.VOICE:
        if ctx.account is None:
            start.show_consent(ctx)
        else:
            await ask.on_voice(ctx)  # a question by voice
    else:
        await _unexpected(ctx)


async def _run(ctx: Context, action: str) -> None:
    if action in NEEDS_ACCOUNT and ctx.account is None:
        ctx.say(ctx.t._("First, please read and accept how your data is used."))
        start.show_consent(ctx)
        return
    in_flow = ctx.state.name.startswith("ask.")
    await ACTIONS[action](ctx)
    # A look at the help or the list must not lose a question being written: offer the way back.
    if in_flow and action in ("mine", "help", "language") and ctx.state.name.startswith("ask."):
        nonce = ctx.state.data.get("nonce", "")
        ctx.say(
            ctx.t._("You are still writing a question."),
            buttons=[[Button(ctx.t._("▶️ Continue"), btn.ASK.build(nonce=nonce, step="resume"))]],
        )


async def _command(ctx: Context) -> None:
    action = COMMANDS.get(ctx.incoming.command)
    if action is None:
        ctx.say(
            ctx.t._(
                "I do not know the command /{command}. Type /trogiup to see what I can do."
            ).format(command=ctx.incoming.command[:32])
        )
        return
    await _run(ctx, action)


async def _button(ctx: Context) -> None:
    pressed = btn.parse(ctx.incoming.data)
    if pressed is None:
        # Stale (an old keyboard) or forged by hand: said briefly, logged once, no traceback.
        log.info(
            "button data refused: %d bytes, not a button of ours", len(ctx.incoming.data.encode())
        )
        await _stale_button(ctx)
        return
    form = pressed.format
    if form is btn.MENU and pressed["item"] != "link":
        item = pressed["item"]
        await _run(ctx, "language" if item == "lang" else item)
    elif form is btn.CONSENT:
        handler = {"lang": start.choose_language, "ok": start.accept, "no": start.decline}[
            pressed["choice"]
        ]
        await handler(ctx, pressed["locale"], pressed.get("code", ""))
    elif form is btn.MENU and ctx.account is not None:
        await link.offer(ctx)
    elif form is btn.INVITATION and ctx.account is not None:
        await invitations.on_answer(ctx, pressed["invitation"], pressed["answer"])
    elif form is btn.LANGUAGE:
        await language.choose(ctx, pressed["locale"])
    elif form in (btn.ASK, btn.ASK_DIALOGUE, btn.ASK_TOPIC, btn.ASK_VOICE) and ctx.account:
        await ask.on_button(ctx, pressed)
    elif form is btn.LISTEN and ctx.account is not None:
        await listen.on_button(ctx, pressed["answer"])
    elif form is btn.DELETE:
        await delete.on_button(ctx, pressed["answer"])
    elif pressed.prefix in BUTTON_FLOWS and ctx.account is not None:
        await BUTTON_FLOWS[pressed.prefix](ctx, pressed)
    else:
        await _stale_button(ctx)


async def _stale_button(ctx: Context) -> None:
    if ctx.account is None:
        ctx.notice = ctx.t._("This button is out of date.")
        start.show_consent(ctx)
    else:
        await ask.stale(ctx)


async def _text(ctx: Context) -> None:
    flow = next((h for prefix, h in TEXT_FLOWS.items() if ctx.state.name.startswith(prefix)), None)
    if ctx.state.name.startswith("ask."):
        await ask.on_text(ctx)
    elif flow is not None and ctx.account is not None:
        await flow(ctx)
    elif ctx.account is None:
        start.show_consent(ctx)
    elif ctx.state.name == "delete.confirm":
        ctx.say(ctx.t._("Please answer with the buttons: delete your data, or keep it."))
    else:
        show_menu(ctx, ctx.t._('To send a question, press "Send a question" below or type /hoi.'))


async def _unexpected(ctx: Context) -> None:
    _ = ctx.t._
    kind = ctx.incoming.kind
    if kind is Kind.GROUP:
        ctx.say(
            _(
                "To protect the people who ask, I only talk one to one. "
                "Please write to me in a private chat."
            )
        )
        return
    if kind is Kind.EDITED:
        ctx.say(_("I do not read edited messages. If something changed, please send it again."))
    elif kind is Kind.CONTACT:
        if ctx.account is None:
            start.show_consent(ctx)
        else:
            await link.by_phone(ctx)
        return
    elif ctx.state.name == "ask.text":
        ctx.say(_("I can only read text. Please write your question in words."))
        return
    else:
        ctx.say(_("I can only read text and buttons. Type /trogiup for help."))
    if ctx.state.name.startswith("ask."):
        await ask.show_step(ctx)
