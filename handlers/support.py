"""Citizens browse the approved questions of their dialogues and press "Tôi cũng muốn hỏi".

/xemcauhoi (button "u:b") lists the questions of the dialogues the person takes part in, the
most supported first, five a page ("u:p:<page>"); "u:s:<ticket>" supports one: it counts once,
and the supporter receives the answer like the asker. The support keeps no account, only the
person's keyed hash and a sealed handle (see storage/support.py).
"""

from __future__ import annotations

import logging

from bot.core import buttons as btn
from bot.core.messages import Button
from handlers.context import Context
from handlers.menu import menu_buttons
from storage import support as store
from storage.links import household_of
from storage.models import Question
from storage.topics import TOPICS

log = logging.getLogger(__name__)

PAGE = 5
EXCERPT = 140


def excerpt(text: str, limit: int = EXCERPT) -> str:
    """The start of a text on one line, cut at a word where it is long."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,.;:") + "…"


async def _dialogues(ctx: Context) -> tuple[list[int], bool]:
    """The dialogues this person takes part in, and whether the chat is linked to a household."""
    household = await household_of(
        ctx.session, channel=ctx.address.channel, user_id=ctx.address.user_id
    )
    ward = household.ward if household is not None else None
    return await store.dialogues_for(ctx.session, ward=ward), household is not None


def _person_hash(ctx: Context) -> str:
    assert ctx.account is not None
    return ctx.sealer.asker_hash(ctx.account.asker_salt, ctx.address)


async def browse(ctx: Context) -> None:
    """/xemcauhoi: the first page."""
    await _show(ctx, 0)


async def _show(ctx: Context, page: int) -> None:
    _ = ctx.t._
    assert ctx.account is not None
    dialogue_ids, linked = await _dialogues(ctx)
    found = await store.browsable_page(ctx.session, dialogue_ids=dialogue_ids, page=page, size=PAGE)
    if not found.questions and page > 0:  # a "More" from before the list got shorter
        page = 0
        found = await store.browsable_page(
            ctx.session, dialogue_ids=dialogue_ids, page=0, size=PAGE
        )
    if not found.questions:
        text = _("There are no approved questions to show yet.")
        if not linked:
            text += "\n" + _(
                "To see the questions of your ward's dialogue, link your household first (\"🏠 "
                'My household").'
            )
        ctx.say(text, title=_("Questions of the dialogues"), buttons=menu_buttons(ctx))
        return
    person = _person_hash(ctx)
    followed = await store.supported_among(
        ctx.session, supporter_hash=person, question_ids=[q.id for q in found.questions]
    )
    blocks = [
        _(
            'The most supported first. Press "I have this question too" to support one: it '
            "counts, and you will receive its answer here."
        )
    ]
    rows: list[list[Button]] = []
    for question in found.questions:
        blocks.append(_item(ctx, question, own=_is_own(ctx, question, person), followed=followed))
        rows.append(
            [
                Button(
                    _("🙋 I have this question too #{ticket}").format(ticket=question.ticket),
                    btn.SUPPORT.build(ticket=question.ticket),
                )
            ]
        )
    pages = (found.total + PAGE - 1) // PAGE
    if pages > 1:
        blocks.append(_("Page {page} of {pages}").format(page=page + 1, pages=pages))
    if page + 1 < pages:
        rows.append([Button(_("➡️ More"), btn.BROWSE_PAGE.build(page=page + 1))])
    ctx.say("\n\n".join(blocks), title=_("Questions of the dialogues"), buttons=rows)


def _is_own(ctx: Context, question: Question, person: str) -> bool:
    assert ctx.account is not None
    return question.account_id == ctx.account.id or question.asker_hash == person


def _item(ctx: Context, question: Question, *, own: bool, followed: set[str]) -> str:
    _ = ctx.t._
    topic = _(TOPICS[question.topic].name) if question.topic in TOPICS else question.topic
    head = f"#{question.ticket} · {topic} · 👥{question.supporters}"
    if own:
        head += " · " + _("✍️ your question")
    elif question.id in followed:
        head += " · " + _("✅ you follow it")
    return f"{head}\n“{excerpt(question.text)}”"


async def on_button(ctx: Context, pressed: btn.Pressed) -> None:
    """u:b (the list), u:p:<page> (a later page), u:s:<ticket> (I have this question too)."""
    if pressed.format is btn.BROWSE:
        await _show(ctx, 0)
    elif pressed.format is btn.BROWSE_PAGE:
        await _show(ctx, pressed["page"])
    elif pressed.format is btn.SUPPORT:
        await _support(ctx, pressed["ticket"])
    else:
        _stale(ctx)


def _stale(ctx: Context) -> None:
    _ = ctx.t._
    ctx.notice = _("This button is out of date.")
    ctx.say(
        _("That button is from an earlier message."),
        buttons=[[Button(_("📋 Questions of the dialogues"), btn.BROWSE.build())]],
    )


async def _support(ctx: Context, ticket: str) -> None:
    """Count the person's support once, unless the question is theirs or not theirs to see."""
    _ = ctx.t._
    account = ctx.account
    assert account is not None
    question = await store.by_ticket(ctx.session, ticket=ticket[:12])
    dialogue_ids, _linked = await _dialogues(ctx)
    back = [[Button(_("📋 Other questions"), btn.BROWSE.build())]]
    if question is None or not store.may_browse(question, dialogue_ids=dialogue_ids):
        # A replayed or forged button: neither the ticket nor the person goes to the log.
        log.warning("refused a support of a question the person may not browse")
        ctx.notice = _("Not available")
        ctx.say(_("This question cannot be supported here."), buttons=back)
        return
    person = _person_hash(ctx)
    relation = await store.relation(
        ctx.session, question=question, account_id=account.id, person_hash=person
    )
    if relation == "own":
        ctx.notice = _("Your own question")
        ctx.say(
            _("#{ticket} is your own question: you will receive its answer anyway.").format(
                ticket=question.ticket
            ),
            buttons=back,
        )
        return
    added = relation == "" and await store.add_support(
        ctx.session,
        question=question,
        supporter_hash=person,
        reply_handle=ctx.sealer.seal(ctx.address),
        today=ctx.today,
    )
    if not added:
        ctx.notice = _("Already following")
        ctx.say(
            _("You already follow #{ticket}: you will receive its answer here.").format(
                ticket=question.ticket
            ),
            buttons=back,
        )
        return
    ctx.notice = _("Counted")
    ctx.say(
        _(
            "Thank you: your support for #{ticket} is counted (👥{count}). You will receive "
            "its answer here."
        ).format(ticket=question.ticket, count=question.supporters),
        buttons=back,
    )
