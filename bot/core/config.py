"""Settings, read once from the environment (prefix DOITHOAI_) and an optional .env file.

Nothing else in the project reads os.environ: the CLI builds one Settings and passes it on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.core.transcriber import load

ENV_PREFIX = "DOITHOAI_"
SUPPORTED_LOCALES = ("vi", "en")


def _default_database_url() -> str:
    return f"sqlite+aiosqlite:///{Path.cwd() / 'doithoai.db'}"


class Settings(BaseSettings):
    """Every setting of the service; see the README's configuration table."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = Field(default_factory=_default_database_url)
    telegram_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    secret_key: SecretStr | None = None
    timezone: str = "Asia/Ho_Chi_Minh"
    default_locale: Literal["vi", "en"] = "vi"
    telegram_rate: float = Field(default=25.0, gt=0, le=1000)  # messages a second, all chats
    telegram_chat_interval: float = Field(default=1.0, ge=0, le=60)  # seconds between two to a chat
    telegram_bot_username: str | None = None  # for deep links; asked of Telegram when not set
    reminders: str = "3d,1d,2h"  # before each dialogue's start
    digest_time: str = "07:00"  # local time of the facilitators' daily digest
    answer_days: int = Field(default=15, ge=1, le=365)  # an agency's time to answer or commit
    staff_code_days: int = Field(default=7, ge=1, le=90)  # how long a staff code stays valid
    # What writes a draft of a voice question: "none", or "package.module:factory"
    transcriber: str = "none"
    # Zalo Official Account: on when ZALO_APP_ID is set (then the secrets are required)
    zalo_app_id: str | None = None
    zalo_app_secret: SecretStr | None = None  # the app's secret key, to refresh tokens
    zalo_oa_secret_key: SecretStr | None = None  # the OA's secret key, signs the webhook
    zalo_access_token: SecretStr | None = None  # first tokens; kept in the database after
    zalo_refresh_token: SecretStr | None = None
    zalo_oa_id: str | None = None  # the OA's id (its page zalo.me/<id>): the board's link and QR
    zalo_api_url: str = "https://openapi.zalo.me"
    zalo_oauth_url: str = "https://oauth.zaloapp.com"
    zalo_rate: float = Field(default=8.0, gt=0, le=1000)
    zalo_chat_interval: float = Field(default=1.0, ge=0, le=60)
    # Webhook mode (`doithoai run --webhook`)
    webhook_url: str | None = None  # the public https base the platforms post to
    webhook_secret: SecretStr | None = None  # Telegram's X-Telegram-Bot-Api-Secret-Token
    # The board's own public origin (https://host[:port]): every absolute link of its pages,
    # feeds, sitemap and robots.txt; without it links are relative (feeds: WEBHOOK_URL).
    # Never taken from a request's Host header.
    public_url: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    # Operations
    retention_days: int = Field(default=30, ge=1, le=3650)  # replies and update keys kept
    metrics_port: int | None = Field(default=None, ge=1, le=65535)  # /metrics when polling
    # Privacy and hostile input
    unconsented_minutes: int = Field(default=60, ge=1, le=10080)  # then a chat id is forgotten
    zalo_max_event_age: int = Field(default=10, ge=1, le=1440)  # minutes; older events refused
    import_max_rows: int = Field(default=500_000, ge=1, le=10_000_000)  # rows of one import

    @field_validator("transcriber")
    @classmethod
    def _transcriber(cls, value: str) -> str:
        load(value)  # a name that does not load fails at start
        return value

    @field_validator("zalo_api_url", "zalo_oauth_url")
    @classmethod
    def _zalo_urls(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be the public http(s):// address the platforms post to")
        return value

    @field_validator("public_url")
    @classmethod
    def _board_origin(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be the board's public http(s):// address, e.g. https://host")
        if parts.path or parts.query or parts.fragment or any(c.isspace() for c in value):
            raise ValueError("must be an origin like https://host, without a path or a query")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _telegram_secret_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        secret = value.get_secret_value()
        allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
        if not 16 <= len(secret) <= 256 or not set(secret) <= allowed:
            raise ValueError("must be 16 to 256 characters: letters, digits, _ and -")
        return value

    @model_validator(mode="after")
    def _zalo_complete(self) -> Settings:
        if self.zalo_app_id:
            for name in ("zalo_app_secret", "zalo_oa_secret_key"):
                if getattr(self, name) is None:
                    raise ValueError(
                        f"{ENV_PREFIX}{name.upper()}: required when ZALO_APP_ID is set"
                    )
        return self

    @property
    def zalo_enabled(self) -> bool:
        return bool(self.zalo_app_id)

    @field_validator("digest_time")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        parse_clock_time(value)
        return value

    @field_validator("reminders")
    @classmethod
    def _durations(cls, value: str) -> str:
        reminder_offsets(value)
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        """Accept the usual URL spellings and choose the async driver for them."""
        value = value.strip()
        for plain, asynchronous in (
            ("sqlite://", "sqlite+aiosqlite://"),
            ("postgresql://", "postgresql+asyncpg://"),
            ("postgres://", "postgresql+asyncpg://"),
        ):
            if value.startswith(plain):
                return asynchronous + value[len(plain) :]
        if value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            return value
        raise ValueError("must be a sqlite:// or postgresql:// URL")

    @field_validator("telegram_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("zalo_oa_id")
    @classmethod
    def _oa_id(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.strip().isdigit() or len(value.strip()) > 30:
            raise ValueError("must be the Official Account's id, digits only (zalo.me/<id>)")
        return value.strip()

    @field_validator("telegram_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        bot_id, _, rest = value.get_secret_value().strip().partition(":")
        if not bot_id.isdigit() or not rest:
            raise ValueError("must look like 123456:ABC-DEF (the token BotFather gives)")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters (try: openssl rand -hex 32)")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def reminder_offsets(self) -> list[timedelta]:
        return reminder_offsets(self.reminders)

    @property
    def policy(self) -> Policy:
        return Policy(
            digest_time=parse_clock_time(self.digest_time),
            answer_days=self.answer_days,
            staff_code_days=self.staff_code_days,
            unconsented=timedelta(minutes=self.unconsented_minutes),
            transcriber=self.transcriber,
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@dataclass(frozen=True)
class Policy:
    """The rules of the process that handlers and the clock follow (from the settings)."""

    digest_time: time = time(7, 0)
    answer_days: int = 15  # the grassroots democracy law's time to answer a recommendation
    staff_code_days: int = 7
    # How long a chat id that never consented (or refused) is kept: then it is forgotten.
    unconsented: timedelta = timedelta(minutes=60)
    transcriber: str = "none"  # bot.core.transcriber.load's name
    voice_reminder: timedelta = timedelta(days=1)  # a voice question not written down after this


def parse_clock_time(value: str) -> time:
    """ "07:00" -> time(7, 0)."""
    hours, sep, minutes = value.strip().partition(":")
    if not (sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(f"{value!r} is not a time like 07:00")
    if not (0 <= int(hours) <= 23 and 0 <= int(minutes) <= 59):
        raise ValueError(f"{value!r} is not a time of day")
    return time(int(hours), int(minutes))


def reminder_offsets(value: str) -> list[timedelta]:
    """ "3d,1d,2h" -> the offsets before the start, longest first; "" -> none."""
    offsets = []
    for part in filter(None, (p.strip() for p in value.split(","))):
        number, unit = part[:-1], part[-1:].lower()
        if not number.isdigit() or unit not in "dhm" or int(number) == 0:
            raise ValueError(f"{part!r} is not a duration like 3d, 2h or 30m")
        unit_name = {"d": "days", "h": "hours", "m": "minutes"}[unit]
        offsets.append(timedelta(**{unit_name: int(number)}))
    return sorted(set(offsets), reverse=True)


class SettingsError(Exception):
    """A setting is missing or invalid; str() is one line naming it."""


def load_settings(**overrides: object) -> Settings:
    """Read the settings once, turning pydantic's report into one line naming the setting."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        message = str(error["msg"]).removeprefix("Value error, ")
        if not error["loc"] and message.startswith(ENV_PREFIX):
            raise SettingsError(message) from None  # a rule across settings names its own
        field = str(error["loc"][0]) if error["loc"] else "?"
        raise SettingsError(f"{ENV_PREFIX}{field.upper()}: {message}") from None


def require(settings: Settings, *names: str) -> None:
    """Fail with one line when a setting that this command needs is not set."""
    for name in names:
        if getattr(settings, name) is None:
            raise SettingsError(f"{ENV_PREFIX}{name.upper()}: required but not set")
