"""Engines, sessions and the schema's migration state.

SQLite on a laptop, PostgreSQL in production. On SQLite every transaction starts with
BEGIN IMMEDIATE, so that two writers queue on the lock instead of failing half-way, and the
file is in WAL mode so that readers never wait (and `reading` sessions take no lock at all).
"""

from __future__ import annotations

import re
import sqlite3
import weakref
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Select, event, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage.board_counts import BoardSession

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
READ = "doithoai_read"  # execution option: this transaction only reads


class _ClosingConnection(sqlite3.Connection):
    """A SQLite connection whose close really closes, whatever its cursors were doing.

    A task cancelled between a SELECT and the fetching of its rows (a process stopping, a
    lane cancelled) leaves the driver's cursor holding a statement that has not finished;
    SQLAlchemy then invalidates the connection and closes it, and SQLite, finding a statement
    still open, keeps the connection alive as a "zombie" until that cursor is garbage
    collected, with the transaction and its write lock: every writer of the file waited the
    30 s busy timeout and failed "database is locked". Closing the connection's cursors first
    lets the close finish, which rolls the transaction back and frees the lock at once."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._cursors: weakref.WeakSet[sqlite3.Cursor] = weakref.WeakSet()

    def cursor(self, *args: Any, **kwargs: Any) -> sqlite3.Cursor:
        cursor = super().cursor(*args, **kwargs)
        self._cursors.add(cursor)
        return cursor

    # The driver's shortcuts make their cursor in C, past `cursor` above: route them through it.
    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        return self.cursor().executemany(sql, parameters)

    def close(self) -> None:
        for cursor in list(self._cursors):
            cursor.close()
        super().close()


def create_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url, connect_args={"timeout": 30, "factory": _ClosingConnection}
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            # Let SQLAlchemy, not the driver, decide when transactions begin (see "begin").
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            # A commit reaches the WAL file without waiting for the disk: a process killed at any
            # moment loses nothing committed; only a power cut may lose the last commits (the
            # database stays sound). PostgreSQL is for where that matters.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(connection):  # type: ignore[no-untyped-def]
            # A read takes no lock (WAL lets it see the last commit while writers go on).
            read = connection.get_execution_options().get(READ, False)
            connection.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")

        return engine
    return create_async_engine(url, pool_pre_ping=True)


async def refresh_statistics(session: AsyncSession, *tables: str) -> None:
    """After a bulk write: let PostgreSQL's planner see the new rows now rather than when
    autovacuum comes by (a plan made for an empty table can take a thousand times longer)."""
    if session.get_bind().dialect.name == "postgresql":
        for table in tables:
            await session.execute(text(f'ANALYZE "{table}"'))


async def driver_rows(session: AsyncSession, statement: Select[Any]) -> list[Sequence[Any]]:
    """The statement's rows as the database driver returns them, in the session's transaction:
    for a read of a whole registry (100,000 rows), where SQLAlchemy's row objects and result
    types took 40 % of the time (issue 14). Only for columns the driver already gives as they
    are wanted (integers, strings, booleans: SQLite gives a comparison as 0 or 1) and plain
    parameters; with a driver that names its parameters, the rows come the usual way."""
    connection = await session.connection()
    return await connection.run_sync(_fetch_from_driver, statement)


def _fetch_from_driver(connection: Connection, statement: Select[Any]) -> list[Sequence[Any]]:
    compiled = statement.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    if compiled.positiontup is None:  # a driver with named parameters
        return [tuple(row) for row in connection.execute(statement)]
    parameters = tuple(compiled.params[name] for name in compiled.positiontup)
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.execute(str(compiled), parameters)
        return cursor.fetchall()
    finally:
        cursor.close()


async def ping(engine: AsyncEngine) -> None:
    """Ask the database something trivial; raise if it does not answer (the health check)."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep the public board's counts in each transaction that changes them
    (storage/board_counts.py)."""
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=BoardSession)


@asynccontextmanager
async def reading(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session for reads only: on SQLite its transaction takes no write lock, so that reading
    never makes a writer wait (every other transaction begins IMMEDIATE)."""
    async with sessions() as session:
        await session.connection(execution_options={READ: True})
        yield session


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # lazy: Alembic is slow to import (issue 14)

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Alembic's config interpolates %; a password may hold one.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema up to `revision` (synchronous: call it outside an event loop)."""
    from alembic import command  # lazy: Alembic is slow to import (issue 14)

    command.upgrade(alembic_config(url), revision)


def check(url: str) -> None:
    """Raise if the models and the migrations differ (alembic check)."""
    from alembic import command  # lazy: Alembic is slow to import (issue 14)

    command.check(alembic_config(url))


_REVISION = re.compile(r"^(down_revision|revision)\b[^=]*=\s*(.+)$", re.MULTILINE)


def head_revision(url: str) -> str | None:
    """The newest migration: read from the files' `revision` and `down_revision` lines (every
    command checks it: Alembic itself takes longer to import than the command to run), or by
    Alembic when the files say something else than one plain chain."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = dict((name, value.strip()) for name, value in _REVISION.findall(path.read_text()))
        single = re.fullmatch(r"[\"']([\w-]+)[\"']", found.get("revision", ""))
        parent = found.get("down_revision", "")
        if single is None or not re.fullmatch(r"None|[\"']([\w-]+)[\"']", parent):
            return _alembic_head(url)
        revisions.add(single.group(1))
        parents.add(parent.strip("\"'"))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else _alembic_head(url)


def _alembic_head(url: str) -> str | None:
    from alembic.script import ScriptDirectory  # lazy: Alembic is slow to import (issue 14)

    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The database's revision (None: no schema), read without Alembic."""
    async with engine.connect() as connection:
        tables = await connection.run_sync(
            lambda sync: sync.dialect.has_table(sync, "alembic_version")
        )
        if not tables:
            return None
        rows = list(await connection.execute(text("SELECT version_num FROM alembic_version")))
    if len(rows) > 1:
        raise RuntimeError("alembic_version has several heads")
    return rows[0][0] if rows else None


class SchemaBehind(Exception):
    """The database has not been migrated to the code's schema."""


async def require_current_schema(engine: AsyncEngine, url: str) -> None:
    """Raise SchemaBehind (naming both revisions) unless the database is at the code's head."""
    current, found, head = await schema_is_current(engine, url)
    if not current:
        raise SchemaBehind(f"{found or 'empty'} -> {head}")


async def schema_is_current(engine: AsyncEngine, url: str) -> tuple[bool, str | None, str | None]:
    """(up to date?, the database's revision, the code's head)."""
    current = await current_revision(engine)
    head = head_revision(url)
    return current == head, current, head
