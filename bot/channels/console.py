"""The terminal as a channel, for `doithoai console` and `doithoai demo`: no token, no network.

Buttons are shown numbered; the person answers with the number. A typed line becomes the
channel's raw update with `typed` (there is no webhook to verify), which `parse` reads.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from datetime import timedelta

from bot.core.messages import Address, Button, Delivery, Incoming, Kind, Reply, SendResult, Shown

NAME = "console"


class ConsoleChannel:
    name = NAME
    text_choices = False  # the numbers shown are kept here, in the terminal's own process
    rate = 1000.0  # a terminal has no limits worth keeping
    spacing = timedelta(0)

    def __init__(
        self, write: Callable[[str], None] = print, *, names: dict[str, str] | None = None
    ):
        self.write = write
        self.names = names or {}  # who each user id is, when several people share the terminal
        self._buttons: dict[str, list[Button]] = {}  # the last buttons shown to each person
        self._run = uuid.uuid4().hex[:8]
        self._count = 0

    async def send(self, address: Address, reply: Reply) -> Delivery:
        lines = []
        if self.names:
            lines.append(f"→ {self.names.get(address.user_id, address.user_id)}")
        if reply.title:
            lines.append(f"== {reply.title} ==")
        if reply.photo:
            # A terminal shows no image: its size says that it is there.
            lines.append(f"[🖼️ PNG, {max(1, round(len(reply.photo) / 1024))} KB]")
        lines.extend(reply.text.splitlines() or [""])
        buttons = [button for row in reply.buttons for button in row]
        for number, button in enumerate(buttons, start=1):
            lines.append(f"   [{number}] {button.label}")
        if reply.ask_phone:
            lines.append(f"   [{reply.ask_phone}: /phone 0912345678]")
        if buttons:
            self._buttons[address.user_id] = buttons
        self.write(
            "\n".join(f"  🤖 {line}" if i == 0 else f"     {line}" for i, line in enumerate(lines))
        )
        return Delivery(SendResult.SENT)

    def buttons_for(self, user_id: str) -> list[Button]:
        return list(self._buttons.get(user_id, ()))

    def verify(self, raw: bytes, headers: Mapping[str, str]) -> bool:
        """Nothing comes to the console over a webhook."""
        return False

    def typed(self, user_id: str, line: str, *, display_name: str = "") -> bytes:
        """A line typed in the terminal as the channel's raw update, with its own key."""
        self._count += 1
        update = {
            "key": f"{self._run}:{self._count}",
            "user_id": user_id,
            "line": line,
            "display_name": display_name,
        }
        return json.dumps(update, ensure_ascii=False).encode()

    def parse(self, raw: bytes) -> Incoming:
        """A typed line (see `typed`): a /command, a button's number, or text."""
        update = json.loads(raw)
        user_id, display_name = update["user_id"], update["display_name"]
        key, address, line = update["key"], Address(NAME, user_id), update["line"].strip()
        if line.startswith("/phone "):  # the terminal's stand-in for sharing one's number
            return Incoming(
                address, key, Kind.CONTACT, phone=line[7:].strip(), display_name=display_name
            )
        if line.startswith("/") and len(line) > 1:
            command, _, rest = line[1:].partition(" ")
            return Incoming(
                address,
                key,
                Kind.COMMAND,
                command=command.lower(),
                text=rest.strip(),
                display_name=display_name,
            )
        buttons = self._buttons.get(user_id, [])
        if line.isdigit() and 1 <= int(line) <= len(buttons):
            return Incoming(
                address,
                key,
                Kind.BUTTON,
                data=buttons[int(line) - 1].data,
                display_name=display_name,
            )
        return Incoming(address, key, Kind.TEXT, text=line, display_name=display_name)

    async def complete(self, incoming: Incoming) -> Incoming:
        return incoming

    def acknowledge(self, raw: bytes) -> None:
        """A number typed is no press to answer."""

    def shown(self, reply: Reply) -> Shown | None:
        """The numbers shown are kept by the channel itself (`buttons_for`)."""
        return None
