"""`doithoai dialogue ...`: plan a dialogue, choose and invite the households, follow the
answers, record attendance, move or cancel it. The organiser's side, in the terminal; one module
per group of commands, each registering its commands on `dialogue_app`, in this order."""

import importlib

from bot.cli.dialogues.common import dialogue_app

for _group in ("plan", "invite", "follow", "decide"):  # the order `--help` lists them in
    importlib.import_module(f"bot.cli.dialogues.{_group}")

__all__ = ["dialogue_app"]
