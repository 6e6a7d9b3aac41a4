"""Grouping a consultation's opinions into themes, in chat (/chude, /themes): the facilitator.

| state          | waits for                                           | next               |
|----------------|-----------------------------------------------------|--------------------|
| themes.pick    | a consultation button (several in the ward)         | themes.opinion     |
| themes.opinion | a theme, "new theme", "later", "merge", "done"      | the next opinion   |
| themes.name    | the new theme's name, typed                         | the next opinion   |
| themes.merge   | the theme to keep, then the theme merged into it    | themes.opinion     |

One opinion per message, shown without anything of who wrote it (there is nothing to show).
The role is checked on every update. Button data: "w:NONCE:ACTION[:ARG]" (built in `_data`).
"""

from __future__ import annotations

from bot.core import buttons as btn
from bot.core.lifecycles import ConsultationStatus
from bot.core.messages import Button
from handlers import drafts
from handlers.consultation import small_number
from handlers.context import Context
from handlers.menu import show_menu
from handlers.roles import require
from storage import consultations as store
from storage.models import Consultation, Staff

MAX_THEMES_SHOWN = 8
NAME_MAX = 200


def _data(nonce: str, action: str, arg: str | int = "") -> str:
    """The one place the flow's button data is built."""
    return btn.THEMES.build(nonce=nonce, action=action, arg=str(arg) if arg != "" else None)


def _for_ward(consultation: Consultation, staff: Staff) -> bool:
    wards = (consultation.audience or {}).get("wards") or []
    return consultation.status != ConsultationStatus.DRAFT and (not wards or staff.ward in wards)


async def begin(ctx: Context) -> None:
    """/chude: the consultations of the facilitator's ward, then their opinions one by one."""
    _ = ctx.t._
    staff = await require(ctx, "facilitator", "themes")
    if staff is None:
        return
    found = [c for c in await store.list_consultations(ctx.session) if _for_ward(c, staff)]
    if not found:
        show_menu(ctx, _("No consultation of your ward has opinions to group."))
        return
    nonce = drafts.begin(ctx, "themes.pick", skipped=[])
    if len(found) == 1:
        ctx.state.data["c"] = found[0].id
        await _next(ctx)
        return
    ctx.say(
        _("The opinions of which consultation?"),
        title=_("Group opinions into themes"),
        buttons=[
            *[[Button(c.title[:60], _data(nonce, "c", c.id))] for c in reversed(found[-8:])],
            [Button(_("✖️ Done"), _data(nonce, "stop"))],
        ],
    )


async def _next(ctx: Context) -> None:
    """The next opinion under no theme, or the themes when none is left."""
    _ = ctx.t._
    data = ctx.state.data
    nonce, cid = data["nonce"], data["c"]
    opinion, left = await store.next_untagged(
        ctx.session, consultation_id=cid, skipped=list(data.get("skipped") or [])
    )
    themes = await store.themes(ctx.session, consultation_id=cid)
    if opinion is None:
        counts = await store.theme_counts(ctx.session, consultation_id=cid)
        lines = [f"• {th.name}: {counts.get(th.id, 0)}" for th in themes]
        ctx.clear_state()
        show_menu(
            ctx,
            _("No opinion left to group.")
            + ("\n\n" + _("Themes (opinions):") + "\n" + "\n".join(lines) if lines else ""),
        )
        return
    ctx.state.name = "themes.opinion"
    data["o"] = opinion.id
    rows = [
        [Button("🏷 " + th.name[:50], _data(nonce, "t", th.id))] for th in themes[-MAX_THEMES_SHOWN:]
    ]
    rows.append([Button(_("➕ New theme"), _data(nonce, "new"))])
    nav = [Button(_("⏭ Later"), _data(nonce, "skip"))]
    if len(themes) >= 2:
        nav.append(Button(_("🔀 Merge themes"), _data(nonce, "merge")))
    rows.append(nav)
    rows.append([Button(_("✖️ Done"), _data(nonce, "stop"))])
    ctx.say(
        _("{count} opinions to group. Under which theme does this one go?").format(count=left)
        + "\n\n«"
        + opinion.text
        + "»",
        title=_("Group opinions into themes"),
        buttons=rows,
    )


async def on_button(ctx: Context, parts: list[str]) -> None:
    """w:<nonce>:<action>[:<arg>]."""
    _ = ctx.t._
    if await require(ctx, "facilitator", "themes") is None:
        return
    state, data = ctx.state, ctx.state.data
    if (
        len(parts) not in (2, 3)
        or not state.name.startswith("themes.")
        or data.get("nonce") != parts[0]
    ):
        ctx.notice = _("This button is out of date.")
        show_menu(ctx, _("That button is from an earlier message. Type /chude to group opinions."))
        return
    action, arg = parts[1], parts[2] if len(parts) == 3 else ""
    if action == "stop":
        ctx.clear_state()
        show_menu(ctx, _("The themes are kept. Type /chude to go on."))
        return
    if action == "c" and state.name == "themes.pick" and small_number(arg):
        await _pick(ctx, int(arg))
        return
    if "c" not in data:
        await begin(ctx)
        return
    cid = data["c"]
    themes = {th.id: th for th in await store.themes(ctx.session, consultation_id=cid)}
    if (
        action == "t"
        and state.name == "themes.opinion"
        and small_number(arg)
        and int(arg) in themes
    ):
        await store.tag(
            ctx.session, consultation_id=cid, opinion_ids=[data["o"]], theme_id=int(arg)
        )
        ctx.notice = _("Saved")
        await _next(ctx)
    elif action == "new" and state.name == "themes.opinion":
        state.name = "themes.name"
        ctx.say(
            _("Type the name of the new theme (at most {max} characters).").format(max=NAME_MAX),
            buttons=[[Button(_("⬅️ Back"), _data(data["nonce"], "back"))]],
        )
    elif action == "back":
        await _next(ctx)
    elif action == "skip" and state.name == "themes.opinion":
        data["skipped"] = [*list(data.get("skipped") or []), data["o"]][-200:]
        await _next(ctx)
    elif action == "merge" and state.name == "themes.opinion":
        state.name = "themes.merge"
        data.pop("keep", None)
        _show_merge(ctx, list(themes.values()), _("Which theme do you keep?"))
    elif (
        action == "m" and state.name == "themes.merge" and small_number(arg) and int(arg) in themes
    ):
        await _merge_pressed(ctx, themes, int(arg))
    else:
        ctx.notice = _("This button is out of date.")
        await _next(ctx)


async def _pick(ctx: Context, consultation_id: int) -> None:
    """A consultation chosen: its first opinion under no theme, if it is the ward's."""
    staff = await require(ctx, "facilitator", "themes")
    found = await store.get_consultation(ctx.session, consultation_id=consultation_id)
    if found is None or staff is None or not _for_ward(found, staff):
        await begin(ctx)
        return
    ctx.state.data["c"] = found.id
    await _next(ctx)


async def _merge_pressed(ctx: Context, themes: dict, chosen: int) -> None:
    """The theme kept (first press), then the theme merged into it (second press)."""
    _ = ctx.t._
    data = ctx.state.data
    if "keep" not in data:
        data["keep"] = chosen
        others = [th for th in themes.values() if th.id != chosen]
        _show_merge(
            ctx, others, _("Which theme goes into “{name}”?").format(name=themes[chosen].name)
        )
        return
    keep, gone = themes.get(data.pop("keep")), themes[chosen]
    if keep is None or keep.id == gone.id:
        await _next(ctx)
        return
    await store.merge_themes(ctx.session, consultation_id=data["c"], keep=keep, gone=gone)
    ctx.say(_("The theme “{gone}” is merged into “{keep}”.").format(gone=gone.name, keep=keep.name))
    await _next(ctx)


def _show_merge(ctx: Context, themes: list, text: str) -> None:
    _ = ctx.t._
    nonce = ctx.state.data["nonce"]
    ctx.say(
        text,
        buttons=[
            *[
                [Button(th.name[:50], _data(nonce, "m", th.id))]
                for th in themes[-MAX_THEMES_SHOWN:]
            ],
            [Button(_("⬅️ Back"), _data(nonce, "back"))],
        ],
    )


async def on_text(ctx: Context) -> None:
    """The new theme's name; elsewhere, a pointer to the buttons."""
    _ = ctx.t._
    if await require(ctx, "facilitator", "themes") is None:
        return
    data = ctx.state.data
    if ctx.state.name != "themes.name" or "c" not in data or "o" not in data:
        ctx.say(_("Please answer with the buttons below."))
        if "c" in data:
            await _next(ctx)
        return
    name = " ".join(ctx.incoming.text.split())
    if not name or len(name) > NAME_MAX:
        ctx.say(
            _("A theme's name is 1 to {max} characters. Please type it again.").format(max=NAME_MAX)
        )
        return
    theme = await store.theme_named(ctx.session, consultation_id=data["c"], name=name)
    await store.tag(
        ctx.session, consultation_id=data["c"], opinion_ids=[data["o"]], theme_id=theme.id
    )
    ctx.notice = _("Saved")
    await _next(ctx)
