"""Premium installments and renewal terms (L2, L5, L6): small pure functions over dateutil.

Dates are anchored on the effective date, never chained: monthly from 31 January falls on
31 January, 28 (29) February, 31 March, 30 April… A term that ends on a day the month lacks
(29 February + 12 months) ends on the month's last day and the next term starts the day after.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from dateutil.relativedelta import relativedelta

from insurtrack.domain.states import Frequency

CENT = Decimal("0.01")


def next_term_start(effective: date, months: int) -> date:
    """The first day after a term of `months` starting on `effective`."""
    end = effective + relativedelta(months=months)
    return end + timedelta(days=1) if end.day < effective.day else end


def expiry_date(effective: date, term_months: int) -> date:
    """The last day of cover of a term starting on `effective`."""
    return next_term_start(effective, term_months) - timedelta(days=1)


def _periods(frequency: Frequency, term_months: int) -> int:
    if term_months <= 0 or term_months % frequency.months:
        raise ValueError(f"a term of {term_months} months is not a whole number of "
                         f"{frequency.value} periods ({frequency.months} months)")
    return term_months // frequency.months


def installment_dates(effective: date, frequency: Frequency | str, term_months: int) -> list[date]:
    """Due dates of the premiums of a term: one for a single premium, else one per period."""
    freq = Frequency(frequency)
    if freq is Frequency.SINGLE:
        return [effective]
    return [effective + relativedelta(months=k * freq.months) for k in range(_periods(freq, term_months))]


def installment_amounts(yearly_premium: Decimal, frequency: Frequency | str,
                        term_months: int) -> list[Decimal]:
    """Exact amounts of the premiums of a term: each policy year's installments add up to the
    yearly premium (remainder cents on the year's first installment); a partial last year pays
    its share of periods. A single premium is the premium itself."""
    freq = Frequency(frequency)
    if freq is Frequency.SINGLE:
        return [yearly_premium]
    left = _periods(freq, term_months)
    amounts: list[Decimal] = []
    while left:
        n = min(left, freq.per_year)
        total = (yearly_premium * n / freq.per_year).quantize(CENT, rounding=ROUND_HALF_UP)
        each = (total / n).quantize(CENT, rounding=ROUND_DOWN)
        amounts += [total - each * (n - 1)] + [each] * (n - 1)
        left -= n
    return amounts
