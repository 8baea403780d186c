"""`insurtrack claim`."""

from __future__ import annotations

import typer

app = typer.Typer(help="Claims from report to payment or rejection (L7, T9-T12).", no_args_is_help=True)
