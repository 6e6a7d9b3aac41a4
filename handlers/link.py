"""Linking a chat to a household: by the code of its deep link or QR code, or by sharing the
phone number the registry has for it. Only after consent: a link is personal data. A household
invited by letter that links its chat is invited on it from then on (its invitation is shown
again, as of now, with the answer buttons; its reminders and notices follow).

A staff code given with /start takes the same path and gives the chat its role; wrong codes of
either kind count toward one throttle, so that neither can be found by guessing.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from bot.core.lifecycles import StaffCodeStatus
from bot.services.invitations import invitation_reply
from handlers import language_hint
from handlers.context import Context
from handlers.menu import role_menu_buttons, staff_command_lines, staff_place
from storage.households import find_by_link_code, find_by_phone, normalise_phone
from storage.invitations import adopt_letters
from storage.links import household_of, link, record_failure, throttle
from storage.models import Dialogue, Household
from storage.staff import claim, find_by_code, status_of

log = logging.getLogger(__name__)


def attempts_key(ctx: Context) -> str:
    """The address as the throttle keeps it: a keyed hash, since it is kept before consent."""
    return ctx.sealer.message_key("link attempts", ctx.address)


async def known_code(ctx: Context, code: str) -> bool:
    """Before consent: is this a household's code? A wrong one is said so (and throttled)."""
    _ = ctx.t._
    check = await throttle(ctx.session, key=attempts_key(ctx), now=ctx.now)
    if check.blocked:
        # Said as it is, not "invalid": the code may well be right, it was not even looked at.
        ctx.say(_too_many(ctx, max(1, int(check.retry_after.total_seconds() // 60))))
        return False
    if code.isascii() and code.isalnum():
        if await find_by_link_code(ctx.session, link_code=code) is not None:
            return True
    after = await record_failure(ctx.session, key=attempts_key(ctx), now=ctx.now)
    ctx.say(
        _(
            "The code {code} is not valid or has expired. Please check the link or the "
            "invitation letter, or ask the ward office."
        ).format(code=code)
        + ("\n" + _too_many(ctx, 60) if after.blocked else "")
    )
    return False


async def by_code(ctx: Context, code: str) -> bool:
    """/start <code>: link this chat to the household whose code it is. True if the link asked
    a Khmer household whether to write in Khmer (the question's buttons end the message)."""
    _ = ctx.t._
    address = ctx.address
    code = code.strip().upper()[:32]
    check = await throttle(ctx.session, key=attempts_key(ctx), now=ctx.now)
    if check.blocked:
        minutes = max(1, int(check.retry_after.total_seconds() // 60))
        ctx.say(
            _("Too many wrong codes. Please try again in {minutes} minutes.").format(
                minutes=minutes
            )
        )
        return False
    valid = code.isascii() and code.isalnum()
    household = await find_by_link_code(ctx.session, link_code=code) if valid else None
    if household is None:
        after = await record_failure(ctx.session, key=attempts_key(ctx), now=ctx.now)
        ctx.say(
            _(
                "The code {code} is not valid or has expired. Please check the link or the "
                "invitation letter, or ask the ward office."
            ).format(code=code)
            + (
                "\n"
                + _("Too many wrong codes. Please try again in {minutes} minutes.").format(
                    minutes=60
                )
                if after.blocked
                else ""
            )
        )
        return False
    outcome = await link(
        ctx.session,
        household=household,
        channel=address.channel,
        user_id=address.user_id,
        now=ctx.now,
    )
    if outcome == "taken":
        ctx.say(
            _(
                "This household is already linked to another chat. If that is not you, please "
                "tell the ward office."
            )
        )
        return False
    await _linked(ctx, household)
    return language_hint.suggest(ctx, household.ethnicity)


async def _linked(ctx: Context, household: Household) -> None:
    """Say so; the household's letters to dialogues still ahead now follow it to this chat."""
    _ = ctx.t._
    place = ", ".join(p for p in (household.hamlet, household.ward) if p)
    ctx.say(
        _(
            "This chat is linked to the household of {name} ({place}). Invitations and "
            "reminders of the dialogues will come here."
        ).format(name=household.head_name, place=place),
        clear_keyboard=True,
    )
    adopted = await adopt_letters(
        ctx.session, household_id=household.id, channel=ctx.address.channel, now=ctx.now
    )
    for invitation in adopted:
        dialogue = await ctx.session.get(Dialogue, invitation.dialogue_id)
        assert dialogue is not None
        # The invitation again, as of now (the letter may carry an older time), with its
        # answer buttons: its reminders and any notice of a change come here from now on.
        ctx.replies.append(
            replace(invitation_reply(ctx.t, dialogue, household, invitation.id), standalone=True)
        )


async def offer(ctx: Context) -> None:
    """The menu's "link my household": share the phone number, or use the letter's code."""
    _ = ctx.t._
    household = await household_of(
        ctx.session, channel=ctx.address.channel, user_id=ctx.address.user_id
    )
    if household is not None:
        ctx.say(
            _("This chat is linked to the household of {name}.").format(name=household.head_name)
        )
        return
    ctx.say(
        _(
            "To receive your invitations here, share the phone number the ward has for your "
            "household with the button below, or open the link (or scan the QR code) on your "
            "invitation letter."
        ),
        ask_phone=_("📱 Share my phone number"),
    )


async def by_phone(ctx: Context) -> None:
    """A shared contact: link by the registry's phone number, if it is the person's own."""
    _ = ctx.t._
    raw = ctx.incoming.phone
    if not raw:
        ctx.say(_("Please share your own phone number with the button."), clear_keyboard=True)
        return
    try:
        phone = normalise_phone(raw)
    except ValueError:
        phone = None
    households = await find_by_phone(ctx.session, phone=phone) if phone else []
    if len(households) != 1:
        # None, or several sharing one number: the code on the letter says which.
        ctx.say(
            _(
                "We could not find one household with this phone number. Please use the link or "
                "QR code on your invitation letter, or ask the ward office."
            ),
            clear_keyboard=True,
        )
        return
    household = households[0]
    outcome = await link(
        ctx.session,
        household=household,
        channel=ctx.address.channel,
        user_id=ctx.address.user_id,
        now=ctx.now,
    )
    if outcome == "taken":
        ctx.say(
            _(
                "This household is already linked to another chat. If that is not you, please "
                "tell the ward office."
            ),
            clear_keyboard=True,
        )
        return
    await _linked(ctx, household)
    language_hint.suggest(ctx, household.ethnicity)


# Staff codes


async def _staff_code_status(ctx: Context, code: str) -> str:
    """ "ok", "mine" (this chat holds it already), "unknown", "used", "expired" or "revoked"."""
    staff = await find_by_code(ctx.session, code=code)
    if staff is None:
        return "unknown"
    if (
        staff.claimed_at is not None
        and staff.revoked_at is None
        and (staff.channel, staff.user_id) == (ctx.address.channel, ctx.address.user_id)
    ):
        return "mine"
    status = status_of(staff, now=ctx.now)
    return {StaffCodeStatus.WAITING: "ok", StaffCodeStatus.ACTIVE: "used"}.get(status, status)


def _staff_code_refused(ctx: Context, status: str) -> str:
    _ = ctx.t._
    return {
        "used": _(
            "This staff code has already been used: each code works once. Please ask for a new one."
        ),
        StaffCodeStatus.EXPIRED: _("This staff code has expired. Please ask for a new one."),
        StaffCodeStatus.REVOKED: _(
            "This staff code has been withdrawn. Please ask whoever gave it to you."
        ),
    }.get(status, _("This staff code is not valid. Please check the link, or ask for a new code."))


def _too_many(ctx: Context, minutes: int) -> str:
    return ctx.t._("Too many wrong codes. Please try again in {minutes} minutes.").format(
        minutes=minutes
    )


async def known_staff_code(ctx: Context, code: str) -> bool:
    """Before consent: can this staff code still be claimed? If not, said so (and throttled)."""
    check = await throttle(ctx.session, key=attempts_key(ctx), now=ctx.now)
    if check.blocked:
        ctx.say(_too_many(ctx, max(1, int(check.retry_after.total_seconds() // 60))))
        return False
    status = await _staff_code_status(ctx, code)
    if status in ("ok", "mine"):
        return True
    await record_failure(ctx.session, key=attempts_key(ctx), now=ctx.now)
    ctx.say(_staff_code_refused(ctx, status))
    return False


async def by_staff_code(ctx: Context, code: str) -> bool:
    """/start <staff code>, after consent: this chat takes the role, once. True if it holds it."""
    _ = ctx.t._
    address = ctx.address
    check = await throttle(ctx.session, key=attempts_key(ctx), now=ctx.now)
    if check.blocked:
        ctx.say(_too_many(ctx, max(1, int(check.retry_after.total_seconds() // 60))))
        return False
    status = await _staff_code_status(ctx, code)
    staff = None
    if status == "ok":
        staff = await claim(
            ctx.session, code=code, channel=address.channel, user_id=address.user_id, now=ctx.now
        )
    elif status == "mine":
        staff = await find_by_code(ctx.session, code=code)
    if staff is None:
        after = await record_failure(ctx.session, key=attempts_key(ctx), now=ctx.now)
        refused = _staff_code_refused(ctx, status if status != "ok" else "unknown")
        ctx.say(refused + ("\n" + _too_many(ctx, 60) if after.blocked else ""))
        return False
    if status == "ok":
        log.info("staff %s claimed their role", staff.id)
    place = await staff_place(ctx, staff)
    if status == "mine":
        intro = _("This chat holds this role already.")
    elif staff.role == "facilitator":
        intro = _("You are now the facilitator of {ward}.").format(ward=place)
    else:
        intro = _("You are now an official of {agency}.").format(agency=place)
    ctx.say(
        "\n".join(
            [intro, "", _("You can use:"), staff_command_lines(ctx, staff), _("/trogiup – help")]
        ),
        title=_("Welcome, {name}").format(name=staff.name),
        buttons=await role_menu_buttons(ctx),
    )
    return True
