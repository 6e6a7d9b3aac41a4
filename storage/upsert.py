"""One way to write "insert, unless the row is there" and "insert, or update the row there":
the dialect's own INSERT … ON CONFLICT, the same on PostgreSQL and SQLite. A single statement,
so that two processes writing the same key never collide."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

Bind = AsyncSession | AsyncConnection | Connection


def dialect_insert(bind: Bind) -> Callable[[Any], Any]:
    """The dialect's `insert` (the one with on_conflict_do_nothing / _do_update)."""
    dialect = bind.get_bind().dialect if isinstance(bind, AsyncSession) else bind.dialect
    # Only the database's own dialect is imported: PostgreSQL's module costs a command on
    # SQLite 40 ms of start-up (issue 14), and the engine has imported its own already.
    name = "postgresql" if dialect.name == "postgresql" else "sqlite"
    return importlib.import_module(f"sqlalchemy.dialects.{name}").insert


def upsert(
    bind: Bind,
    table: Any,
    *,
    keys: Sequence[str],
    values: Mapping[str, Any] | None = None,
    update: Sequence[str] = (),
    set_: Callable[[Any], Mapping[str, Any]] | None = None,
) -> Any:
    """INSERT … ON CONFLICT (keys): DO UPDATE the columns named in `update` to the values
    inserted, and those `set_(excluded)` gives; DO NOTHING when there is nothing to update.
    Without `values`, the rows are given at execution (many at once)."""
    statement = dialect_insert(bind)(table)
    if values is not None:
        statement = statement.values(**values)
    changes = {name: statement.excluded[name] for name in update}
    if set_ is not None:
        changes |= set_(statement.excluded)
    if not changes:
        return statement.on_conflict_do_nothing(index_elements=list(keys))
    return statement.on_conflict_do_update(index_elements=list(keys), set_=changes)
