"""`doithoai db upgrade | check`: the schema by Alembic's migrations."""

from __future__ import annotations

import typer

from bot.cli.common import _fail, _settings, asyncio
from bot.cli.errors import _first_line, database_name
from bot.core.i18n import Translator

db_app = typer.Typer(no_args_is_help=True, help="Database schema (Alembic migrations).")


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Create the schema, or apply the migrations up to REVISION (default: the newest)."""
    from storage.db import upgrade

    settings = _settings()
    t = Translator(settings.default_locale, settings.zone)
    database = database_name(settings.database_url)
    before = asyncio.run(_revision(settings.database_url))
    upgrade(settings.database_url, revision)
    after = asyncio.run(_revision(settings.database_url))
    if before == after:
        message = t._("The schema of {database} is already at {new}: nothing to do.")
    elif before is None:
        message = t._("Created the schema of {database} (revision {new}).")
    else:
        message = t._("Upgraded the schema of {database} from {old} to {new}.")
    typer.echo(message.format(database=database, old=before, new=after or "–"))


async def _revision(url: str) -> str | None:
    from storage.db import create_engine, current_revision

    engine = create_engine(url)
    try:
        return await current_revision(engine)
    finally:
        await engine.dispose()


@db_app.command("check")
def db_check() -> None:
    """Check that the database is at the code's schema and the models match the migrations."""
    import io

    from alembic import command

    from storage.db import SchemaBehind, alembic_config, head_revision

    settings = _settings()
    t = Translator(settings.default_locale, settings.zone)
    database = database_name(settings.database_url)
    found = asyncio.run(_revision(settings.database_url))
    head = head_revision(settings.database_url)
    if found != head:
        raise SchemaBehind(f"{found or 'empty'} -> {head}")
    from alembic.util.exc import CommandError

    config = alembic_config(settings.database_url)
    config.stdout = io.StringIO()  # its own "No new upgrade operations detected."
    try:
        command.check(config)
    except CommandError as exc:
        _fail(
            t._("The models and the migrations differ ({detail}): a migration is missing.").format(
                detail=_first_line(exc)
            ),
            1,
        )
    typer.echo(
        t._("The schema of {database} is at {revision}, the newest, and matches the code.").format(
            database=database, revision=head
        )
    )
