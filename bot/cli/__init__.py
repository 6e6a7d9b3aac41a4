"""The `doithoai` command: run the bot, chat in the terminal, play the demo, migrate the database.

Every failure a person can meet — bad settings, a token Telegram refuses, no network, a database
out of reach or not migrated, a file that cannot be read — ends as ONE line in their language
naming what to do, exit code 2 (settings, usage) or 1 (at run time); `doithoai --debug …`
shows the traceback. Secrets (tokens, keys, the database's password) are never printed.

Only typer and the catalogs are imported at start: each command imports what it uses, so that
`doithoai --help` and light commands start at once (see bench/bench_cli.py).
"""

from __future__ import annotations

import typer

from bot.cli.common import _translator
from bot.cli.db import db_app
from bot.cli.errors import _report, _state, redact
from bot.cli.serve import console, demo, run

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # its tracebacks print local variables: secrets among them
    help="doithoai: policy dialogues over chat.",
)
app.command()(run)
app.command()(console)
app.command()(demo)
app.add_typer(db_app, name="db")


@app.callback()
def _options(
    debug: bool = typer.Option(
        False, "--debug", help="On an error, show the traceback too (secrets hidden)."
    ),
) -> None:
    _state["debug"] = debug


def _register_subcommands() -> None:
    from bot.cli.consultation import consultation_app
    from bot.cli.dialogues import dialogue_app
    from bot.cli.doctor import doctor
    from bot.cli.export import export_app
    from bot.cli.households import households_app
    from bot.cli.outbox import outbox_app
    from bot.cli.staff import agency_app, staff_app, zalo_app
    from bot.cli.web import web

    groups = {
        "dialogue": dialogue_app,
        "households": households_app,
        "staff": staff_app,
        "agency": agency_app,
        "export": export_app,
        "zalo": zalo_app,
        "outbox": outbox_app,
        "consultation": consultation_app,
    }
    for name, group in groups.items():
        app.add_typer(group, name=name)
    app.command()(web)
    app.command()(doctor)
    # Plain help: rich's formatting would double the start-up time of `doithoai --help`.
    for typer_app in (app, *(group.typer_instance for group in app.registered_groups)):
        typer_app.rich_markup_mode = None


def main() -> None:
    _register_subcommands()
    usage_error = typer.BadParameter.__base__  # click's UsageError
    try:
        code = app(standalone_mode=False)
    except usage_error as exc:  # one line, and where to read more
        if type(exc).__name__ == "NoArgsIsHelpError":
            exc.show()  # the command's help
            raise SystemExit(2) from None
        where = exc.ctx.command_path if exc.ctx is not None else "doithoai"
        line = " ".join(exc.format_message().split())
        typer.echo(redact(f"{line} (`{where} --help`)"), err=True)
        raise SystemExit(exc.exit_code) from None
    except typer.BadParameter.__mro__[2] as exc:  # click's ClickException
        typer.echo(redact(" ".join(exc.format_message().split())), err=True)
        raise SystemExit(exc.exit_code) from None
    except typer.Abort:
        typer.echo(_translator()._("Stopped."), err=True)
        raise SystemExit(1) from None
    except SystemExit:
        raise
    except Exception as exc:
        _report(exc)
    raise SystemExit(code if isinstance(code, int) else 0)
