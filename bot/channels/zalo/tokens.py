"""The OA's access token: a lease on the ChannelToken row so that one process at a time
refreshes it with its single-use refresh token, before it expires and when Zalo refuses it.

POST {oauth}/v4/oa/access_token, header `secret_key` (the app's secret), form app_id,
grant_type=refresh_token, refresh_token -> {"access_token", "refresh_token", "expires_in":
"90000"} (seconds, a string); the refresh token is single-use and rotates. A refusal has
"error" (negative) and "error_name"/"error_description".
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import metrics
from bot.core.config import Settings
from bot.core.departure import unwatched
from storage import tokens

log = logging.getLogger(__name__)

NAME = "zalo"
TOKEN_ERRORS = {-216, -220}  # access token invalid / expired
REFRESH_MARGIN = timedelta(minutes=5)  # refresh this long before the access token expires
REFRESH_LEASE = timedelta(seconds=60)  # a refresh older than this died with its process
REFRESH_POLL = 0.2  # seconds between looks at another process's refresh
SEEDED_LIFETIME = timedelta(0)  # first tokens from the settings: refresh at first use


class TokensUnusable(Exception):
    """No access token can be had now; str() is one line for the log (no secret in it)."""


@dataclasses.dataclass(frozen=True)
class _Refresh:
    """What Zalo said to a refresh: new tokens, a refusal (the refresh token is no good), or
    nothing (the request failed on the way)."""

    access_token: str = ""
    refresh_token: str = ""
    expires_in: int = 0
    refused: str = ""
    failed: str = ""


class TokenKeeper:
    """The OA's access token, from the ChannelToken row, refreshed before it expires and when
    Zalo refuses it; never two refreshes at once in a process (an asyncio lock) nor across
    processes (the row's lock and `refresh_started_at` as a lease)."""

    def __init__(
        self,
        *,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        http: httpx.AsyncClient,
        clock: Callable[[], datetime],
        channel: str = NAME,
    ):
        self.settings = settings
        self.sessions = sessions
        self.http = http
        self.clock = clock
        self.channel = channel
        self._lock = asyncio.Lock()
        self._access = ""
        self._expires_at = datetime.min.replace(tzinfo=UTC)
        self._spent_logged = False

    def _fresh(self, now: datetime) -> bool:
        return bool(self._access) and self._expires_at - now > REFRESH_MARGIN

    async def current(self) -> str:
        """A token to send with: the one in memory while it has more than the margin left."""
        if self._fresh(self.clock()):
            return self._access
        async with self._lock:
            if self._fresh(self.clock()):
                return self._access
            return await self._obtain(refused="")

    async def refused(self, token: str) -> str:
        """Zalo refused `token` (-216/-220): a newer one, refreshing unless someone has."""
        async with self._lock:
            if self._access and self._access != token and self._fresh(self.clock()):
                return self._access
            return await self._obtain(refused=token)

    def _keep(self, row_access: str, expires_at: datetime) -> str:
        self._access, self._expires_at = row_access, expires_at
        return row_access

    async def _obtain(self, *, refused: str) -> str:
        while True:
            async with self.sessions() as session, session.begin():
                now = self.clock()
                row = await tokens.lock(session, channel=self.channel)
                if row is None:
                    await self._seed(session, now)
                    row = await tokens.lock(session, channel=self.channel)
                    if row is None:
                        raise TokensUnusable(
                            "zalo: no tokens; set DOITHOAI_ZALO_ACCESS_TOKEN and "
                            "DOITHOAI_ZALO_REFRESH_TOKEN, or give new ones with the tokens command"
                        )
                if row.access_token != refused and row.expires_at - now > REFRESH_MARGIN:
                    # Another's refresh, or one under way while the old token still serves.
                    return self._keep(row.access_token, row.expires_at)
                started = row.refresh_started_at
                if started is not None and now - started < REFRESH_LEASE:
                    wait = True  # another process is refreshing: look again shortly
                else:
                    wait = False
                    interrupted = started
                    if tokens.is_spent(row):
                        if row.access_token != refused and row.expires_at > now:
                            return self._keep(row.access_token, row.expires_at)
                        self._log_spent()
                        raise TokensUnusable(
                            "zalo: the refresh token is spent; an operator must give new tokens"
                        )
                    refresh_token = row.refresh_token
                    tokens.start_refresh(row, now=now)
            if wait:
                await asyncio.sleep(REFRESH_POLL)
                continue
            if interrupted is not None:
                log.warning(
                    "zalo: a token refresh begun at %s never finished (its process died?); "
                    "trying the stored refresh token",
                    interrupted.isoformat(timespec="seconds"),
                )
            answer = await self._ask(refresh_token)
            outcome = (
                "refreshed" if answer.access_token else "refused" if answer.refused else "failed"
            )
            metrics.TOKEN_REFRESHES.labels(self.channel, outcome).inc()
            return await self._record(answer)

    async def _seed(self, session: AsyncSession, now: datetime) -> None:
        access = self.settings.zalo_access_token
        refresh = self.settings.zalo_refresh_token
        if access is None and refresh is None:
            return
        await tokens.seed(
            session,
            channel=self.channel,
            access_token=access.get_secret_value() if access else "",
            refresh_token=refresh.get_secret_value() if refresh else tokens.SPENT,
            # The settings' tokens are of unknown age: with a refresh token, refresh at first
            # use (its expiry is then known); an access token alone is used until refused.
            expires_at=now + (SEEDED_LIFETIME if refresh else timedelta(hours=25)),
            now=now,
        )

    async def _ask(self, refresh_token: str) -> _Refresh:
        """POST /v4/oa/access_token with the refresh token; never raises."""
        secret = self.settings.zalo_app_secret
        try:
            # Often asked in the middle of a send: the outbox's watch on the send's departure
            # is not for this request (stopped, it would leave the refresh begun for a minute).
            with unwatched():
                response = await self.http.post(
                    f"{self.settings.zalo_oauth_url}/v4/oa/access_token",
                    headers={"secret_key": secret.get_secret_value() if secret else ""},
                    data={
                        "app_id": self.settings.zalo_app_id or "",
                        "grant_type": "refresh_token",
                        "refresh_token": refresh_token,
                    },
                )
            body = response.json()
        except httpx.HTTPError as exc:
            return _Refresh(failed=f"{type(exc).__name__}")
        except ValueError:
            return _Refresh(failed=f"HTTP {response.status_code}, not JSON")
        if not isinstance(body, dict):
            return _Refresh(failed="unexpected answer")
        if body.get("access_token") and body.get("refresh_token"):
            try:
                expires_in = int(body.get("expires_in") or 0)
            except (TypeError, ValueError):
                expires_in = 0
            return _Refresh(
                access_token=str(body["access_token"]),
                refresh_token=str(body["refresh_token"]),
                expires_in=expires_in or 3600,
            )
        if "error" in body:
            description = body.get("error_description") or body.get("error_name") or ""
            return _Refresh(refused=f"error {body['error']}: {str(description)[:200]}")
        return _Refresh(failed=f"HTTP {response.status_code}, no tokens in the answer")

    async def _record(self, answer: _Refresh) -> str:
        async with self.sessions() as session, session.begin():
            now = self.clock()
            row = await tokens.lock(session, channel=self.channel)
            if row is None:  # deleted by hand meanwhile: keep what Zalo gave, if anything
                if answer.access_token:
                    await tokens.seed(
                        session,
                        channel=self.channel,
                        access_token=answer.access_token,
                        refresh_token=answer.refresh_token,
                        expires_at=now + timedelta(seconds=answer.expires_in),
                        now=now,
                    )
                    return self._keep(
                        answer.access_token, now + timedelta(seconds=answer.expires_in)
                    )
                raise TokensUnusable("zalo: the token row vanished during a refresh")
            if answer.access_token:
                expires_at = now + timedelta(seconds=answer.expires_in)
                tokens.save_refreshed(
                    row,
                    access_token=answer.access_token,
                    refresh_token=answer.refresh_token,
                    expires_at=expires_at,
                    now=now,
                )
                log.info("zalo: access token refreshed")
                return self._keep(answer.access_token, expires_at)
            if answer.refused:
                tokens.mark_spent(row, now=now)
            else:
                tokens.abandon_refresh(row, now=now)
        # Raised once the transaction has committed: raising inside it would roll it back.
        if answer.refused:
            log.error(
                "zalo: Zalo refused the refresh token (%s); Zalo is unusable until an "
                "operator gives new tokens (doithoai zalo tokens)",
                answer.refused,
            )
            self._spent_logged = True
            raise TokensUnusable(f"zalo: refresh refused ({answer.refused})")
        log.warning("zalo: token refresh failed (%s); will try again", answer.failed)
        raise TokensUnusable(f"zalo: token refresh failed ({answer.failed})")

    def _log_spent(self) -> None:
        if not self._spent_logged:
            log.error(
                "zalo: the refresh token is spent; Zalo is unusable until an operator gives "
                "new tokens (doithoai zalo tokens)"
            )
            self._spent_logged = True
