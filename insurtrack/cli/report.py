"""`insurtrack report`: the figures managers ask for (D4, Q2, Q4, K2)."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Reports for managers (D4, Q2, Q4, K2): pipeline, sales, claims, service, risk. "
         "The reports themselves arrive with the reporting work (issue 4); this group holds them.",
    no_args_is_help=True,
)


@app.callback()
def _group() -> None:
    """Reports for managers."""
