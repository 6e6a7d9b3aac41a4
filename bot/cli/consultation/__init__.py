"""`doithoai consultation ...`: plan a consultation (tham vấn) from a file, open it (announced to
the linked households of its audience), close it, read its results, write its reports, group
its opinions into themes and record what was adopted and why not. One module per group of
commands, each registering its commands on `consultation_app`, in this order."""

import importlib

from bot.cli.consultation.common import consultation_app

for _group in ("plan", "results", "adopt"):  # the order `--help` lists them in
    importlib.import_module(f"bot.cli.consultation.{_group}")

__all__ = ["consultation_app"]
