"""`doithoai demo`: a scripted conversation on a fresh temporary SQLite database, printed.

Lan asks one question with her name and one anonymously, then looks at "my questions". Then
the other half of the circle: Mai, the ward's facilitator, and Hoa, an official of the labour
office, take their roles with one-time codes; Mai approves the questions, Hoa answers the
anonymous one, and the answer comes back to Lan, who says she is satisfied.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from bot.channels.console import ConsoleChannel
from bot.core.clock import utcnow
from bot.core.config import load_settings
from bot.core.i18n import Translator
from bot.runtime import Runtime
from storage import staff
from storage.db import upgrade
from storage.dialogues import create_dialogue

USER = "lan"
NAME = "Nguyễn Thị Lan"
PEOPLE = {"lan": NAME, "mai": "Trần Thị Mai (MTTQ)", "hoa": "Lê Thị Hoa (Phòng LĐ-TB&XH)"}
WARD = "Phường 7"

# (who, what they do, with what): "say" types a line, "press" the button whose data matches
# the pattern (its data, not its label: the script plays in any language); "{code}" is the
# person's one-time staff code.
SCRIPT: list[tuple[str, str, str]] = [
    ("lan", "say", "/start"),
    ("lan", "press", r"^c:ok:"),
    ("lan", "say", "/hoi"),
    ("lan", "press", r":t:tindung$"),
    (
        "lan",
        "say",
        "Hộ tôi mới thoát nghèo năm nay, có còn được vay vốn ưu đãi để nuôi bò không?",
    ),
    ("lan", "press", r":named$"),
    ("lan", "press", r":send$"),
    ("lan", "say", "/hoi"),
    ("lan", "press", r":t:rasoat$"),
    ("lan", "say", "Vì sao nhà ông Tư bên cạnh có xe hơi mà vẫn được xếp hộ cận nghèo?"),
    ("lan", "press", r":anon$"),
    ("lan", "press", r":send$"),
    ("lan", "say", "/cauhoi"),
    ("mai", "say", "/start {code}"),
    ("mai", "press", r"^c:ok:"),
    ("mai", "say", "/duyet"),
    ("mai", "press", r"^s:a:"),
    ("mai", "press", r"^s:a:"),
    ("hoa", "say", "/start {code}"),
    ("hoa", "press", r"^c:ok:"),
    ("hoa", "say", "/hopthu"),
    ("hoa", "press", r"^o:q:"),
    ("hoa", "press", r"^o:a:"),
    (
        "hoa",
        "say",
        "Việc xếp hộ cận nghèo dựa trên thu nhập và mức thiếu hụt dịch vụ xã hội cơ bản, không "
        "chỉ tài sản. Phường sẽ rà soát lại hộ này trong đợt rà soát tháng 12 và công khai kết "
        "quả tại nhà văn hóa khóm.",
    ),
    ("hoa", "press", r"^o:pub:"),
    ("lan", "press", r"^f:.*:y$"),
]


async def play(write: Callable[[str], None] = print, *, locale: str = "vi") -> None:
    with tempfile.TemporaryDirectory(prefix="doithoai-demo-") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'demo.db'}"
        await asyncio.to_thread(upgrade, url)  # Alembic runs its own event loop
        settings = load_settings(
            database_url=url, secret_key=secrets.token_hex(32), default_locale=locale
        )
        runtime = Runtime(settings)
        console = ConsoleChannel(write, names=PEOPLE)
        runtime.add_channel(console)
        t = Translator(locale, settings.zone)
        try:
            async with runtime.sessions() as session, session.begin():
                starts = (utcnow() + timedelta(days=10)).astimezone(settings.zone)
                starts = starts.replace(hour=8, minute=0, second=0, microsecond=0)
                await create_dialogue(
                    session,
                    title="Đối thoại chính sách giảm nghèo phường 7",
                    starts_at=starts,
                    venue="Hội trường UBND phường 7",
                    question_deadline=starts - timedelta(days=2),
                    wards=[WARD],
                )
                codes = {}
                for user, role, extra in (
                    ("mai", "facilitator", {"ward": WARD}),
                    ("hoa", "official", {"agency": "ldtbxh"}),
                ):
                    _, codes[user] = await staff.invite(
                        session,
                        role=role,
                        name=PEOPLE[user],
                        now=utcnow(),
                        valid_for=timedelta(days=settings.staff_code_days),
                        **extra,
                    )
            write(
                t._("doithoai demo: {name} talks to the bot on a fresh database.").format(name=NAME)
            )
            for user, action, value in SCRIPT:
                name = PEOPLE[user]
                if action == "press":
                    buttons = console.buttons_for(user)
                    number = next(
                        i for i, b in enumerate(buttons, start=1) if re.search(value, b.data)
                    )
                    write(f"\n👤 {name}: [{number}] {buttons[number - 1].label}")
                    line = str(number)
                else:
                    line = value.replace("{code}", codes.get(user, ""))
                    write(f"\n👤 {name}: {line}")
                await runtime.dispatcher.dispatch(
                    console.parse(console.typed(user, line, display_name=name))
                )
                await runtime.outbox.drain(console.name)
        finally:
            await runtime.close()
