"""`insurtrack due`: every clock the rules set (T2–T13, Q1, Q3)."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="What is due, at risk, overdue or breached under the company's deadlines (T2-T13). "
         "The SLA engine arrives with the deadline work (issue 3); this group holds it.",
    no_args_is_help=True,
)


@app.callback()
def _group() -> None:
    """Deadlines."""
