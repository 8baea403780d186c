"""The reports read the indexes of migration 0003 (issue 5): each figure is a range over its own
date column read from an index that holds every column it needs, so its cost follows the period,
not the size of the book. Checked on SQLite's query plan — a structural check, never a timing —
for the statements each report runs. Also the SQL helpers the reports count with (exact elapsed
microseconds, local dates, ages, months), against Python's own answers on both databases."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Date, String, event, literal, select

from insurtrack.domain.types import UTCDateTime
from insurtrack.reports import claims, pipeline, portfolio, risk, sales, service
from insurtrack.reports.common import (
    age_band,
    age_band_case,
    days_between,
    days_of,
    local_day,
    micros,
    minutes_between,
    minutes_of,
    month_case,
    month_of,
    period,
)
from tests.conftest import PG_URL, SHANGHAI, local

PERIOD = period(date(2026, 1, 1), date(2026, 11, 25), today=date(2026, 11, 25), tz=SHANGHAI)
NOW = local(2026, 11, 25, 9, 0)


def _plans(work, run) -> list[tuple[str, str]]:
    """(statement, its query plan) for every SELECT `run(w)` executes."""
    seen: list[tuple[str, object]] = []
    with work("boss") as w:
        engine = w.session.get_bind()

        def capture(conn, cursor, statement, parameters, context, executemany):
            if statement.lstrip().upper().startswith("SELECT"):
                seen.append((statement, parameters))

        event.listen(engine, "before_cursor_execute", capture)
        try:
            run(w)
        finally:
            event.remove(engine, "before_cursor_execute", capture)
        out = []
        for statement, parameters in seen:
            rows = w.session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + statement,
                                                          parameters)
            out.append((" ".join(statement.split()), " | ".join(r[-1] for r in rows)))
        return out


def _uses(plans: list[tuple[str, str]], index: str) -> bool:
    return any(re.search(rf"\b{index}\b", plan) for _, plan in plans)


def _full_scans(plans: list[tuple[str, str]], *tables: str) -> list[str]:
    """Plans reading a whole big table row by row (a covering index scan is allowed)."""
    return [plan for _, plan in plans for t in tables
            if re.search(rf"\bSCAN {t}\b(?! USING COVERING INDEX)", plan)]


sqlite_only = pytest.mark.skipif(bool(PG_URL), reason="reads SQLite's EXPLAIN QUERY PLAN")


@sqlite_only
@pytest.mark.parametrize("by", [None, "month", "staff"])
def test_pipeline_reads_each_flow_from_its_date_index(work, by):
    plans = _plans(work, lambda w: pipeline.pipeline(w, PERIOD, by))
    for index in ("ix_application_created_report", "ix_application_submitted_report",
                  "ix_application_decided_report", "ix_policy_issued_report"):
        assert _uses(plans, index), (index, plans)
    assert not _full_scans(plans, "application", "policy", "event"), plans
    assert all("USING COVERING INDEX ix_application_" in plan for sql, plan in plans
               if "FROM application WHERE application.created_at" in sql), plans


@sqlite_only
def test_pipeline_by_product_reads_the_applications_once_with_their_lines(work):
    plans = _plans(work, lambda w: pipeline.pipeline(w, PERIOD, "product"))
    assert _uses(plans, "ix_application_line_product"), plans
    flows = [plan for sql, plan in plans if "+application.created_at" in sql]
    assert len(flows) == 1, plans  # one pass for created, submitted, decided and turnaround


@sqlite_only
@pytest.mark.parametrize("by", [None, "month", "staff", "region", "age-band", "product"])
def test_sales_reads_the_issue_index(work, by):
    plans = _plans(work, lambda w: sales.sales(w, PERIOD, by))
    assert _uses(plans, "ix_policy_issued_report"), plans
    assert not _full_scans(plans, "policy", "customer"), plans


@sqlite_only
def test_tendency_reads_customers_in_order_and_the_band_changes_from_the_birth_index(work):
    plans = _plans(work, lambda w: sales.tendency(w, PERIOD))
    assert _uses(plans, "ix_policy_issued_report"), plans
    assert _uses(plans, "ix_policy_customer_issued"), plans  # "had a policy before"
    assert _uses(plans, "ix_customer_birth_report"), plans   # who turns 25, 35… in the period
    assert not _full_scans(plans, "policy", "customer"), plans


@sqlite_only
@pytest.mark.parametrize("by", [None, "month", "product", "cause"])
def test_claims_reads_each_figure_from_its_date_index(work, by):
    plans = _plans(work, lambda w: claims.claims(w, PERIOD, by))
    for index in ("ix_claim_reported_report", "ix_claim_approved_report",
                  "ix_claim_rejected_report", "ix_claim_paid_report"):
        assert _uses(plans, index), (index, plans)
    assert all("COVERING INDEX ix_claim_" in plan for _, plan in plans), plans


@sqlite_only
@pytest.mark.parametrize("by", ["month", "product"])
def test_portfolio_reads_the_cover_and_ended_indexes(work, by):
    plans = _plans(work, lambda w: portfolio.portfolio(w, PERIOD, by=by))
    for index in ("ix_policy_cover", "ix_policy_ended", "ix_policy_renewal",
                  "ix_claim_incident_report"):
        assert _uses(plans, index), (index, plans)
    if by == "month":
        assert not _full_scans(plans, "policy", "claim"), plans


@sqlite_only
@pytest.mark.parametrize("by", ["rule", "month", "staff"])
def test_service_reads_the_follow_up_and_revisit_indexes(work, by):
    plans = _plans(work, lambda w: service.service(w, PERIOD, by=by, now=NOW))
    for index in ("ix_followup_closed_report", "ix_followup_rule_due_report",
                  "ix_revisit_occurred_report"):
        assert _uses(plans, index), (index, plans)
    assert not _full_scans(plans, "followup", "revisit"), plans


@sqlite_only
def test_risk_counts_ratings_in_their_index(work):
    plans = _plans(work, lambda w: risk.risk(w, PERIOD))
    assert _uses(plans, "ix_customer_rating_report"), plans
    assert not _full_scans(plans, "policy", "claim", "installment"), plans


# ------------------------------------------------------------------- the SQL helpers, exactly

def _one(work, *columns):
    with work("boss") as w:
        return tuple(w.session.execute(select(*columns)).one())


INSTANTS = [
    (datetime(2026, 1, 5, 2, 0, 0, 123456, tzinfo=timezone.utc),
     datetime(2026, 1, 8, 2, 0, 7, 900000, tzinfo=timezone.utc)),
    (datetime(2026, 3, 1, 0, 0, tzinfo=timezone.utc),  # an exact half hundredth of a day later
     datetime(2026, 3, 1, 0, 7, 12, tzinfo=timezone.utc)),
    (datetime(2026, 6, 30, 23, 59, 59, 999999, tzinfo=timezone.utc),
     datetime(2026, 7, 1, 0, 0, tzinfo=timezone.utc)),
    (datetime(2026, 2, 1, tzinfo=timezone.utc), datetime(2025, 12, 1, 12, tzinfo=timezone.utc)),
]


@pytest.mark.parametrize("start,end", INSTANTS)
def test_micros_are_exact_and_round_as_the_python_figures(work, start, end):
    (us,) = _one(work, micros(literal(start, UTCDateTime), literal(end, UTCDateTime)))
    assert us == (end - start) // timedelta(microseconds=1)
    assert days_of(us) == days_between(start, end)
    assert minutes_of(us) == minutes_between(start, end)


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York", "Australia/Lord_Howe"])
def test_local_days_and_age_bands_match_python_across_daylight_saving(work, zone):
    tz = ZoneInfo(zone)
    p = period(date(2026, 1, 1), date(2028, 12, 31), today=date(2026, 1, 1), tz=tz)
    cases = []
    for day in (date(2026, 3, 8), date(2026, 4, 5), date(2026, 10, 4), date(2026, 11, 1),
                date(2027, 2, 28), date(2028, 2, 28), date(2028, 2, 29), date(2028, 3, 1)):
        for hour, minute, second, micro in ((0, 0, 0, 0), (1, 59, 0, 0), (2, 30, 0, 0),
                                            (23, 59, 59, 999900)):  # (SQLite keeps ms)
            try:
                when = datetime(day.year, day.month, day.day, hour, minute, second, micro,
                                tzinfo=tz)
            except ValueError:
                continue
            for born, kind in ((date(2003, 2, 28), "person"), (date(2004, 2, 29), "person"),
                               (date(1963, 2, 28), "person"), (date(1961, 3, 1), "person"),
                               (date(2001, 3, 8), "person"), (None, "person"),
                               (date(2000, 1, 1), "company")):
                cases.append((when.astimezone(timezone.utc), born, kind))
    columns = []
    for when, born, kind in cases:
        at = literal(when, UTCDateTime)
        columns += [local_day(at, p), age_band_case(literal(born, Date), literal(kind, String),
                                                    local_day(at, p))]
    got = _one(work, *columns)
    want = []
    for when, born, kind in cases:
        day = when.astimezone(tz).date()
        want += [day.isoformat(), age_band(born, day, kind)]
    assert list(got) == want


def test_month_case_is_the_local_month(work):
    instants = [local(2026, 1, 1, 0, 0), local(2026, 1, 31, 23, 59), local(2026, 2, 1, 0, 0),
                local(2026, 6, 30, 23, 59, 59), local(2026, 7, 1, 0, 0),
                local(2026, 11, 25, 23, 59)]
    got = _one(work, *(month_case(literal(t, UTCDateTime), PERIOD) for t in instants))
    assert list(got) == [month_of(t, SHANGHAI) for t in instants]


def test_age_bands_are_ten_years_wide():
    """age_band_case computes the band with one division: it relies on this."""
    from insurtrack.reports.common import AGE_BANDS

    limits = [limit for limit, _ in AGE_BANDS[:-1]]
    assert limits == list(range(limits[0], limits[-1] + 1, 10))
