"""`insurtrack revisit`."""

from __future__ import annotations

import typer

app = typer.Typer(help="Revisits (T5, T6, T13) and customer feedback (T8).", no_args_is_help=True)
