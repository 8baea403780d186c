"""Report commands registered on `insurtrack report` (see cli/report.py): pipeline, sales,
tendency and claims (D4). Each parses its options, calls one function of insurtrack/reports/
in a read-only transaction and renders the rows; the report modules are imported inside the
commands so that `--help` never loads the ORM."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from insurtrack.cli.options import OutputFormat
from insurtrack.cli.report import (
    ChartOpt,
    ExcelOpt,
    FormatOpt,
    FromOpt,
    ToOpt,
    app,
    app_context,
    by_option,
    period,
    render,
)

# The groupings each report allows (the report modules check them again).
PIPELINE_BY = ("month", "product", "staff")
SALES_BY = ("month", "product", "staff", "region", "age-band", "channel")
TENDENCY_BY = ("age-band", "region", "kind", "buyer")
CLAIMS_BY = ("month", "product", "cause")


def _check(by: Optional[str], allowed, report: str) -> Optional[str]:
    from insurtrack.reports.common import check_by

    return check_by(by, allowed, report)


@app.command("pipeline")
def pipeline(
    ctx: typer.Context,
    from_: FromOpt = None,
    to: ToOpt = None,
    by: Annotated[Optional[str], by_option(PIPELINE_BY)] = None,
    reasons: Annotated[bool, typer.Option(
        "--reasons", help="List the decline reasons instead: one row per group and reason "
                          "(columns group, reason, declined).")] = False,
    fmt: FormatOpt = OutputFormat.TABLE,
    excel: ExcelOpt = False,
) -> None:
    """Applications by stage, flows, conversion rates, underwriting turnaround and decline
    reasons (L3-L5, T4, D4).

    Flows, each in the period by its own date: created (created_at), submitted (submitted_at),
    accepted / declined (decided_at), withdrawn (the withdrawal event), issued (the issue time
    of the policy written from the application; renewals are not applications).

    stage_*: the applications CREATED in the period, by their status now.

    Conversion, cohort rates as of now (in-progress applications count in the base):
    submitted_to_accepted_pct = of those submitted in the period, % accepted;
    accepted_to_issued_pct = of those accepted in the period, % issued;
    created_to_issued_pct = of those created in the period, % issued.

    turnaround_median_days / turnaround_p90_days: over the decisions in the period, calendar days
    (to the hundredth) from submission to decision, EXCLUDING the time waiting for the customer
    (info requested until info received, or until the decision): T4's clock waits then.
    Nearest-rank median and p90.

    decline_reasons: the declines in the period per reason, most frequent first ("reason: n; …");
    --reasons lists them one per row.

    --by month (month of each figure's own date), product (each distinct product of the
    application's lines: an application with two products counts in each), staff (owning sales
    person). The last row, "(all)", counts each application once (with --by product it is not
    the sum of the rows).

    Columns: group, created, submitted, accepted, declined, withdrawn, issued, stage_draft,
    stage_incomplete, stage_reviewed, stage_submitted, stage_info_requested, stage_accepted,
    stage_declined, stage_withdrawn, stage_issued, submitted_to_accepted_pct,
    accepted_to_issued_pct, created_to_issued_pct, turnaround_median_days, turnaround_p90_days,
    decline_reasons.
    """
    a = app_context(ctx)
    p = period(a, from_, to)
    by = _check(by, PIPELINE_BY, "pipeline")
    from insurtrack.reports import pipeline as report

    with a.reading() as w:
        rows = report.decline_reasons(w, p, by) if reasons else report.pipeline(w, p, by)
    what = "Decline reasons" if reasons else "Pipeline"
    render(a, fmt, rows, report.REASON_COLUMNS if reasons else report.COLUMNS, excel=excel,
           title=f"{what}{f' by {by}' if by else ''}, {p.describe()}")


@app.command("sales")
def sales(
    ctx: typer.Context,
    from_: FromOpt = None,
    to: ToOpt = None,
    by: Annotated[Optional[str], by_option(SALES_BY, "month")] = "month",
    fmt: FormatOpt = OutputFormat.TABLE,
    excel: ExcelOpt = False,
    chart: ChartOpt = False,
) -> None:
    """Policies issued and written premium by month, product, sales person, region, age band or
    channel (D4). For who buys, by customer segment, see `report tendency`.

    A policy counts when its issue time falls in the period, whatever its status now; new
    business and renewals both count (renewals also shown apart).

    written_premium: the sum of the policies' premium, the YEARLY premium after any rate loading
    (a single premium in full), not the whole term's premium, not what was paid.
    average_premium = written_premium / policies, to the cent. customers: distinct customers.

    --by month (of the issue time), product (a policy counts once in each of its products; its
    premium is split over its lines in proportion to the lines' premiums, so products add up to
    the written premium), staff (the policy's owning sales person), region, age-band (age on the
    issue date; companies are "company"), channel (the customer's source). The last row,
    "(all)", is the whole period. --chart draws the monthly written premium.

    Columns: group, policies, new_business, renewals, customers, written_premium,
    average_premium.
    """
    a = app_context(ctx)
    p = period(a, from_, to)
    by = _check(by, SALES_BY, "sales")
    from insurtrack.reports import sales as report

    with a.reading() as w:
        rows = report.sales(w, p, by)
        monthly = rows if by == "month" or not chart else report.sales(w, p, "month")
    draw = None
    if chart:
        from insurtrack.cli.chart import bars

        labels, values = report.monthly_premium(monthly)

        def draw() -> None:
            bars(f"Written premium by month, {p.describe()}", labels, {"written premium": values})
    render(a, fmt, rows, report.COLUMNS, excel=excel, chart=draw,
           title=f"Sales{f' by {by}' if by else ''}, {p.describe()}")


@app.command("tendency")
def tendency(
    ctx: typer.Context,
    from_: FromOpt = None,
    to: ToOpt = None,
    by: Annotated[Optional[str], by_option(TENDENCY_BY)] = None,
    fmt: FormatOpt = OutputFormat.TABLE,
    excel: ExcelOpt = False,
) -> None:
    """Buying tendency by customer segment (D4): who bought the policies issued in the period.

    The policies are those of `report sales` (issue time in the period, renewals included), each
    placed in one value of every segment: age-band (the customer's age on the issue date;
    companies are "company"), region, kind (person or company) and buyer: "existing" when the
    customer had a policy issued earlier (any status, renewals included), else "new". --by shows
    one segment only.

    customers: distinct customers in the cell (one whose policies fall in two cells counts in
    each); written_premium: the sum of the yearly premiums after loading; average_premium =
    written_premium / policies; premium_share_pct: the cell's share of the period's written
    premium (a segment's shares add up to 100, give or take the rounding).

    Columns: segment, value, customers, policies, written_premium, average_premium,
    premium_share_pct.
    """
    a = app_context(ctx)
    p = period(a, from_, to)
    by = _check(by, TENDENCY_BY, "tendency")
    from insurtrack.reports import sales as report

    with a.reading() as w:
        rows = report.tendency(w, p, by)
    render(a, fmt, rows, report.TENDENCY_COLUMNS, excel=excel,
           title=f"Buying tendency{f' by {by}' if by else ''}, {p.describe()}")


@app.command("claims")
def claims(
    ctx: typer.Context,
    from_: FromOpt = None,
    to: ToOpt = None,
    by: Annotated[Optional[str], by_option(CLAIMS_BY)] = None,
    fmt: FormatOpt = OutputFormat.TABLE,
    excel: ExcelOpt = False,
    chart: ChartOpt = False,
) -> None:
    """Claims reported, approved, rejected and paid, amounts, approval rate, first-contact and
    cycle times (L7, T9-T12, D4).

    Each figure places a claim in the period by its own date: reported, claimed_amount and
    not_contacted (no first contact recorded yet) by reported_at; approved and approved_amount by
    approved_at; rejected by rejected_at; paid and paid_amount by paid_at (the total paid on the
    claim, at its last payment).

    approval_rate_pct = approved / (approved + rejected), decisions in the period.
    first_contact_*_minutes (T9): minutes from report to first contact, claims reported in the
    period and contacted. report_to_decision_*_days: days from report to approval or rejection,
    decisions in the period. report_to_paid_*_days: days from report to payment, claims paid in
    the period. Nearest-rank median and p90; days to the hundredth, minutes to the tenth.

    --by month (the month of each figure's own date: reported in the month reported, paid in the
    month paid), product (the policy line claimed on), cause. The last row, "(all)", is the whole
    period. --chart draws the monthly amounts claimed (by report month) and paid.

    Columns: group, reported, claimed_amount, not_contacted, approved, approved_amount, rejected,
    approval_rate_pct, paid, paid_amount, first_contact_median_minutes,
    first_contact_p90_minutes, report_to_decision_median_days, report_to_decision_p90_days,
    report_to_paid_median_days, report_to_paid_p90_days.
    """
    a = app_context(ctx)
    p = period(a, from_, to)
    by = _check(by, CLAIMS_BY, "claims")
    from insurtrack.reports import claims as report

    with a.reading() as w:
        rows = report.claims(w, p, by)
        monthly = rows if by == "month" or not chart else report.claims(w, p, "month")
    draw = None
    if chart:
        from insurtrack.cli.chart import bars

        labels, series = report.monthly_amounts(monthly)
        top = max((float(v) for vs in series.values() for v in vs), default=0.0)

        def draw() -> None:  # one scale for both series: paid reads against reported
            bars(f"Claims by month: amounts reported and paid, {p.describe()}", labels, series,
                 scale=top or None)
    render(a, fmt, rows, report.COLUMNS, excel=excel, chart=draw,
           title=f"Claims{f' by {by}' if by else ''}, {p.describe()}")
