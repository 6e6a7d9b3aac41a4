"""One register for the people the bot serves, many of them elderly: every Vietnamese text a
citizen receives addresses them as ông/bà (or by name), never "bạn". Only the texts for staff
(officials and facilitators, colleagues of the ward) keep "bạn"."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from babel.messages.pofile import read_po

from bot.core.i18n import LOCALES_DIR, Translator
from bot.core.messages import Reply
from bot.services.invitations import InvitationTemplate
from storage.models import Dialogue

# The staff's texts (inbox, moderation, roles): the only ones left with "bạn".
STAFF = {
    "#{ticket} is not in your inbox now: the facilitator has it.",
    "#{ticket} was answered at the dialogue. You can type a short summary of the answer given "
    "there, and it will go to the asker and the followers. Or press Skip.",
    "#{ticket} was forwarded to {agency}. It has left your inbox.",
    "/hopthu – the questions for your agency: answer, commit, forward",
    "Not your ward.",
    "The page you asked for does not exist or has been moved.",
    "This commitment is not your agency's.",
    "This question is not for your agency.",
    "This question is not in your agency's inbox.",
    "This question is not in your inbox any more.",
    "This staff code has been withdrawn. Please ask whoever gave it to you.",
    "This is for the officials who answer for an agency; you are the facilitator of your ward. "
    "Type /trogiup to see what you can do.",
    "This is for the ward's facilitator; you are an official of your agency. Type /trogiup to see "
    "what you can do.",
    "You are now an official of {agency}.",
    "You are now the facilitator of {ward}.",
    "You can use:",
    "Your agency has no open commitments.",
}
BAN = re.compile(r"\bbạn\b", re.IGNORECASE)


def test_no_text_a_citizen_receives_calls_them_ban():
    with (LOCALES_DIR / "vi" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale="vi")
    informal = []
    for message in catalog:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        strings = [message.string] if isinstance(message.string, str) else message.string
        if key not in STAFF and any(BAN.search(s) for s in strings):
            informal.append(key)
    assert informal == []


def test_an_invitation_addresses_the_head_by_name_and_keeps_that_register_to_the_end():
    dialogue = Dialogue(
        id=3,
        title="Đối thoại chính sách giảm nghèo 2026",
        starts_at=datetime(2026, 12, 2, 1, 0, tzinfo=UTC),
        venue="Hội trường UBND Phường 7",
        question_deadline=None,
        topics=["giamngheo"],
    )
    template = InvitationTemplate.compose(Translator("vi"), dialogue)
    for gender, salutation in (("female", "Bà"), ("male", "Ông"), ("", "Ông/Bà")):
        reply: Reply = template.reply(name="Nguyễn Thị Lan", gender=gender, invitation_id=7)
        assert reply.text.startswith(f"Kính mời {salutation} Nguyễn Thị Lan tham dự")
        assert not BAN.search(reply.text), reply.text
        assert "Câu hỏi có thể gửi trước buổi đối thoại bằng lệnh /hoi" in reply.text
        assert reply.text.endswith("Kính đề nghị cho biết có tham dự hay không:")
