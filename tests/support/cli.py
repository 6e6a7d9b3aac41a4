"""The `doithoai` command run in the test's process (click's runner), on the SQLite database
of a folder: for refusals and for setup, where starting an interpreter each time would only make
the suite slower. What a person sees of a whole run (pipes, exit codes, one-line errors) is
tested with real processes."""

from __future__ import annotations

from pathlib import Path

SECRET = "s" * 40


def in_process(folder: Path, *args: str, **env: str):
    from typer.testing import CliRunner

    from bot.cli import _register_subcommands, app

    if not app.registered_groups[1:]:  # `db` is there from the start; the rest once
        _register_subcommands()
    values = {
        "DOITHOAI_DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'doithoai.db'}",
        "DOITHOAI_SECRET_KEY": SECRET,
        **env,
    }
    return CliRunner().invoke(app, list(args), env=values)
