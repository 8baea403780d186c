"""`insurtrack report`: the figures managers ask for (D4, Q2, Q4, K2).

Every report takes the same period (`--from` / `--to`, local dates, both included; default: this
year to date), an optional grouping `--by`, and `--format table|json|csv` (`--excel` for a CSV
Excel opens with Chinese text intact). Each report's help says how its figures are computed; the
shared definitions (period, groupings, median and p90, rates) are in insurtrack/reports/common.py.
The commands live in report_business.py (pipeline, sales, claims) and report_quality.py
(portfolio, service, risk); this module holds the group and what they share.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Optional

import typer

from insurtrack.cli.context import AppContext, app_context
from insurtrack.cli.options import FormatOpt, OutputFormat, day

app = typer.Typer(
    help="Reports for managers (D4, Q2, Q4, K2): pipeline, sales, claims, portfolio (loss ratio, "
         "retention, persistency), service quality and risk. Each says how its figures are "
         "computed in its --help.",
    no_args_is_help=True,
)

FromOpt = Annotated[Optional[str], typer.Option(
    "--from", help="First day of the period (YYYY-MM-DD), included. Default: 1 January this year.")]
ToOpt = Annotated[Optional[str], typer.Option(
    "--to", help="Last day of the period (YYYY-MM-DD), included. Default: today.")]
ExcelOpt = Annotated[bool, typer.Option(
    "--excel", help="With --format csv: start with a byte-order mark so Excel shows Chinese text right.")]
ChartOpt = Annotated[bool, typer.Option(
    "--chart", help="Also draw the trend as a chart in the terminal (table format only).")]


def by_option(allowed: Sequence[str], default: str | None = None) -> Any:
    """A `--by` option listing the groupings this report supports."""
    return typer.Option("--by", help=f"Group by: {', '.join(allowed)}."
                                     + (f" Default: {default}." if default else ""))


def period(a: AppContext, start: Optional[str], end: Optional[str]):
    from insurtrack.reports.common import period as make

    return make(day("--from", start), day("--to", end), today=a.today(), tz=a.settings.timezone)


def render(a: AppContext, fmt: OutputFormat, rows: list[dict[str, Any]], columns: Sequence[str], *,
           title: str, excel: bool = False, chart: Any = None, notes: Sequence[str] = ()) -> None:
    """Rows through the one renderer; a chart (from cli/chart.py) after the table if asked."""
    out = a.output(fmt, excel=excel)
    out.rows(rows, columns, title=title)
    if chart is not None and fmt == OutputFormat.TABLE:
        chart()
    for note in notes:
        out.message(note)


__all__ = ["app", "FromOpt", "ToOpt", "ExcelOpt", "ChartOpt", "FormatOpt", "by_option", "period",
           "render", "app_context"]


# The report commands register themselves on `app` (kept apart so each file stays readable).
from insurtrack.cli import report_business, report_quality  # noqa: E402,F401
