"""Linking a chat to a household: by the code of its deep link or QR code, or by sharing the
phone number the registry has for it. Only after consent: a link is personal data."""

from __future__ import annotations

from handlers.context import Context
from storage.households import find_by_link_code, find_by_phone, normalise_phone
from storage.links import household_of, link, record_failure, throttle


async def known_code(ctx: Context, code: str) -> bool:
    """Before consent: is this a household's code? A wrong one is said so (and throttled)."""
    _ = ctx.t._
    address = ctx.address
    check = await throttle(
        ctx.session, channel=address.channel, user_id=address.user_id, now=ctx.now
    )
    if not check.blocked and code.isalnum():
        if await find_by_link_code(ctx.session, link_code=code) is not None:
            return True
    if not check.blocked:
        await record_failure(
            ctx.session, channel=address.channel, user_id=address.user_id, now=ctx.now
        )
    ctx.say(
        _(
            "The code {code} is not valid or has expired. Please check the link or the "
            "invitation letter, or ask the ward office."
        ).format(code=code)
    )
    return False


async def by_code(ctx: Context, code: str) -> None:
    """/start <code>: link this chat to the household whose code it is."""
    _ = ctx.t._
    address = ctx.address
    code = code.strip().upper()[:32]
    check = await throttle(
        ctx.session, channel=address.channel, user_id=address.user_id, now=ctx.now
    )
    if check.blocked:
        minutes = max(1, int(check.retry_after.total_seconds() // 60))
        ctx.say(
            _("Too many wrong codes. Please try again in {minutes} minutes.").format(
                minutes=minutes
            )
        )
        return
    household = await find_by_link_code(ctx.session, link_code=code) if code.isalnum() else None
    if household is None:
        after = await record_failure(
            ctx.session, channel=address.channel, user_id=address.user_id, now=ctx.now
        )
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
        return
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
        return
    _linked(ctx, household.head_name, household.hamlet, household.ward)


def _linked(ctx: Context, name: str, hamlet: str, ward: str) -> None:
    _ = ctx.t._
    place = ", ".join(p for p in (hamlet, ward) if p)
    ctx.say(
        _(
            "This chat is linked to the household of {name} ({place}). Invitations and "
            "reminders of the dialogues will come here."
        ).format(name=name, place=place),
        clear_keyboard=True,
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
    _linked(ctx, household.head_name, household.hamlet, household.ward)
