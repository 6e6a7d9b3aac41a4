"""`doithoai demo`: a scripted conversation on a fresh temporary SQLite database, printed.

Lan asks one question with her name and one anonymously, then looks at "my questions".
"""

from __future__ import annotations

import asyncio
import secrets
import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from bot.channels.console import ConsoleChannel
from bot.config import load_settings
from bot.dispatcher import utcnow
from bot.i18n import Translator
from bot.runtime import Runtime
from storage.db import upgrade
from storage.dialogues import create_dialogue

USER = "lan"
NAME = "Nguyễn Thị Lan"

# (what the person does, and with what): "say" types a line, "press" a button by its label.
SCRIPT: list[tuple[str, str]] = [
    ("say", "/start"),
    ("press", "✅"),
    ("say", "/hoi"),
    ("press", "Tín dụng"),
    ("say", "Hộ tôi mới thoát nghèo năm nay, có còn được vay vốn ưu đãi để nuôi bò không?"),
    ("press", "👤"),
    ("press", "✅"),
    ("say", "/hoi"),
    ("press", "Rà soát"),
    ("say", "Vì sao nhà ông Tư bên cạnh có xe hơi mà vẫn được xếp hộ cận nghèo?"),
    ("press", "🕶"),
    ("press", "✅"),
    ("say", "/cauhoi"),
]


async def play(write: Callable[[str], None] = print, *, locale: str = "vi") -> None:
    with tempfile.TemporaryDirectory(prefix="doithoai-demo-") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'demo.db'}"
        await asyncio.to_thread(upgrade, url)  # Alembic runs its own event loop
        settings = load_settings(
            database_url=url, secret_key=secrets.token_hex(32), default_locale=locale
        )
        runtime = Runtime(settings)
        console = ConsoleChannel(write)
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
                )
            write(
                t._("doithoai demo: {name} talks to the bot on a fresh database.").format(name=NAME)
            )
            for action, value in SCRIPT:
                if action == "press":
                    buttons = console.buttons_for(USER)
                    number = next(i for i, b in enumerate(buttons, start=1) if value in b.label)
                    write(f"\n👤 {NAME}: [{number}] {buttons[number - 1].label}")
                    line = str(number)
                else:
                    write(f"\n👤 {NAME}: {value}")
                    line = value
                await runtime.dispatcher.dispatch(console.parse(USER, line, display_name=NAME))
                await runtime.outbox.drain(console.name)
        finally:
            await runtime.close()
