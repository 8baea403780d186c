"""Report commands registered on `insurtrack report` (see cli/report.py): portfolio (loss ratio,
retention, persistency; D4, K2), service (Q1-Q4, T6, T8) and risk (K1-K3). Each parses its
options, calls one function of insurtrack/reports/ in a read-only transaction and renders the
rows; the report modules are imported inside the commands so that `--help` never loads the ORM."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from insurtrack.cli.options import OutputFormat, money
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
from insurtrack.errors import BadInput

# The groupings and sections each report allows (the report modules check them again).
PORTFOLIO_BY = ("product", "month")
SERVICE_BY = ("rule", "department", "staff", "month")
SERVICE_SECTIONS = ("sla", "revisits", "satisfaction", "feedback", "rectification")
RISK_SECTIONS = ("ratings", "overdue", "attention")


def _check(by: Optional[str], allowed, report: str) -> Optional[str]:
    from insurtrack.reports.common import check_by

    return check_by(by, allowed, report)


def _sections(a: Any, fmt: OutputFormat, sections: dict[str, list[dict[str, Any]]],
              columns: dict[str, list[str]], titles: dict[str, str], head: dict[str, Any], *,
              excel: bool) -> None:
    """Table: one table per section. JSON: one object, `head` then one key per section."""
    out = a.output(fmt, excel=excel)
    if fmt == OutputFormat.JSON:
        out.record(head, {name: [{c: r[c] for c in columns[name]} for r in rows]
                          for name, rows in sections.items()})
        return
    for name, rows in sections.items():
        out.rows(rows, columns[name], title=titles[name])


# ------------------------------------------------------------------------------ portfolio

@app.command("portfolio")
def portfolio(
    ctx: typer.Context,
    from_: FromOpt = None,
    to: ToOpt = None,
    by: Annotated[Optional[str], by_option(PORTFOLIO_BY, "product")] = None,
    fmt: FormatOpt = OutputFormat.TABLE,
    excel: ExcelOpt = False,
    chart: ChartOpt = False,
) -> None:
    """Loss ratio, retention and 13th-month persistency by product or month (D4, K2).

    Cover: a policy that came in force (first premium paid) covers from its effective date to its
    expiry date; a cancelled policy's cover ends the day before the (local) date it was
    cancelled, a policy suspended now (unpaid past the grace period) the day before it was
    suspended. A policy never in force has no cover and earns nothing.

    earned_premium = term premium x days of cover inside the period / days of the whole term
    (expiry - effective + 1, actual days, so a term earns exactly its premium whatever its length
    or leap days). Term premium = yearly premium x term months / 12 (a single premium is the whole
    term's). By product, a policy's premium is shared among its products in proportion to the
    lines' premiums.

    claims_incurred: approved amounts of the claims whose INCIDENT date (local) falls in the
    period (accident basis), unless rejected after the approval; claims: how many. A claim with
    no product counts under the policy's product when the policy has one line, else "(none)".
    loss_ratio_pct = claims_incurred / earned_premium.

    Retention: up_for_renewal = policies that came in force, not cancelled, whose EXPIRY date
    falls in the period; renewed = those a later policy renews (renewed from it), unless that
    renewal was cancelled; retention_pct = renewed / up_for_renewal.

    13th-month persistency: the cohort is new business (not renewals) that came in force with an
    effective date after END - 25 months and on or before END - 13 months (END: the period's last
    day); a policy persists when it, or its renewal up to two terms on, has cover (as above) on
    the day 13 months after its effective date (never after END). persistency_pct = persisting /
    cohort; premium_persistency_pct weighs each policy by its yearly premium (by product, shared
    among its products as earned premium is, so the product rows add up to the whole):
    persisting_premium / cohort_premium.

    --by product (a policy counts in each of its products) or month (earned premium by the days
    of each month, claims by incident month, renewals by expiry month, persistency with END = the
    month's last day, or the period's last day for its last month). The last row, "(all)", is the
    whole period, each policy once. Rates are percentages with one decimal, empty when the base is
    zero. --chart (with --by month) draws the monthly loss ratio.

    Columns: group, earned_premium, claims_incurred, claims, loss_ratio_pct, up_for_renewal,
    renewed, retention_pct, cohort, persisting, persistency_pct, cohort_premium,
    persisting_premium, premium_persistency_pct.
    """
    a = app_context(ctx)
    p = period(a, from_, to)
    by = _check(by, PORTFOLIO_BY, "portfolio") or "product"
    if chart and by != "month":
        raise BadInput("--chart", None, "draws the monthly loss ratio: use it with --by month")
    from insurtrack.reports import portfolio as report

    with a.reading() as w:
        rows = report.portfolio(w, p, by=by)
    draw = None
    if chart:
        from insurtrack.cli.chart import bars

        labels, series = report.chart_series(rows)
        draw = lambda: bars(f"Loss ratio by month (%), {p.describe()}", labels, series)  # noqa: E731
    render(a, fmt, rows, report.COLUMNS, excel=excel, chart=draw,
           title=f"Portfolio by {by}, {p.describe()}")


# ------------------------------------------------------------------------------ service

@app.command("service")
def service(
    ctx: typer.Context,
    from_: FromOpt = None,
    to: ToOpt = None,
    by: Annotated[Optional[str], by_option(SERVICE_BY, "rule")] = None,
    section: Annotated[Optional[str], typer.Option(
        "--section", help=f"Only this section: {', '.join(SERVICE_SECTIONS)}. Default: all "
                          "(csv: sla, as csv holds one table).")] = None,
    fmt: FormatOpt = OutputFormat.TABLE,
    excel: ExcelOpt = False,
    chart: ChartOpt = False,
) -> None:
    """Service quality (Q1-Q4, T6, T8): SLA compliance, revisit coverage, satisfaction, feedback
    resolution and rectification items, in five sections.

    As of: "open" figures are taken at the end of the period (the start of the day after --to)
    or now, whichever is earlier.

    sla (Q1, Q4): closed = follow-ups of every rule (rectification and manual ones too) closed as
    done with closed_at in the period; on_time = done before their deadline (not breached), late =
    breached; compliance_pct = on_time / closed. open_overdue = follow-ups open at the as-of
    instant (opened by then, not done or cancelled by then, not paused now) whose deadline had
    passed by then.

    revisits (T6): due = quarterly-revisit follow-ups whose DEADLINE falls in the period (not
    cancelled); done = those done by now; done_on_time = done before the deadline; coverage_pct =
    done / due; on_time_coverage_pct = done_on_time / due.

    --by (sla and revisits): rule, department, staff (the assignee; a department queue is
    "(none)") or month (sla: of closed_at, open_overdue by the month of the deadline; revisits: of
    the deadline). The last row, "(all)", is the whole period (open_overdue: every open overdue
    follow-up, deadlines before the period included).

    satisfaction (Q2): revisits made in the period; rated = those with a score; average score to 2
    decimals; promoters score 5, passives 4, detractors 1-3; nps = (promoters - detractors) /
    rated as a percentage, -100 to 100. --by rule groups revisits by the rule their kind meets
    (first_contact: first-contact, quarterly: quarterly-revisit, post_claim: post-claim-revisit,
    ad hoc: "(none)"); department and staff are of the person who made the revisit; month of the
    revisit.

    feedback (T8): one row per kind, then "(all)". opened = feedback opened in the period, then
    open, transferred, resolved, closed: those by their status now. resolved_in_period = feedback
    whose resolved_at falls in the period; median_hours, p90_hours: opened_at to resolved_at over
    those (nearest rank, hours to 2 decimals).

    rectification (Q3): one row per responsible department, then "(all)". open / open_overdue =
    items open at the as-of instant with the deadline after / before it; done_on_time / done_late
    = items done in the period before / after the deadline.

    Output: table, one table per section; json, one object {from, to, as_of, sla, revisits,
    satisfaction, feedback, rectification} (only the chosen section with --section); csv, one
    section, sla unless --section says. --chart draws SLA compliance by month.

    Columns: sla: group, closed, on_time, late, compliance_pct, open_overdue. revisits: group,
    due, done, done_on_time, coverage_pct, on_time_coverage_pct. satisfaction: group, revisits,
    rated, average, promoters, passives, detractors, nps. feedback: kind, opened, open,
    transferred, resolved, closed, resolved_in_period, median_hours, p90_hours. rectification:
    department, open, open_overdue, done_on_time, done_late.
    """
    a = app_context(ctx)
    p = period(a, from_, to)
    by = _check(by, SERVICE_BY, "service") or "rule"
    from insurtrack.reports import service as report

    report.check_section(section)
    if section is not None:
        chosen: tuple[str, ...] = (section,)
    else:
        chosen = (report.CSV_DEFAULT,) if fmt == OutputFormat.CSV else report.SECTIONS
    now = a.clock.now()
    at = report.as_of(p, now)
    with a.reading() as w:
        sections = report.service(w, p, by=by, now=now, sections=chosen)
        monthly = None
        if chart and fmt == OutputFormat.TABLE:
            monthly = (sections["sla"] if by == "month" and "sla" in sections
                       else report.sla(w, p, by="month", now=now))
    columns = {name: report.columns(name) for name in report.SECTIONS}
    span = p.describe()
    if fmt == OutputFormat.CSV:
        name = chosen[0]
        render(a, fmt, sections[name], columns[name], title=name, excel=excel)
        return
    titles = {
        "sla": f"SLA compliance by {by}, {span} (Q1, Q4)",
        "revisits": f"Quarterly revisit coverage by {by}, {span} (T6)",
        "satisfaction": f"Satisfaction by {by}, revisits in {span} (Q2)",
        "feedback": f"Feedback by kind, {span} (T8)",
        "rectification": f"Rectification items by department, {span} (Q3)",
    }
    head = {"from": p.start, "to": p.end, "as_of": at}
    _sections(a, fmt, sections, columns, titles, head, excel=excel)
    if monthly is not None:
        from insurtrack.cli.chart import bars

        labels, series = report.chart_series(monthly)
        bars(f"SLA compliance by month (%), {span}", labels, series, scale=100)
    if fmt == OutputFormat.TABLE:
        a.output(fmt).message(f"Open figures as of {at.astimezone(a.settings.timezone):%Y-%m-%d %H:%M}.")


# ------------------------------------------------------------------------------ risk

ATTENTION_SHOWN = 100   # attention items a table shows by default (report risk --limit)

@app.command("risk")
def risk(
    ctx: typer.Context,
    from_: FromOpt = None,
    to: ToOpt = None,
    section: Annotated[Optional[str], typer.Option(
        "--section", help=f"Only this section: {', '.join(RISK_SECTIONS)}. Default: all "
                          "(csv: attention, as csv holds one table).")] = None,
    large_claim: Annotated[Optional[str], typer.Option(
        "--large-claim", help="An open claim of at least this amount (approved, else claimed) "
                              "needs attention. Default: 100000.")] = None,
    limit: Annotated[Optional[int], typer.Option(
        "--limit", min=0, help=f"Show at most this many attention items (0: all). Default: "
                               f"{ATTENTION_SHOWN} in a table, all in json and csv.",
        show_default=False)] = None,
    fmt: FormatOpt = OutputFormat.TABLE,
    excel: ExcelOpt = False,
) -> None:
    """Risk (K1-K3): customers by credit rating and risk level, overdue premium by age, and the
    high-risk items that need attention, as a picture on the END date (--to, default today;
    --from is checked but bounds nothing).

    ratings (K3): customers recorded by the end date by their credit rating now (A-D, "(none)")
    and risk level now (low, medium, high, unrated), with totals; "(all)" is every customer.

    overdue (K1): installments unpaid now (due or partly paid) of policies that came in force,
    due before the end date; days overdue = end date - due date (overdue from the day after the
    due date). Bands 0-30 (1 to 30 days), 31-60, over 60. amount_owed = amount - paid_amount;
    policies and customers are distinct counts ("(all)" counts each once).

    attention (K2): one row per item, in this order of reason: high-risk-overdue (a high-risk
    customer's policy with overdue premium: amount owed overdue, days of its oldest overdue
    installment); high-risk-open-claim (an open claim of a high-risk customer: reported,
    contacted, investigating, awaiting documents, or approved and unpaid; reported by the end
    date; amount approved, else claimed; days since its report); poor-credit-in-force (an
    in-force policy of a customer rated C or D; amount: its sum insured); large-open-claim (an
    open claim reported by the end date of at least --large-claim, approved amount, else
    claimed; days since its report). An item may appear under two reasons.

    Output: table, one table per section; json, one object {to, ratings, overdue, attention}
    (only the chosen section with --section); csv, one section, attention unless --section says.

    Columns: ratings: credit_rating, low, medium, high, unrated, total. overdue: band,
    installments, amount_owed, policies, customers. attention: reason, customer, name,
    risk_level, credit_rating, policy, claim, amount, days. A big book has thousands of items:
    a table shows the first --limit of them (in the order above) and says how many there are.
    """
    a = app_context(ctx)
    p = period(a, from_, to)
    threshold = money("--large-claim", large_claim, allow_zero=False)
    from insurtrack.reports import risk as report

    report.check_section(section)
    if section is not None:
        chosen: tuple[str, ...] = (section,)
    else:
        chosen = (report.CSV_DEFAULT,) if fmt == OutputFormat.CSV else report.SECTIONS
    shown = limit if limit is not None else (ATTENTION_SHOWN if fmt == OutputFormat.TABLE else 0)
    with a.reading() as w:
        sections = report.risk(w, p, large_claim=threshold or report.LARGE_CLAIM, sections=chosen,
                               limit=shown or None)
    items = sections.get("attention")
    if items is not None and items.total > len(items):
        a.output(fmt).message(f"attention: showing the first {len(items)} of {items.total} items "
                              "(--limit 0 shows all; --format csv for a spreadsheet)")
    columns = {name: report.columns(name) for name in report.SECTIONS}
    if fmt == OutputFormat.CSV:
        name = chosen[0]
        render(a, fmt, sections[name], columns[name], title=name, excel=excel)
        return
    titles = {
        "ratings": f"Customers by credit rating and risk level, {p.end} (K3)",
        "overdue": f"Overdue premium by days overdue on {p.end} (K1)",
        "attention": f"High-risk items needing attention, {p.end} (K2)",
    }
    _sections(a, fmt, sections, columns, titles, {"to": p.end}, excel=excel)
