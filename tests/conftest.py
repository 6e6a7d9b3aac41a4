"""Fixtures shared by the tests: a migrated database on SQLite and on PostgreSQL, a clock
that tests can move, and the service put together around them.

PostgreSQL is the machine's (127.0.0.1:5432, user postgres; DOITHOAI_TEST_PG names another
server). Each run creates its own database there, `doithoai_test_<random>`, and drops it at the
end, so two runs at once never touch each other's rows. Where the server cannot be reached the
PostgreSQL half of each storage test is skipped with the reason, except in CI (CI=true), where
that fails the run.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, update

from bot.core.config import Settings, load_settings
from bot.runtime import Runtime
from storage.db import upgrade
from storage.models import Agency, Base, Dialogue
from storage.topics import AGENCIES

# The server, and the database to connect to while creating and dropping this run's own.
PG_ADMIN_URL = os.environ.get("DOITHOAI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_RUN_DATABASE = f"doithoai_test_{os.getpid()}_{secrets.token_hex(4)}"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# pytest-xdist's workers are started with COLUMNS=80 and LINES=24 (execnet sets them): a
# command's table would then be 80 columns wide in one way of running the suite and unbounded
# (piped) in the other. Tests that want a width set COLUMNS themselves.
if os.environ.get("PYTEST_XDIST_WORKER"):
    for _name in ("COLUMNS", "LINES"):
        os.environ.pop(_name, None)


class Clock:
    """A clock that starts at a chosen instant, runs with real time, and that tests can move
    forward by hand; the service reads it wherever it needs 'now'.

    It keeps running because delivery paces itself in real time (slots a fraction of a second
    apart); a frozen clock would make those slots never come.
    """

    def __init__(self, start: datetime):
        self._start = start
        self._started = time.monotonic()
        self._moved = timedelta(0)

    def __call__(self) -> datetime:
        return self._start + self._moved + timedelta(seconds=time.monotonic() - self._started)

    def advance(self, **delta: float) -> None:
        self._moved += timedelta(**delta)

    def at(self, instant: datetime) -> None:
        """Move forward to `instant` (never back)."""
        now = self()
        if instant > now:
            self._moved += instant - now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))  # 09:00 in Hà Nội


def _postgres_ready() -> str | None:
    """None if PostgreSQL answers, else why not."""

    async def probe() -> None:
        import asyncpg

        connection = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
        await connection.close()

    try:
        asyncio.run(probe())
    except Exception as exc:
        return f"PostgreSQL at {PG_ADMIN_URL} unreachable: {exc}"
    return None


def pg_url(database: str, *, driver: str = "postgresql+asyncpg") -> str:
    """The URL of `database` on the test server."""
    server = PG_ADMIN_URL.rsplit("/", 1)[0].split("://", 1)[1]
    return f"{driver}://{server}/{database}"


async def create_pg_database(name: str) -> str:
    """Create an empty database on the test server; its asyncpg URL."""
    import asyncpg

    connection = await asyncpg.connect(PG_ADMIN_URL, timeout=10)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return pg_url(name)


async def drop_pg_database(name: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(PG_ADMIN_URL, timeout=10)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[str]:
    """This run's own database, migrated to head once, and dropped at the end of the run."""
    reason = _postgres_ready()
    if reason:
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    url = asyncio.run(create_pg_database(PG_RUN_DATABASE))
    try:
        upgrade(url)
        yield url
    finally:
        asyncio.run(drop_pg_database(PG_RUN_DATABASE))


async def _empty_postgres(url: str) -> None:
    """Leave only what the migrations put there (the general intake, the seeded agencies)
    between tests."""
    from storage.db import create_engine

    engine = create_engine(url)
    async with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name == "dialogues":
                await connection.execute(delete(table).where(Dialogue.kind != "general"))
            elif table.name == "agencies":
                await connection.execute(delete(table).where(Agency.code.not_in(AGENCIES)))
                await connection.execute(update(Agency).values(active=True))
            else:
                await connection.execute(delete(table))
    await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated database of each kind."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        upgrade(url)
        yield url
    else:
        url = request.getfixturevalue("postgres_schema")
        asyncio.run(_empty_postgres(url))
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    upgrade(url)
    return url


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "secret_key": secrets.token_hex(32),
        "telegram_token": "123456:TEST-TOKEN",
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
async def runtime(database_url: str, clock: Clock) -> AsyncIterator[Runtime]:
    service = Runtime(make_settings(database_url), clock=clock)
    yield service
    await service.close()
