"""Ask (/hoi): dialogue -> topic -> question text -> anonymous or named -> confirm -> receipt.

| state         | waits for                 | next                                   |
|---------------|---------------------------|----------------------------------------|
| ask.dialogue  | a dialogue button         | ask.topic                              |
| ask.topic     | a topic button            | ask.text (ask.anonymity if text kept)  |
| ask.text      | the question, typed       | ask.anonymity                          |
| ask.voice     | send the voice / type     | ask.anonymity, or ask.text             |
| ask.anonymity | anonymous / named button  | ask.confirm                            |
| ask.confirm   | send / rewrite / cancel   | receipt, ask.text, or nothing          |

Every button carries the flow's nonce, so a button from an earlier flow is recognised as
stale. Whatever the person typed stays in the draft until the question is sent or cancelled.

A voice note is a question too (`on_voice`): the person is told first that the facilitator will
listen to it to write it down and that officials only ever see the text; they send it so, or
type instead. Its reference waits in storage.voice until the facilitator writes it down.
"""

from __future__ import annotations

from bot.core import buttons as btn
from bot.core.messages import Button
from handlers import drafts
from handlers.context import Context
from handlers.menu import show_menu
from storage.dialogues import general_intake, get_dialogue, open_dialogues
from storage.links import household_of
from storage.models import Account, Dialogue
from storage.questions import add_question
from storage.topics import AGENCIES, TOPICS
from storage.voice import add_voice

MIN_LENGTH = 10
MAX_LENGTH = 1000


def dialogue_title(ctx: Context, dialogue: Dialogue) -> str:
    if dialogue.kind == "general":
        return ctx.t._("General questions (not for a particular dialogue)")
    return dialogue.title


def _cancel_row(ctx: Context, nonce: str) -> list[Button]:
    return [Button(ctx.t._("❌ Cancel"), btn.ASK.build(nonce=nonce, step="cancel"))]


async def begin(ctx: Context) -> None:
    """/hoi: start a question, or offer to resume the one being written."""
    _ = ctx.t._
    if ctx.state.name.startswith("ask.") and ctx.state.data.get("text"):
        nonce = ctx.state.data["nonce"]
        ctx.say(
            _("You have a question you have not sent yet. Continue with it or start again?"),
            buttons=[
                [Button(_("▶️ Continue"), btn.ASK.build(nonce=nonce, step="resume"))],
                [Button(_("🔄 Start again"), btn.ASK.build(nonce=nonce, step="restart"))],
            ],
        )
        return
    await _fresh(ctx)


async def _fresh(ctx: Context) -> None:
    drafts.begin(ctx, "ask.dialogue")
    dialogues = await _open_for(ctx)
    if len(dialogues) == 1:
        await _choose_dialogue(ctx, dialogues[0])
    elif not dialogues:
        await _choose_dialogue(ctx, await general_intake(ctx.session))
    else:
        _show_dialogues(ctx, dialogues)


async def _open_for(ctx: Context) -> list[Dialogue]:
    """The dialogues open to this person: those of their household's ward once linked."""
    household = await household_of(
        ctx.session, channel=ctx.address.channel, user_id=ctx.address.user_id
    )
    return await open_dialogues(
        ctx.session, now=ctx.now, ward=household.ward if household else None
    )


def _show_dialogues(ctx: Context, dialogues: list[Dialogue]) -> None:
    nonce = ctx.state.data["nonce"]
    rows = [
        [
            Button(
                f"{d.title} – {ctx.t.short_date(d.starts_at)}",
                btn.ASK_DIALOGUE.build(nonce=nonce, dialogue=d.id),
            )
        ]
        for d in dialogues
        if d.starts_at is not None
    ]
    ctx.say(
        ctx.t._("Which dialogue is your question for?"),
        title=ctx.t._("Send a question"),
        buttons=[*rows, _cancel_row(ctx, nonce)],
    )


async def _choose_dialogue(ctx: Context, dialogue: Dialogue) -> None:
    ctx.state.data["dialogue"] = dialogue.id
    ctx.state.name = "ask.topic"
    _show_topics(ctx, dialogue)


def _show_topics(ctx: Context, dialogue: Dialogue) -> None:
    _ = ctx.t._
    nonce = ctx.state.data["nonce"]
    codes = [code for code in dialogue.topics if code in TOPICS] or list(TOPICS)
    if "khac" not in codes:
        codes.append("khac")
    text = _("What is your question about?")
    if dialogue.kind == "session" and dialogue.starts_at is not None:
        text = (
            _("Dialogue: {title}, {when}.").format(
                title=dialogue.title, when=ctx.t.datetime(dialogue.starts_at)
            )
            + "\n"
            + text
        )
    ctx.say(
        text,
        title=_("Send a question"),
        buttons=[
            *[
                [Button(_(TOPICS[code].name), btn.ASK_TOPIC.build(nonce=nonce, topic=code))]
                for code in codes
            ],
            _cancel_row(ctx, nonce),
        ],
    )


def _prompt_text(ctx: Context) -> None:
    _ = ctx.t._
    ctx.say(
        _(
            "Please write your question in one message and send it "
            "({min} to {max} characters). Say what happened, where, and what you ask for."
        ).format(min=MIN_LENGTH, max=MAX_LENGTH),
        buttons=[_cancel_row(ctx, ctx.state.data["nonce"])],
    )


def _show_voice(ctx: Context) -> None:
    _ = ctx.t._
    nonce = ctx.state.data["nonce"]
    seconds = ctx.state.data.get("seconds", 0)
    sent = (
        _("You sent a voice message ({seconds} seconds).").format(seconds=seconds)
        if seconds
        else _("You sent a voice message.")
    )
    ctx.say(
        sent
        + " "
        + _(
            "If you send it as your question, the facilitator of the dialogue will listen to it "
            "to write it down, and then the recording is deleted. Officials only ever see the "
            "written text; they never hear your voice.\n\nSend it this way, or type your "
            "question instead?"
        ),
        title=_("A question by voice"),
        buttons=[
            [Button(_("🎙 Send my voice message"), btn.ASK_VOICE.build(nonce=nonce, choice="ok"))],
            [Button(_("⌨️ I will type instead"), btn.ASK_VOICE.build(nonce=nonce, choice="type"))],
            _cancel_row(ctx, nonce),
        ],
    )


async def on_voice(ctx: Context) -> None:
    """A voice note: kept in the draft, and offered as the question once the person knows who
    will hear it."""
    _ = ctx.t._
    if not ctx.incoming.voice:
        ctx.say(_("I could not take that recording. Please type your question with /hoi."))
        return
    if not ctx.state.name.startswith("ask."):
        ctx.say(_("I have kept your voice message. First, please choose with the buttons."))
        await _fresh(ctx)
    data = ctx.state.data
    data["voice"] = ctx.incoming.voice
    data["seconds"] = ctx.incoming.voice_seconds
    data.pop("partial", None)
    data.pop("voice_ok", None)
    if ctx.state.name in ("ask.dialogue", "ask.topic"):
        return  # the voice is offered once the topic is chosen
    ctx.state.name = "ask.voice"
    _show_voice(ctx)


def _show_anonymity(ctx: Context) -> None:
    _ = ctx.t._
    nonce = ctx.state.data["nonce"]
    name = ctx.account.display_name if ctx.account else ""
    ctx.say(
        _(
            "How should your question be sent?\n\n"
            "🕶 Anonymous (recommended): officials will not know who asked. You still receive "
            "the answer here.\n"
            "👤 With your name: the question shows the name {name}."
        ).format(name=name or "–"),
        buttons=[
            [Button(_("🕶 Anonymous"), btn.ASK.build(nonce=nonce, step="anon"))],
            [Button(_("👤 With my name"), btn.ASK.build(nonce=nonce, step="named"))],
            _cancel_row(ctx, nonce),
        ],
    )


async def _show_confirm(ctx: Context) -> None:
    _ = ctx.t._
    data = ctx.state.data
    nonce = data["nonce"]
    dialogue = await get_dialogue(ctx.session, dialogue_id=data["dialogue"])
    topic = TOPICS[data["topic"]]
    how = _("Anonymous") if data["anonymous"] else _("With your name")
    ctx.say(
        _(
            "Dialogue: {dialogue}\nTopic: {topic}\nAnswered by: {agency}\nSent: {how}\n\n"
            "Your question:\n{text}"
        ).format(
            dialogue=dialogue_title(ctx, dialogue) if dialogue else "–",
            topic=_(topic.name),
            agency=_(AGENCIES[topic.agency].name),
            how=how,
            text=data["text"] if not data.get("voice_ok") else _voice_line(ctx),
        ),
        title=_("Please check your question"),
        buttons=[
            [Button(_("✅ Send"), btn.ASK.build(nonce=nonce, step="send"))],
            [
                Button(_("✏️ Rewrite"), btn.ASK.build(nonce=nonce, step="edit")),
                Button(_("🕶/👤 Change"), btn.ASK.build(nonce=nonce, step="how")),
            ],
            _cancel_row(ctx, nonce),
        ],
    )


def _voice_line(ctx: Context) -> str:
    return ctx.t._("🎙 A voice message, to be written down by the facilitator")


async def show_step(ctx: Context) -> None:
    """Show again the step the person is at (after a stale button or an unexpected message)."""
    name = ctx.state.name
    if name == "ask.dialogue":
        _show_dialogues(ctx, await _open_for(ctx))
    elif name == "ask.topic":
        dialogue = await get_dialogue(ctx.session, dialogue_id=ctx.state.data["dialogue"])
        _show_topics(ctx, dialogue or await general_intake(ctx.session))
    elif name == "ask.text":
        _prompt_text(ctx)
    elif name == "ask.voice":
        _show_voice(ctx)
    elif name == "ask.anonymity":
        _show_anonymity(ctx)
    elif name == "ask.confirm":
        await _show_confirm(ctx)


async def on_text(ctx: Context) -> None:
    """Text while asking: the question itself at ask.text; kept as a draft at earlier steps."""
    _ = ctx.t._
    data = ctx.state.data
    typed = ctx.incoming.text.strip()
    if ctx.state.name == "ask.voice":
        # Typing at the voice step is typing instead: the recording is dropped.
        for key in ("voice", "seconds", "voice_ok"):
            data.pop(key, None)
        ctx.state.name = "ask.text"
    if ctx.state.name != "ask.text":
        if ctx.state.name in ("ask.dialogue", "ask.topic") and len(typed) >= MIN_LENGTH:
            data["text"] = typed[: MAX_LENGTH * 4]
            ctx.say(_("I have kept what you wrote. First, please choose with the buttons."))
        else:
            ctx.say(_("Please choose with the buttons below."))
        await show_step(ctx)
        return
    if not typed:
        ctx.say(_("Your message was empty. Please write your question in words."))
        return
    text = f"{data['partial']}\n{typed}" if data.get("partial") else typed
    if len(text) < MIN_LENGTH:
        data["partial"] = text
        ctx.say(
            _(
                "That is a little short ({count} characters; at least {min}). Please add a few "
                "words: what you send next will be joined to it."
            ).format(count=len(text), min=MIN_LENGTH),
            buttons=[_cancel_row(ctx, data["nonce"])],
        )
        return
    if len(text) > MAX_LENGTH:
        data.pop("partial", None)
        _too_long(ctx, text)
        return
    data.pop("partial", None)
    data["text"] = text
    ctx.state.name = "ask.anonymity"
    _show_anonymity(ctx)


def _too_long(ctx: Context, text: str) -> None:
    """Refuse a text over the limit, keeping it and giving it back to copy from."""
    _ = ctx.t._
    ctx.state.name = "ask.text"
    ctx.state.data["text"] = text
    ctx.say(
        _(
            "Your question is too long: {count} characters, at most {max}. Please send a "
            "shorter version. Here is what you wrote, to copy from:"
        ).format(count=len(text), max=MAX_LENGTH),
    )
    ctx.say(text, buttons=[_cancel_row(ctx, ctx.state.data["nonce"])], standalone=True)


async def on_button(ctx: Context, pressed: btn.Pressed) -> None:
    """a:<nonce>:<step>, a:<nonce>:d:<dialogue>, a:<nonce>:t:<topic>: a button of the ask flow."""
    _ = ctx.t._
    state, data = ctx.state, ctx.state.data
    action = {btn.ASK_DIALOGUE: "d", btn.ASK_TOPIC: "t", btn.ASK_VOICE: "v"}.get(
        pressed.format
    ) or pressed["step"]
    if not state.name.startswith("ask.") or data.get("nonce") != pressed["nonce"]:
        await stale(ctx)
        return
    expected = {
        "d": "ask.dialogue",
        "t": "ask.topic",
        "v": "ask.voice",
        "anon": "ask.anonymity",
        "named": "ask.anonymity",
        "send": "ask.confirm",
        "edit": "ask.confirm",
        "how": "ask.confirm",
    }
    if action in expected and state.name != expected[action]:
        await stale(ctx)
        return
    if action == "cancel":
        ctx.clear_state()
        ctx.notice = _("Cancelled")
        show_menu(ctx, _("Cancelled. Nothing was sent."))
    elif action == "resume":
        await show_step(ctx)
    elif action == "restart":
        ctx.clear_state()
        await _fresh(ctx)
    elif action == "d":
        await _dialogue_pressed(ctx, pressed["dialogue"])
    elif action == "t":
        await _topic_pressed(ctx, pressed["topic"])
    elif action == "v":
        _voice_pressed(ctx, pressed["choice"])
    elif action in ("anon", "named"):
        data["anonymous"] = action == "anon"
        state.name = "ask.confirm"
        await _show_confirm(ctx)
    elif action == "edit":
        for key in ("voice", "seconds", "voice_ok"):
            data.pop(key, None)
        state.name = "ask.text"
        ctx.say(_("Please send the new text of your question."))
        _prompt_text(ctx)
    elif action == "how":
        state.name = "ask.anonymity"
        _show_anonymity(ctx)
    elif action == "send":
        await _submit(ctx)
    else:
        await stale(ctx)


async def _dialogue_pressed(ctx: Context, dialogue_id: int) -> None:
    dialogue = await get_dialogue(ctx.session, dialogue_id=dialogue_id)
    if dialogue is None or dialogue not in await _open_for(ctx):
        ctx.say(ctx.t._("That dialogue no longer takes questions. Please choose another."))
        await show_step(ctx)
        return
    await _choose_dialogue(ctx, dialogue)


async def _topic_pressed(ctx: Context, topic: str) -> None:
    """The topic chosen: on to the voice note, the text's length, anonymity or the text."""
    state, data = ctx.state, ctx.state.data
    if topic not in TOPICS:
        await stale(ctx)
        return
    data["topic"] = topic
    if data.get("voice"):
        state.name = "ask.voice"
        _show_voice(ctx)
    elif data.get("text") and len(data["text"]) > MAX_LENGTH:
        _too_long(ctx, data["text"])
    elif data.get("text"):
        state.name = "ask.anonymity"
        ctx.say(ctx.t._("Your question:\n{text}").format(text=data["text"]))
        _show_anonymity(ctx)
    else:
        state.name = "ask.text"
        _prompt_text(ctx)


def _voice_pressed(ctx: Context, choice: str) -> None:
    """The voice note kept as the question ("ok"), or dropped for a typed text."""
    data = ctx.state.data
    if choice == "ok":
        data["text"], data["voice_ok"] = "", True
        ctx.state.name = "ask.anonymity"
        _show_anonymity(ctx)
        return
    for key in ("voice", "seconds", "voice_ok"):
        data.pop(key, None)
    data.pop("text", None)
    ctx.state.name = "ask.text"
    _prompt_text(ctx)


def _asker(ctx: Context, account: Account) -> tuple[dict, str]:
    """Who asks, as stored (a keyed hash and a sealed handle when anonymous), and as said."""
    _ = ctx.t._
    if ctx.state.data["anonymous"]:
        asker: dict = {
            "asker_hash": ctx.sealer.asker_hash(account.asker_salt, ctx.address),
            "reply_handle": ctx.sealer.seal(ctx.address),
        }
        return asker, _("Your question is anonymous: nobody can see who asked it.")
    how = _("Your question carries your name: {name}.").format(name=account.display_name)
    return {"account_id": account.id}, how


async def _submit(ctx: Context) -> None:
    _ = ctx.t._
    data = ctx.state.data
    account = ctx.account
    assert account is not None  # the router lets only consenting people ask
    dialogue = await get_dialogue(ctx.session, dialogue_id=data["dialogue"])
    if dialogue is None or (dialogue.kind == "session" and dialogue not in await _open_for(ctx)):
        # The deadline passed while the person was writing: the question goes to the general
        # intake rather than being lost.
        dialogue = await general_intake(ctx.session)
        ctx.say(
            _("That dialogue no longer takes questions; your question goes to general questions.")
        )
    topic = TOPICS[data["topic"]]
    asker, how = _asker(ctx, account)
    question = await add_question(
        ctx.session,
        dialogue_id=dialogue.id,
        topic=topic.code,
        agency=topic.agency,
        text=data["text"],
        submitted_on=ctx.today,
        **asker,
    )
    by_voice = bool(data.get("voice_ok") and data.get("voice"))
    if by_voice:
        await add_voice(
            ctx.session,
            question_id=question.id,
            channel=ctx.address.channel,
            file_ref=data["voice"],
            seconds=int(data.get("seconds", 0)),
            now=ctx.now,
        )
        how += "\n" + _(
            "The facilitator will listen to your voice message and write it down; then the "
            "recording is deleted."
        )
    # The draft goes with the state: nothing of the question stays beside the address.
    ctx.clear_state()
    ctx.notice = _("Sent")
    ctx.say(
        _(
            "Ticket: {ticket}\nDialogue: {dialogue}\nTopic: {topic}\n{how}\n\n"
            "The answer will be sent to you here. See your questions with /cauhoi."
        ).format(
            ticket=question.ticket,
            dialogue=dialogue_title(ctx, dialogue),
            topic=_(topic.name),
            how=how,
        ),
        title=_("Your question has been received"),
    )
    show_menu(ctx)


async def stale(ctx: Context) -> None:
    """A button from an earlier message: say so, and show where the person is now."""
    await drafts.stale(ctx, "ask.", show_step)
