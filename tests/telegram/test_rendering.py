"""How a Reply becomes Telegram HTML: escaped, and split within Telegram's length."""

from __future__ import annotations

import html

from hypothesis import given
from hypothesis import strategies as st

from bot.channels.telegram import TEXT_LIMIT, render, split_text, utf16_length
from bot.core.messages import Reply
from tests.fakes.telegram_api import parse_html


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=9000))
def test_every_part_fits_and_nothing_but_separators_is_lost(text):
    parts = split_text(text, 500)
    assert all(utf16_length(part) <= 500 for part in parts)
    assert "".join(parts).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace(
        "\n", ""
    )


def test_emoji_count_twice_as_telegram_counts_them():
    text = "😀" * 3000  # 6000 UTF-16 units
    parts = split_text(text)
    assert [utf16_length(p) for p in parts] == [4096, 6000 - 4096]


def test_a_text_is_cut_at_a_paragraph_rather_than_mid_sentence():
    first = "Đoạn một. " * 300
    second = "Đoạn hai. " * 300
    parts = split_text(f"{first.strip()}\n\n{second.strip()}")
    assert parts == [first.strip(), second.strip()]


@given(st.text(max_size=200), st.text(max_size=5000))
def test_rendered_html_always_parses_and_shows_exactly_the_text(title, text):
    reply = Reply(text=text or "x", title=title)
    parts = render(reply)
    shown = []
    for part in parts:
        visible, _entities = parse_html(part)
        assert utf16_length(visible) <= TEXT_LIMIT
        shown.append(visible)
    assert html.unescape(parts[0]).startswith(f"<b>{title}</b>" if title else "")


def test_user_text_with_markup_characters_is_escaped():
    [part] = render(Reply(text="a < b & <script>", title="Tiêu đề <1>"))
    assert part == "<b>Tiêu đề &lt;1&gt;</b>\n\na &lt; b &amp; &lt;script&gt;"
