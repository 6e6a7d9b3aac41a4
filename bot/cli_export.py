"""`doithoai export`: the minutes of a dialogue (DOCX) and its questions (XLSX)."""

from __future__ import annotations

import typer

export_app = typer.Typer(no_args_is_help=True, help="Minutes and exports of a dialogue.")
