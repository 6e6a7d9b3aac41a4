"""Migration 0014: every status column holds one of its lifecycle's states, on SQLite and on
PostgreSQL; the constraints go with a downgrade, and a stray value stops the upgrade by name.

Each test migrates a database of its own (the run's shared PostgreSQL database stays at head).
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from bot.core.lifecycles import (
    CommitmentStatus,
    ConsultationStatus,
    DialogueStatus,
    InvitationStatus,
    OutboxStatus,
    QuestionStatus,
    ReminderStatus,
)
from storage.db import alembic_config, create_engine, upgrade
from tests.conftest import _postgres_ready, create_pg_database, drop_pg_database

COLUMNS = {
    "dialogues": DialogueStatus,
    "questions": QuestionStatus,
    "outbox": OutboxStatus,
    "invitations": InvitationStatus,
    "reminders": ReminderStatus,
    "commitments": CommitmentStatus,
    "consultations": ConsultationStatus,
}


def _downgrade(url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of each kind, this test's own."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'checks.db'}"
        return
    reason = await asyncio.to_thread(_postgres_ready)
    if reason:
        pytest.skip(reason)
    name = f"doithoai_test_checks_{secrets.token_hex(4)}"
    url = await create_pg_database(name)
    try:
        yield url
    finally:
        await drop_pg_database(name)


async def _checks(url: str) -> dict[str, set[str]]:
    """table -> the states its status CHECK allows, as the database reports it."""
    engine = create_engine(url)
    async with engine.connect() as connection:
        found = await connection.run_sync(
            lambda sync: {table: inspect(sync).get_check_constraints(table) for table in COLUMNS}
        )
    await engine.dispose()
    return {
        table: set(re.findall(r"'([a-z_]+)'", check["sqltext"]))
        for table, checks in found.items()
        for check in checks
        if check["name"] == f"ck_{table}_status"
    }


async def _set_intake_status(url: str, status: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text("UPDATE dialogues SET status = :status WHERE kind = 'general'"),
                {"status": status},
            )
    finally:
        await engine.dispose()


async def test_each_status_column_allows_exactly_its_lifecycle_states(empty_url):
    await asyncio.to_thread(upgrade, empty_url)
    assert await _checks(empty_url) == {
        table: {state.value for state in lifecycle} for table, lifecycle in COLUMNS.items()
    }
    with pytest.raises(IntegrityError):
        await _set_intake_status(empty_url, "closed")
    await _set_intake_status(empty_url, DialogueStatus.CANCELLED)


async def test_the_downgrade_drops_the_checks_and_a_stray_value_stops_the_upgrade(empty_url):
    await asyncio.to_thread(upgrade, empty_url)
    await asyncio.to_thread(_downgrade, empty_url, "0013")
    assert await _checks(empty_url) == {}
    await _set_intake_status(empty_url, "closed")  # what no code ever wrote
    with pytest.raises(RuntimeError, match=r"dialogues\.status = 'closed'"):
        await asyncio.to_thread(upgrade, empty_url)
    await _set_intake_status(empty_url, DialogueStatus.OPEN)
    await asyncio.to_thread(upgrade, empty_url)
    assert set(await _checks(empty_url)) == set(COLUMNS)
