"""`insurtrack policy`."""

from __future__ import annotations

import typer

app = typer.Typer(help="Policies: issue, pay, show, cancel, suspend and reinstate (L5, L6).", no_args_is_help=True)
