"""`insurtrack renew`."""

from __future__ import annotations

import typer

app = typer.Typer(help="Installments and renewals: what is coming up, reminders, payments, new terms (L6, T7).", no_args_is_help=True)
