"""`doithoai staff` (invite, list, revoke) and `doithoai agency` (list, add, rename, disable)."""

from __future__ import annotations

import typer

staff_app = typer.Typer(no_args_is_help=True, help="Officials and facilitators: roles by code.")
agency_app = typer.Typer(no_args_is_help=True, help="The agencies that answer questions.")
