"""One module per platform. Each parses its raw updates into Incoming and sends Replies.

The surface every channel has is the Channel protocol below; the dispatcher and the outbox
know nothing else about a platform.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from bot.core.messages import Address, Delivery, Reply


class Channel(Protocol):
    name: str
    rate: float  # messages a second the platform takes from us, all chats together
    spacing: timedelta  # the least time between two messages to one person

    async def send(self, address: Address, reply: Reply) -> Delivery:
        """Send one reply; map whatever the platform answers to a neutral Delivery."""
        ...
