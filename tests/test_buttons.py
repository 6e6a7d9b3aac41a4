"""The button codec: what the bot builds it reads back, and anything else is refused, never
raised on."""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core import buttons
from bot.core.buttons import About, Choice, Format, Int, Invalid, Pressed, Token
from bot.core.messages import clean_name, clean_text

CORPUS = json.loads(
    (Path(__file__).parent / "fixtures" / "hostile" / "chat.json").read_text(encoding="utf-8")
)


def field_values(field: buttons.Field) -> st.SearchStrategy:
    if isinstance(field, Int):
        return st.integers(field.low, field.high)
    if isinstance(field, Choice):
        return st.sampled_from(field.values)
    if isinstance(field, About):
        number = st.integers(0, buttons.INT_MAX)
        return st.one_of(
            number.map(lambda n: f"a{n}"),
            st.tuples(number, number).map(lambda p: f"c{p[0]}.{p[1]}"),
        )
    assert isinstance(field, Token)
    return st.from_regex(field.pattern, fullmatch=True)


@st.composite
def built(draw) -> tuple[Format, dict]:
    form = draw(st.sampled_from(buttons.FORMATS))
    fields = list(form.fields)
    values = {f.name: draw(field_values(f)) for f in fields}
    if form.optional and draw(st.booleans()):
        for f in fields[len(fields) - form.optional :]:
            values[f.name] = None
    return form, values


@settings(max_examples=1500, deadline=None)
@given(built())
def test_every_button_the_bot_can_build_fits_telegram_and_reads_back_the_same(case):
    form, values = case
    data = form.build(**values)
    assert len(data.encode()) <= buttons.DATA_LIMIT
    assert buttons.parse(data) == Pressed(
        form, tuple((f.name, values[f.name]) for f in form.fields)
    )


pieces = st.one_of(
    st.sampled_from(
        ["", "²", "-1", "0", "00", "1", "2147483647", "2147483648", "99999999999999999999"]
        + ["y", "n", "o", "yes", "vi", "en", "ask", "q", "k", "kl", "rr", "at", "d", "t"]
        + ["abc123", "ABC123", "a1", "c1.1", "c1.²", "١٢", "\x00", "ldtbxh", "rasoat"]
    ),
    st.text(alphabet=string.ascii_letters + string.digits + "²_-.", max_size=12),
    st.text(max_size=8),
)


@st.composite
def forged(draw) -> str:
    prefix = draw(st.sampled_from(sorted({f.prefix for f in buttons.FORMATS}) + ["z", "²"]))
    return ":".join([prefix, *draw(st.lists(pieces, max_size=5))])


@settings(max_examples=3000, deadline=None)
@given(st.one_of(forged(), st.text(max_size=80), st.binary(max_size=70).map(repr)))
def test_any_string_either_reads_as_a_valid_button_or_is_refused(data):
    pressed = buttons.parse(data)
    if pressed is None:
        return
    # Read back only as exactly what the bot builds for those values: nothing else passes.
    assert pressed.format.build(**dict(pressed.values)) == data
    assert data.isascii() and len(data.encode()) <= buttons.DATA_LIMIT
    for name, value in pressed.values:
        if isinstance(value, int):
            assert 0 <= value <= buttons.INT_MAX, name


@pytest.mark.parametrize("entry", CORPUS["buttons"], ids=[e["label"] for e in CORPUS["buttons"]])
def test_the_forged_buttons_of_the_corpus_are_all_refused(entry):
    assert buttons.parse(entry["data"]) is None


def test_values_a_button_cannot_carry_are_refused_when_it_is_built():
    with pytest.raises(Invalid):
        buttons.INVITATION.build(invitation=2**31, answer="y")  # over the INTEGER column
    with pytest.raises(Invalid):
        buttons.INVITATION.build(invitation=-1, answer="y")
    with pytest.raises(Invalid):
        buttons.INVITATION.build(invitation=True, answer="y")
    with pytest.raises(Invalid):
        buttons.INVITATION.build(invitation=1, answer="maybe")
    with pytest.raises(Invalid):
        buttons.SUPPORT.build(ticket="AB:CD")  # the separator inside a value
    with pytest.raises(Invalid):
        buttons.SUPPORT.build()  # a field left out
    with pytest.raises(Invalid):
        buttons.SUPPORT.build(ticket="ABC123", page=1)  # a field it has not


def test_data_over_telegrams_64_bytes_is_refused_when_it_is_built():
    wide = Format("test", ("t", Token("text", r"[a-z]{1,100}")))
    assert wide.build(text="a" * 62) == "t:" + "a" * 62  # 64 bytes: taken
    with pytest.raises(Invalid):
        wide.build(text="a" * 63)


def test_the_data_format_is_the_one_already_in_peoples_chats():
    # Buttons of messages sent before the codec, and those storage/invitations.py writes in SQL.
    assert buttons.INVITATION.build(invitation=12, answer="y") == "r:12:y"
    assert buttons.CONSENT.build(choice="ok", locale="vi", code="AB34CD67") == "c:ok:vi:AB34CD67"
    assert buttons.CONSENT.build(choice="no", locale="en") == "c:no:en"
    assert buttons.ASK_DIALOGUE.build(nonce="a1b2c3", dialogue=7) == "a:a1b2c3:d:7"
    assert buttons.FEEDBACK_REASON.build(ticket="ACD347", about="c7.2", reason=1) == (
        "f:ACD347:c7.2:r:1"
    )
    assert buttons.INBOX.build() == "o:i" and buttons.INBOX.build(page=2) == "o:i:2"
    assert buttons.ROOM_ATTENDANCE.build(invitation=5, page=0) == "g:at:5:0"
    for data in ("m:ask", "x:yes", "l:en", "u:b", "s:q", "g:r", "d:n", "o:k", "f:x"):
        assert buttons.parse(data) is not None, data


def test_text_is_cleaned_of_nul_controls_bidi_overrides_and_lone_surrogates():
    # Telegram's and Zalo's JSON cannot carry a lone surrogate, but a Python str can.
    assert clean_text("Câu hỏi \ud83d về\x00 trợ cấp\u202e") == "Câu hỏi  về trợ cấp"
    assert clean_text("a\r\nb\rc\td\x0be") == "a\nb\nc\tde"
    assert clean_text("x" * 5000) == "x" * 4096
    assert clean_name(" Lan \n\t Thị\x00 Hoa ") == "Lan Thị Hoa"
