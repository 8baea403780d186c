"""`insurtrack underwrite`."""

from __future__ import annotations

import typer

app = typer.Typer(help="Underwriting: the queue and decisions (L4, T4).", no_args_is_help=True)
