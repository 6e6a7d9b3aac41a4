"""The minutes (DOCX) and the questions (XLSX) of a dialogue, written by `doithoai export` and
opened back: what the ward prints and files, and what it never shows (who asked anonymously)."""

from __future__ import annotations

import asyncio
import secrets
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from docx import Document
from docx.oxml.ns import qn
from openpyxl import load_workbook
from sqlalchemy import update
from typer.testing import CliRunner

from bot.cli.export import export_app
from bot.documents.admin import MOTTO, NATIONAL_NAME
from storage.db import create_engine, session_factory
from storage.models import (
    Account,
    Answer,
    Commitment,
    Dialogue,
    Household,
    Invitation,
    Question,
    Staff,
)

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
FONT = "Times New Roman"
TITLE = "Đối thoại chính sách giảm nghèo năm 2026"
# The anonymous asker's account: none of it may appear in any export.
HIDDEN_NAME, HIDDEN_PHONE, HIDDEN_CHAT = "Huỳnh Thị Bí Mật", "0912345678", "7311904517"
NAMED = "Nguyễn Văn Nam"  # a named asker: in the working spreadsheet, never in the minutes
# Real today: the command decides what is overdue from the real clock.
TODAY = datetime.now(UTC).astimezone(ZONE).date()
MINUTES_OPTIONS = (
    "--number",
    "05/BB-MTTQ",
    "--chair",
    "Nguyễn Văn Chủ",
    "--secretary",
    "Lê Thị Thư",
    "--body",
    "Ủy ban MTTQ Việt Nam Phường 7",
    "--superior",
    "Ủy ban MTTQ Việt Nam thành phố Trà Vinh",
    "--place",
    "Phường 7",
)


@dataclass(frozen=True)
class Built:
    dialogue: int
    tickets: dict[str, str]  # the test's name of a question -> its ticket


def export(*args: str, url: str, locale: str = "en"):
    env = {"DOITHOAI_DATABASE_URL": url, "DOITHOAI_DEFAULT_LOCALE": locale}
    return CliRunner().invoke(export_app, list(args), env=env)


def day(offset: int) -> date:
    return TODAY + timedelta(days=offset)


def dmy(value: date) -> str:
    return value.strftime("%d/%m/%Y")


async def _build(url: str, *, attendance: bool = True, title: str = TITLE) -> Built:
    """A dialogue of Phường 7 on 26/04/2026 at 08:00, after the fact: six households invited
    (four came), eight questions of every kind, answers, commitments."""
    engine = create_engine(url)
    async with session_factory(engine)() as session, session.begin():
        dialogue = Dialogue(
            kind="session",
            title=title,
            starts_at=datetime(2026, 4, 26, 8, 0, tzinfo=ZONE),
            duration_minutes=150,
            venue="Hội trường UBND Phường 7",
            topics=["tindung", "rasoat", "yte"],
            wards=["Phường 7"],
            quota_total=6,
            quota_priority=4,
            status="planned",
        )
        session.add(dialogue)
        await session.flush()

        # (gender, ethnicity, category, group, status, attended)
        households = [
            ("female", "Khmer", "poor", "priority", "accepted", True),
            ("female", "Kinh", "near_poor", "priority", "accepted", True),
            ("male", "Khmer", "new_non_poor", "priority", "accepted", True),
            ("male", "Kinh", "other", "other", "accepted", True),
            ("female", "Kinh", "poor", "priority", "accepted", False),  # accepted, did not come
            ("male", "Kinh", "other", "other", "declined", False),
        ]
        for number, (gender, ethnicity, category, group, status, came) in enumerate(households):
            household = Household(
                code=f"P7-{number:03d}",
                head_name=f"Chủ hộ {number}",
                gender=gender,
                ethnicity=ethnicity,
                category=category,
                ward="Phường 7",
                link_code=secrets.token_hex(4).upper(),
            )
            session.add(household)
            await session.flush()
            session.add(
                Invitation(
                    dialogue_id=dialogue.id,
                    household_id=household.id,
                    group=group,
                    rank=number,
                    status=status,
                    attended=came if attendance else None,
                )
            )

        hidden = Account(
            channel="telegram",
            user_id=HIDDEN_CHAT,
            display_name=HIDDEN_NAME,
            phone=HIDDEN_PHONE,
            locale="vi",
            asker_salt=secrets.token_bytes(32),
            consented_on=date(2026, 4, 1),
        )
        named = Account(
            channel="telegram",
            user_id="5550001",
            display_name=NAMED,
            phone="0987654321",
            locale="vi",
            asker_salt=secrets.token_bytes(32),
            consented_on=date(2026, 4, 1),
        )
        session.add_all([hidden, named])
        now = datetime(2026, 4, 26, 3, 0, tzinfo=UTC)
        staff = {}
        for key, role, name, agency, ward in (
            ("hoa", "official", "Chị Hoa", "ldtbxh", None),
            ("minh", "official", "Anh Minh", "nhcsxh", None),
            ("thu", "facilitator", "Chị Thu", None, "Phường 7"),
        ):
            staff[key] = Staff(
                role=role,
                name=name,
                agency=agency,
                ward=ward,
                code_hash=secrets.token_hex(32),
                code_expires_at=now,
                created_at=now,
                claimed_at=now,
                channel="telegram",
                user_id=f"9{len(staff)}",
            )
        session.add_all(staff.values())
        await session.flush()

        def question(key: str, **values) -> Question:
            anonymous = values.pop("anonymous", True)
            found = Question(
                id=secrets.token_hex(16),
                ticket=f"T{len(questions) + 3}K{len(questions) + 4}X",
                dialogue_id=dialogue.id,
                anonymous=anonymous,
                account_id=None if anonymous else named.id,
                asker_hash=secrets.token_hex(32) if anonymous else None,
                reply_handle=secrets.token_bytes(40) if anonymous else None,
                submitted_on=date(2026, 4, 10 + len(questions)),
                **values,
            )
            questions[key] = found
            session.add(found)
            return found

        questions: dict[str, Question] = {}
        loan = question(
            "loan",
            topic="tindung",
            agency="nhcsxh",
            text="Hộ cận nghèo được vay vốn tối đa bao nhiêu?",
            status="answered",
            supporters=2,
            answered_in_room=True,
        )
        await session.flush()
        question(
            "loan_again",
            anonymous=False,
            topic="tindung",
            agency="nhcsxh",
            text="Cho hỏi mức vay của hộ cận nghèo là bao nhiêu?",
            status="merged",
            merged_into=loan.id,
        )
        removed = question(
            "removed",
            anonymous=False,
            topic="rasoat",
            agency="ldtbxh",
            text="Vì sao nhà tôi bị đưa ra khỏi danh sách hộ nghèo năm nay?",
            status="committed",
        )
        bribe = question(
            "bribe",
            topic="rasoat",
            agency="ldtbxh",
            text="Cán bộ khóm thu tiền khi xét hộ nghèo",
            status="committed",
            sensitive=True,
        )
        card = question(
            "card",
            topic="yte",
            agency="yte",
            text="Thẻ bảo hiểm y tế của hộ cận nghèo được hỗ trợ bao nhiêu phần trăm?",
            status="approved",
            due_on=day(-3),
        )
        question(
            "unread",
            topic="yte",
            agency="yte",
            text="Câu hỏi chưa được duyệt về trạm y tế",
            status="new",
        )
        question(
            "refused",
            topic="khac",
            agency="ubnd",
            text="Câu hỏi không phù hợp với buổi đối thoại",
            status="rejected",
            reject_reason="Không thuộc chủ đề",
        )
        land = question(
            "land",
            topic="datnha",
            agency="ubnd",
            text="Khi nào phường cấp giấy chứng nhận đất ở cho khóm 3?",
            status="answered",
            answered_in_room=True,
        )
        await session.flush()

        session.add_all(
            [
                Answer(
                    question_id=loan.id,
                    agency="nhcsxh",
                    staff_id=staff["minh"].id,
                    text="Hộ cận nghèo được vay tối đa 100 triệu đồng, lãi suất ưu đãi.",
                    in_room=True,
                    published_at=now,
                ),
                Answer(
                    question_id=removed.id,
                    agency="ldtbxh",
                    staff_id=staff["hoa"].id,
                    text="Phòng sẽ rà soát lại hồ sơ của hộ theo đúng quy trình.",
                    in_room=False,
                    published_at=now + timedelta(days=1),
                ),
            ]
        )
        commitments = (
            (
                removed,
                "ldtbxh",
                "Rà soát lại hồ sơ của hộ và trả lời bằng văn bản",
                day(20),
                "Phòng LĐTBXH và UBND Phường 7",
                "hoa",
                "open",
            ),
            (
                None,
                "ubnd",
                "Tổ chức lớp hướng dẫn làm hồ sơ vay vốn",
                day(-5),
                "UBND Phường 7",
                "thu",
                "open",
            ),
            (
                bribe,
                "ldtbxh",
                "Kiểm tra việc thu tiền của cán bộ khóm",
                day(10),
                "Thanh tra thành phố",
                "hoa",
                "fulfilled",
            ),
        )
        for minute, (question_row, agency, content, due, responsible, who, status) in enumerate(
            commitments
        ):
            session.add(
                Commitment(
                    dialogue_id=dialogue.id,
                    question_id=question_row.id if question_row else None,
                    agency=agency,
                    content=content,
                    due_on=due,
                    responsible=responsible,
                    status=status,
                    fulfilled_on=day(-1) if status == "fulfilled" else None,
                    staff_id=staff[who].id,
                    made_at=now + timedelta(minutes=minute),
                    updated_at=now,
                )
            )
        assert card.due_on and land.answered_in_room
        built = Built(dialogue.id, {key: q.ticket for key, q in questions.items()})
    await engine.dispose()
    return built


def build(url: str, **options) -> Built:
    return asyncio.run(_build(url, **options))


def _lines(element) -> list[str]:
    """The text of every paragraph under `element`, in tables too, in reading order."""
    return ["".join(node.text or "" for node in p.iter(qn("w:t"))) for p in element.iter(qn("w:p"))]


def _minutes(tmp_path: Path, url: str, *options: str, locale: str = "en"):
    built = build(url)
    path = tmp_path / "bien-ban.docx"
    result = export(
        "minutes", str(built.dialogue), "--out", str(path), *options, url=url, locale=locale
    )
    assert result.exit_code == 0, result.output
    return built, path, result


def _cells(path: Path) -> list[str]:
    workbook = load_workbook(path)
    return [
        str(cell.value)
        for sheet in workbook.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.value is not None
    ]


def _nothing_of_the_anonymous_asker_in(path: Path) -> None:
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            content = archive.read(name).decode("utf-8", errors="replace")
            for secret in (HIDDEN_NAME, HIDDEN_PHONE, HIDDEN_CHAT):
                assert secret not in content, f"{secret} in {name}"


# --- the minutes -----------------------------------------------------------------------------


def test_the_minutes_open_with_the_national_heading_the_number_and_the_dialogues_date(
    tmp_path, database_url
):
    built, path, result = _minutes(tmp_path, database_url, *MINUTES_OPTIONS)

    assert result.stdout.splitlines() == [
        f"Written: {path}",
        "Questions: 5, answers: 3, commitments: 3.",
    ]
    document = Document(str(path))
    heading = document.tables[0]
    lines = _lines(heading._tbl)
    assert lines[:2] == ["ỦY BAN MTTQ VIỆT NAM THÀNH PHỐ TRÀ VINH", "ỦY BAN MTTQ VIỆT NAM PHƯỜNG 7"]
    assert NATIONAL_NAME in lines and MOTTO in lines
    assert "No. 05/BB-MTTQ" in lines
    assert "Phường 7, 26 April 2026" in lines
    body, nation = heading.rows[0].cells
    assert [r.bold for r in body.paragraphs[1].runs] == [True]  # the issuing body
    assert all(run.bold for p in nation.paragraphs[:2] for run in p.runs)
    (dated,) = [p for p in heading.rows[1].cells[1].paragraphs if p.text]
    assert all(run.italic for run in dated.runs)

    text = [p.text for p in document.paragraphs]
    assert "MINUTES" in text
    # The title already says "Đối thoại": it is not prefixed with "Policy dialogue" again.
    assert text[text.index("MINUTES") + 1] == TITLE
    title = document.paragraphs[text.index("MINUTES")]
    assert title.alignment == 1 and all(run.bold for run in title.runs)  # centred
    assert "Time: from 08:00 to 10:30, 26 April 2026" in text
    assert "Venue: Hội trường UBND Phường 7" in text
    assert "Chair: Nguyễn Văn Chủ" in text and "Secretary: Lê Thị Thư" in text
    assert "The dialogue ended at 10:30 the same day." in text
    properties = document.core_properties
    assert properties.author == "Ủy ban MTTQ Việt Nam Phường 7" == properties.last_modified_by
    assert TITLE in properties.title and properties.comments == ""


def test_a_title_that_does_not_say_dialogue_is_introduced_as_a_policy_dialogue(
    tmp_path, database_url
):
    built = build(database_url, title="Giảm nghèo và an sinh xã hội năm 2026")
    path = tmp_path / "bien-ban.docx"

    assert (
        export("minutes", str(built.dialogue), "--out", str(path), url=database_url).exit_code == 0
    )

    text = [p.text for p in Document(str(path)).paragraphs]
    assert (
        text[text.index("MINUTES") + 1] == "Policy dialogue: Giảm nghèo và an sinh xã hội năm 2026"
    )


def test_the_minutes_count_the_households_that_came_by_group(tmp_path, database_url):
    _, path, _ = _minutes(tmp_path, database_url, *MINUTES_OPTIONS)

    text = [p.text for p in Document(str(path)).paragraphs]
    assert "1. Households: 4 households took part (by the attendance record):" in text
    assert (
        "- Poor, near-poor, newly out of poverty: 3 households (women heads: 2; ethnic "
        "minorities: 2; poor or near-poor: 2);"
    ) in text
    assert (
        "- Other households: 1 household (women heads: 0; ethnic minorities: 0; "
        "poor or near-poor: 0);"
    ) in text
    assert (
        "- Total: 4 households (women heads: 2; ethnic minorities: 2; poor or near-poor: 2)."
    ) in text
    # The officials who answered or committed; the facilitator who wrote down a commitment in
    # the room is not one of them.
    assert "- Chị Hoa, Labour, Invalids and Social Affairs Office;" in text
    assert "- Anh Minh, Social Policy Bank." in text
    assert not any("Chị Thu" in line for line in text)


def test_without_an_attendance_record_the_minutes_count_those_who_accepted(tmp_path, database_url):
    built = build(database_url, attendance=False)
    path = tmp_path / "bien-ban.docx"

    result = export("minutes", str(built.dialogue), "--out", str(path), url=database_url)

    assert result.exit_code == 0, result.output
    text = [p.text for p in Document(str(path)).paragraphs]
    assert (
        "1. Households: 5 households accepted the invitation (no attendance was recorded):"
    ) in text
    assert (
        "- Poor, near-poor, newly out of poverty: 4 households (women heads: 3; ethnic "
        "minorities: 2; poor or near-poor: 3);"
    ) in text


def test_the_concerns_are_listed_by_topic_without_any_asker(tmp_path, database_url):
    _, path, _ = _minutes(tmp_path, database_url, *MINUTES_OPTIONS)

    text = [p.text for p in Document(str(path)).paragraphs]
    concerns = text[
        text.index("I. CONCERNS RAISED BY THE PEOPLE") : text.index("II. ANSWERS GIVEN")
    ]
    assert concerns == [
        "I. CONCERNS RAISED BY THE PEOPLE",
        "5 questions were raised, by topic:",
        "1. Credit and loans (1 question)",
        # The merged duplicate is not listed: its asker counts with the question kept.
        "- Question 1: Hộ cận nghèo được vay vốn tối đa bao nhiêu? (2 more people asked the same).",
        "",
        "2. Survey of poor and near-poor households (2 questions)",
        "- Question 2: Vì sao nhà tôi bị đưa ra khỏi danh sách hộ nghèo năm nay?",
        "- Question 3: (sensitive content, not recorded).",
        "",
        "3. Health and health insurance (1 question)",
        "- Question 4: Thẻ bảo hiểm y tế của hộ cận nghèo được hỗ trợ bao nhiêu phần trăm?",
        "",
        "4. Residential land and housing (1 question)",
        "- Question 5: Khi nào phường cấp giấy chứng nhận đất ở cho khóm 3?",
        "",
    ]
    everything = "\n".join(_lines(Document(str(path)).element.body))
    for absent in (
        "Cán bộ khóm thu tiền",  # the sensitive text
        "Cho hỏi mức vay",  # the merged duplicate
        "chưa được duyệt",  # not moderated
        "không phù hợp",  # rejected
        NAMED,  # the minutes name no citizen, even one who asked by name
        "Anonymous asker",
    ):
        assert absent not in everything


def test_the_answers_commitments_and_forwarded_questions_are_recorded(tmp_path, database_url):
    _, path, _ = _minutes(tmp_path, database_url, *MINUTES_OPTIONS)
    document = Document(str(path))

    text = [p.text for p in document.paragraphs]
    answers = text[text.index("II. ANSWERS GIVEN") + 1 : text.index("III. COMMITMENTS")]
    assert answers == [
        "- Question 1 – Social Policy Bank, answered at the dialogue: Hộ cận nghèo được vay tối "
        "đa 100 triệu đồng, lãi suất ưu đãi;",
        "- Question 2 – Labour, Invalids and Social Affairs Office: Phòng sẽ rà soát lại hồ sơ "
        "của hộ theo đúng quy trình;",
        "- Question 5 – Ward / Commune People's Committee: answered at the dialogue.",
        "",
    ]
    commitments = document.tables[1]
    rows = [[cell.text for cell in row.cells] for row in commitments.rows]
    assert rows == [
        ["Item", "Agency", "Commitment content", "Deadline", "Responsible"],
        [
            "1",
            "Labour, Invalids and Social Affairs Office",
            "Rà soát lại hồ sơ của hộ và trả lời bằng văn bản",
            dmy(day(20)),
            "Phòng LĐTBXH và UBND Phường 7",
        ],
        [
            "2",
            "Ward / Commune People's Committee",
            "Tổ chức lớp hướng dẫn làm hồ sơ vay vốn",
            dmy(day(-5)),
            "UBND Phường 7",
        ],
        [
            "3",
            "Labour, Invalids and Social Affairs Office",
            "(sensitive content, not recorded)",  # it would tell the sensitive question
            dmy(day(10)),
            "Thanh tra thành phố",
        ],
    ]
    assert commitments._tbl.xpath('.//w:tblBorders/w:insideH[@w:val="single"]')
    assert commitments.rows[0]._tr.xpath("./w:trPr/w:tblHeader")  # repeated on each page
    forwarded = text[text.index("IV. QUESTIONS NOT ANSWERED, FORWARDED TO THEIR AGENCIES") + 1]
    assert forwarded == f"- Question 4: forwarded to Health Office, to answer by {dmy(day(-3))}."


def test_the_minutes_end_with_the_secretary_and_the_chair_signing_side_by_side(
    tmp_path, database_url
):
    _, path, _ = _minutes(tmp_path, database_url, *MINUTES_OPTIONS)

    signatures = Document(str(path)).tables[-1]
    secretary, chair = signatures.rows[0].cells
    assert _lines(secretary._tc) == ["SECRETARY", "(Signature and full name)", "", "Lê Thị Thư"]
    assert _lines(chair._tc) == ["CHAIR", "(Signature and full name)", "", "Nguyễn Văn Chủ"]
    assert not signatures._tbl.xpath('.//w:tblBorders/*[@w:val!="nil"]')


def test_every_run_of_the_minutes_is_times_new_roman_on_a4_with_the_decrees_margins(
    tmp_path, database_url
):
    _, path, _ = _minutes(tmp_path, database_url, *MINUTES_OPTIONS)
    document = Document(str(path))

    runs = list(document.element.body.iter(qn("w:r")))
    assert len(runs) > 50
    for run in runs:
        fonts = run.find(qn("w:rPr")).find(qn("w:rFonts"))
        for script in ("ascii", "hAnsi", "eastAsia", "cs"):
            assert fonts.get(qn(f"w:{script}")) == FONT
        size = run.find(qn("w:rPr")).find(qn("w:sz"))
        if run.xpath("./w:t"):
            assert int(size.get(qn("w:val"))) in (26, 28)  # 13 or 14 points
    (section,) = document.sections
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    assert 20 <= round(section.top_margin.mm) <= 25 and 20 <= round(section.bottom_margin.mm) <= 25
    assert 30 <= round(section.left_margin.mm) <= 35
    assert 15 <= round(section.right_margin.mm) <= 20


def test_the_minutes_in_vietnamese_keep_the_decrees_formulas(tmp_path, database_url):
    _, path, _ = _minutes(tmp_path, database_url, *MINUTES_OPTIONS, locale="vi")

    document = Document(str(path))
    lines = _lines(document.tables[0]._tbl)
    assert NATIONAL_NAME in lines and MOTTO in lines
    assert "Số: 05/BB-MTTQ" in lines
    assert "Phường 7, ngày 26 tháng 4 năm 2026" in lines
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Hộ nghèo, cận nghèo, mới thoát nghèo" in text


def test_no_part_of_either_file_identifies_the_anonymous_asker(tmp_path, database_url):
    built = build(database_url)
    minutes, sheet = tmp_path / "bien-ban.docx", tmp_path / "cau-hoi.xlsx"

    for command, path in (("minutes", minutes), ("questions", sheet)):
        result = export(command, str(built.dialogue), "--out", str(path), url=database_url)
        assert result.exit_code == 0, result.output

    _nothing_of_the_anonymous_asker_in(minutes)
    _nothing_of_the_anonymous_asker_in(sheet)
    for value in _cells(sheet):
        for secret in (HIDDEN_NAME, HIDDEN_PHONE, HIDDEN_CHAT):
            assert secret not in value
    assert load_workbook(sheet).properties.creator == "doithoai"


def test_without_options_the_minutes_are_written_here_with_blanks_to_fill_in(
    tmp_path, database_url, monkeypatch
):
    built = build(database_url)
    monkeypatch.chdir(tmp_path)

    result = export("minutes", str(built.dialogue), url=database_url)

    assert result.exit_code == 0, result.output
    path = tmp_path / f"bien-ban-doi-thoai-{built.dialogue}.docx"
    assert path.exists()
    document = Document(str(path))
    lines = _lines(document.tables[0]._tbl)
    assert lines[0] == "FATHERLAND FRONT COMMITTEE OF PHƯỜNG 7"
    assert "No. ……………" in lines and "Phường 7, 26 April 2026" in lines
    text = [p.text for p in document.paragraphs]
    assert "Chair: …………………………" in text


# --- the spreadsheet -------------------------------------------------------------------------


def _questions_sheet(tmp_path: Path, url: str):
    built = build(url)
    path = tmp_path / "cau-hoi.xlsx"
    result = export("questions", str(built.dialogue), "--out", str(path), url=url)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"Written: {path}",
        "Questions: 8, answers: 2, commitments: 3.",
    ]
    return built, load_workbook(path)


def test_the_spreadsheet_lists_every_question_with_its_asker_status_and_answer(
    tmp_path, database_url
):
    built, workbook = _questions_sheet(tmp_path, database_url)

    assert workbook.sheetnames == ["Questions", "Commitments", "Summary"]
    sheet = workbook["Questions"]
    header = [cell.value for cell in sheet[1]]
    assert header == [
        "Ticket",
        "Sent on",
        "Topic",
        "Agency",
        "Asker",
        "Question text",
        "Sensitive",
        "Question status",
        "People asking the same",
        "Answer",
        "Answered at the dialogue",
        "Answer due",
        "Overdue",
    ]
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:M9"
    assert sheet.column_dimensions["F"].width >= 40
    assert sheet["F2"].alignment.wrap_text
    rows = {
        row[0]: dict(zip(header, row, strict=True))
        for row in sheet.iter_rows(min_row=2, values_only=True)
    }
    tickets = built.tickets
    assert len(rows) == 8

    loan = rows[tickets["loan"]]
    assert loan["Asker"] == "Anonymous asker"
    assert loan["Sent on"] == datetime(2026, 4, 10)  # a real date, not text
    assert loan["Topic"] == "Credit and loans" and loan["Agency"] == "Social Policy Bank"
    assert loan["Question status"] == "Answered" and loan["People asking the same"] == 2
    assert loan["Answer"].startswith("Hộ cận nghèo được vay tối đa 100 triệu đồng")
    assert loan["Answered at the dialogue"] == "Yes"

    merged = rows[tickets["loan_again"]]
    assert merged["Asker"] == NAMED  # asked by name: the display name, nothing more
    assert merged["Question status"] == f"Merged into #{tickets['loan']}"

    sensitive = rows[tickets["bribe"]]
    assert sensitive["Question text"] == "Cán bộ khóm thu tiền khi xét hộ nghèo"
    assert sensitive["Sensitive"] == "Yes"
    assert rows[tickets["loan"]]["Sensitive"] is None

    card = rows[tickets["card"]]
    assert card["Question status"] == "Waiting for an answer"
    assert card["Answer due"] == datetime.combine(day(-3), datetime.min.time())
    assert card["Overdue"] == "Yes"
    assert rows[tickets["unread"]]["Question status"] == "Waiting for moderation"
    assert rows[tickets["refused"]]["Question status"] == "Rejected"
    assert rows[tickets["land"]]["Answered at the dialogue"] == "Yes"

    for row in sheet.iter_rows(min_row=2):
        sent, due = row[1], row[11]
        assert sent.is_date and sent.number_format == "dd/mm/yyyy"
        if due.value is not None:
            assert due.is_date and due.number_format == "dd/mm/yyyy"


def test_the_spreadsheet_follows_the_commitments_and_sums_up_by_topic_and_status(
    tmp_path, database_url
):
    built, workbook = _questions_sheet(tmp_path, database_url)

    sheet = workbook["Commitments"]
    header = [cell.value for cell in sheet[1]]
    assert header[:8] == [
        "Item",
        "Agency",
        "Commitment content",
        "Deadline",
        "Responsible",
        "Commitment status",
        "Fulfilled on",
        "Overdue",
    ]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref
    rows = [
        dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2, values_only=True)
    ]
    assert [row["Item"] for row in rows] == [1, 2, 3]
    review, training, inspect = rows
    assert review["Deadline"] == datetime.combine(day(20), datetime.min.time())
    assert review["Ticket"] == built.tickets["removed"]
    assert (review["Commitment status"], review["Overdue"]) == ("In progress", None)
    assert (training["Commitment status"], training["Overdue"]) == ("In progress", "Yes")
    assert (inspect["Commitment status"], inspect["Overdue"]) == ("Fulfilled", None)
    assert inspect["Fulfilled on"] == datetime.combine(day(-1), datetime.min.time())
    assert sheet["D2"].number_format == "dd/mm/yyyy" and sheet["G4"].number_format == "dd/mm/yyyy"

    summary = workbook["Summary"]
    table = [list(row) for row in summary.iter_rows(values_only=True)]
    header = table[0]
    assert header[0] == "Topic" and header[-1] == "Total"
    by_topic = {row[0]: dict(zip(header, row, strict=True)) for row in table[1:]}
    assert by_topic["Credit and loans"]["Answered"] == 1
    assert by_topic["Credit and loans"]["Merged"] == 1
    assert by_topic["Credit and loans"]["Total"] == 2
    assert by_topic["Health and health insurance"]["Waiting for moderation"] == 1
    assert by_topic["Total"]["Total"] == 8
    assert all(cell.font.bold for cell in summary[summary.max_row])


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["minutes", "questions"])
def test_an_unknown_dialogue_is_one_line_and_exit_1(tmp_path, database_url, command):
    folder = tmp_path / "out"
    folder.mkdir()

    result = export(command, "999", "--out", str(folder / "x"), url=database_url)

    assert result.exit_code == 1
    assert result.stderr == "There is no dialogue 999.\n"
    assert list(folder.iterdir()) == []


def test_the_general_intake_has_no_minutes(tmp_path, database_url):
    folder = tmp_path / "out"
    folder.mkdir()

    # The intake is number 0 (migration 0009): the first dialogue planned is number 1.
    result = export("minutes", "0", "--out", str(folder / "x.docx"), url=database_url)

    assert result.exit_code == 1
    assert result.stderr == (
        "Dialogue 0 is the standing intake for general questions: it has no minutes.\n"
    )
    assert list(folder.iterdir()) == []


def test_the_questions_of_the_general_intake_can_be_exported(tmp_path, database_url):
    path = tmp_path / "chung.xlsx"

    result = export("questions", "0", "--out", str(path), url=database_url)

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "Questions: 0, answers: 0, commitments: 0."
    assert [c.value for c in load_workbook(path)["Questions"][1]][0] == "Ticket"


@pytest.mark.parametrize("command", ["minutes", "questions"])
def test_a_file_that_cannot_be_written_is_one_line_and_exit_2(tmp_path, database_url, command):
    built = build(database_url)
    missing = tmp_path / "no-such-folder" / "out.file"

    result = export(command, str(built.dialogue), "--out", str(missing), url=database_url)

    assert result.exit_code == 2
    assert result.stderr.startswith(f"Cannot write {missing}: ")
    assert len(result.stderr.splitlines()) == 1


def test_a_database_behind_the_code_is_said_as_for_the_other_commands(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"

    result = export("minutes", "2", "--out", str(tmp_path / "x.docx"), url=url)

    assert result.exit_code == 2
    assert "doithoai db upgrade" in result.stderr
    assert not (tmp_path / "x.docx").exists()


# --- the file as LibreOffice opens it --------------------------------------------------------

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_opens_the_minutes_and_prints_them_to_pdf(tmp_path, sqlite_url):
    _, path, _ = _minutes(tmp_path, sqlite_url, *MINUTES_OPTIONS, locale="vi")
    assert SOFFICE is not None

    result = subprocess.run(
        [
            SOFFICE,
            # A profile of its own: a LibreOffice already open would take the job and return.
            f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "bien-ban.pdf").read_bytes().startswith(b"%PDF")


def test_a_question_answered_after_its_deadline_is_no_longer_overdue(tmp_path, database_url):
    built = build(database_url)

    async def answer_card() -> None:
        engine = create_engine(database_url)
        async with session_factory(engine)() as session, session.begin():
            await session.execute(
                update(Question)
                .where(Question.ticket == built.tickets["card"])
                .values(status="answered")
            )
        await engine.dispose()

    asyncio.run(answer_card())
    path = tmp_path / "cau-hoi.xlsx"
    assert (
        export("questions", str(built.dialogue), "--out", str(path), url=database_url).exit_code
        == 0
    )
    sheet = load_workbook(path)["Questions"]
    card = next(
        row
        for row in sheet.iter_rows(min_row=2, values_only=True)
        if row[0] == built.tickets["card"]
    )
    assert card[12] is None  # answered: no longer overdue, though its deadline has passed
