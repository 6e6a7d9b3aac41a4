"""What a handler is given for one update, and how it answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.anonymity import Sealer
from bot.core.config import Policy
from bot.core.i18n import Translator
from bot.core.messages import Address, Button, Incoming, Reply
from bot.services.notifier import Notifier
from storage.conversations import State
from storage.models import Account


@dataclass
class Context:
    session: AsyncSession
    incoming: Incoming
    account: Account | None
    state: State
    t: Translator
    now: datetime
    sealer: Sealer
    default_locale: str
    policy: Policy = field(default_factory=Policy)
    replies: list[Reply] = field(default_factory=list)
    notice: str = ""  # acknowledgement of a button press, shown briefly

    @property
    def address(self) -> Address:
        return self.incoming.address

    @property
    def zone(self) -> ZoneInfo:
        return self.t.zone

    @property
    def notifier(self) -> Notifier:
        """What the services need, for this update: its time is the update's."""
        now = self.now
        return Notifier(self.sealer, self.zone, self.default_locale, clock=lambda: now)

    @property
    def today(self) -> date:
        return self.now.astimezone(self.zone).date()

    def use_locale(self, locale: str) -> None:
        self.t = Translator(locale, self.zone)

    def say(
        self,
        text: str,
        *,
        title: str = "",
        buttons: list[list[Button]] | None = None,
        standalone: bool = False,
        ask_phone: str = "",
        clear_keyboard: bool = False,
    ) -> None:
        self.replies.append(
            Reply(
                text=text,
                title=title,
                buttons=tuple(tuple(row) for row in buttons or ()),
                standalone=standalone,
                ask_phone=ask_phone,
                clear_keyboard=clear_keyboard,
            )
        )

    def clear_state(self) -> None:
        self.state = State()
