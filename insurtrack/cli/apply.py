"""`insurtrack apply`."""

from __future__ import annotations

import typer

app = typer.Typer(help="Plans and applications: draft, documents, first review, submit, withdraw (L2, L3).", no_args_is_help=True)
