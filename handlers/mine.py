"""My questions (/cauhoi): the asker's questions, named and anonymous, with their status."""

from __future__ import annotations

from bot.i18n import N_
from handlers.ask import dialogue_title
from handlers.context import Context
from handlers.menu import menu_buttons
from storage.questions import questions_of
from storage.topics import TOPICS

STATUS_NAMES = {
    "new": N_("waiting for review"),
    "approved": N_("approved, waiting for an answer"),
    "rejected": N_("not accepted"),
    "answered": N_("answered"),
    "committed": N_("commitment made"),
    "closed": N_("closed"),
}
EXCERPT = 160
SHOWN = 20


async def my_questions(ctx: Context) -> None:
    """List the questions this person asked, newest first."""
    _ = ctx.t._
    account = ctx.account
    assert account is not None
    asked = await questions_of(
        ctx.session,
        account_id=account.id,
        asker_hash=ctx.sealer.asker_hash(account.asker_salt, ctx.address),
    )
    if not asked:
        ctx.say(
            _('You have not sent any question yet. Press "Send a question" to start.'),
            buttons=menu_buttons(ctx),
        )
        return
    blocks = []
    for item in asked[:SHOWN]:
        q = item.question
        text = q.text if len(q.text) <= EXCERPT else q.text[: EXCERPT - 1].rstrip() + "…"
        blocks.append(
            _("#{ticket} · {date} · {status}\n{dialogue} · {topic}\n{how}\n“{text}”").format(
                ticket=q.ticket,
                date=ctx.t.short_date(q.submitted_on),
                status=_(STATUS_NAMES.get(q.status, q.status)),
                dialogue=dialogue_title(ctx, item.dialogue),
                topic=_(TOPICS[q.topic].name) if q.topic in TOPICS else q.topic,
                how=_("🕶 anonymous") if q.anonymous else _("👤 with your name"),
                text=text,
            )
        )
    if len(asked) > SHOWN:
        blocks.append(_("… and {count} older questions.").format(count=len(asked) - SHOWN))
    title = ctx.t.ngettext("Your question", "Your {count} questions", len(asked)).format(
        count=len(asked)
    )
    ctx.say("\n\n".join(blocks), title=title, buttons=menu_buttons(ctx))
