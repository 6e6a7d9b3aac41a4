"""What every service needs to write a message: who may be opened (the sealer), when, where and
in which language by default."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.core.anonymity import Sealer
from bot.core.clock import utcnow
from bot.core.i18n import Translator, choose

if TYPE_CHECKING:
    from bot.core.config import Settings


@dataclass(frozen=True)
class Notifier:
    """The sealer, the zone, the default locale and the clock, built once per process (or per
    update for a handler) and handed to the services."""

    sealer: Sealer | None
    zone: ZoneInfo
    default_locale: str
    clock: Callable[[], datetime] = utcnow
    _translators: dict[str, Translator] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def from_settings(
        cls, settings: Settings, *, clock: Callable[[], datetime] = utcnow
    ) -> Notifier:
        key = settings.secret_key
        return cls(
            sealer=Sealer(key.get_secret_value()) if key is not None else None,
            zone=settings.zone,
            default_locale=settings.default_locale,
            clock=clock,
        )

    def now(self, now: datetime | None = None) -> datetime:
        """`now` when the caller has one (a handler's update time), else the clock's time."""
        return now if now is not None else self.clock()

    def translator(self, locale: str | None = None) -> Translator:
        """The translator of a stored locale ("vi-VN" -> vi), else of the default one; one per
        locale, kept."""
        chosen = choose(locale, self.default_locale)
        found = self._translators.get(chosen)
        if found is None:
            found = self._translators[chosen] = Translator(chosen, self.zone)
        return found

    def require_sealer(self) -> Sealer:
        assert self.sealer is not None, "a Notifier without a sealer cannot reach anonymous people"
        return self.sealer
