"""A consultation from its plan to its published decisions, through the real dispatcher and
handlers on SQLite and PostgreSQL: 200 people of three household groups (and a few who are
linked to no household) answer by chat; the tallies, the margins of error and the suppression
of small groups are checked against figures computed here; the announcement and the adoption
decisions go through the outbox exactly once; nothing of a respondent is stored next to their
answers."""

from __future__ import annotations

import itertools
import logging
import math
from pathlib import Path

from sqlalchemy import select, text

from bot.consultation_plan import read_plan
from bot.consultation_results import compute, worst_margin
from bot.core.i18n import Translator
from bot.core.messages import Address, Incoming, Kind
from bot.services.consultations import ConsultationNews
from bot.services.notifier import Notifier
from storage import consultations as store
from storage.households import HouseholdRow, upsert_households
from storage.models import Base, Household, OutboxMessage
from tests.conftest import Clock

PLAN = Path(__file__).parent / "fixtures" / "consultations" / "plan.yaml"
_keys = itertools.count(1)


class Person:
    """Someone on a channel, talking to the real dispatcher: what they send, what they see."""

    def __init__(self, runtime, user_id: str, name: str, channel: str = "telegram"):
        self.runtime = runtime
        self.address = Address(channel, user_id)
        self.name = name
        self.last = []

    async def _send(self, **fields) -> list:
        outcome = await self.runtime.dispatcher.dispatch(
            Incoming(
                address=self.address,
                key=f"k{next(_keys)}",
                display_name=self.name,
                language="vi",
                **fields,
            )
        )
        self.last = outcome.replies
        return outcome.replies

    async def say(self, words: str) -> list:
        if words.startswith("/"):
            command, _, rest = words[1:].partition(" ")
            return await self._send(kind=Kind.COMMAND, command=command, text=rest)
        return await self._send(kind=Kind.TEXT, text=words)

    async def press(self, label: str) -> list:
        for reply in reversed(self.last):
            for row in reply.buttons:
                for button in row:
                    if label in button.label:
                        return await self._send(kind=Kind.BUTTON, data=button.data)
        raise AssertionError(f"no button {label!r} in {[r.text for r in self.last]}")

    def sees(self) -> str:
        return "\n".join(r.text for r in self.last)


GROUPS = {"poor": 90, "near_poor": 70, "other": 36}  # and 4 people linked to no household


async def _registry(runtime) -> list[Household]:
    rows = []
    number = 0
    for category, count in GROUPS.items():
        for _ in range(count):
            number += 1
            rows.append(
                HouseholdRow(
                    code=f"P7-{number:03d}",
                    head_name=f"Chủ hộ số {number}",
                    category=category,
                    ward="Phường 7" if number % 2 else "Phường 8",
                    gender="female" if number % 3 == 0 else "male",
                    ethnicity="Khmer" if number % 5 == 0 else "Kinh",
                )
            )
    rows.append(
        HouseholdRow(code="P9-001", head_name="Ngoài phường", category="poor", ward="Phường 9")
    )
    async with runtime.sessions() as session, session.begin():
        await upsert_households(session, rows=rows)
        return list(await session.scalars(select(Household).order_by(Household.id)))


def _answers_of(n: int) -> dict:
    """What respondent n answers (a known pattern, to compute the expected figures)."""
    agree = "Không đồng ý" if n % 4 == 0 else "Đồng ý"
    needs = [c for i, c in enumerate(["Vật liệu", "Vốn vay", "Ngày công"]) if (n >> i) & 1] or [
        "Vật liệu"
    ]
    answers = {"agree": agree, "needs": needs, "clear": 1 + n % 5}
    if agree == "Không đồng ý":
        answers["why"] = f"Mức hỗ trợ chưa đủ, ý kiến số {n}."
    answers["idea"] = f"Nên ưu tiên hộ có người khuyết tật ({n})." if n % 10 == 0 else None
    return answers


async def _answer(person: Person, answers: dict) -> None:
    await person.say("/gopy")
    await person.press("Bắt đầu")
    await person.press(answers["agree"])
    if "why" in answers:
        await person.say(answers["why"])
    for choice in answers["needs"]:
        await person.press(choice)
    await person.press("Xong")
    await person.press(str(answers["clear"]))
    if answers["idea"]:
        await person.say(answers["idea"])
    else:
        await person.press("Bỏ qua")
    assert "Xin kiểm tra lại câu trả lời" in person.sees() or any(
        r.title == "Xin kiểm tra lại câu trả lời" for r in person.last
    )
    await person.press("Gửi")
    assert "ẩn danh" in person.sees()


async def test_two_hundred_people_answer_and_the_figures_match_the_ones_computed_by_hand(
    runtime, clock: Clock, caplog
):
    caplog.set_level(logging.INFO)  # what the service logs (bot.logs caps the libraries)
    t = Translator("vi", runtime.settings.zone)
    plan = read_plan(PLAN, t, runtime.settings.zone)
    households = await _registry(runtime)
    async with runtime.sessions() as session, session.begin():
        consultation = await store.create_consultation(session, **vars(plan), now=clock())
        cid = consultation.id
        await store.set_status(session, consultation=consultation, status="open", now=clock())

    # 40 people answer by chat (12 of each household group, 4 linked to no household, on
    # Zalo); the 160 others are recorded through the same storage calls the chat makes.
    by_category: dict[str, list[Household]] = {}
    for household in households[:196]:
        by_category.setdefault(household.category, []).append(household)
    chatting = [h for category in GROUPS for h in by_category[category][:12]]
    people: list[tuple[Person, str, dict]] = []
    for n, household in enumerate(chatting, start=1):
        person = Person(runtime, str(10_000 + n), f"Người {n}")
        await person.say(f"/start {household.link_code}")
        await person.press("Tôi đồng ý")
        people.append((person, household.category, _answers_of(n)))
    for n in range(37, 41):
        person = Person(runtime, str(10_000 + n), f"Người {n}", channel="zalo")
        await person.say("/start")
        await person.press("Tôi đồng ý")
        people.append((person, "unlinked", _answers_of(n)))
    quiet = [h for h in households[:196] if h not in chatting]
    assert len(quiet) == 160
    recorded = [(h.category, h.ward, _answers_of(41 + i)) for i, h in enumerate(quiet)]

    # The announcement: to every linked household of the audience, once, however often run.
    async with runtime.sessions() as session, session.begin():
        consultation = await store.get_consultation(session, consultation_id=cid)
        added, reached = await _news(runtime, t).announce(
            session, consultation=consultation, now=clock()
        )
        assert (added, reached) == (36, 36)  # the linked households of Phường 7 and 8
        again = await _news(runtime, t).announce(session, consultation=consultation, now=clock())
        assert again == (0, 36)

    for person, _group, answers in people:
        await _answer(person, answers)
    async with runtime.sessions() as session, session.begin():
        for number, (category, ward, answers) in enumerate(recorded):
            response = await store.start_response(
                session,
                consultation_id=cid,
                respondent_hash=f"{number:064x}",
                reply_handle=runtime.dispatcher.sealer.seal(Address("telegram", f"q{number}")),
                group=category,
                ward=ward,
            )
            await store.submit(
                session,
                response=response,
                answers=answers,
                text_questions=["why", "idea"],
                on=clock().date(),
            )
    # One response per person: answering again changes it rather than adding one.
    first, _g, first_answers = people[0]
    await first.say("/gopy")
    assert "đã gửi" in first.sees()

    async with runtime.sessions() as session:
        consultation = await store.get_consultation(session, consultation_id=cid)
        responses = await store.submitted_responses(session, consultation_id=cid)
    assert len(responses) == 200
    results = compute(consultation.questions, consultation.targets, responses)

    # Figures computed here from what each person was told to answer.
    expected_groups = {"poor": 90, "near_poor": 70, "other": 36, "unlinked": 4}
    assert {g.group: g.count for g in results.groups} == expected_groups
    shown = {g.group for g in results.shown_groups()}
    assert shown == {"poor", "near_poor", "other"}  # 4 unlinked: never shown apart
    assert results.small_groups == ["unlinked"]
    short = {g.group for g in results.groups if g.short}
    assert short == {"other", "unlinked"}  # poor and near-poor reached their 60
    everyone = [a for _p, _g, a in people] + [a for _c, _w, a in recorded]
    agree = results.questions[0]
    disagreeing = sum(1 for a in everyone if a["agree"] == "Không đồng ý")
    assert [c.count for c in agree.choices] == [200 - disagreeing, disagreeing]
    p = disagreeing / 200
    assert math.isclose(agree.choices[1].margin, 1.96 * math.sqrt(p * (1 - p) / 200))
    assert math.isclose(results.margin, 0.98 / math.sqrt(200))
    assert math.isclose(worst_margin(90), 0.98 / math.sqrt(90))
    why = results.questions[1]
    assert why.asked == disagreeing and why.answered == disagreeing
    needs = results.questions[2]
    for choice in needs.choices:
        assert choice.count == sum(1 for a in everyone if choice.label in a["needs"])
    poor_needs = needs.by_group["poor"]
    poor = [a for _p, g, a in people if g == "poor"] + [a for c, _w, a in recorded if c == "poor"]
    assert [c.count for c in poor_needs] == [
        sum(1 for a in poor if label in a["needs"])
        for label in ["Vật liệu", "Vốn vay", "Ngày công"]
    ]
    assert "unlinked" not in needs.by_group
    scale = results.questions[3]
    values = [a["clear"] for a in everyone]
    mean = sum(values) / 200
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / 199)
    assert math.isclose(scale.mean, mean) and math.isclose(
        scale.mean_margin, 1.96 * sd / math.sqrt(200)
    )
    idea = results.questions[4]
    assert idea.answered == sum(1 for a in everyone if a["idea"])

    # Themes and decisions, pushed back once to everyone who answered.
    async with runtime.sessions() as session, session.begin():
        opinions = await store.opinions(session, consultation_id=cid)
        assert len(opinions) == disagreeing + idea.answered
        level = await store.theme_named(session, consultation_id=cid, name="Mức hỗ trợ")
        disabled = await store.theme_named(session, consultation_id=cid, name="Người khuyết tật")
        await store.tag(
            session,
            consultation_id=cid,
            opinion_ids=[o.id for o in opinions if o.question == "why"],
            theme_id=level.id,
        )
        await store.tag(
            session,
            consultation_id=cid,
            opinion_ids=[o.id for o in opinions if o.question == "idea"],
            theme_id=disabled.id,
        )
        await store.decide(
            session,
            theme=level,
            decision="not_adopted",
            reason="Ngân sách năm 2027 không cho phép.",
            change="",
            on=clock().date(),
        )
        await store.decide(
            session,
            theme=disabled,
            decision="adopted",
            reason="",
            change="Thêm hộ có người khuyết tật vào đối tượng ưu tiên (Điều 3).",
            on=clock().date(),
        )
    for _ in range(2):
        async with runtime.sessions() as session, session.begin():
            consultation = await store.get_consultation(session, consultation_id=cid)
            added = await _news(runtime, t).push_decisions(
                session, consultation=consultation, now=clock()
            )
        assert added == (40 if _ == 0 else 0)  # the 160 recorded have no account
    async with runtime.sessions() as session:
        pushed = list(
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.key.startswith(f"sealed:c{cid}:"))
            )
        )
    assert len(pushed) == 40
    body = pushed[0].body
    assert "Không tiếp thu" in body["text"] and "Ngân sách năm 2027" in body["text"]

    # Nothing of any respondent next to an answer: no table row holding an answer also holds
    # their chat id, name or phone.
    await _scan(runtime, people)
    # Nor in any log line of the whole flow: no chat id, no name, no answer's words.
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for person, _g, answers in people:
        assert f"{person.address.user_id}" not in logged
        assert person.name not in logged
        if answers.get("why"):
            assert answers["why"] not in logged


async def _scan(runtime, people) -> None:
    """Every row of the consultation tables: no respondent's chat id, name or phone."""
    async with runtime.sessions() as session:
        for table in Base.metadata.sorted_tables:
            if not table.name.startswith("consultation"):
                continue
            rows = (await session.execute(text(f'SELECT * FROM "{table.name}"'))).all()
            dump = "\n".join(repr(tuple(row)) for row in rows)
            for person, _g, _a in people:
                assert f"'{person.address.user_id}'" not in dump, table.name
                assert person.name not in dump, table.name
            assert "Chủ hộ số" not in dump and "P7-" not in dump, table.name


async def test_the_facilitators_digest_counts_responses_per_open_consultation_against_targets(
    runtime, clock: Clock
):
    from bot.services.digest import build_digest

    t = Translator("vi", runtime.settings.zone)
    plan = read_plan(PLAN, t, runtime.settings.zone)
    async with runtime.sessions() as session, session.begin():
        consultation = await store.create_consultation(session, **vars(plan), now=clock())
        await store.set_status(session, consultation=consultation, status="open", now=clock())
        for number in range(7):
            response = await store.start_response(
                session,
                consultation_id=consultation.id,
                respondent_hash=f"{number:064x}",
                reply_handle=b"",
                group="poor",
                ward="Phường 7",
            )
            await store.submit(
                session, response=response, answers={}, text_questions=[], on=clock().date()
            )
    async with runtime.sessions() as session:
        digest = await build_digest(session, t=t, ward="Phường 7", day=clock().date(), now=clock())
        elsewhere = await build_digest(
            session, t=t, ward="Phường 9", day=clock().date(), now=clock()
        )
    assert "Tham vấn đang mở (phiếu / chỉ tiêu):" in digest.text
    assert "Lấy ý kiến dự thảo quy định hỗ trợ sửa chữa nhà ở: 7 / 200" in digest.text
    assert "chưa đạt chỉ tiêu: Hộ nghèo, Hộ cận nghèo" in digest.text
    assert "Tham vấn đang mở" not in elsewhere.text


def _news(runtime, t) -> ConsultationNews:
    """The consultation's news as the CLI sends it, with the bot's key, in Vietnamese."""
    return ConsultationNews(
        Notifier(sealer=runtime.dispatcher.sealer, zone=t.zone, default_locale="vi")
    )
