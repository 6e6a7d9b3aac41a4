"""The consultation's commands end to end in a terminal: a bad plan refused whole with every
error by line, a plan stored, shown, opened (announced once to the linked households of its
audience), its results with margins and small groups folded, the charts, the quick and the
synthesis reports (python-docx and LibreOffice), the export, the themes, the adoption decisions
and their push to those who answered."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.core.anonymity import Sealer
from bot.core.messages import Address
from storage import consultations as store
from storage.db import create_engine, session_factory
from storage.links import link
from storage.models import Household, OutboxMessage

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
REGISTRY = FIXTURES / "households" / "phuong7.csv"
PLAN = FIXTURES / "consultations" / "plan.yaml"
BAD_PLAN = FIXTURES / "consultations" / "bad_plan.yaml"
SECRET = "s" * 40
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


def _doithoai(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOITHOAI_")}
    env.update({"DOITHOAI_SECRET_KEY": SECRET, "COLUMNS": "200"})
    return subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


async def _in_db(url: str, work):
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session, session.begin():
            return await work(session)
    finally:
        await engine.dispose()


def test_a_plan_with_errors_is_refused_whole_with_every_error_by_line(tmp_path):
    _ok(_doithoai(tmp_path, "db", "upgrade"))
    result = _doithoai(tmp_path, "consultation", "create", str(BAD_PLAN))
    assert result.returncode == 1
    errors = result.stderr
    assert "Kế hoạch bị từ chối (7 lỗi); chưa lưu gì:" in errors, errors
    for line, words in [
        (4, "phân loại hộ không hợp lệ rich"),
        (6, "thời gian kết thúc trước thời gian bắt đầu"),
        (8, "many không phải số phiếu"),
        (13, "câu hỏi lựa chọn cần từ 2 đến 10 phương án"),
        (14, "id agree bị dùng hai lần"),
        (15, "type phải là một trong: single, multiple, scale, text"),
        (20, "if: nothere không phải câu hỏi trước đó"),
    ]:
        assert f"dòng {line}: {words}" in errors, errors
    assert "Traceback" not in errors
    listed = _ok(_doithoai(tmp_path, "consultation", "list"))
    assert "Kế hoạch có lỗi" not in listed

    broken = tmp_path / "broken.yaml"
    broken.write_text("title: [unclosed\n", encoding="utf-8")
    result = _doithoai(tmp_path, "consultation", "create", str(broken))
    assert result.returncode == 1 and "không phải YAML hợp lệ" in result.stderr
    assert "Traceback" not in result.stderr
    laughs = tmp_path / "laughs.yaml"
    laughs.write_text(
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
        + "".join(
            f"{x}: &{x} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
            for p, x in zip("abcdefgh", "bcdefghi", strict=True)
        )
        + "title: *i\n",
        encoding="utf-8",
    )
    result = _doithoai(tmp_path, "consultation", "create", str(laughs))
    assert result.returncode == 1 and "không chấp nhận anchor và alias" in result.stderr
    deep = tmp_path / "deep.yaml"
    deep.write_text("title: " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    result = _doithoai(tmp_path, "consultation", "create", str(deep))
    assert result.returncode == 1 and "lồng quá sâu" in result.stderr
    assert "Traceback" not in result.stderr
    result = _doithoai(tmp_path, "consultation", "create", str(tmp_path / "missing.yaml"))
    assert result.returncode == 1 and "Không đọc được" in result.stderr


def test_an_xlsx_plan_is_read_like_the_yaml_one(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    plan = book.active
    plan.title = "Kế hoạch"
    for row in [
        ("Trường", "Giá trị"),
        ("title", "Lấy ý kiến về lịch thu gom rác"),
        ("wards", "Phường 7, Phường 8"),
        ("opens", "2026-11-01 08:00"),
        ("closes", "2030-11-30 17:00"),
        ("target poor", 20),
    ]:
        plan.append(row)
    questions = book.create_sheet("Câu hỏi")
    questions.append(("id", "type", "text", "choices", "required", "if"))
    questions.append(("time", "single", "Giờ thu gom nào hợp lý?", "Sáng|Chiều|Tối", "", ""))
    questions.append(("why", "text", "Vì sao?", "", "không", "time=Tối"))
    questions.append(("bad", "essay", "", "", "", ""))
    path = tmp_path / "plan.xlsx"
    book.save(path)
    _ok(_doithoai(tmp_path, "db", "upgrade"))
    result = _doithoai(tmp_path, "consultation", "create", str(path))
    assert result.returncode == 1
    assert "trang Câu hỏi, dòng 4: type phải là một trong" in result.stderr, result.stderr
    assert "trang Câu hỏi, dòng 4: bắt buộc phải có" in result.stderr
    questions.delete_rows(4)
    book.save(path)
    created = _ok(_doithoai(tmp_path, "consultation", "create", str(path)))
    assert "Đã tạo cuộc tham vấn 1" in created
    shown = _ok(_doithoai(tmp_path, "consultation", "show", "1"))
    assert "Sáng | Chiều | Tối" in shown and "chỉ hỏi khi time = Tối" in shown
    assert "có thể bỏ qua" in shown


def test_an_organiser_runs_a_consultation_from_plan_to_adoption(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'doithoai.db'}"
    _ok(_doithoai(tmp_path, "db", "upgrade"))
    _ok(_doithoai(tmp_path, "households", "import", str(REGISTRY)))
    created = _ok(_doithoai(tmp_path, "consultation", "create", str(PLAN)))
    assert "Đã tạo cuộc tham vấn 1: Lấy ý kiến dự thảo quy định hỗ trợ sửa chữa nhà ở" in created
    shown = _ok(_doithoai(tmp_path, "consultation", "show", "1"))
    assert "chỉ hỏi khi agree = Không đồng ý" in shown and "thang điểm 1-5" in shown
    assert "bản nháp" in shown

    sealer = Sealer(SECRET)
    now = datetime.now(UTC)

    async def linked_and_answered(session):
        households = list(await session.scalars(select(Household).order_by(Household.id)))
        chats = 0
        for number, household in enumerate(households[:30]):
            if household.ward in ("Phường 7", "Phường 8"):
                await link(
                    session,
                    household=household,
                    channel="telegram",
                    user_id=str(500 + number),
                    now=now,
                )
                chats += 1
        # Responses as the chat writes them: 14 poor, 6 near-poor, 3 others (too few to show).
        groups = ["poor"] * 14 + ["near_poor"] * 6 + ["other"] * 3
        for number, group in enumerate(groups):
            response = await store.start_response(
                session,
                consultation_id=1,
                respondent_hash=f"{number:064x}",
                reply_handle=sealer.seal(Address("telegram", f"9{number}")),
                group=group,
                ward="Phường 7",
            )
            answers = {
                "agree": "Không đồng ý" if number % 2 else "Đồng ý",
                "needs": ["Vật liệu"] if number % 3 else ["Vốn vay", "Ngày công"],
                "clear": 1 + number % 5,
                "idea": f"Nên hỗ trợ thêm cho hộ neo đơn số {number}." if number < 4 else None,
            }
            if number % 2:
                answers["why"] = "Mức hỗ trợ còn thấp."
            await store.submit(
                session,
                response=response,
                answers=answers,
                text_questions=["why", "idea"],
                on=date.today(),
            )
        return chats

    chats = asyncio.run(_in_db(url, linked_and_answered))
    opened = _ok(_doithoai(tmp_path, "consultation", "open", "1"))
    assert f"Đã xếp thông báo cho {chats} hộ" in opened
    again = _ok(_doithoai(tmp_path, "consultation", "open", "1"))
    assert "Đã xếp thông báo cho 0 hộ" in again

    async def announcements(session):
        return await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.key.startswith("consult:1:"))
        )

    assert asyncio.run(_in_db(url, announcements)) == chats

    results = _ok(
        _doithoai(tmp_path, "consultation", "results", "1", "--charts", str(tmp_path / "charts"))
    )
    assert "23 phiếu (chỉ tiêu 200)" in results, results
    assert "Hộ nghèo" in results and "dưới 5" in results and "⚠ chưa đạt chỉ tiêu" in results
    assert "Nhóm dưới 5 phiếu không bao giờ được hiển thị riêng." in results
    charts = sorted(p.name for p in (tmp_path / "charts").iterdir())
    assert charts == ["cau-01-agree.png", "cau-03-needs.png", "cau-04-clear.png"]
    assert (tmp_path / "charts" / "cau-01-agree.png").read_bytes().startswith(b"\x89PNG")

    listed = _ok(_doithoai(tmp_path, "consultation", "opinions", "1"))
    assert "Mức hỗ trợ còn thấp." in listed

    async def opinion_ids(session):
        found = await store.opinions(session, consultation_id=1)
        return sorted(o.id for o in found if o.question == "why"), sorted(
            o.id for o in found if o.question == "idea"
        )

    why, idea = asyncio.run(_in_db(url, opinion_ids))
    assert all(o in listed for o in why + idea)  # the numbers the facilitator types
    themed = _ok(
        _doithoai(
            tmp_path, "consultation", "theme", "1", "Mức hỗ trợ", "--opinions", ",".join(why[:6])
        )
    )
    assert "ý kiến thuộc chủ đề “Mức hỗ trợ”" in themed
    wrong = _doithoai(tmp_path, "consultation", "theme", "1", "Khác", "--opinions", "1,2;drop")
    assert wrong.returncode == 2 and "ghi số thứ tự các ý kiến" in wrong.stderr
    _ok(_doithoai(tmp_path, "consultation", "theme", "1", "Hộ neo đơn", "--opinions", idea[0]))
    _ok(_doithoai(tmp_path, "consultation", "theme", "1", "Người già", "--opinions", idea[1]))
    merged = _ok(_doithoai(tmp_path, "consultation", "merge", "1", "Hộ neo đơn", "Người già"))
    assert "đã được gộp vào" in merged
    refused = _doithoai(
        tmp_path, "consultation", "decide", "1", "Mức hỗ trợ", "--decision", "not_adopted"
    )
    assert refused.returncode == 2 and "xin ghi lý do không tiếp thu" in refused.stderr
    _ok(
        _doithoai(
            tmp_path,
            "consultation",
            "decide",
            "1",
            "Mức hỗ trợ",
            "--decision",
            "not_adopted",
            "--reason",
            "Ngân sách năm 2027 không cho phép tăng mức hỗ trợ.",
        )
    )
    _ok(
        _doithoai(
            tmp_path,
            "consultation",
            "decide",
            "1",
            "Hộ neo đơn",
            "--decision",
            "adopted",
            "--change",
            "Thêm hộ neo đơn vào đối tượng ưu tiên (Điều 3).",
        )
    )
    published = _ok(_doithoai(tmp_path, "consultation", "publish", "1"))
    # The respondents' chats have no account here (they were written straight to the table).
    assert "0 người" in published

    quick = tmp_path / "bao-cao-nhanh.docx"
    _ok(_doithoai(tmp_path, "consultation", "report", "1", "--kind", "quick", "--out", str(quick)))
    document = Document(str(quick))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "BÁO CÁO NHANH" in text and "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in "\n".join(
        c.text for t in document.tables for row in t.rows for c in row.cells
    )
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert headings == ["1. Số liệu", "2. Những phát hiện chính", "3. Các ý kiến nêu nhiều nhất"]
    assert "Mức hỗ trợ: 6 ý kiến." in text
    sample = document.tables[1]
    rows = [[c.text for c in row.cells] for row in sample.rows]
    assert rows[0] == ["Nhóm", "Phiếu trả lời", "Chỉ tiêu", "Sai số (95 %)", "Mẫu"]
    assert ["Hộ nghèo", "14", "60", "±26,2", "chưa đạt"] in rows
    assert ["Các hộ khác", "dưới 5", "60", "–", "chưa đạt"] in rows or any(
        r[1] == "dưới 5" for r in rows
    )

    synthesis = tmp_path / "bao-cao-tong-hop.docx"
    _ok(
        _doithoai(
            tmp_path, "consultation", "report", "1", "--kind", "synthesis", "--out", str(synthesis)
        )
    )
    document = Document(str(synthesis))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert headings[0] == "I. Phương pháp" and headings[-1] == "V. Đề xuất"
    assert len(document.inline_shapes) == 3  # a chart per choice question
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Thêm hộ neo đơn vào đối tượng ưu tiên" in text
    adoption = document.tables[-1]
    decided = [[c.text for c in row.cells] for row in adoption.rows]
    assert [
        "Mức hỗ trợ",
        "6",
        "Không tiếp thu",
        "Ngân sách năm 2027 không cho phép tăng mức hỗ trợ.",
    ] in decided

    export = tmp_path / "tham-van.xlsx"
    _ok(_doithoai(tmp_path, "consultation", "export", "1", "--out", str(export)))
    book = load_workbook(export)
    assert book.sheetnames == ["Phiếu trả lời", "Ý kiến", "Chủ đề"]
    responses = list(book["Phiếu trả lời"].iter_rows(values_only=True))
    assert len(responses) == 24
    assert {r[1] for r in responses[1:]} == {"Hộ nghèo", "Hộ cận nghèo", "các nhóm khác"}

    # Nothing of a household in the documents: no name, phone or household code.
    registry = REGISTRY.read_text(encoding="utf-8").splitlines()[1:]
    names = [line.split(",")[2] for line in registry]
    everything = (
        "\n".join(p.text for p in Document(str(quick)).paragraphs)
        + "\n".join(p.text for p in document.paragraphs)
        + repr(responses)
    )
    for name in names:
        assert name not in everything
    assert "P7-0" not in everything

    if SOFFICE is not None:
        result = subprocess.run(
            [
                SOFFICE,
                f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                str(tmp_path),
                str(synthesis),
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        assert (tmp_path / "bao-cao-tong-hop.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("command", ["show", "open", "close", "results"])
def test_an_unknown_consultation_is_one_clear_line(tmp_path, command):
    _ok(_doithoai(tmp_path, "db", "upgrade"))
    result = _doithoai(tmp_path, "consultation", command, "42")
    assert result.returncode == 1
    assert result.stderr.strip() == "Không có cuộc tham vấn 42."
