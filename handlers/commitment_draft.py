"""One commitment draft, used by the official's inbox and by the facilitator's room: what is
committed, by when, and who is responsible. Each place says it in its own words and buttons (a
subclass); the steps are these, once:

| step        | waits for                                              | next          |
|-------------|--------------------------------------------------------|---------------|
| content     | what is committed, typed                               | deadline      |
| deadline    | a deadline button (Another date, where offered) or a   | responsible   |
|             | date typed as dd/mm/yyyy                               |               |
| date        | a date typed                                           | responsible   |
| responsible | who, typed, or the agency's button                     | the place's   |
|             |                                                        | finish()      |

The draft is the conversation state `state` with the step in its data; its buttons carry its
nonce (handlers/drafts.py).
"""

from __future__ import annotations

from datetime import date, timedelta

from bot.core import buttons as btn
from bot.core.i18n import parse_date
from bot.core.messages import Button
from handlers import drafts
from handlers.context import Context
from storage.models import Staff

LATER_DAYS = 30
RESPONSIBLE_MAX = 200


class CommitmentDraft:
    """The steps of a commitment draft; a place says what each step shows."""

    state: str  # the conversation state of the draft
    draft: btn.Format  # the draft's "step"/"nonce" buttons: "x" cancels
    deadline: btn.Format  # a deadline button: nonce and days
    other_date: btn.Format | None = None  # "📅 Another date", where offered
    content_limits: tuple[int, int]
    dated_buttons = False  # whether a deadline button shows its date

    # What the place says (overridden)

    def stale(self, ctx: Context) -> None:
        raise NotImplementedError

    async def ask_content(self, ctx: Context, staff: Staff) -> None:
        raise NotImplementedError

    def content_refused(self, ctx: Context, text: str) -> None:
        raise NotImplementedError

    def deadline_question(self, ctx: Context) -> str:
        raise NotImplementedError

    def date_refused(self, ctx: Context, due: date | None) -> None:
        """A typed date that is unreadable (None) or past."""
        raise NotImplementedError

    async def ask_responsible(self, ctx: Context, staff: Staff, due: date) -> None:
        raise NotImplementedError

    def responsible_of(self, ctx: Context, text: str) -> str | None:
        """Who is responsible, from the typed text; None (and said why) if it cannot be."""
        raise NotImplementedError

    async def agency_as_responsible(self, ctx: Context, staff: Staff) -> str:
        raise NotImplementedError

    def not_a_step(self, ctx: Context) -> None:
        """A text typed where the draft waits for a button."""
        raise NotImplementedError

    async def finish(self, ctx: Context, staff: Staff, responsible: str) -> None:
        raise NotImplementedError

    # The steps, once

    def cancel_row(self, ctx: Context) -> list[Button]:
        return drafts.cancel_row(ctx, self.draft)

    def at(self, ctx: Context, *steps: str) -> bool:
        """Whether the draft under way is this place's, at one of these steps."""
        return ctx.state.name == self.state and ctx.state.data.get("step") in steps

    async def start_content(self, ctx: Context, staff: Staff) -> None:
        ctx.state.data["step"] = "content"
        await self.ask_content(ctx, staff)

    async def on_text(self, ctx: Context, staff: Staff, text: str) -> None:
        """A text typed in the draft, read as its step expects."""
        step = ctx.state.data.get("step")
        if step == "content":
            await self._content_typed(ctx, text)
        elif step in ("deadline", "date"):
            await self._date_typed(ctx, staff, text)
        elif step == "responsible":
            responsible = self.responsible_of(ctx, text)
            if responsible is not None:
                await self.finish(ctx, staff, responsible)
        else:
            self.not_a_step(ctx)

    async def _content_typed(self, ctx: Context, text: str) -> None:
        low, high = self.content_limits
        if not low <= len(text) <= high:
            self.content_refused(ctx, text)
            return
        ctx.state.data["content"] = text
        ctx.state.data["step"] = "deadline"
        self.ask_deadline(ctx)

    def _choices(self, ctx: Context) -> list[int]:
        days = ctx.policy.answer_days
        return [days] if days == LATER_DAYS else [days, LATER_DAYS]

    def deadline_rows(self, ctx: Context) -> list[list[Button]]:
        """The deadline buttons (the default first), Another date where offered, Cancel."""
        _ = ctx.t._
        nonce = ctx.state.data["nonce"]
        rows = []
        for days in self._choices(ctx):
            default = days == ctx.policy.answer_days
            if self.dated_buttons:
                label = (
                    _("In {days} days (default) · {date}")
                    if default
                    else _("In {days} days · {date}")
                )
            else:
                label = _("In {days} days (default)") if default else _("In {days} days")
            when = ctx.t.short_date(ctx.today + timedelta(days=days))
            text = label.format(days=days, date=when)
            rows.append([Button(text, self.deadline.build(nonce=nonce, days=days))])
        if self.other_date is not None:
            rows.append([Button(_("📅 Another date"), self.other_date.build(nonce=nonce))])
        rows.append(self.cancel_row(ctx))
        return rows

    def ask_deadline(self, ctx: Context, text: str = "") -> None:
        ctx.say(text or self.deadline_question(ctx), buttons=self.deadline_rows(ctx))

    def example(self, ctx: Context, days: int) -> str:
        return (ctx.today + timedelta(days=days)).strftime("%d/%m/%Y")

    async def deadline_pressed(self, ctx: Context, staff: Staff, pressed: btn.Pressed) -> None:
        """A deadline button, or Another date."""
        if not self.at(ctx, "deadline", "date"):
            self.stale(ctx)
            return
        days = pressed.get("days")
        if self.other_date is not None and pressed.format is self.other_date:
            ctx.state.data["step"] = "date"
            ctx.say(
                ctx.t._("Type the date as dd/mm/yyyy, for example {example}.").format(
                    example=self.example(ctx, ctx.policy.answer_days)
                ),
                buttons=[self.cancel_row(ctx)],
            )
        elif days in self._choices(ctx):
            await self._set_deadline(ctx, staff, ctx.today + timedelta(days=days))
        else:
            self.stale(ctx)

    async def _date_typed(self, ctx: Context, staff: Staff, text: str) -> None:
        due = parse_date(text)
        if due is None or due < ctx.today:
            self.date_refused(ctx, due)
        else:
            await self._set_deadline(ctx, staff, due)

    async def _set_deadline(self, ctx: Context, staff: Staff, due: date) -> None:
        ctx.state.data["due"] = due.isoformat()
        ctx.state.data["step"] = "responsible"
        await self.ask_responsible(ctx, staff, due)

    async def agency_pressed(self, ctx: Context, staff: Staff) -> None:
        """The button "the agency is responsible"."""
        if not self.at(ctx, "responsible"):
            self.stale(ctx)
            return
        await self.finish(ctx, staff, await self.agency_as_responsible(ctx, staff))
