"""Premium schedules and renewal terms (L2, L5, L6): month ends, leap years, exact cents."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from insurtrack.domain.schedule import (
    expiry_date,
    installment_amounts,
    installment_dates,
    next_term_start,
)
from insurtrack.domain.states import Frequency


def test_monthly_from_31_january_is_anchored_not_chained():
    dates = installment_dates(date(2026, 1, 31), Frequency.MONTHLY, 12)
    assert dates[:5] == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31),
                         date(2026, 4, 30), date(2026, 5, 31)]
    assert dates[-1] == date(2026, 12, 31)
    assert len(dates) == 12


def test_monthly_from_31_january_in_a_leap_year():
    dates = installment_dates(date(2028, 1, 31), "monthly", 24)
    assert dates[1] == date(2028, 2, 29)
    assert dates[13] == date(2029, 2, 28)
    assert dates[14] == date(2029, 3, 31)


def test_one_month_term_from_31_january_ends_28_february():
    assert expiry_date(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert next_term_start(date(2026, 1, 31), 1) == date(2026, 3, 1)


def test_annual_from_29_february_2028_expiry_and_renewal_start():
    assert installment_dates(date(2028, 2, 29), Frequency.ANNUAL, 36) == [
        date(2028, 2, 29), date(2029, 2, 28), date(2030, 2, 28)]
    assert expiry_date(date(2028, 2, 29), 12) == date(2029, 2, 28)
    assert next_term_start(date(2028, 2, 29), 12) == date(2029, 3, 1)
    assert expiry_date(date(2028, 2, 29), 48) == date(2032, 2, 28)  # 2032 is a leap year again
    assert next_term_start(date(2028, 2, 29), 48) == date(2032, 2, 29)


def test_ordinary_term_ends_the_day_before_the_anniversary():
    assert expiry_date(date(2026, 1, 1), 12) == date(2026, 12, 31)
    assert next_term_start(date(2026, 3, 15), 6) == date(2026, 9, 15)


def test_quarterly_from_30_november_across_the_year_end():
    assert installment_dates(date(2026, 11, 30), Frequency.QUARTERLY, 12) == [
        date(2026, 11, 30), date(2027, 2, 28), date(2027, 5, 30), date(2027, 8, 30)]
    assert expiry_date(date(2026, 11, 30), 12) == date(2027, 11, 29)


def test_single_premium_is_one_installment_of_the_premium():
    assert installment_dates(date(2026, 3, 2), Frequency.SINGLE, 120) == [date(2026, 3, 2)]
    assert installment_amounts(D("25000.00"), Frequency.SINGLE, 120) == [D("25000.00")]


def test_monthly_amounts_put_the_remainder_on_the_years_first_installment():
    amounts = installment_amounts(D("1000.00"), Frequency.MONTHLY, 12)
    assert amounts == [D("83.37")] + [D("83.33")] * 11
    assert sum(amounts) == D("1000.00")


def test_each_policy_year_adds_up_to_the_yearly_premium():
    amounts = installment_amounts(D("1000.00"), Frequency.QUARTERLY, 24)
    assert amounts == [D("250.00")] * 8
    amounts = installment_amounts(D("100.01"), Frequency.SEMI_ANNUAL, 36)
    assert amounts == [D("50.01"), D("50.00")] * 3


def test_partial_last_year_pays_its_share_of_periods():
    amounts = installment_amounts(D("1000.00"), Frequency.MONTHLY, 18)
    assert len(amounts) == 18
    assert sum(amounts[:12]) == D("1000.00")
    assert amounts[12:] == [D("83.35")] + [D("83.33")] * 5
    assert sum(amounts[12:]) == D("500.00")


@pytest.mark.parametrize("frequency,term", [("monthly", 0), ("quarterly", 13), ("annual", 18),
                                            ("semi-annual", 9)])
def test_term_not_a_multiple_of_the_period_is_refused(frequency, term):
    with pytest.raises(ValueError, match="not a whole number"):
        installment_dates(date(2026, 1, 1), frequency, term)
    with pytest.raises(ValueError):
        installment_amounts(D("100.00"), frequency, term)


PERIODIC = [f for f in Frequency if f is not Frequency.SINGLE]


@given(effective=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
       frequency=st.sampled_from(PERIODIC), years=st.integers(min_value=1, max_value=30),
       premium=st.decimals(min_value=D("0.01"), max_value=D("9999999.99"), places=2))
def test_property_schedule_is_consistent(effective, frequency, years, premium):
    term = years * 12
    dates = installment_dates(effective, frequency, term)
    amounts = installment_amounts(premium, frequency, term)
    assert len(dates) == len(amounts) == term // frequency.months
    assert all(a < b for a, b in zip(dates, dates[1:]))
    assert dates[0] == effective and dates[-1] <= expiry_date(effective, term)
    assert sum(amounts) == premium * years
    assert all(a >= 0 and a == a.quantize(D("0.01")) for a in amounts)
    assert expiry_date(effective, term) + timedelta(days=1) == next_term_start(effective, term)


@given(effective=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
       frequency=st.sampled_from(PERIODIC), periods=st.integers(min_value=1, max_value=40),
       premium=st.decimals(min_value=D("0.01"), max_value=D("9999999.99"), places=2))
def test_property_any_whole_number_of_periods(effective, frequency, periods, premium):
    """Terms with a partial last year: still the right count, increasing dates, and each
    installment within a cent of the even share."""
    term = periods * frequency.months
    dates = installment_dates(effective, frequency, term)
    amounts = installment_amounts(premium, frequency, term)
    assert len(dates) == len(amounts) == periods
    assert all(a < b for a, b in zip(dates, dates[1:]))
    assert abs(sum(amounts) - premium * term / 12) <= D("0.005")
    assert expiry_date(effective, term) + timedelta(days=1) == next_term_start(effective, term)
    assert next_term_start(effective, term) > dates[-1]


@given(effective=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
       term=st.integers(min_value=1, max_value=1200),
       premium=st.decimals(min_value=D("0.01"), max_value=D("9999999.99"), places=2))
def test_property_single_premium(effective, term, premium):
    assert installment_dates(effective, Frequency.SINGLE, term) == [effective]
    assert installment_amounts(premium, Frequency.SINGLE, term) == [premium]
    assert expiry_date(effective, term) + timedelta(days=1) == next_term_start(effective, term)
