""" "🔊 Nghe" under an answer: the answer read aloud, as a voice note made on this machine
(bot.speech). Button data (v:ANSWER) can be forged, so only an answer to a question that is
public anyway (not marked sensitive) is spoken; on a channel that takes no voice notes, said so.
"""

from __future__ import annotations

from bot import speech
from bot.core.messages import Reply
from handlers.context import Context
from storage.models import Answer, Question

VOICE_CHANNELS = ("telegram",)


async def on_button(ctx: Context, answer_id: int) -> None:
    _ = ctx.t._
    answer = await ctx.session.get(Answer, answer_id)
    question = await ctx.session.get(Question, answer.question_id) if answer else None
    if answer is None or question is None or question.sensitive:
        ctx.notice = _("This button is out of date.")
        ctx.say(_("This answer cannot be read aloud."))
        return
    if ctx.address.channel not in VOICE_CHANNELS or not speech.can_speak(ctx.t.locale):
        ctx.say(_("Listening to answers is not available in this chat."))
        return
    audio = await speech.speak(answer.text, locale=ctx.t.locale)
    if audio is None:
        ctx.say(_("Sorry, the answer could not be read aloud just now. Please try again later."))
        return
    ctx.notice = _("🔊 Listen")
    ctx.replies.append(
        Reply(
            text="",
            title=_("Answer to question #{ticket}").format(ticket=question.ticket),
            voice_audio=audio,
        )
    )
