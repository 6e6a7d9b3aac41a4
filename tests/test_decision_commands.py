"""`doithoai dialogue decide` and `decisions` refuse what a person may type wrong with one clear
line, before touching anything: an unknown decision, a refusal without its reason, a text too
long, a subject that is no ticket or commitment, one that does not exist, a dialogue that does
not exist."""

from __future__ import annotations

import pytest

from tests.support.cli import in_process


@pytest.fixture
def folder(tmp_path):
    result = in_process(tmp_path, "db", "upgrade")
    assert result.exit_code == 0, result.output
    return tmp_path


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["ABCDEF", "--decision", "maybe"], "--decision: hãy chọn một trong: adopted | partly | not | study"),
        (["ABCDEF", "--decision", "partly"], "--reason: xin ghi lý do không tiếp thu"),
        (["ABCDEF", "--decision", "not", "--reason", " "], "--reason: xin ghi lý do không tiếp thu"),
        (["ABCDEF", "--decision", "adopted", "--change", "x" * 2001], "--reason/--change: tối đa 2000 ký tự"),
        (["ABC;DROP", "--decision", "adopted"], "Hãy ghi mã câu hỏi, hoặc chữ c và số cam kết, ví dụ c12."),
        (["x" * 300, "--decision", "adopted"], "Hãy ghi mã câu hỏi, hoặc chữ c và số cam kết, ví dụ c12."),
        (["ABCDEF", "--decision", "adopted"], "Không có câu hỏi #ABCDEF."),
        (["#c12", "--decision", "study"], "Không có câu hỏi #C12."),
        (["c12", "--decision", "study"], "Không có câu hỏi hay cam kết c12."),
    ],
)  # fmt: skip
def test_a_decision_that_cannot_be_recorded_is_refused_in_one_line(folder, args, line):
    result = in_process(folder, "dialogue", "decide", *args)
    assert result.exit_code == 2
    assert result.output.strip() == line
    assert "Traceback" not in result.output


def test_the_decisions_of_an_unknown_dialogue_are_one_line(folder):
    result = in_process(folder, "dialogue", "decisions", "987")
    assert result.exit_code == 1
    assert result.output.strip() == "Không có buổi đối thoại số 987."


def test_a_dialogue_without_decisions_says_so(folder):
    result = in_process(folder, "dialogue", "decisions", "0")  # the general intake
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Buổi đối thoại này chưa có kết quả tiếp thu nào."
