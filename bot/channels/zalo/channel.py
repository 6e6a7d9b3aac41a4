"""The Zalo OA as a channel: the one contract (verify, parse, complete, acknowledge, shown,
send) over the events, the token keeper and the sender of this package."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.http import departure_hooks
from bot.core.anonymity import Sealer
from bot.core.config import Settings
from bot.core.messages import Address, Button, Delivery, Incoming, Kind, Reply, Shown
from storage.conversations import keep_choices

from . import events
from .events import NAME, clean_name, verify_signature
from .sending import UNREACHABLE_ERRORS, Sender, choice_buttons, template_fits
from .tokens import TOKEN_ERRORS, TokenKeeper, TokensUnusable

log = logging.getLogger(__name__)

PROFILE_CACHE = 10_000  # followers' names kept in memory per process
PROFILE_TIMEOUT = 5.0  # seconds to wait for a profile: the event goes on without the name


class ZaloChannel:
    name = NAME
    text_choices = True  # a button sends back its label, an option its number

    def __init__(
        self,
        *,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        sealer: Sealer | None = None,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], datetime] | None = None,
    ):
        """`sealer` is the dispatcher's Sealer (one from SECRET_KEY if not given): it seals the
        choices shown, which the channel keeps when it shows them.

        `rate` and `spacing` are the settings' zalo_rate and zalo_chat_interval."""
        if settings.secret_key is None:
            raise ValueError("SECRET_KEY is needed to seal the choices shown on Zalo")
        self.settings = settings
        self.sessions = sessions
        self.sealer = sealer or Sealer(settings.secret_key.get_secret_value())
        self.clock = clock or (lambda: datetime.now(UTC))
        self.rate = settings.zalo_rate
        self.spacing = timedelta(seconds=settings.zalo_chat_interval)
        self._own_http = http is None
        self.http = http or httpx.AsyncClient(
            timeout=httpx.Timeout(15.0, connect=5.0, pool=5.0), event_hooks=departure_hooks()
        )
        self.tokens = TokenKeeper(
            settings=settings, sessions=sessions, http=self.http, clock=self.clock
        )
        self.sender = Sender(
            settings=settings, http=self.http, tokens=self.tokens, remember=self.remember
        )
        self._names: OrderedDict[str, str] = OrderedDict()  # user id -> profile name, bounded

    async def close(self) -> None:
        if self._own_http:
            await self.http.aclose()

    # ---- incoming ---------------------------------------------------------------------

    def verify(self, raw: bytes, headers: Mapping[str, str]) -> bool:
        """verify_signature with this OA's app id and secret key."""
        secret = self.settings.zalo_oa_secret_key
        return verify_signature(
            raw,
            headers,
            app_id=self.settings.zalo_app_id or "",
            oa_secret_key=secret.get_secret_value() if secret else "",
        )

    def parse(self, raw: bytes) -> Incoming | None:
        """A verified event as an Incoming, or None for what the bot does not answer (the OA's
        own messages echoed, delivery and seen receipts, unknown JSON). An unfollow is told to
        the dispatcher, which marks the person unreachable and answers nothing; a text is a
        text here (the dispatcher reads it against the choices last shown)."""
        read = events.read(raw)
        if read is None:
            return None
        name, user_id, key, event = read
        if name == "unfollow":
            return Incoming(Address(NAME, user_id), key, Kind.UNFOLLOW)
        return events.to_incoming(name, user_id, key, event)

    async def complete(self, incoming: Incoming) -> Incoming:
        """The person's name from their Zalo profile (Zalo's events carry none)."""
        if incoming.display_name or incoming.kind is Kind.UNFOLLOW:
            return incoming
        name = await self.display_name(incoming.address.user_id)
        return dataclasses.replace(incoming, display_name=name) if name else incoming

    def acknowledge(self, raw: bytes) -> None:
        """Nothing to answer: a Zalo button sends a message back, not a press."""

    async def display_name(self, user_id: str) -> str:
        """The follower's display name from their Zalo profile, fetched once per process (the
        dispatcher keeps it for their account if it has no name yet: a named question shows
        it); "" when Zalo does not say (the event is handled all the same)."""
        if user_id in self._names:
            self._names.move_to_end(user_id)
            return self._names[user_id]
        name = await self._profile_name(user_id)
        if name is None:
            return ""
        self._names[user_id] = name
        while len(self._names) > PROFILE_CACHE:
            self._names.popitem(last=False)
        return name

    async def _profile_name(self, user_id: str) -> str | None:
        """GET user/detail; None if it could not be asked (the next event asks again)."""
        url = f"{self.settings.zalo_api_url}/v3.0/oa/user/detail"
        params = {"data": json.dumps({"user_id": user_id})}
        try:
            token = await self.tokens.current()
            for attempt in range(2):
                response = await self.http.get(
                    url, headers={"access_token": token}, params=params, timeout=PROFILE_TIMEOUT
                )
                body = response.json()
                code = body.get("error") if isinstance(body, dict) else None
                if code in TOKEN_ERRORS and attempt == 0:
                    token = await self.tokens.refused(token)
                    continue
                break
        except (TokensUnusable, httpx.HTTPError, ValueError) as exc:
            log.warning("zalo: could not read a follower's profile (%s)", type(exc).__name__)
            return None
        if code != 0:
            log.warning("zalo: a follower's profile was refused (error %s)", code)
            return "" if code in UNREACHABLE_ERRORS else None
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        raw_name = data.get("display_name")
        return clean_name(raw_name) if isinstance(raw_name, str) else ""

    # ---- choices ----------------------------------------------------------------------

    def shown(self, reply: Reply) -> Shown | None:
        """The choices this reply shows: Zalo's buttons where they fit, else numbered options."""
        buttons = choice_buttons(reply)
        if not buttons:
            return None
        return Shown.of(buttons, numbered=not template_fits(buttons))

    async def remember(self, user_id: str, buttons: list[Button], numbered: bool) -> None:
        """Keep the choices about to be shown, sealed, as the last shown to the person: the
        dispatcher keeps a reply's with the update, but a message from the outbox alone (an
        invitation, an answer) and a template Zalo refused are known only when sent."""
        sealed = self.sealer.seal_choices(user_id, Shown.of(buttons, numbered=numbered).to_json())
        async with self.sessions() as session, session.begin():
            await keep_choices(session, channel=NAME, user_id=user_id, sealed=sealed)

    # ---- outgoing ---------------------------------------------------------------------

    async def send(self, address: Address, reply: Reply) -> Delivery:
        """See Sender.send."""
        return await self.sender.send(address, reply)
