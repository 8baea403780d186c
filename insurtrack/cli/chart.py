"""Terminal charts for reports where a trend reads better than a table (monthly premium and
claims, SLA compliance by month): one row per period, one horizontal bar per series, drawn with
rich's Bar renderable (no extra dependency), after the table and only in table format."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal


def bars(title: str, labels: Sequence[str], series: Mapping[str, Sequence[float | Decimal | None]],
         *, width: int = 40, stdout=None, scale: float | None = None) -> None:
    """Draw each series as bars scaled to its own maximum (or to `scale`, e.g. 100 for %)."""
    import sys

    from rich import box
    from rich.bar import Bar
    from rich.console import Console
    from rich.table import Table

    out = stdout or sys.stdout
    table = Table(title=title, box=box.SIMPLE, title_justify="left", show_edge=False)
    table.add_column("")
    for name in series:
        table.add_column(name, justify="right")
        table.add_column("", width=width, no_wrap=True)
    tops = {name: scale or max((float(v) for v in vs if v is not None), default=0.0)
            for name, vs in series.items()}
    for i, label in enumerate(labels):
        cells: list = [label]
        for name, vs in series.items():
            v = vs[i]
            cells.append("" if v is None else str(v))
            size = tops[name] or 1.0
            cells.append(Bar(size=size, begin=0, end=float(v or 0), width=width))
        table.add_row(*cells)
    plain = not getattr(out, "isatty", lambda: False)()
    Console(file=out, width=None if not plain else 200, no_color=plain, highlight=False).print(table)
