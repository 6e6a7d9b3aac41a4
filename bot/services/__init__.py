"""Use cases called alike by the clock (bot/clock.py), the CLI and the handlers: invite, remind,
announce, push back, close, digest, select.

Each is a small object built once with a `Notifier` (the sealer, the zone, the default language
and the clock every message needs) and then called with a session and what the use case is
about. They write to the database through storage/ and never commit: the caller owns the
transaction. Conversations (taking a handlers `Context`) stay in handlers/.
"""

from bot.services.notifier import Notifier

__all__ = ["Notifier"]
