"""A ward's dialogues as the board shows them, built through the storage functions the bot
itself uses: askers named and anonymous (with names, phones and chat ids the board must never
show), questions in every status, answers, commitments on time, late and fulfilled, a
sensitive question with an answer and one without.

The clock of the tests (tests/conftest.py) starts on Friday 20/11/2026, 09:00 in Hà Nội.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.board import create_board_app
from bot.core.messages import Address
from bot.runtime import Runtime
from storage import answers, followup, moderation, staff, support
from storage.accounts import create_account
from storage.dialogues import create_dialogue, general_intake
from storage.models import Account, Answer, Question
from storage.questions import add_question
from tests.conftest import make_settings

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
BOT = "phuong7_doithoai_bot"


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZONE).astimezone(UTC)


@dataclass(frozen=True)
class Person:
    """Someone who asked or followed: nothing of this may appear on the board."""

    name: str
    phone: str
    chat_id: str
    channel: str = "telegram"


@dataclass
class Story:
    past: int = 0  # ended on Wednesday 21/10/2026
    upcoming: int = 0  # Thursday 26/11/2026 08:30
    cancelled: int = 0
    general: int = 0
    people: list[Person] = field(default_factory=list)
    tickets: dict[str, str] = field(default_factory=dict)  # label -> ticket
    texts: dict[str, str] = field(default_factory=dict)  # label -> question text
    answers: dict[str, str] = field(default_factory=dict)  # label -> answer text
    commitments: dict[str, str] = field(default_factory=dict)  # label -> content

    def hidden(self) -> list[str]:
        """Texts never on the board: sensitive, rejected, new and merged questions."""
        return [self.texts[k] for k in ("sensitive", "sensitive_unanswered", "rejected", "new")] + [
            self.texts["merged"]
        ]

    def secrets(self) -> list[str]:
        found = []
        for person in self.people:
            found += [person.name, person.phone, person.chat_id]
        return found


NAMED = Person("Trần Văn Bảy", "0912345678", "7311904457")
ANONYMOUS = Person("Lê Thị Hồng Nhung", "0987654321", "5520193344")
ANONYMOUS_ZALO = Person("Thạch Thị Sa Ra", "0978123456", "4489012345678901234", channel="zalo")
SUPPORTER = Person("Phạm Minh Tuấn", "0901234567", "6629018877")


async def build_story(runtime: Runtime) -> Story:
    """Everything the board shows, and what it must not."""
    story = Story(people=[NAMED, ANONYMOUS, ANONYMOUS_ZALO, SUPPORTER])
    sealer = runtime.dispatcher.sealer
    now = runtime.clock()
    today = now.astimezone(ZONE).date()
    async with runtime.sessions() as session, session.begin():
        accounts: dict[Person, Account] = {}
        for person in story.people:
            account = await create_account(
                session,
                channel=person.channel,
                user_id=person.chat_id,
                display_name=person.name,
                locale="vi",
                consented_on=date(2026, 9, 1),
            )
            account.phone = person.phone
            accounts[person] = account

        def keyed_hash(person: Person) -> str:
            address = Address(person.channel, person.chat_id)
            return sealer.asker_hash(accounts[person].asker_salt, address)

        def handle(person: Person) -> bytes:
            return sealer.seal(Address(person.channel, person.chat_id))

        past = await create_dialogue(
            session,
            title="Đối thoại về giảm nghèo năm 2026",
            starts_at=local(2026, 10, 21, 8, 30),
            venue="Hội trường UBND Phường 7",
            topics=["giamngheo", "tindung"],
            wards=["Phường 7", "Phường 8"],
        )
        upcoming = await create_dialogue(
            session,
            title="Đối thoại về bảo hiểm y tế",
            starts_at=local(2026, 11, 26, 8, 30),
            venue="Nhà văn hóa khóm 3",
            question_deadline=local(2026, 11, 25, 17, 0),
            topics=["yte", "giaoduc"],
            wards=["Phường 7"],
        )
        cancelled = await create_dialogue(
            session,
            title="Đối thoại về đất ở (hoãn)",
            starts_at=local(2026, 12, 3, 14, 0),
            venue="Hội trường Phường 8",
            wards=["Phường 8"],
        )
        cancelled.status = "cancelled"
        general = await general_intake(session)
        story.past, story.upcoming, story.cancelled, story.general = (
            past.id,
            upcoming.id,
            cancelled.id,
            general.id,
        )

        officials = {}
        for agency in ("ldtbxh", "nhcsxh", "ubnd", "yte"):
            official, _code = await staff.invite(
                session,
                role="official",
                name=f"Cán bộ {agency}",
                agency=agency,
                now=now,
                valid_for=timedelta(days=7),
            )
            officials[agency] = official
        facilitator, _code = await staff.invite(
            session,
            role="facilitator",
            name="Chị Mặt trận",
            ward="Phường 7",
            now=now,
            valid_for=timedelta(days=7),
        )

        async def ask(
            label: str,
            text: str,
            *,
            by: Person,
            anonymous: bool,
            topic: str,
            agency: str,
            dialogue: int = past.id,
            approve: bool = True,
        ) -> Question:
            question = await add_question(
                session,
                dialogue_id=dialogue,
                topic=topic,
                agency=agency,
                text=text,
                submitted_on=date(2026, 10, 10),
                account_id=None if anonymous else accounts[by].id,
                asker_hash=keyed_hash(by) if anonymous else None,
                reply_handle=handle(by) if anonymous else None,
            )
            if approve:
                await moderation.approve(
                    session, question=question, staff_id=facilitator.id, on=date(2026, 10, 12)
                )
            story.tickets[label] = question.ticket
            story.texts[label] = text
            return question

        async def answer(label: str, question: Question, text: str, *, agency: str) -> Answer:
            published = await answers.add_answer(
                session,
                question=question,
                staff=officials[agency],
                text=text,
                now=local(2026, 11, 2, 10, 0),
                today=date(2026, 11, 2),
            )
            story.answers[label] = text
            return published

        async def commit(label: str, question: Question, content: str, due: date, agency: str):
            commitment = await answers.add_commitment(
                session,
                question=question,
                staff=officials[agency],
                content=content,
                due_on=due,
                responsible="Tổ công tác giảm nghèo",
                now=local(2026, 11, 3, 9, 0),
                today=date(2026, 11, 3),
            )
            story.commitments[label] = content
            return commitment

        # A named question, supported and joined by a duplicate: answered, and its
        # commitment is overdue (due 10/11, today 20/11).
        late = await ask(
            "late",
            "Khi nào hộ cận nghèo được hỗ trợ vốn làm chuồng bò?",
            by=NAMED,
            anonymous=False,
            topic="giamngheo",
            agency="ldtbxh",
        )
        await support.add_support(
            session,
            question=late,
            supporter_hash=keyed_hash(SUPPORTER),
            reply_handle=handle(SUPPORTER),
            today=date(2026, 10, 13),
        )
        duplicate = await ask(
            "merged",
            "Hộ cận nghèo bao giờ có vốn làm chuồng bò vậy cán bộ?",
            by=ANONYMOUS_ZALO,
            anonymous=True,
            topic="giamngheo",
            agency="ldtbxh",
            approve=False,
        )
        await moderation.merge(
            session, duplicate=duplicate, kept=late, staff_id=facilitator.id, on=date(2026, 10, 12)
        )
        await answer(
            "late",
            late,
            "Phòng đang lập danh sách hộ được hỗ trợ chuồng bò đợt 2.",
            agency="ldtbxh",
        )
        overdue = await commit(
            "late",
            late,
            "Giải ngân hỗ trợ chuồng bò cho 12 hộ cận nghèo",
            date(2026, 11, 10),
            "ldtbxh",
        )
        await answers.update_progress(
            session,
            commitment=overdue,
            staff=officials["ldtbxh"],
            progress="Đã duyệt 8 hộ, còn 4 hộ chờ hồ sơ.",
            now=local(2026, 11, 12, 15, 0),
            today=date(2026, 11, 12),
        )

        # An anonymous question whose commitment was kept on time.
        kept = await ask(
            "kept",
            "Tôi muốn vay vốn học nghề cho con thì cần giấy tờ gì?",
            by=ANONYMOUS,
            anonymous=True,
            topic="tindung",
            agency="nhcsxh",
        )
        await answer(
            "kept",
            kept,
            "Cần sổ hộ khẩu và giấy báo nhập học; tổ tiết kiệm vay vốn sẽ hướng dẫn.",
            agency="nhcsxh",
        )
        on_time = await commit(
            "kept",
            kept,
            "Tổ chức buổi hướng dẫn hồ sơ vay vốn học nghề tại khóm 3",
            date(2026, 11, 15),
            "nhcsxh",
        )
        await answers.fulfil(
            session,
            commitment=on_time,
            staff=officials["nhcsxh"],
            now=local(2026, 11, 14, 16, 0),
            today=date(2026, 11, 14),
        )

        # A sensitive question with an answer: only the answer is public.
        private = await ask(
            "sensitive",
            "Nhà tôi bị tổ trưởng gây khó dễ khi rà soát hộ nghèo, tôi sợ bị trù dập.",
            by=ANONYMOUS,
            anonymous=True,
            topic="rasoat",
            agency="ubnd",
        )
        await moderation.set_sensitive(
            session,
            question=private,
            sensitive=True,
            staff_id=facilitator.id,
            on=date(2026, 10, 12),
        )
        await answer(
            "sensitive",
            private,
            "UBND phường sẽ cử cán bộ khác phúc tra việc rà soát và làm việc riêng với gia đình.",
            agency="ubnd",
        )
        # A sensitive question without an answer: nothing of it is public.
        unanswered_private = await ask(
            "sensitive_unanswered",
            "Con tôi bị bạo lực ở trường, xin giữ kín tên trường.",
            by=NAMED,
            anonymous=False,
            topic="giaoduc",
            agency="ubnd",
        )
        await moderation.set_sensitive(
            session,
            question=unanswered_private,
            sensitive=True,
            staff_id=facilitator.id,
            on=date(2026, 10, 12),
        )

        # Waiting: one past its deadline, one not yet.
        waiting_late = await ask(
            "waiting_late",
            "Bao giờ phường công bố danh sách hộ nghèo năm 2027?",
            by=ANONYMOUS,
            anonymous=True,
            topic="giamngheo",
            agency="ubnd",
        )
        waiting_late.due_on = date(2026, 11, 15)
        waiting = await ask(
            "waiting",
            "Thẻ bảo hiểm y tế của hộ cận nghèo được hỗ trợ bao nhiêu phần trăm?",
            by=NAMED,
            anonymous=False,
            topic="tindung",
            agency="nhcsxh",
        )
        waiting.due_on = date(2026, 12, 5)

        # Reopened: the asker was not satisfied with the answer.
        reopened = await ask(
            "reopened",
            "Đường vào khóm 5 ngập nước, phường có kế hoạch nâng cấp không?",
            by=ANONYMOUS_ZALO,
            anonymous=True,
            topic="giamngheo",
            agency="ubnd",
        )
        said = await answer(
            "reopened", reopened, "Phường đã đưa vào kế hoạch năm sau.", agency="ubnd"
        )
        await answers.give_feedback(
            session,
            question=reopened,
            about=f"a{said.id}",
            giver_hash=keyed_hash(ANONYMOUS_ZALO),
            satisfied=False,
            reason="Tôi là Thạch Thị Sa Ra, năm nào cũng hứa vậy",
            today=date(2026, 11, 5),
        )

        # Never published: rejected and new.
        rejected = await ask(
            "rejected",
            "Câu hỏi xúc phạm cán bộ Nguyễn Văn A, không phù hợp.",
            by=NAMED,
            anonymous=False,
            topic="khac",
            agency="ubnd",
            approve=False,
        )
        await moderation.reject(
            session, question=rejected, reason="xúc phạm", staff_id=facilitator.id, on=today
        )
        await ask(
            "new",
            "Câu hỏi mới gửi, chưa được duyệt về trợ cấp.",
            by=ANONYMOUS,
            anonymous=True,
            topic="giamngheo",
            agency="ldtbxh",
            approve=False,
        )

        # A commitment for the dialogue as a whole, made at the dialogue.
        await followup.record_commitment(
            session,
            dialogue_id=past.id,
            question=None,
            agency="ubnd",
            content="Công khai danh sách hộ nghèo tại nhà văn hóa các khóm",
            due_on=date(2026, 12, 15),
            responsible="UBND Phường 7",
            staff_id=officials["ubnd"].id,
            now=local(2026, 10, 21, 10, 30),
            today=date(2026, 10, 21),
        )
        story.commitments["general"] = "Công khai danh sách hộ nghèo tại nhà văn hóa các khóm"

        # The general intake: a named question, answered.
        general_question = await ask(
            "general",
            "Phường có lớp dạy nghề may miễn phí cho phụ nữ không?",
            by=ANONYMOUS,
            anonymous=False,
            topic="giamngheo",
            agency="ldtbxh",
            dialogue=general.id,
        )
        await answer(
            "general",
            general_question,
            "Có, lớp khai giảng tháng 12 tại trung tâm học tập cộng đồng.",
            agency="ldtbxh",
        )
    return story


@pytest.fixture
async def board_runtime(database_url: str, clock) -> AsyncIterator[Runtime]:
    service = Runtime(
        make_settings(database_url, telegram_bot_username=BOT, public_url="http://board.test"),
        clock=clock,
    )
    yield service
    await service.close()


@pytest.fixture
async def story(board_runtime: Runtime) -> Story:
    return await build_story(board_runtime)


@pytest.fixture
def board_app(board_runtime: Runtime):
    return create_board_app(board_runtime)
