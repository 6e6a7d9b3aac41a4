"""The facilitators' daily digest (07:00, and /baocao on demand) and officials' overdue reminders.

Every clock tick calls `Digests.send_due`. From the digest time on, each active facilitator gets the
digest of their ward once a day, and each official whose agency has something overdue gets a
reminder once a day. The once-a-day mark (a DailyJob row) is inserted in the transaction that
writes the message, so neither a restart nor a second process writes it twice. A day the service
missed altogether is not made up: today's digest already counts what happened.

The digest holds numbers only: no asker's name, chat or text, whether the question was anonymous
or not. The chart is drawn in a worker thread, so that delivery goes on meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import buttons as btn
from bot.core.config import Policy
from bot.core.i18n import Translator
from bot.core.messages import Button, Reply
from bot.documents import chart
from bot.services.notifier import Notifier
from handlers.consultation_news import digest_lines
from storage import digest as store
from storage import voice as voice_store
from storage.models import Staff
from storage.moderation import in_ward
from storage.outbox import PRIORITY_REMINDER, Outgoing, enqueue_many
from storage.staff import list_agencies
from storage.topics import AGENCIES, TOPICS

log = logging.getLogger(__name__)

# Each digest draws a chart (a few tenths of a second) inside the tick's transaction: a tick
# writes at most this many, and the next tick, 15 s later, the rest.
DIGESTS_PER_TICK = 5
TOPIC_LINES = 3  # topics of yesterday's new questions named in the text; the rest summed
AGENCY_LINES = 3  # agencies named under "overdue"; the rest summed
DIALOGUES_SHOWN = 2  # upcoming dialogues whose invitations are counted
OVERDUE_LISTED = 10  # items named in an official's reminder; the rest are in the inbox
EXCERPT = 60  # characters of a question or commitment quoted to an official


# ------------------------------------------------------------------ the facilitator's digest


async def build_digest(
    session: AsyncSession, *, t: Translator, ward: str, day: date, now: datetime
) -> Reply:
    """The digest of `ward` on the morning of `day`: a short text and its chart."""
    numbers = await store.ward_digest(session, ward=ward, day=day, now=now, zone=t.zone)
    names = await _agency_names(session, t)
    photo = await asyncio.to_thread(chart.render, _chart(t, numbers, names))
    buttons: list[tuple[Button, ...]] = []
    if numbers.new or numbers.reopened:
        buttons.append((Button(t._("🗂 Moderate questions"), btn.MODERATE.build()),))
    consultations = await digest_lines(session, t=t, ward=ward, now=now)
    return Reply(
        text=digest_text(t, numbers, names) + consultations,
        title="📊 " + _report_of(t, day),
        buttons=tuple(buttons),
        photo=photo,
    )


def _report_of(t: Translator, day: date) -> str:
    return t._("Report of {date}").format(date=t.short_date(day))


def _topic(t: Translator, code: str) -> str:
    return t._(TOPICS[code].name) if code in TOPICS else code


async def _agency_names(session: AsyncSession, t: Translator) -> dict[str, str]:
    """Agency code -> name as shown: seeded names are catalog ids, added ones as written."""
    return {
        a.code: t._(a.name) if a.code in AGENCIES else a.name
        for a in await list_agencies(session, active_only=False)
    }


def digest_text(t: Translator, d: store.WardDigest, agencies: dict[str, str]) -> str:
    _ = t._
    yesterday = t.short_date(d.day - timedelta(days=1))
    lines = [f"📍 {d.ward}"]

    lines.append(
        _("New questions on {date}: {count}").format(date=yesterday, count=d.new_yesterday)
    )
    topics = sorted(d.new_by_topic.items(), key=lambda item: (-item[1], _topic(t, item[0])))
    for code, n in topics[:TOPIC_LINES]:
        lines.append(f"  • {_topic(t, code)}: {n}")
    if len(topics) > TOPIC_LINES:
        rest = sum(n for _code, n in topics[TOPIC_LINES:])
        lines.append("  • " + _("Other topics: {count}").format(count=rest))
    lines.append(_("Waiting for moderation: {count}").format(count=d.new))
    if d.voice:
        lines.append(_("🎙 Asked by voice, not written down yet: {count}").format(count=d.voice))
    if d.reopened:
        lines.append(_("Reopened (not satisfied): {count}").format(count=d.reopened))
    lines.append(_("Waiting for an agency's answer: {count}").format(count=d.waiting))
    lines.append(
        _("Answered: {count} (on {date}: {yesterday})").format(
            count=d.answered + d.committed, date=yesterday, yesterday=d.answered_yesterday
        )
    )
    lines.append("  • " + _("with a commitment: {count}").format(count=d.committed))

    lines += _overdue_lines(t, d, agencies)
    lines += _invitation_lines(t, d)
    if d.window_stopped:
        # Invitations, reminders, notices and news of questions the platform's window stopped
        # in the last day, and that no other chat of the household received.
        lines.append("")
        lines.append(_("Not delivered (Zalo window): {count}").format(count=d.window_stopped))
    return "\n".join(lines)


def _overdue_lines(t: Translator, d: store.WardDigest, agencies: dict[str, str]) -> list[str]:
    """What is overdue, by agency (the first AGENCY_LINES named, the rest summed)."""
    _ = t._
    lines = [""]
    if d.overdue:
        lines.append(_("⏰ Overdue (questions / commitments):"))
        for item in d.overdue[:AGENCY_LINES]:
            name = agencies.get(item.agency, item.agency)
            lines.append(f"  • {name}: {item.questions} / {item.commitments}")
        if len(d.overdue) > AGENCY_LINES:
            rest = d.overdue[AGENCY_LINES:]
            lines.append(
                "  • "
                + _("Other agencies: {questions} / {commitments}").format(
                    questions=sum(i.questions for i in rest),
                    commitments=sum(i.commitments for i in rest),
                )
            )
    else:
        lines.append(_("✅ Nothing overdue."))
    return lines


def _invitation_lines(t: Translator, d: store.WardDigest) -> list[str]:
    """Where the invitations of the next DIALOGUES_SHOWN dialogues of the ward stand."""
    _ = t._
    lines = [""]
    if not d.invitations:
        lines.append(_("No upcoming dialogue in your ward."))
    for tally in d.invitations[:DIALOGUES_SHOWN]:
        dialogue = tally.dialogue
        assert dialogue.starts_at is not None
        lines.append(f"🗓 {dialogue.title} · {t.short_date(dialogue.starts_at)}")
        lines.append(
            _(
                "Accepted: {accepted}/{total} households (priority group: "
                "{priority_accepted}/{priority})"
            ).format(
                accepted=tally.accepted,
                total=dialogue.quota_total,
                priority_accepted=tally.priority_accepted,
                priority=dialogue.quota_priority,
            )
        )
        lines.append(
            _("Declined: {declined} · no answer yet: {waiting} · letters: {letters}").format(
                declined=tally.declined, waiting=tally.no_answer, letters=tally.letters
            )
        )
        lines.append(_("Unreachable households: {count}").format(count=tally.unreachable))
    return lines


def _chart(t: Translator, d: store.WardDigest, agencies: dict[str, str]) -> chart.DigestChart:
    _ = t._
    return chart.DigestChart(
        title=_report_of(t, d.day),
        subtitle=d.ward,
        topics_heading=_("Questions by topic"),
        states=(
            _("Waiting for moderation"),
            _("Waiting for an answer"),
            _("Answered"),
            _("With a commitment"),
        ),
        topics=tuple(
            chart.Bars(_topic(t, code), tuple(states[s] for s in store.STATES))
            for code, states in d.by_topic.items()
        ),
        no_questions=_("No questions yet"),
        overdue_heading=_("Overdue by agency"),
        overdue_parts=(_("Questions"), _("Commitments")),
        overdue=tuple(
            chart.Bars(agencies.get(o.agency, o.agency), (o.questions, o.commitments))
            for o in d.overdue
        ),
        nothing_overdue=_("Nothing overdue"),
        others=_("The rest"),
    )


# ------------------------------------------------------------------ officials' overdue reminder


def _excerpt(text: str) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= EXCERPT else one_line[: EXCERPT - 1].rstrip() + "…"


def overdue_reminder(t: Translator, *, agency: str, items: store.AgencyOverdue) -> Reply:
    """An official's list of what their agency has let pass its deadline."""
    _ = t._
    lines = [
        _("Questions without an answer past their deadline: {count}").format(
            count=len(items.questions)
        ),
        _("Open commitments past their deadline: {count}").format(count=len(items.commitments)),
        "",
    ]
    listed = 0
    for question in items.questions[:OVERDUE_LISTED]:
        lines.append(
            _("#{ticket} · due {date} · “{excerpt}”").format(
                ticket=question.ticket,
                date=t.short_date(question.due_on),
                excerpt=_excerpt(question.text),
            )
        )
        listed += 1
    for commitment in items.commitments[: OVERDUE_LISTED - listed]:
        line = _("Commitment · due {date} · “{excerpt}”").format(
            date=t.short_date(commitment.due_on), excerpt=_excerpt(commitment.content)
        )
        lines.append(f"#{commitment.ticket} · {line}" if commitment.ticket else line)
        listed += 1
    more = len(items.questions) + len(items.commitments) - listed
    if more:
        lines.append(_("…and {count} more in the inbox.").format(count=more))
    return Reply(
        text="\n".join(lines),
        title=_("⏰ Overdue: {agency}").format(agency=agency),
        buttons=((Button(_("📥 Inbox"), btn.INBOX.build()),),),
    )


# ------------------------------------------------------------------ once a day, from the clock


class Digests:
    """The daily digests, the overdue reminders and the voice reminders the clock writes;
    built once with a Notifier and the policy."""

    def __init__(self, notifier: Notifier, policy: Policy) -> None:
        self.notifier = notifier
        self.policy = policy

    async def send_due(self, session: AsyncSession, *, now: datetime | None = None) -> int:
        """Called by every clock tick: write the digests and overdue reminders that are due
        today and not yet written; return how many messages were written."""
        now = self.notifier.now(now)
        local = now.astimezone(self.notifier.zone)
        if local.time() < self.policy.digest_time:
            return 0
        day = local.date()
        written = await self._digests(session, day=day, now=now)
        written += await self._overdue_reminders(session, day=day, now=now)
        return written

    async def _translator(self, session: AsyncSession, staff: Staff) -> Translator:
        assert staff.channel is not None and staff.user_id is not None
        locale = await store.locale_of(session, channel=staff.channel, user_id=staff.user_id)
        return self.notifier.translator(locale)

    async def _digests(self, session: AsyncSession, *, day: date, now: datetime) -> int:
        facilitators = [s for s in await store.active_staff(session, role="facilitator") if s.ward]
        keys = {s.id: f"digest:{s.id}:{day.isoformat()}" for s in facilitators}
        done = await store.jobs_done(session, keys=list(keys.values()))
        written = drawn = 0
        for staff in facilitators:
            if keys[staff.id] in done:
                continue
            if drawn == DIGESTS_PER_TICK:
                break
            drawn += 1
            t = await self._translator(session, staff)
            ward = staff.ward or ""

            async def build(t: Translator = t, ward: str = ward) -> Reply:
                return await build_digest(session, t=t, ward=ward, day=day, now=now)

            written += await _once(session, key=keys[staff.id], staff=staff, now=now, build=build)
        return written

    async def _overdue_reminders(self, session: AsyncSession, *, day: date, now: datetime) -> int:
        late = await store.agencies_overdue(session, day=day)
        if not late:
            return 0
        officials = [
            s for s in await store.active_staff(session, role="official") if s.agency in late
        ]
        keys = {s.id: f"overdue:{s.id}:{day.isoformat()}" for s in officials}
        done = await store.jobs_done(session, keys=list(keys.values()))
        items: dict[str, store.AgencyOverdue] = {}
        names: dict[str, dict[str, str]] = {}  # by locale
        written = 0
        for staff in officials:
            if keys[staff.id] in done:
                continue
            agency = staff.agency or ""
            if agency not in items:
                items[agency] = await store.agency_overdue(session, agency=agency, day=day)
            t = await self._translator(session, staff)
            if t.locale not in names:
                names[t.locale] = await _agency_names(session, t)

            async def build(t: Translator = t, agency: str = agency) -> Reply:
                return overdue_reminder(
                    t, agency=names[t.locale].get(agency, agency), items=items[agency]
                )

            written += await _once(session, key=keys[staff.id], staff=staff, now=now, build=build)
        return written

    async def voice_reminders(self, session: AsyncSession, *, now: datetime | None = None) -> int:
        """Called by every clock tick: remind the facilitators of the voice questions that have
        waited a day (and again each day) to be written down; a voice question never waits
        silently. Returns how many messages were written."""
        now = self.notifier.now(now)
        notes = await voice_store.due_reminders(session, now=now, after=self.policy.voice_reminder)
        if not notes:
            return 0
        dialogues = await voice_store.dialogues_of(
            session, question_ids=[n.question_id for n in notes]
        )
        counts: dict[int, tuple[Staff, int]] = {}
        for staff in await store.active_staff(session, role="facilitator"):
            count = sum(1 for d in dialogues.values() if d is not None and in_ward(d, staff.ward))
            if count and staff.channel and staff.user_id:
                counts[staff.id] = (staff, count)
        messages = []
        for staff, count in counts.values():
            t = await self._translator(session, staff)
            messages.append(_voice_message(t, staff, count, now))
        return await enqueue_many(session, messages=messages, now=now) if messages else 0


def _voice_message(t: Translator, staff: Staff, count: int, now: datetime) -> Outgoing:
    assert staff.channel is not None and staff.user_id is not None
    reply = Reply(
        title=t._("Voice questions waiting"),
        text=t.ngettext(
            "🎙 {count} question asked by voice has waited more than a day to be written "
            "down. Open /duyet to listen to it.",
            "🎙 {count} questions asked by voice have waited more than a day to be written "
            "down. Open /duyet to listen to them.",
            count,
        ).format(count=count),
    )
    return Outgoing(
        key=f"voice:{staff.id}:{now.isoformat()}",
        channel=staff.channel,
        recipient=staff.user_id,
        body=reply.to_json(),
        priority=PRIORITY_REMINDER,
    )


async def _once(
    session: AsyncSession,
    *,
    key: str,
    staff: Staff,
    now: datetime,
    build: Callable[[], Awaitable[Reply]],
) -> int:
    """Claim the day's key and write the message `build` makes, in a savepoint: a failure
    for one person is logged and leaves the key free for the next tick, and the others
    (and the tick's reminders) go on."""
    assert staff.channel is not None and staff.user_id is not None
    try:
        async with session.begin_nested():
            if not await store.claim_job(session, key=key, now=now):
                return 0  # another process wrote it a moment ago
            reply = await build()
            return await enqueue_many(
                session,
                messages=[
                    Outgoing(
                        key=key,
                        channel=staff.channel,
                        recipient=staff.user_id,
                        body=reply.to_json(),
                        priority=PRIORITY_REMINDER,
                    )
                ],
                now=now,
            )
    except Exception:
        log.exception("daily message %s failed; the next tick tries again", key)
        return 0
