"""Delete my data (/xoa): after confirmation, erase the account and every link to its questions
and supports.

The questions stay for the dialogue, but nothing (the account, the asker hash, the reply
handle) can bring them back to the person any more.
"""

from __future__ import annotations

from bot.core import buttons as btn
from bot.core.messages import Button
from handlers import consultation
from handlers.context import Context
from handlers.menu import show_menu
from storage.accounts import delete_account
from storage.personal_data import forget_chat
from storage.questions import release_questions
from storage.support import release_supports


async def ask_to_confirm(ctx: Context) -> None:
    """/xoa: explain what goes and what stays, and ask."""
    _ = ctx.t._
    if ctx.account is None:
        ctx.say(_("We have no data of yours to delete."))
        return
    ctx.state.name, ctx.state.data = "delete.confirm", {}
    ctx.say(
        _(
            "This deletes your name, your chat address, your language and the link to your "
            "questions. Your questions stay with the dialogue, without any name, and you will "
            "no longer receive their answers or see them here. This cannot be undone."
        ),
        title=_("Delete your data?"),
        buttons=[
            [Button(_("🗑 Delete my data"), btn.DELETE.build(answer="yes"))],
            [Button(_("No, keep it"), btn.DELETE.build(answer="no"))],
        ],
    )


async def on_button(ctx: Context, answer: str) -> None:
    """x:yes / x:no."""
    _ = ctx.t._
    if ctx.state.name != "delete.confirm" or ctx.account is None:
        ctx.notice = _("This button is out of date.")
        ctx.say(_("That button is from an earlier message. Type /xoa to delete your data."))
        return
    ctx.clear_state()
    if answer != "yes":
        show_menu(ctx, _("Nothing was deleted."))
        return
    account = ctx.account
    person = ctx.sealer.asker_hash(account.asker_salt, ctx.address)
    await release_questions(ctx.session, account_id=account.id, asker_hash=person)
    # Their supports go too: no longer counted, and no answer can reach them any more.
    await release_supports(ctx.session, supporter_hash=person)
    await consultation.forget(ctx)  # their consultation answers stay, linked to no one
    # The chat's address, from every table in this same transaction (storage.personal_data);
    # the goodbye below still reaches it, and the clock forgets it after that.
    await forget_chat(
        ctx.session, channel=ctx.address.channel, user_id=ctx.address.user_id, now=ctx.now
    )
    await delete_account(ctx.session, account=account)
    ctx.account = None
    ctx.notice = _("Deleted")
    ctx.say(
        _(
            "Your data has been deleted. Your questions remain for the dialogue without any link "
            "to you. Type /start if you want to use the bot again."
        )
    )
