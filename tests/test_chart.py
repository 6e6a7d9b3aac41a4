"""The digest's chart: a portrait PNG for a phone, drawn for no data and for a full ward, with
every Vietnamese letter in the font and the same bytes for the same data."""

from __future__ import annotations

import warnings

from bot.core.i18n import Translator
from bot.documents.chart import MAX_ROWS, Bars, DigestChart, _capped, render
from storage.topics import AGENCIES, TOPICS

VI = Translator("vi")
STATES = ("Chờ duyệt", "Chờ trả lời", "Đã trả lời", "Có cam kết")


def size_of(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def chart(**fields: object) -> DigestChart:
    base: dict[str, object] = {
        "title": "Báo cáo ngày 21/11/2026",
        "subtitle": "Phường 7",
        "topics_heading": "Câu hỏi theo chủ đề",
        "states": STATES,
        "no_questions": "Chưa có câu hỏi nào",
        "overdue_heading": "Quá hạn theo cơ quan",
        "overdue_parts": ("Câu hỏi", "Cam kết"),
        "nothing_overdue": "Không có việc quá hạn",
        "others": "Còn lại",
    }
    base.update(fields)
    return DigestChart(**base)  # type: ignore[arg-type]


FULL = chart(
    topics=tuple(
        Bars(VI._(topic.name), (n % 3, n, n % 2, 1)) for n, topic in enumerate(TOPICS.values())
    ),
    overdue=tuple(Bars(VI._(agency.name), (n, 1)) for n, agency in enumerate(AGENCIES.values())),
)


def test_an_empty_ward_still_gets_a_portrait_chart_for_a_phone():
    png = render(chart())
    assert size_of(png) == (900, 1200)
    assert 5_000 < len(png) < 1_000_000


def test_a_full_ward_gets_the_same_size_and_a_picture_worth_sending():
    png = render(FULL)
    assert size_of(png) == (900, 1200)
    assert len(png) > len(render(chart()))  # bars, names and numbers were drawn
    assert len(png) < 1_000_000  # quick to download on a slow connection


def test_every_vietnamese_letter_is_in_the_font():
    with warnings.catch_warnings():
        # matplotlib warns "Glyph ... missing from font(s)" for a letter it cannot draw.
        warnings.simplefilter("error")
        render(
            chart(
                title="Ắ ẵ ặ ầ ẩ ẫ ậ ế ề ể ễ ệ ố ồ ổ ỗ ộ ớ ờ ở ỡ ợ ứ ừ ử ữ ự ỳ ỷ ỹ ỵ đ Đ",
                topics=(Bars("Thủ tục hưởng trợ cấp xã hội cho người cao tuổi", (1, 2, 3, 4)),),
            )
        )


def test_the_same_data_gives_the_same_bytes():
    assert render(FULL) == render(FULL)
    assert b"Matplotlib" not in render(FULL)  # no version (nor date) in the metadata


def test_rows_beyond_what_a_phone_shows_are_summed_into_one():
    bars = tuple(Bars(f"Chủ đề {n}", (n, 1)) for n in range(MAX_ROWS + 3))
    kept = _capped(bars, "Còn lại")
    assert len(kept) == MAX_ROWS
    assert kept[0] == Bars(f"Chủ đề {MAX_ROWS + 2}", (MAX_ROWS + 2, 1))  # the largest first
    assert kept[-1].label == "Còn lại"
    assert sum(b.total for b in kept) == sum(b.total for b in bars)
